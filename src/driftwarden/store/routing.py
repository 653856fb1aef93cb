"""The champion/challenger experiment of each model, kept in the store for every API replica.

Changes are appended, never updated in place (:class:`~driftwarden.store.tables.RoutingChange`),
so the history of an experiment, with when and by whom each change was made, stays queryable; the
newest change of a model is its current experiment. The store checks only what it must hold to
stay readable (a known mode, a share in ``[0, 1]``, a salt that fits); what the router makes of
the values is the serving layer's business.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, insert, select
from sqlalchemy.exc import DBAPIError

from driftwarden.core import Clock, ConfigError
from driftwarden.store.engine import is_outage, outage_error
from driftwarden.store.tables import CHANGED_BY_LENGTH, SALT_LENGTH, RoutingChange

__all__ = [
    "ROUTING_MODES",
    "StoredRouting",
    "current_routing",
    "record_routing",
    "routing_history",
]

# The modes of serving.model_router.Mode; tests/serving/test_shared_routing.py ties the two.
ROUTING_MODES = ("off", "split", "shadow")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class StoredRouting:
    """One stored change of a model's experiment.

    Attributes
    ----------
    model_name : str
        The registered model the experiment routes between.
    mode : str
        ``off``, ``split`` or ``shadow``.
    share : float
        The challenger's share of entities in ``split`` mode.
    salt : str
        Seeds the stable assignment of entities to arms; a new salt starts a new experiment.
    changed_at : datetime
        When the change was made (timezone-aware UTC).
    changed_by : str
        Who made it, as the writer described them.
    """

    model_name: str
    mode: str
    share: float
    salt: str
    changed_at: datetime
    changed_by: str


_COLUMNS = (
    RoutingChange.model_name,
    RoutingChange.mode,
    RoutingChange.share,
    RoutingChange.salt,
    RoutingChange.changed_at,
    RoutingChange.changed_by,
)


def _stored(row: Row[*tuple[Any, ...]]) -> StoredRouting:
    return StoredRouting(
        model_name=row.model_name,
        mode=row.mode,
        share=row.share,
        salt=row.salt,
        changed_at=row.changed_at,
        changed_by=row.changed_by,
    )


def _run(engine: Engine, work: Callable[[Connection], _T], failed: str) -> _T:
    """Run ``work`` in one transaction; an outage becomes a :class:`StoreUnavailableError`."""
    try:
        with engine.begin() as connection:
            return work(connection)
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        raise outage_error(
            engine, exc, failed, "check that the database is running, then try again"
        ) from exc


def _check(mode: str, share: float, salt: str, changed_by: str) -> None:
    if mode not in ROUTING_MODES:
        raise ConfigError(
            f"mode must be one of {', '.join(ROUTING_MODES)}, got {mode!r}", key="mode"
        )
    if not (math.isfinite(share) and 0.0 <= share <= 1.0):
        raise ConfigError(f"share must be between 0 and 1, got {share!r}", key="share")
    if not 1 <= len(salt) <= SALT_LENGTH:
        raise ConfigError(
            f"salt must have 1 to {SALT_LENGTH} characters, got {len(salt)}", key="salt"
        )
    if not 1 <= len(changed_by) <= CHANGED_BY_LENGTH:
        raise ConfigError(
            f"changed_by must have 1 to {CHANGED_BY_LENGTH} characters, got {len(changed_by)}; "
            "name who made the change, briefly",
            key="changed_by",
        )


def record_routing(
    engine: Engine,
    model_name: str,
    *,
    mode: str,
    share: float,
    salt: str,
    changed_by: str,
    clock: Clock,
) -> StoredRouting:
    """Store a new experiment for ``model_name``; it becomes the current one.

    Parameters
    ----------
    engine : Engine
        The store.
    model_name : str
        The registered model.
    mode, share, salt : str, float, str
        The whole experiment (not a partial change).
    changed_by : str
        Who made the change, kept in the history.
    clock : Clock
        Times the change.

    Returns
    -------
    StoredRouting
        The change as stored.

    Raises
    ------
    ConfigError
        If the mode is unknown, the share is outside ``[0, 1]``, or the salt or ``changed_by``
        is empty or too long; ``key`` names the value. Nothing is stored.
    StoreUnavailableError
        If the database cannot be reached or stays locked; nothing is stored.
    """
    _check(mode, share, salt, changed_by)
    change = StoredRouting(model_name, mode, float(share), salt, clock.now(), changed_by)
    values = {column.key: getattr(change, column.key) for column in _COLUMNS}
    _run(
        engine,
        lambda connection: connection.execute(insert(RoutingChange).values(values)),
        f"could not store the routing of {model_name!r}; it was not changed",
    )
    return change


def current_routing(engine: Engine, model_name: str) -> StoredRouting | None:
    """The newest stored experiment of ``model_name``, or None if none was ever stored.

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    query = (
        select(*_COLUMNS)
        .where(RoutingChange.model_name == model_name)
        .order_by(RoutingChange.id.desc())
        .limit(1)
    )
    row = _run(
        engine,
        lambda connection: connection.execute(query).first(),
        f"could not read the routing of {model_name!r}",
    )
    return None if row is None else _stored(row)


def routing_history(
    engine: Engine, model_name: str, *, limit: int | None = None
) -> list[StoredRouting]:
    """Every stored change of ``model_name``'s experiment, oldest first.

    Parameters
    ----------
    limit : int or None, optional
        Only the newest ``limit`` changes (still oldest first).

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}; leave it out for every change")
    query = (
        select(*_COLUMNS, RoutingChange.id)
        .where(RoutingChange.model_name == model_name)
        .order_by(RoutingChange.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    rows = _run(
        engine,
        lambda connection: list(connection.execute(query)),
        f"could not read the routing history of {model_name!r}",
    )
    return [_stored(row) for row in reversed(rows)]
