"""Leases: one process of many does a job, and another takes it over when that one is gone.

:func:`acquire_lease` takes a free or expired lease, or renews one the caller holds, in one
conditional ``UPDATE`` (or an ``INSERT`` the first time), so two processes racing for an expired
lease cannot both win: PostgreSQL re-checks the condition on the row it locked, SQLite writes one
transaction at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from driftwarden.store.tables import Lease

__all__ = ["acquire_lease", "lease_holder", "release_lease"]


def acquire_lease(engine: Engine, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``.

    Returns
    -------
    bool
        True when ``holder`` holds the lease now; False when another holder's lease has not
        expired.
    """
    if ttl <= timedelta(0):
        raise ValueError(f"ttl must be positive, got {ttl}")
    expires = now + ttl
    renew = (
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at <= now))
        .values(
            holder=holder,
            expires_at=expires,
            acquired_at=case((Lease.holder == holder, Lease.acquired_at), else_=now),
        )
    )
    with engine.begin() as connection:
        if connection.execute(renew).rowcount == 1:
            return True
        if connection.execute(select(Lease.name).where(Lease.name == name)).first() is not None:
            return False
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Lease).values(name=name, holder=holder, acquired_at=now, expires_at=expires)
            )
    except IntegrityError:  # another process inserted it first
        return False
    return True


def release_lease(engine: Engine, name: str, holder: str, *, now: datetime) -> bool:
    """Give the lease up at once, if ``holder`` holds it, so another process need not wait for
    it to expire. Returns whether it was held."""
    statement = (
        update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=now)
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def lease_holder(engine: Engine, name: str, *, now: datetime) -> str | None:
    """The holder of an unexpired lease ``name``, or ``None``."""
    query = select(Lease.holder).where(Lease.name == name, Lease.expires_at > now)
    with engine.connect() as connection:
        return connection.scalar(query)
