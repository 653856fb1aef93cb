from datetime import UTC, datetime

import pytest

from driftwarden.core.errors import RegistryError
from driftwarden.registry import PromotionEvent, lineage


def _event(sequence, action, to_version, from_version=None):
    return PromotionEvent(
        sequence, action, "champion", from_version, to_version,
        datetime(2026, 1, 1, tzinfo=UTC), "", "test",
    )  # fmt: skip


def test_lineage_pushes_promotions_and_pops_rollbacks():
    events = [_event(1, "promote", 1), _event(2, "promote", 2), _event(3, "promote", 3),
              _event(4, "rollback", 2)]  # fmt: skip
    assert lineage(events) == [1, 2]
    assert lineage(list(reversed(events))) == [1, 2]


def test_lineage_ignores_a_rollback_of_nothing():
    assert lineage([_event(1, "rollback", 1)]) == []


def test_promotion_event_json_round_trip():
    event = _event(7, "promote", 3, from_version=2)
    assert PromotionEvent.from_json(event.to_json()) == event


def test_promotion_event_unreadable_json_is_a_registry_error():
    with pytest.raises(RegistryError, match="unreadable promotion history"):
        PromotionEvent.from_json('{"sequence": 1}')
