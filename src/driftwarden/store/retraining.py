"""Retraining runs in the store: the one-at-a-time rule, their steps and their verdicts.

When to retrain and what a run does is :mod:`driftwarden.retraining`; this module only reads
and writes rows. At most one run per model is ``running``, and the database holds the rule (a
partial unique index on ``model_name``): a trigger that finds a run under way is kept as a
``skipped`` row that names the running one, never queued. Reads return plain dicts of every
column, ready for the API; writes and reads meet an outage with a
:class:`~driftwarden.core.StoreUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from driftwarden.core.errors import NotFoundError
from driftwarden.store.routing import _run
from driftwarden.store.tables import RetrainRun

__all__ = [
    "RETRAIN_STATUSES",
    "RETRAIN_TRIGGERS",
    "begin_retrain_run",
    "fail_stale_retrain_runs",
    "finish_retrain_run",
    "get_retrain_run",
    "last_finished_retrain_run",
    "list_retrain_runs",
    "record_skipped_run",
    "record_step",
    "running_retrain_run",
    "update_retrain_run",
]

RETRAIN_STATUSES = ("running", "succeeded", "rejected", "failed", "skipped")
RETRAIN_TRIGGERS = ("manual", "drift", "performance", "concept", "schedule")
# The statuses of a run that started and ended; "skipped" runs never started.
_FINISHED = ("succeeded", "rejected", "failed")
# Tries to start a run when the index refuses it but no running run is found: the running one
# ended between the refusal and the look, and the next try normally starts.
_ATTEMPTS = 3

_COLUMNS = (
    "id", "model_name", "trigger", "reason", "status", "requested_at", "started_at",
    "finished_at", "heartbeat_at", "steps", "evidence", "error", "champion_version",
    "candidate_version", "ab_test_id", "flow_run_id",
)  # fmt: skip


def _last_seen() -> Any:
    """When a run last showed that it was alive: its last step, else its start."""
    return func.coalesce(RetrainRun.heartbeat_at, RetrainRun.started_at, RetrainRun.requested_at)


def _plain(row: Row[Any]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _COLUMNS}


def _check_trigger(trigger: str) -> None:
    if trigger not in RETRAIN_TRIGGERS:
        raise ValueError(f"trigger must be one of {', '.join(RETRAIN_TRIGGERS)}, got {trigger!r}")


def _insert(connection: Connection, values: Mapping[str, Any]) -> int:
    statement = insert(RetrainRun).values(**values).returning(RetrainRun.id)
    return int(connection.execute(statement).scalar_one())


def _updated(connection: Connection, run_id: int, values: Mapping[str, Any]) -> None:
    result = connection.execute(update(RetrainRun).where(RetrainRun.id == run_id).values(**values))
    if result.rowcount == 0:
        raise NotFoundError(_not_found(run_id))


def _not_found(run_id: int) -> str:
    return f"no retraining run has id {run_id}; list them with GET /v1/retraining/runs"


def _requested(
    model_name: str, trigger: str, reason: str, evidence: Mapping[str, Any], at: datetime
) -> dict[str, Any]:
    _check_trigger(trigger)
    return {
        "model_name": model_name,
        "trigger": trigger,
        "reason": reason,
        "requested_at": at,
        "steps": [],
        "evidence": dict(evidence),
    }


def begin_retrain_run(
    engine: Engine,
    model_name: str,
    *,
    trigger: str,
    reason: str,
    evidence: Mapping[str, Any],
    at: datetime,
) -> tuple[int, bool]:
    """Start a retraining run of ``model_name``, unless one is running already.

    Parameters
    ----------
    engine : Engine
        The store.
    model_name : str
        The registered model to retrain.
    trigger : str
        One of :data:`RETRAIN_TRIGGERS`.
    reason : str
        Why, in a sentence for people.
    evidence : mapping
        What fired the trigger (JSON-ready), kept with the run.
    at : datetime
        When the run was requested and started (timezone-aware).

    Returns
    -------
    (int, bool)
        The id of the new ``running`` run and True; or, when another run of the model is
        running, the id of a ``skipped`` row that names it (``evidence["running_run"]``) and
        False. The trigger is recorded, never queued.

    Raises
    ------
    ValueError
        If ``trigger`` is unknown.
    StoreUnavailableError
        If the database cannot be reached or stays locked; nothing is stored.

    Notes
    -----
    The partial unique index ``ix_retrain_runs_model_name_running`` refuses a second running
    row, so of two replicas that start a run at once exactly one wins, with no lock held
    between a check and an insert.
    """
    requested = _requested(model_name, trigger, reason, evidence, at)
    running = {**requested, "status": "running", "started_at": at, "heartbeat_at": at}
    failed = f"could not start a retraining of {model_name!r}"

    def skip(connection: Connection) -> int | None:
        started_at = func.coalesce(RetrainRun.started_at, RetrainRun.requested_at)
        query = select(RetrainRun.id, started_at.label("started_at")).where(
            RetrainRun.model_name == model_name, RetrainRun.status == "running"
        )
        under_way = connection.execute(query).first()
        if under_way is None:
            return None
        error = (
            f"retraining run {under_way.id} is running since {under_way.started_at.isoformat()}; "
            "this trigger was recorded, not queued"
        )
        values = {
            **requested,
            "status": "skipped",
            "finished_at": at,
            "error": error,
            "evidence": {**requested["evidence"], "running_run": under_way.id},
        }
        return _insert(connection, values)

    attempts = 0
    while True:
        attempts += 1
        try:
            return _run(engine, lambda connection: _insert(connection, running), failed), True
        except IntegrityError:
            skipped = _run(engine, skip, failed)
            if skipped is not None:
                return skipped, False
            if attempts == _ATTEMPTS:
                raise


def record_skipped_run(
    engine: Engine,
    model_name: str,
    *,
    trigger: str,
    reason: str,
    evidence: Mapping[str, Any],
    at: datetime,
    why: str,
) -> int:
    """Record a trigger that did not start a run (a cooldown, an A/B test under way...);
    returns the id of its ``skipped`` row, whose ``error`` is ``why``.

    Raises
    ------
    ValueError
        If ``trigger`` is unknown.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    values = {
        **_requested(model_name, trigger, reason, evidence, at),
        "status": "skipped",
        "finished_at": at,
        "error": why,
    }
    return _run(
        engine,
        lambda connection: _insert(connection, values),
        f"could not record a skipped retraining of {model_name!r}",
    )


def record_step(engine: Engine, run_id: int, step: Mapping[str, Any], *, at: datetime) -> None:
    """Append a finished step (JSON-ready) to a run's ``steps`` and move its heartbeat to ``at``.

    Raises
    ------
    NotFoundError
        No run has that id.
    StoreUnavailableError
        If the database cannot be reached or stays locked; the step is not stored.
    """

    def work(connection: Connection) -> None:
        # One process writes a run's steps; the row lock only guards against a second one.
        query = select(RetrainRun.steps).where(RetrainRun.id == run_id).with_for_update()
        row = connection.execute(query).first()
        if row is None:
            raise NotFoundError(_not_found(run_id))
        steps = [*(row.steps or []), dict(step)]
        _updated(connection, run_id, {"steps": steps, "heartbeat_at": at})

    _run(engine, work, f"could not record a step of retraining run {run_id}")


def update_retrain_run(engine: Engine, run_id: int, values: Mapping[str, Any]) -> None:
    """Change columns of a run (``champion_version``, ``candidate_version``, ``flow_run_id``...).

    Raises
    ------
    NotFoundError
        No run has that id.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    if values:
        _run(
            engine,
            lambda connection: _updated(connection, run_id, values),
            f"could not update retraining run {run_id}",
        )


def finish_retrain_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    at: datetime,
    error: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> None:
    """End a run: ``succeeded``, ``rejected`` (the candidate failed a gate) or ``failed``.

    Parameters
    ----------
    status : str
        ``succeeded``, ``rejected`` or ``failed``.
    at : datetime
        When it ended (``finished_at``).
    error : str or None, optional
        What went wrong; a stored error is kept when None.
    values : mapping or None, optional
        Other columns to set in the same update (``candidate_version``, ``ab_test_id``...).

    Raises
    ------
    ValueError
        If ``status`` is not one of the three.
    NotFoundError
        No run has that id.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    if status not in _FINISHED:
        raise ValueError(
            f"a run finishes as one of {', '.join(_FINISHED)}, got {status!r}; "
            "a trigger that started nothing is recorded with record_skipped_run"
        )
    changes = {**(values or {}), "status": status, "finished_at": at}
    if error is not None:
        changes["error"] = error
    _run(
        engine,
        lambda connection: _updated(connection, run_id, changes),
        f"could not finish retraining run {run_id}",
    )


def get_retrain_run(engine: Engine, run_id: int) -> dict[str, Any]:
    """One run, every column.

    Raises
    ------
    NotFoundError
        No run has that id.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    query = select(RetrainRun).where(RetrainRun.id == run_id)
    row = _run(
        engine,
        lambda connection: connection.execute(query).first(),
        f"could not read retraining run {run_id}",
    )
    if row is None:
        raise NotFoundError(_not_found(run_id))
    return _plain(row)


def list_retrain_runs(
    engine: Engine,
    *,
    model_name: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Runs matching every filter given, newest request first.

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = select(RetrainRun)
    if model_name is not None:
        query = query.where(RetrainRun.model_name == model_name)
    if status is not None:
        query = query.where(RetrainRun.status == status)
    query = query.order_by(RetrainRun.requested_at.desc(), RetrainRun.id.desc()).limit(limit)
    rows = _run(
        engine,
        lambda connection: connection.execute(query).all(),
        "could not read the retraining runs",
    )
    return [_plain(row) for row in rows]


def _one(engine: Engine, query: Any, failed: str) -> dict[str, Any] | None:
    row = _run(engine, lambda connection: connection.execute(query).first(), failed)
    return None if row is None else _plain(row)


def running_retrain_run(engine: Engine, model_name: str) -> dict[str, Any] | None:
    """The running run of ``model_name``, or None.

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    query = select(RetrainRun).where(
        RetrainRun.model_name == model_name, RetrainRun.status == "running"
    )
    return _one(engine, query, f"could not read the running retraining of {model_name!r}")


def last_finished_retrain_run(engine: Engine, model_name: str) -> dict[str, Any] | None:
    """The run of ``model_name`` that ended last (succeeded, rejected or failed), or None;
    skipped rows never started and do not count.

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    query = (
        select(RetrainRun)
        .where(RetrainRun.model_name == model_name, RetrainRun.status.in_(_FINISHED))
        .order_by(RetrainRun.finished_at.desc(), RetrainRun.id.desc())
        .limit(1)
    )
    return _one(engine, query, f"could not read the last retraining of {model_name!r}")


def fail_stale_retrain_runs(
    engine: Engine, model_name: str, *, heartbeat_before: datetime, at: datetime
) -> list[int]:
    """Mark as failed the running runs of ``model_name`` whose last heartbeat (their start,
    without one) is older than ``heartbeat_before``: the process running them stopped, and the
    next run may start. Returns their ids.

    A run whose heartbeat moves past ``heartbeat_before`` while this runs is left running
    (each update checks the heartbeat again).

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached or stays locked; nothing is changed.
    """
    last_seen = _last_seen()
    stale = (
        RetrainRun.model_name == model_name,
        RetrainRun.status == "running",
        last_seen < heartbeat_before,
    )

    def work(connection: Connection) -> list[int]:
        query = select(RetrainRun.id, last_seen.label("last_seen")).where(*stale)
        failed: list[int] = []
        for row in connection.execute(query.order_by(RetrainRun.id)).all():
            error = (
                f"the process running it stopped: no heartbeat since {row.last_seen.isoformat()}"
            )
            result = connection.execute(
                update(RetrainRun)
                .where(RetrainRun.id == row.id, *stale)
                .values(status="failed", finished_at=at, error=error)
            )
            if result.rowcount:
                failed.append(int(row.id))
        return failed

    return _run(engine, work, f"could not fail the stale retraining runs of {model_name!r}")
