"""Reads and label updates over the prediction store, by time window and model version.

Windows are half-open, ``start <= created_at < end``, so consecutive windows never share a row.

Labels are keyed by the request id the client was answered with. A shadow row (the challenger's
score of a request it did not answer) takes the label of the request it shadows, its
``parent_request_id``; every other row takes the label of its own ``request_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, Row, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from driftwarden.store.engine import is_outage, outage_error
from driftwarden.store.tables import Label, Prediction

__all__ = [
    "LabelOutcome",
    "LabelledPrediction",
    "StoredPrediction",
    "count_predictions",
    "labelled_predictions",
    "predictions_between",
    "record_labels",
]

LabelOutcome = Literal["recorded", "unchanged", "unknown"]


@dataclass(frozen=True, slots=True)
class StoredPrediction:
    """A prediction as stored.

    ``parent_request_id`` is the request id a shadow row shadows, and None on answered rows.
    """

    request_id: str
    entity_id: str | None
    created_at: datetime
    model_version: int
    variant: str
    features: dict[str, Any]
    score: float
    label: int | None
    latency_ms: float
    parent_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class LabelledPrediction:
    """A stored prediction together with its true label."""

    prediction: StoredPrediction
    # 0 or 1 for a classifier, the true value for a regression model.
    true_label: float
    received_at: datetime


_COLUMNS = (
    Prediction.request_id,
    Prediction.entity_id,
    Prediction.created_at,
    Prediction.model_version,
    Prediction.variant,
    Prediction.features,
    Prediction.score,
    Prediction.label,
    Prediction.latency_ms,
    Prediction.parent_request_id,
)

# The request id whose label a row takes: a shadow row's parent, else its own. A label is
# looked up by its primary key with this value of each row of the window.
_LABELLED_BY = func.coalesce(Prediction.parent_request_id, Prediction.request_id)


def _require_window(start: datetime, end: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name} must be timezone-aware, got the naive {value.isoformat()}; add tzinfo=UTC"
            )
    if end < start:
        raise ValueError(
            f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()}); "
            "swap start and end"
        )


def _stored(row: Row[Any]) -> StoredPrediction:
    return StoredPrediction(*row[: len(_COLUMNS)])


def _store_labels(
    engine: Engine, labels: dict[str, float], received_at: datetime
) -> tuple[dict[str, float], set[str]]:
    """Write the new or changed labels in one transaction; return the labels stored before it
    and the ids that have an answered prediction."""
    ids = list(labels)
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as connection:
        # Shadow rows are not answers: their ids (``<id>:shadow``) were never sent to a client.
        answered = select(Prediction.request_id).where(
            Prediction.request_id.in_(ids), Prediction.variant != "shadow"
        )
        known = set(connection.scalars(answered))
        rows = connection.execute(
            select(Label.request_id, Label.label).where(Label.request_id.in_(ids))
        )
        stored: dict[str, float] = {row.request_id: row.label for row in rows}
        changed = [
            {"request_id": rid, "label": float(label), "received_at": received_at}
            for rid, label in labels.items()
            if stored.get(rid) != label
        ]
        if changed:
            statement = insert(Label)
            statement = statement.on_conflict_do_update(
                index_elements=["request_id"],
                set_={
                    "label": statement.excluded.label,
                    "received_at": statement.excluded.received_at,
                },
            )
            connection.execute(statement, changed)
    return stored, known


def record_labels(
    engine: Engine,
    items: Mapping[str, float] | Iterable[tuple[str, float]],
    *,
    received_at: datetime,
) -> dict[str, LabelOutcome]:
    """Store true labels, idempotently.

    Parameters
    ----------
    engine : Engine
        The store.
    items : mapping or iterable of (request_id, label)
        The labels (0 or 1 for a classifier, the true value for a regression model); a later
        item for the same request id wins.
    received_at : datetime
        When the labels arrived (timezone-aware; take it from a Clock).

    Returns
    -------
    dict
        Per request id: ``"recorded"`` (new or changed label), ``"unchanged"`` (same label already
        stored) or ``"unknown"`` (no answered prediction with that id; the label is kept anyway,
        since its prediction may still wait in the spool). A shadow row's id is never known:
        the label of a request reaches its shadow rows through their ``parent_request_id``.

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached or stays locked past the busy timeout. The labels go
        in one transaction, so none of them is stored: record them again later.
    """
    labels = dict(items.items() if isinstance(items, Mapping) else items)
    if not labels:
        return {}
    try:
        stored, known = _store_labels(engine, labels, received_at)
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        failed = f"could not record {len(labels)} labels"
        raise outage_error(engine, exc, failed, "none was recorded, send them again") from exc
    outcomes: dict[str, LabelOutcome] = {}
    for rid, label in labels.items():
        if rid not in known:
            outcomes[rid] = "unknown"
        else:
            outcomes[rid] = "unchanged" if stored.get(rid) == label else "recorded"
    return outcomes


def predictions_between(
    engine: Engine, start: datetime, end: datetime, *, model_version: int | None = None
) -> list[StoredPrediction]:
    """Return the predictions with ``start <= created_at < end``, oldest first.

    Parameters
    ----------
    model_version : int or None, optional
        Only predictions of this model version.

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is naive, or ``end`` is before ``start``.
    """
    _require_window(start, end)
    query = select(*_COLUMNS).where(Prediction.created_at >= start, Prediction.created_at < end)
    if model_version is not None:
        query = query.where(Prediction.model_version == model_version)
    query = query.order_by(Prediction.created_at, Prediction.id)
    with engine.connect() as connection:
        return [_stored(row) for row in connection.execute(query)]


def count_predictions(engine: Engine) -> int:
    """Return the number of stored predictions."""
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Prediction)) or 0)


def labelled_predictions(
    engine: Engine, start: datetime, end: datetime
) -> list[LabelledPrediction]:
    """Return the predictions of the window that have a true label, oldest first.

    A shadow row has the label of the request it shadows (its ``parent_request_id``), so the
    challenger's shadow scores are measured on the same labels as the champion's answers.

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is naive, or ``end`` is before ``start``.
    """
    _require_window(start, end)
    query = (
        select(*_COLUMNS, Label.label, Label.received_at)
        .join(Label, Label.request_id == _LABELLED_BY)
        .where(Prediction.created_at >= start, Prediction.created_at < end)
        .order_by(Prediction.created_at, Prediction.id)
    )
    with engine.connect() as connection:
        return [
            LabelledPrediction(_stored(row), true_label=row[-2], received_at=row[-1])
            for row in connection.execute(query)
        ]
