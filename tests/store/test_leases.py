from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from driftwarden.store import acquire_lease, lease_holder, release_lease

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_the_first_holder_gets_the_lease_and_others_wait_until_it_expires(migrated: Engine):
    assert acquire_lease(migrated, "monitor:churn", "a", ttl=TTL, now=T0)
    assert not acquire_lease(
        migrated, "monitor:churn", "b", ttl=TTL, now=T0 + timedelta(seconds=29)
    )
    assert lease_holder(migrated, "monitor:churn", now=T0 + timedelta(seconds=29)) == "a"
    # Expired: the next taker wins, and the old holder no longer holds it.
    assert acquire_lease(migrated, "monitor:churn", "b", ttl=TTL, now=T0 + timedelta(seconds=30))
    assert not acquire_lease(
        migrated, "monitor:churn", "a", ttl=TTL, now=T0 + timedelta(seconds=31)
    )
    assert lease_holder(migrated, "monitor:churn", now=T0 + timedelta(seconds=31)) == "b"


def test_a_holder_renews_its_lease_past_the_first_expiry(migrated: Engine):
    assert acquire_lease(migrated, "m", "a", ttl=TTL, now=T0)
    assert acquire_lease(migrated, "m", "a", ttl=TTL, now=T0 + timedelta(seconds=20))
    # Held until 0:50 now, not 0:30.
    assert not acquire_lease(migrated, "m", "b", ttl=TTL, now=T0 + timedelta(seconds=40))
    assert lease_holder(migrated, "m", now=T0 + timedelta(seconds=49)) == "a"
    assert lease_holder(migrated, "m", now=T0 + timedelta(seconds=50)) is None


def test_leases_of_different_names_are_independent(migrated: Engine):
    assert acquire_lease(migrated, "monitor:churn", "a", ttl=TTL, now=T0)
    assert acquire_lease(migrated, "monitor:houses", "b", ttl=TTL, now=T0)
    assert lease_holder(migrated, "monitor:houses", now=T0) == "b"


def test_a_released_lease_is_free_at_once_and_only_its_holder_can_release_it(migrated: Engine):
    assert acquire_lease(migrated, "m", "a", ttl=TTL, now=T0)
    assert not release_lease(migrated, "m", "b", now=T0)
    assert lease_holder(migrated, "m", now=T0) == "a"
    assert release_lease(migrated, "m", "a", now=T0 + timedelta(seconds=1))
    assert lease_holder(migrated, "m", now=T0 + timedelta(seconds=1)) is None
    assert acquire_lease(migrated, "m", "b", ttl=TTL, now=T0 + timedelta(seconds=1))
    assert not release_lease(migrated, "never-taken", "a", now=T0)


def test_a_lease_needs_a_positive_ttl(migrated: Engine):
    with pytest.raises(ValueError, match="ttl must be positive"):
        acquire_lease(migrated, "m", "a", ttl=timedelta(0), now=T0)


def test_of_many_racing_for_a_free_lease_exactly_one_wins(migrated: Engine):
    for round_ in range(5):
        name = f"race-{round_}"
        barrier = threading.Barrier(8)
        winners: list[str] = []

        def race(
            holder: str,
            name: str = name,
            barrier: threading.Barrier = barrier,
            winners: list[str] = winners,
        ) -> None:
            barrier.wait()
            if acquire_lease(migrated, name, holder, ttl=TTL, now=T0):
                winners.append(holder)

        threads = [threading.Thread(target=race, args=(f"h{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(winners) == 1
        assert lease_holder(migrated, name, now=T0) == winners[0]
