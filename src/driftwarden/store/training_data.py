"""What retraining and the A/B test read from the prediction log: labelled production rows to
learn from, and both models' scores on the same labelled requests.

Windows are half-open, ``start <= created_at < end``, like every window of the store. Both reads
join on indexed columns only: a row to its label by the label's primary key, a shadow row to the
answered row it shadows by the unique ``request_id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, Text, cast, select
from sqlalchemy.orm import aliased

from driftwarden.store.queries import _require_window
from driftwarden.store.routing import _run
from driftwarden.store.tables import Label, Prediction
from driftwarden.store.windows import _collector_paused

__all__ = ["LabelledRows", "PairedScores", "labelled_rows", "paired_shadow_scores"]


@dataclass(frozen=True, slots=True)
class LabelledRows:
    """Answered predictions with their true label, oldest first: what a model can learn from.

    Attributes
    ----------
    request_id, entity_id, created_at : list
        Who asked, about whom, when (timezone-aware UTC).
    model_version : ndarray of int64
        The version that answered.
    features : list of dict
        The features as logged.
    true_label : ndarray of float64
        The label that arrived for the request: 0 or 1 for a classifier, the true value for a
        regression model.
    """

    request_id: list[str]
    entity_id: list[str | None]
    created_at: list[datetime]
    model_version: NDArray[np.int64]
    features: list[dict[str, Any]]
    true_label: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.request_id)


@dataclass(frozen=True, slots=True)
class PairedScores:
    """The champion's answer and the challenger's shadow score of the same labelled requests,
    row by row: the pairs of a paired test (McNemar, DeLong)."""

    champion_version: NDArray[np.int64]
    challenger_version: NDArray[np.int64]
    champion_score: NDArray[np.float64]
    challenger_score: NDArray[np.float64]
    true_label: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.true_label)


def labelled_rows(
    engine: Engine, start: datetime, end: datetime, *, limit: int | None = None
) -> LabelledRows:
    """The answered predictions of the window that have a true label, oldest first.

    Shadow rows are left out: the request was answered by the other model, and its label
    belongs to the answered row.

    Parameters
    ----------
    engine : Engine
        The store.
    start, end : datetime
        The window, ``start <= created_at < end`` (timezone-aware).
    limit : int or None, optional
        Only the newest ``limit`` labelled rows (still returned oldest first).

    Returns
    -------
    LabelledRows

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is naive, ``end`` is before ``start``, or ``limit`` is below 1.
    StoreUnavailableError
        If the database cannot be reached or stays locked.

    Notes
    -----
    The features are read as their stored JSON text and parsed here, with the garbage
    collector paused while the rows arrive (see :mod:`driftwarden.store.windows`).
    """
    _require_window(start, end)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}; leave it out for every row")
    query = (
        select(
            Prediction.request_id,
            Prediction.entity_id,
            Prediction.created_at,
            Prediction.model_version,
            # As text: parsed below in one loop, cheaper than the driver's per-row hook.
            cast(Prediction.features, Text),
            Label.label,
        )
        .join(Label, Label.request_id == Prediction.request_id)
        .where(
            Prediction.created_at >= start,
            Prediction.created_at < end,
            Prediction.variant != "shadow",
        )
    )
    if limit is None:
        query = query.order_by(Prediction.created_at, Prediction.id)
    else:
        query = query.order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(limit)

    def work(connection: Connection) -> LabelledRows:
        with _collector_paused():
            rows = list(connection.execute(query))
            if limit is not None:
                rows.reverse()
            n = len(rows)
            if n == 0:
                return LabelledRows([], [], [], np.empty(0, np.int64), [], np.empty(0, np.float64))
            request_ids, entity_ids, created, versions, features, labels = zip(*rows, strict=True)
            return LabelledRows(
                list(request_ids),
                list(entity_ids),
                list(created),
                np.fromiter(versions, dtype=np.int64, count=n),
                [json.loads(text) for text in features],
                np.fromiter(labels, dtype=np.float64, count=n),
            )

    return _run(engine, work, "could not read the labelled rows")


def paired_shadow_scores(engine: Engine, start: datetime, end: datetime) -> PairedScores:
    """Both models' scores on the same labelled requests: each shadow row created in the
    window, beside the answered row it shadows and that request's label, oldest first.

    Shadow rows whose request has no label yet, or whose answered row is not stored (it may
    still wait in the spool), are left out.

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is naive, or ``end`` is before ``start``.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    _require_window(start, end)
    shadow = aliased(Prediction, name="shadow")
    answered = aliased(Prediction, name="answered")
    query = (
        select(
            answered.model_version,
            shadow.model_version,
            answered.score,
            shadow.score,
            Label.label,
        )
        .select_from(shadow)
        .join(answered, answered.request_id == shadow.parent_request_id)
        .join(Label, Label.request_id == shadow.parent_request_id)
        .where(
            shadow.created_at >= start,
            shadow.created_at < end,
            shadow.variant == "shadow",
            answered.variant != "shadow",
        )
        .order_by(shadow.created_at, shadow.id)
    )
    rows = _run(
        engine,
        lambda connection: connection.execute(query).all(),
        "could not read the paired shadow scores",
    )
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    return PairedScores(
        np.fromiter(columns[0], dtype=np.int64, count=n),
        np.fromiter(columns[1], dtype=np.int64, count=n),
        np.fromiter(columns[2], dtype=np.float64, count=n),
        np.fromiter(columns[3], dtype=np.float64, count=n),
        # A regression model's labels are true values: integers would truncate them.
        np.fromiter(columns[4], dtype=np.float64, count=n),
    )
