"""What the monitor stores: its runs, the result of each model version in a run, per-feature
verdicts, and the state it carries between runs. Reads return plain dicts, ready for the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from driftwarden.store.queries import _require_window
from driftwarden.store.tables import (
    Alert,
    FeatureResult,
    MonitorResult,
    MonitorRun,
    MonitorState,
)

__all__ = [
    "feature_history",
    "latest_figures",
    "list_runs",
    "load_state",
    "results_overlapping",
    "save_run",
    "save_state",
    "update_performance",
]

_RUN_COLUMNS = (
    "id", "model_name", "started_at", "finished_at", "window_start", "window_end", "status",
    "error", "n_rows", "read_seconds", "stats_seconds", "duration_seconds",
)  # fmt: skip
_RESULT_COLUMNS = (
    "id", "run_id", "model_version", "window_start", "window_end", "n_rows", "severity",
    "share_drifted", "prediction_statistic", "prediction_severity", "latency_p50_ms",
    "latency_p95_ms", "latency_p99_ms", "n_labelled", "performance", "performance_at",
    "estimated", "multivariate",
)  # fmt: skip
_FEATURE_COLUMNS = (
    "model_version", "window_end", "feature", "kind", "method", "statistic", "warning",
    "critical", "p_value", "severity", "n_reference", "n_current", "missing_rate",
    "invalid_rate", "out_of_range_rate", "unseen_rate",
)  # fmt: skip


def _plain(row: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in columns}


def save_run(
    engine: Engine,
    run: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    features: Sequence[Sequence[Mapping[str, Any]]],
) -> int:
    """Store one run, its results (one per model version) and each result's feature rows, in
    one transaction; returns the run's id.

    ``run`` holds the columns of ``monitor_runs`` but ``id``; each result those of
    ``monitor_results`` but ``id`` and ``run_id``; ``features[i]`` the rows of ``results[i]``
    (columns of ``monitor_features`` but ``id`` and ``result_id``).
    """
    if len(results) != len(features):
        raise ValueError(f"{len(results)} results but feature rows for {len(features)}")
    with engine.begin() as connection:
        run_id = int(
            connection.execute(
                insert(MonitorRun).values(**run).returning(MonitorRun.id)
            ).scalar_one()
        )
        for result, rows in zip(results, features, strict=True):
            result_id = int(
                connection.execute(
                    insert(MonitorResult)
                    .values(run_id=run_id, **result)
                    .returning(MonitorResult.id)
                ).scalar_one()
            )
            if rows:
                connection.execute(
                    insert(FeatureResult), [{"result_id": result_id, **row} for row in rows]
                )
    return run_id


def list_runs(
    engine: Engine,
    model_name: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
    reports: bool = False,
) -> list[dict[str, Any]]:
    """Runs whose window ends in ``[start, end)``, newest first, each with its ``results``
    (multivariate drift included); with ``reports``, each result also carries its full drift
    report and its explanation drift (the largest columns, read only when asked for)."""
    columns = (*_RESULT_COLUMNS, "report", "explanation") if reports else _RESULT_COLUMNS
    query = select(MonitorRun).where(MonitorRun.model_name == model_name)
    if start is not None:
        query = query.where(MonitorRun.window_end >= start)
    if end is not None:
        query = query.where(MonitorRun.window_end < end)
    query = query.order_by(MonitorRun.window_end.desc(), MonitorRun.id.desc()).limit(limit)
    with engine.connect() as connection:
        runs = [_plain(row, _RUN_COLUMNS) for row in connection.execute(query)]
        ids = [run["id"] for run in runs]
        by_run: dict[int, list[dict[str, Any]]] = {run_id: [] for run_id in ids}
        if ids:
            results = connection.execute(
                select(*(getattr(MonitorResult, name) for name in columns))
                .where(MonitorResult.run_id.in_(ids))
                .order_by(MonitorResult.model_version)
            )
            for row in results:
                by_run[row.run_id].append(_plain(row, columns))
    for run in runs:
        run["results"] = by_run[run["id"]]
    return runs


def latest_figures(
    engine: Engine, model_name: str, previous: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """What the newest successful monitor run of ``model_name`` measured, and the alerts open
    now: the monitor's figures ``/metrics`` exports, whichever process ran the pass. ``None``
    before the first run.

    Returns ``{"run_id", "read_seconds", "stats_seconds", "duration_seconds", "results",
    "alerts_open"}``: one result per model version (``model_version``, ``n_rows``,
    ``share_drifted``, ``prediction``: ``{"method", "statistic"}`` or ``None``, ``features``:
    ``[{"feature", "method", "statistic"}]`` of the features with a statistic), and the count of
    unresolved alerts by severity.

    Given the figures a previous call returned, a newest run that is still the same one keeps
    its results from them: between passes, a call reads two small rows and the alert counts,
    not every version's stored report again.
    """
    newest = (
        select(MonitorRun.id, MonitorRun.read_seconds, MonitorRun.stats_seconds,
               MonitorRun.duration_seconds)
        .where(MonitorRun.model_name == model_name, MonitorRun.status == "ok")
        .order_by(MonitorRun.window_end.desc(), MonitorRun.id.desc())
        .limit(1)
    )  # fmt: skip
    with engine.connect() as connection:
        run = connection.execute(newest).first()
        if run is None:
            return None
        alerts = connection.execute(
            select(Alert.severity, func.count())
            .where(Alert.model_name == model_name, Alert.status != "resolved")
            .group_by(Alert.severity)
        ).all()
        figures = {
            "run_id": run.id,
            "read_seconds": run.read_seconds,
            "stats_seconds": run.stats_seconds,
            "duration_seconds": run.duration_seconds,
            "alerts_open": {severity: int(count) for severity, count in alerts},
        }
        if previous is not None and previous.get("run_id") == run.id:
            return {**figures, "results": previous["results"]}
        results = connection.execute(
            select(MonitorResult.id, MonitorResult.model_version, MonitorResult.n_rows,
                   MonitorResult.share_drifted, MonitorResult.report)
            .where(MonitorResult.run_id == run.id)
            .order_by(MonitorResult.model_version)
        ).all()  # fmt: skip
        features: dict[int, list[dict[str, Any]]] = {row.id: [] for row in results}
        for row in connection.execute(
            select(FeatureResult.result_id, FeatureResult.feature, FeatureResult.method,
                   FeatureResult.statistic)
            .where(FeatureResult.result_id.in_(list(features)),
                   FeatureResult.statistic.is_not(None))
            .order_by(FeatureResult.id)
        ):  # fmt: skip
            features[row.result_id].append(
                {"feature": row.feature, "method": row.method, "statistic": row.statistic}
            )
    return {
        **figures,
        "results": [
            {
                "model_version": row.model_version,
                "n_rows": row.n_rows,
                "share_drifted": row.share_drifted,
                "prediction": _prediction(row.report),
                "features": features[row.id],
            }
            for row in results
        ],
    }


def _prediction(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The method and statistic of a stored report's prediction drift, if it has one."""
    prediction = (report or {}).get("prediction")
    if not prediction or prediction.get("statistic") is None:
        return None
    return {"method": prediction["method"], "statistic": prediction["statistic"]}


def feature_history(
    engine: Engine,
    model_name: str,
    *,
    feature: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Per-feature verdicts of successful runs, oldest first (one feature, or every one)."""
    query = (
        select(FeatureResult)
        .join(MonitorResult, MonitorResult.id == FeatureResult.result_id)
        .join(MonitorRun, MonitorRun.id == MonitorResult.run_id)
        .where(MonitorRun.model_name == model_name)
    )
    if feature is not None:
        query = query.where(FeatureResult.feature == feature)
    if start is not None:
        query = query.where(FeatureResult.window_end >= start)
    if end is not None:
        query = query.where(FeatureResult.window_end < end)
    query = query.order_by(FeatureResult.window_end, FeatureResult.id).limit(limit)
    with engine.connect() as connection:
        return [_plain(row, _FEATURE_COLUMNS) for row in connection.execute(query)]


def results_overlapping(
    engine: Engine,
    model_name: str,
    model_version: int,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """The stored results of ``model_version`` whose window overlaps ``[start, end]``."""
    _require_window(start, end)
    query = (
        select(MonitorResult)
        .join(MonitorRun, MonitorRun.id == MonitorResult.run_id)
        .where(
            MonitorRun.model_name == model_name,
            MonitorResult.model_version == model_version,
            MonitorResult.window_start <= end,
            MonitorResult.window_end > start,
        )
        .order_by(MonitorResult.window_end)
    )
    with engine.connect() as connection:
        return [_plain(row, _RESULT_COLUMNS) for row in connection.execute(query)]


def update_performance(
    engine: Engine,
    result_id: int,
    *,
    n_labelled: int,
    performance: Mapping[str, Any] | None,
    performance_at: datetime,
) -> None:
    """Replace the realised performance of one result (labels for its window arrived)."""
    with engine.begin() as connection:
        connection.execute(
            update(MonitorResult)
            .where(MonitorResult.id == result_id)
            .values(
                n_labelled=n_labelled,
                performance=None if performance is None else dict(performance),
                performance_at=performance_at,
            )
        )


def load_state(engine: Engine, prefix: str) -> dict[str, str]:
    """Every state entry whose name starts with ``prefix``."""
    query = select(MonitorState.name, MonitorState.value).where(
        MonitorState.name.startswith(prefix, autoescape=True)
    )
    with engine.connect() as connection:
        return {str(row[0]): str(row[1]) for row in connection.execute(query)}


def save_state(engine: Engine, values: Mapping[str, str | None], *, updated_at: datetime) -> None:
    """Write state entries in one transaction (``None`` deletes an entry)."""
    insert_ = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as connection:
        for name, value in values.items():
            if value is None:
                connection.execute(delete(MonitorState).where(MonitorState.name == name))
                continue
            statement = insert_(MonitorState).values(name=name, value=value, updated_at=updated_at)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"],
                    set_={"value": statement.excluded.value, "updated_at": updated_at},
                )
            )
