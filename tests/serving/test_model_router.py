import pytest

from driftwarden.core.errors import ConfigError
from driftwarden.serving.model_router import ModelRouter, RoutingConfig, hash_point


def test_hash_point_is_stable_and_uniform():
    assert hash_point("s", "customer-1") == hash_point("s", "customer-1")
    assert hash_point("s", "customer-1") != hash_point("t", "customer-1")
    points = [hash_point("s", f"c{i}") for i in range(20_000)]
    assert all(0.0 <= p < 1.0 for p in points)
    assert sum(p < 0.3 for p in points) / len(points) == pytest.approx(0.3, abs=0.015)


def test_router_split_sends_the_share_to_the_challenger_and_keeps_customers_on_their_arm():
    router = ModelRouter(RoutingConfig(mode="split", share=0.2, salt="exp"))
    keys = [f"c{i}" for i in range(10_000)]
    first = {k: router.arm(k, challenger_available=True) for k in keys}
    assert sum(a == "challenger" for a in first.values()) / len(keys) == pytest.approx(
        0.2, abs=0.02
    )
    assert first == {k: router.arm(k, challenger_available=True) for k in keys}


def test_router_raising_the_share_only_moves_customers_into_the_challenger():
    router = ModelRouter(RoutingConfig(mode="split", share=0.1, salt="exp"))
    keys = [f"c{i}" for i in range(5_000)]
    before = {k: router.arm(k, challenger_available=True) for k in keys}
    router.update(share=0.5)
    after = {k: router.arm(k, challenger_available=True) for k in keys}
    assert all(after[k] == "challenger" for k in keys if before[k] == "challenger")
    assert sum(a == "challenger" for a in after.values()) > sum(
        a == "challenger" for a in before.values()
    )


def test_router_serves_the_champion_when_off_shadowing_or_without_a_challenger():
    assert ModelRouter().arm("c1", challenger_available=True) == "champion"
    split = ModelRouter(RoutingConfig(mode="split", share=1.0))
    assert split.arm("c1", challenger_available=False) == "champion"
    assert split.arm("c1", challenger_available=True) == "challenger"
    shadow = ModelRouter(RoutingConfig(mode="shadow", share=1.0))
    assert shadow.arm("c1", challenger_available=True) == "champion"
    assert shadow.shadows(challenger_available=True)
    assert not shadow.shadows(challenger_available=False)
    assert not split.shadows(challenger_available=True)


def test_router_update_keeps_unchanged_fields_and_validates():
    router = ModelRouter(RoutingConfig(mode="split", share=0.3, salt="a"))
    assert router.update(salt="b") == RoutingConfig(mode="split", share=0.3, salt="b")
    with pytest.raises(ConfigError, match="share must be between 0 and 1"):
        router.update(share=1.5)
    assert router.config.share == 0.3
    with pytest.raises(ConfigError, match="mode must be off, split or shadow"):
        RoutingConfig(mode="canary")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="salt must not be empty"):
        RoutingConfig(salt="")
