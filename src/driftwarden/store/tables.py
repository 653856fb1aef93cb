"""The tables of the prediction store, as SQLAlchemy 2.0 declarative mappings.

``predictions`` holds one row per answered request, plus one per shadow score of the challenger
(request id ``<id>:shadow``, ``parent_request_id`` the ``<id>`` it shadows); ``labels`` holds
the true outcome once it arrives, keyed by the id the client was answered with, so a shadow row
takes the label of its parent. ``labels`` has no foreign key to ``predictions`` on purpose: a
label may arrive while its prediction still waits in the local spool (see
:mod:`driftwarden.store.spool`).
``routing_changes`` is the append-only history of the champion/challenger experiment of each
model; its newest row per model is the experiment every API replica serves.

The monitor writes ``monitor_runs`` (one per run over a window), ``monitor_results`` (one per
model version that served the window: drift, quality, latency, realised and estimated
performance), ``monitor_features`` (one per feature of a result, for per-feature history),
``alerts`` with their append-only ``alert_events``, and ``monitor_state`` (the streaming
detectors and cursors that carry over from one run to the next).

Retraining writes ``retrain_runs`` (one per request, with its trigger, the evidence behind it,
each finished step and the validation gates; a request that could not start is kept as a
``skipped`` row), ``ab_tests`` (one champion/challenger test of a new version on live traffic,
with the statistics that decided it) and ``ab_test_snapshots`` (the test's statistics at each
evaluation). At most one retraining run and one A/B test per model is ``running`` at a time:
partial unique indexes hold the rule, so two replicas that start one at once cannot both win.

Datetimes are stored in UTC and always come back timezone-aware, on SQLite (which has no
timezone type) as on PostgreSQL (``timestamp with time zone``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "ABSnapshot",
    "ABTest",
    "Alert",
    "AlertEvent",
    "Base",
    "FeatureResult",
    "Label",
    "MonitorResult",
    "MonitorRun",
    "MonitorState",
    "Prediction",
    "RetrainRun",
    "RoutingChange",
    "UtcDateTime",
    "metadata",
]

# The API accepts request ids of up to 128 characters and entity ids of up to 256; a shadow row's
# id adds ":shadow", and the rest is room to spare. Changing these needs a migration.
REQUEST_ID_LENGTH = 160
ENTITY_ID_LENGTH = 256
# Room for any registered model name; the API takes salts of up to 128 characters.
MODEL_NAME_LENGTH = 256
SALT_LENGTH = 128
CHANGED_BY_LENGTH = 256
FEATURE_LENGTH = 256
RULE_LENGTH = 64
FLOW_RUN_ID_LENGTH = 64
ALERT_KEY_LENGTH = MODEL_NAME_LENGTH + RULE_LENGTH + FEATURE_LENGTH + 2

# Stable constraint names, so that migrations can name what they create and drop.
_NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
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
    # The predicted class of a classifier; null for a regression model, whose answer is the score.
    label: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    parent_request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_LENGTH))


class Label(Base):
    """The true outcome of a request, received after the prediction."""

    __tablename__ = "labels"
    # The monitor reads the labels that arrived since its last run, to recompute the
    # performance of the windows they belong to.
    __table_args__ = (Index("ix_labels_received_at", "received_at"),)

    request_id: Mapped[str] = mapped_column(String(REQUEST_ID_LENGTH), primary_key=True)
    # 0 or 1 for a classifier, the true value for a regression model.
    label: Mapped[float] = mapped_column(Float)
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


class MonitorRun(Base):
    """One run of the monitor over one window of one model's predictions.

    ``status`` is ``ok`` or ``failed`` (with ``error``); the time spent reading the window and
    in the statistics is kept apart, since they scale differently.
    """

    __tablename__ = "monitor_runs"
    __table_args__ = (Index("ix_monitor_runs_model_name_window_end", "model_name", "window_end"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    n_rows: Mapped[int] = mapped_column(Integer)
    read_seconds: Mapped[float] = mapped_column(Float)
    stats_seconds: Mapped[float] = mapped_column(Float)
    duration_seconds: Mapped[float] = mapped_column(Float)


class MonitorResult(Base):
    """What one run found for one model version: drift, quality, latency and performance.

    ``performance`` (realised, on ``n_labelled`` rows, as of ``performance_at``) is recomputed
    when labels for the window arrive later; ``estimated`` needs no labels.
    """

    __tablename__ = "monitor_results"
    __table_args__ = (
        Index("ix_monitor_results_run_id", "run_id"),
        Index("ix_monitor_results_window_end_model_version", "window_end", "model_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("monitor_runs.id", ondelete="CASCADE"))
    model_version: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    n_rows: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(24))
    share_drifted: Mapped[float] = mapped_column(Float)
    prediction_statistic: Mapped[float | None] = mapped_column(Float)
    prediction_severity: Mapped[str | None] = mapped_column(String(24))
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float)
    latency_p99_ms: Mapped[float | None] = mapped_column(Float)
    n_labelled: Mapped[int] = mapped_column(Integer)
    performance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    performance_at: Mapped[datetime | None]
    estimated: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Adversarial validation of the window, and explanation drift: null when not measured.
    multivariate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class FeatureResult(Base):
    """The drift verdict and data quality of one feature in one result."""

    __tablename__ = "monitor_features"
    __table_args__ = (
        Index("ix_monitor_features_result_id", "result_id"),
        Index("ix_monitor_features_feature_window_end", "feature", "window_end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("monitor_results.id", ondelete="CASCADE"))
    model_version: Mapped[int] = mapped_column(Integer)
    window_end: Mapped[datetime]
    feature: Mapped[str] = mapped_column(String(FEATURE_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    statistic: Mapped[float | None] = mapped_column(Float)
    warning: Mapped[float] = mapped_column(Float)
    critical: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(24))
    n_reference: Mapped[int] = mapped_column(Integer)
    n_current: Mapped[int] = mapped_column(Integer)
    missing_rate: Mapped[float | None] = mapped_column(Float)
    invalid_rate: Mapped[float | None] = mapped_column(Float)
    out_of_range_rate: Mapped[float | None] = mapped_column(Float)
    unseen_rate: Mapped[float | None] = mapped_column(Float)


class Alert(Base):
    """An alert: one condition (rule and subject) of one model, from opening to resolution.

    At most one alert per ``key`` is not resolved (a partial unique index): a condition that
    keeps firing updates its alert instead of opening another.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "ix_alerts_key_active",
            "key",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alerts_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(ALERT_KEY_LENGTH))
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    rule: Mapped[str] = mapped_column(String(RULE_LENGTH))
    subject: Mapped[str] = mapped_column(String(FEATURE_LENGTH))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(512))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(CHANGED_BY_LENGTH))
    resolved_at: Mapped[datetime | None]
    muted_until: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    notified_severity: Mapped[str | None] = mapped_column(String(16))
    clear_runs: Mapped[int] = mapped_column(Integer)


class AlertEvent(Base):
    """One thing that happened to an alert (opened, escalated, notified, delivery failed,
    acknowledged, muted, resolved); rows are never updated."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert_id_id", "alert_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class MonitorState(Base):
    """State the monitor carries from run to run (detectors, cursors), by name, as text."""

    __tablename__ = "monitor_state"

    name: Mapped[str] = mapped_column(String(512), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Lease(Base):
    """Who may do a job that only one process at a time should do (the monitor's runs).

    A holder keeps a lease by renewing it before ``expires_at``; once that passes, any process
    may take it. The times are the machines' wall clocks.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(512), primary_key=True)
    holder: Mapped[str] = mapped_column(String(256))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class RetrainRun(Base):
    """One request to retrain a model, from its trigger to the verdict on the candidate.

    ``trigger`` is ``manual``, ``drift``, ``performance``, ``concept`` or ``schedule``, with the
    ``evidence`` that fired it; ``status`` is ``running``, then ``succeeded`` (a candidate passed
    the gates), ``rejected`` (it did not), ``failed`` (with ``error``), or ``skipped`` from the
    start (another run was under way, a cooldown held: ``error`` says why). ``steps`` holds one
    object per finished step, in order; ``heartbeat_at`` moves with each, so that a run whose
    process died can be told from one that is slow.

    At most one run per model is ``running`` (a partial unique index).
    """

    __tablename__ = "retrain_runs"
    __table_args__ = (
        Index(
            "ix_retrain_runs_model_name_running",
            "model_name",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_retrain_runs_model_name_requested_at", "model_name", "requested_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    trigger: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    champion_version: Mapped[int | None] = mapped_column(Integer)
    candidate_version: Mapped[int | None] = mapped_column(Integer)
    ab_test_id: Mapped[int | None] = mapped_column(Integer)
    flow_run_id: Mapped[str | None] = mapped_column(String(FLOW_RUN_ID_LENGTH))


class ABTest(Base):
    """One champion/challenger test of a model on live traffic.

    ``mode`` is ``split`` (the challenger answers ``share`` of the entities, assigned by
    ``salt``) or ``shadow`` (it scores every request off the response path); ``metric`` decides.
    ``status`` is ``running``, then ``promoted``, ``rejected``, ``ended`` (undecided at its
    maximum duration) or ``aborted`` (stopped by hand), with the ``decision`` statistics and the
    ``reason``. At most one test per model is ``running`` (a partial unique index).
    """

    __tablename__ = "ab_tests"
    __table_args__ = (
        Index(
            "ix_ab_tests_model_name_running",
            "model_name",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_ab_tests_model_name_started_at", "model_name", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    champion_version: Mapped[int] = mapped_column(Integer)
    challenger_version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    share: Mapped[float] = mapped_column(Float)
    salt: Mapped[str] = mapped_column(String(SALT_LENGTH))
    metric: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    retrain_run_id: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


class ABSnapshot(Base):
    """The statistics of an A/B test at one evaluation, and what the evaluation decided
    (``continue``, ``promote``, ``reject`` or ``end``); rows are never updated."""

    __tablename__ = "ab_test_snapshots"
    __table_args__ = (Index("ix_ab_test_snapshots_test_id_id", "test_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(16))
    n_champion: Mapped[int] = mapped_column(Integer)
    n_challenger: Mapped[int] = mapped_column(Integer)
    statistics: Mapped[dict[str, Any]] = mapped_column(JSON)


metadata = Base.metadata
