"""The tables of the prediction store, as SQLAlchemy 2.0 declarative mappings.

``predictions`` holds one row per answered request, plus one per shadow score of the challenger
(request id ``<id>:shadow``, ``parent_request_id`` the ``<id>`` it shadows); ``labels`` holds
the true outcome once it arrives, keyed by the id the client was answered with, so a shadow row
takes the label of its parent. ``labels`` has no foreign key to ``predictions`` on purpose: a
label may arrive while its prediction still waits in the local spool (see
:mod:`driftwarden.store.spool`).
``routing_changes`` is the append-only history of the champion/challenger experiment of each
model; its newest row per model is the experiment every API replica serves.

Datetimes are stored in UTC and always come back timezone-aware, on SQLite (which has no
timezone type) as on PostgreSQL (``timestamp with time zone``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, Float, Index, Integer, MetaData, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "Label", "Prediction", "RoutingChange", "UtcDateTime", "metadata"]

# The API accepts request ids of up to 128 characters and entity ids of up to 256; a shadow row's
# id adds ":shadow", and the rest is room to spare. Changing these needs a migration.
REQUEST_ID_LENGTH = 160
ENTITY_ID_LENGTH = 256
# Room for any registered model name; the API takes salts of up to 128 characters.
MODEL_NAME_LENGTH = 256
SALT_LENGTH = 128
CHANGED_BY_LENGTH = 256

# Stable constraint names, so that migrations can name what they create and drop.
_NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"expected a timezone-aware datetime, got the naive {value.isoformat()}; "
            "take times from a Clock or add tzinfo=UTC"
        )
    return value.astimezone(UTC)


def _sqlite_text(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite ``DATETIME`` stores for ``value`` in UTC, in one call
    (``YYYY-MM-DD HH:MM:SS.ffffff``, where ``process_bind_param`` and the dialect's own
    processor take two, at twice the cost)."""
    if value is None:
        return None
    return _in_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC.

    Naive datetimes are refused: a timestamp without a zone cannot be placed in a window.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _in_utc(value)
        # SQLite stores text: keep it naive UTC so that text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the stored text in one step (every logged prediction binds a time)."""
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - the signature of TypeDecorator
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""

    metadata = MetaData(naming_convention=_NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class Prediction(Base):
    """One answered prediction request, or the challenger's shadow score of one.

    A shadow row's ``parent_request_id`` is the request id of the row it shadows (the id the
    client knows, which its label arrives under); it is null on every answered row.
    """

    __tablename__ = "predictions"
    __table_args__ = (
        # Every window is read by time, some for one model version: one index serves both.
        Index("ix_predictions_created_at_model_version", "created_at", "model_version"),
        # Partial: only shadow rows have a parent, and every other insert (the hot path of
        # serving) skips an index page it would otherwise write.
        Index(
            "ix_predictions_parent_request_id",
            "parent_request_id",
            sqlite_where=text("parent_request_id IS NOT NULL"),
            postgresql_where=text("parent_request_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(REQUEST_ID_LENGTH), unique=True)
    entity_id: Mapped[str | None] = mapped_column(String(ENTITY_ID_LENGTH))
    created_at: Mapped[datetime]
    model_version: Mapped[int] = mapped_column(Integer)
    variant: Mapped[str] = mapped_column(String(16))
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    parent_request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_LENGTH))


class Label(Base):
    """The true outcome of a request, received after the prediction."""

    __tablename__ = "labels"

    request_id: Mapped[str] = mapped_column(String(REQUEST_ID_LENGTH), primary_key=True)
    label: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]


class RoutingChange(Base):
    """One change of a model's champion/challenger experiment; rows are never updated.

    The row with the highest ``id`` of a model is its current experiment.
    """

    __tablename__ = "routing_changes"
    __table_args__ = (Index("ix_routing_changes_model_name_id", "model_name", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    mode: Mapped[str] = mapped_column(String(16))
    share: Mapped[float] = mapped_column(Float)
    salt: Mapped[str] = mapped_column(String(SALT_LENGTH))
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(String(CHANGED_BY_LENGTH))


metadata = Base.metadata
