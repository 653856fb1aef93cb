from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from driftwarden.stats import (
    DEFAULT_EPS,
    DriftConfig,
    ReferenceProfile,
    Severity,
    StatsError,
    population_stability_index,
)
from driftwarden.stats.psi import psi_terms

EPS = DEFAULT_EPS


def hand_psi(
    reference: NDArray[np.float64],
    current: NDArray[np.float64],
    n_bins: int = 10,
    eps: float = EPS,
) -> float:
    """PSI written out independently of the engine.

    Bins: the reference's inverted-CDF quantiles at levels 1/n_bins .. (n_bins-1)/n_bins, closed on
    the right ``(a, b]``, with the first bin open to -inf and the last to +inf. A cut equal to the
    reference maximum is kept, so the last bin (max, inf) is empty in the reference. Shares
    floored at ``eps`` and not renormalised.
    """
    levels = np.arange(1, n_bins) / n_bins
    cuts = np.unique(np.quantile(reference, levels, method="inverted_cdf"))
    # side="left": a value equal to a cut goes into the bin that cut closes.
    p = np.bincount(np.searchsorted(cuts, reference, side="left"), minlength=cuts.size + 1)
    q = np.bincount(np.searchsorted(cuts, current, side="left"), minlength=cuts.size + 1)
    p_share = np.maximum(p / reference.size, eps)
    q_share = np.maximum(q / current.size, eps)
    return float(np.sum((q_share - p_share) * np.log(q_share / p_share)))


def numeric_psi(reference: NDArray[np.float64], current: NDArray[np.float64], **fit: Any) -> float:
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"}, **fit)
    report = profile.compare({"x": current}, config=DriftConfig(min_samples=1, n_jobs=1))
    return report.features["x"].result("psi").statistic


def test_population_stability_index_golden_value() -> None:
    # (0.5 - 0.25) ln(0.5 / 0.25) + (0.25 - 0.25) ln 1 + (0.25 - 0.5) ln(0.25 / 0.5)
    # = 0.25 ln 2 + 0 + 0.25 ln 2 = 0.5 ln 2
    psi = population_stability_index([0.25, 0.25, 0.5], [0.5, 0.25, 0.25])

    assert psi == pytest.approx(0.5 * math.log(2), rel=1e-12)


def test_population_stability_index_emptied_bin_is_floored_at_eps_and_not_renormalised() -> None:
    # The emptied bin: (1e-4 - 0.1) ln(1e-4 / 0.1) = 0.0999 * ln(1000) = 0.690085
    # the other:       (1.0 - 0.9) ln(1.0 / 0.9)   = 0.1 * 0.105361   = 0.010536
    # Renormalising the floored shares would change the second term; it must not happen.
    expected = (EPS - 0.1) * math.log(EPS / 0.1) + (1.0 - 0.9) * math.log(1.0 / 0.9)

    psi = population_stability_index([0.1, 0.9], [0.0, 1.0])

    assert psi == pytest.approx(expected, rel=1e-12)
    assert psi == pytest.approx(0.700621, abs=1e-6)


def test_population_stability_index_eps_sets_the_size_of_an_emptied_bin() -> None:
    psi = population_stability_index([0.5, 0.5], [0.0, 1.0], eps=1e-2)

    expected = (1e-2 - 0.5) * math.log(1e-2 / 0.5) + 0.5 * math.log(1.0 / 0.5)
    assert psi == pytest.approx(expected, rel=1e-12)


def test_population_stability_index_normalises_counts() -> None:
    from_counts = population_stability_index([10, 30, 60], [25, 25, 50])
    from_shares = population_stability_index([0.1, 0.3, 0.6], [0.25, 0.25, 0.5])

    assert from_counts == pytest.approx(from_shares, rel=1e-12)


@pytest.mark.parametrize("eps", [0.0, 1.0, -1e-4, 2.0])
def test_population_stability_index_rejects_eps_out_of_range(eps: float) -> None:
    with pytest.raises(StatsError, match=r"eps must be in \(0, 1\)"):
        population_stability_index([0.5, 0.5], [0.5, 0.5], eps=eps)


def test_population_stability_index_rejects_bins_of_different_lengths() -> None:
    with pytest.raises(StatsError, match="reference has 2 bins but current has 3"):
        population_stability_index([0.5, 0.5], [0.2, 0.3, 0.5])


def test_population_stability_index_rejects_negative_shares() -> None:
    with pytest.raises(StatsError, match="current: bin counts and shares must be >= 0"):
        population_stability_index([0.5, 0.5], [1.5, -0.5])


def test_population_stability_index_rejects_empty_bins() -> None:
    with pytest.raises(StatsError, match=r"reference: the bins are empty \(total 0\)"):
        population_stability_index([0, 0], [1, 1])


def test_population_stability_index_rejects_nan() -> None:
    with pytest.raises(StatsError, match="reference: expected finite numbers"):
        population_stability_index([0.5, math.nan], [0.5, 0.5])


shares = st.lists(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False), min_size=1, max_size=30
).filter(lambda values: sum(values) > 0)
# Counts no rescaling can turn into 0 (a subnormal times 0.5 can).
counts = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e6)), min_size=1, max_size=30
).filter(lambda values: sum(values) > 0)


@settings(deadline=None, max_examples=200)
@given(data=st.data(), reference=shares)
def test_population_stability_index_is_non_negative(data: st.DataObject, reference: list[float]):
    current = data.draw(
        st.lists(
            st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
            min_size=len(reference),
            max_size=len(reference),
        ).filter(lambda values: sum(values) > 0)
    )

    psi = population_stability_index(reference, current)

    assert psi >= 0.0
    assert math.isfinite(psi)


@settings(deadline=None, max_examples=200)
@given(reference=counts, scale=st.floats(min_value=1e-3, max_value=1e3))
def test_population_stability_index_of_equal_shares_is_zero(reference: list[float], scale: float):
    # The same distribution given as counts on another scale: the shares are equal.
    psi = population_stability_index(reference, [value * scale for value in reference])

    assert psi == pytest.approx(0.0, abs=1e-9)


def test_numeric_psi_golden_value_by_hand() -> None:
    # Reference 1..20: the inverted-CDF deciles are the values at (1-based) positions 2, 4, .., 18,
    # so the cuts are 2, 4, .., 18 and every bin (-inf, 2], (2, 4], .., (18, inf) holds 10%.
    reference = np.arange(1.0, 21.0)
    # Window counts per bin: [4, 4, 2, 2, 2, 2, 2, 2, 0, 0] (2 and 4 sit on cuts: closed right).
    current = np.array(
        [0.5, 1, 2, 2, 3, 3.5, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], dtype=np.float64
    )
    # PSI = 2 * (0.2 - 0.1) ln(0.2 / 0.1)        two doubled bins:  0.2 ln 2 = 0.138629
    #     + 6 * (0.1 - 0.1) ln 1                  six unchanged bins:         0
    #     + 2 * (1e-4 - 0.1) ln(1e-4 / 0.1)       two emptied bins: 2 * 0.690085 = 1.380170
    #     = 1.518799
    expected = 0.2 * math.log(2) + 2 * (EPS - 0.1) * math.log(EPS / 0.1)

    psi = numeric_psi(reference, current)

    assert psi == pytest.approx(expected, rel=1e-12)
    assert psi == pytest.approx(1.518799, abs=1e-6)
    assert psi == pytest.approx(hand_psi(reference, current), rel=1e-12)


def test_numeric_psi_golden_value_when_a_shift_empties_reference_bins() -> None:
    rng = np.random.default_rng(7)
    reference = rng.exponential(1.0, 100_000)
    current = rng.exponential(1.0, 50_000) + 1.0
    cuts = np.quantile(reference, np.arange(1, 10) / 10, method="inverted_cdf")
    # Every reference decile bin holds exactly 10% (100,000 distinct values).
    assert np.bincount(np.searchsorted(cuts, reference), minlength=10).tolist() == [10_000] * 10
    # Exp(1) deciles are ln(10 / (10 - k)): the sixth is ln 2.5 = 0.916 < 1, so a window shifted by
    # +1.0 leaves the six bins below it empty. Each contributes
    #     (eps - p) ln(eps / p) = (1e-4 - 0.1) ln(1e-3) = 0.0999 * 6.907755 = 0.690085,
    # 4.140509 together. The four other bins hold window shares q_k, each adding
    # (q_k - 0.1) ln(q_k / 0.1).
    assert cuts[5] < 1.0 < cuts[6]
    q = np.bincount(np.searchsorted(cuts, current), minlength=10) / current.size
    assert q[:6].tolist() == [0.0] * 6
    emptied = 6 * (EPS - 0.1) * math.log(EPS / 0.1)
    assert emptied == pytest.approx(4.140509, abs=1e-6)
    expected = emptied + sum((share - 0.1) * math.log(share / 0.1) for share in q[6:])

    psi = numeric_psi(reference, current)

    assert psi == pytest.approx(expected, rel=1e-12)
    # In the population the four shares are 1 - 0.3e, 0.1e, 0.1e, 0.1e (e = exp(1)), for
    # 4.140509 + 0.051771 + 3 * 0.171828 = 4.707764.
    assert psi == pytest.approx(4.707764, abs=0.02)
    assert math.isfinite(psi)
    assert psi > 4.0


def test_numeric_psi_agrees_with_hand_computation(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    reference = rng.normal(0.0, 1.0, int(rng.integers(100, 6_000)))
    current = rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2.0), int(rng.integers(50, 3_000)))

    assert numeric_psi(reference, current) == pytest.approx(
        hand_psi(reference, current), rel=1e-9, abs=1e-12
    )


@pytest.mark.parametrize(
    ("n_quantiles", "n_bins"), [(2000, 10), (15, 10), (1001, 10), (100, 7), (37, 5), (5, 5)]
)
def test_numeric_psi_bins_are_reference_quantiles_for_any_grid(n_quantiles: int, n_bins: int):
    rng = np.random.default_rng(5)
    reference = rng.lognormal(0.0, 1.0, 4_000)
    current = rng.lognormal(0.2, 1.1, 3_000)

    psi = numeric_psi(reference, current, n_quantiles=n_quantiles, n_bins=n_bins)

    assert psi == pytest.approx(hand_psi(reference, current, n_bins=n_bins), rel=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_numeric_psi_agrees_with_hand_computation_on_discrete_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.poisson(rng.uniform(0.5, 8.0), 3_000).astype(np.float64)
    current = rng.poisson(rng.uniform(0.5, 8.0), 2_000).astype(np.float64)

    assert numeric_psi(reference, current) == pytest.approx(
        hand_psi(reference, current), rel=1e-9, abs=1e-12
    )


def test_numeric_psi_keeps_a_cut_equal_to_the_reference_maximum() -> None:
    # 95% ones: every decile is 1.0, the maximum, so the bins are (-inf, 1] and (1, inf) with
    # reference shares 1 and 0. A window moving above the maximum fills the second bin:
    # PSI = (eps - 1) ln(eps) + (1 - eps) ln(1 / eps) = 2 (1 - eps) ln(1 / eps).
    reference = np.array([0.0] * 50 + [1.0] * 950)
    current = np.full(500, 3.0)

    assert numeric_psi(reference, current) == pytest.approx(2 * (1 - EPS) * np.log(1 / EPS))
    assert numeric_psi(reference, current) == pytest.approx(hand_psi(reference, current))


@settings(deadline=None, max_examples=150)
@given(
    values=st.lists(
        st.one_of(
            st.floats(min_value=-1e12, max_value=1e12),
            st.sampled_from([0.0, 1.0, 2.0, 3.0]),
        ),
        min_size=1,
        max_size=300,
    )
)
def test_numeric_psi_of_the_reference_against_itself_is_zero(values: list[float]) -> None:
    reference = np.array(values)
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"}, n_quantiles=50)
    report = profile.compare({"x": reference[::-1]}, config=DriftConfig(min_samples=1, n_jobs=1))

    verdict = report.features["x"]

    assert verdict.result("psi").statistic == pytest.approx(0.0, abs=1e-12)
    assert verdict.result("jensen_shannon").statistic == pytest.approx(0.0, abs=1e-12)
    assert verdict.result("ks").statistic == pytest.approx(0.0, abs=1e-12)
    assert verdict.result("wasserstein").statistic == pytest.approx(0.0, abs=1e-9)


@settings(deadline=None, max_examples=100)
@given(
    values=st.lists(
        st.one_of(st.sampled_from(["a", "b", "c", ""]), st.none(), st.integers(0, 3)),
        min_size=1,
        max_size=200,
    )
)
def test_categorical_psi_of_the_reference_against_itself_is_zero(values: list[object]) -> None:
    reference = np.array(values, dtype=object)
    profile = ReferenceProfile.fit({"c": reference}, {"c": "categorical"}, max_categories=3)
    report = profile.compare({"c": reference}, config=DriftConfig(min_samples=1, n_jobs=1))

    verdict = report.features["c"]

    if verdict.severity is not Severity.INSUFFICIENT_DATA:  # every value missing
        assert verdict.result("psi").statistic == pytest.approx(0.0, abs=1e-12)
        assert verdict.result("chi2").statistic == pytest.approx(0.0, abs=1e-9)
    assert report.quality["c"].n_unseen == 0


def test_psi_terms_sum_to_the_psi_of_the_shares() -> None:
    p, q = np.array([0.1, 0.2, 0.7, 0.0]), np.array([0.0, 0.3, 0.3, 0.4])

    terms = psi_terms(p, q, 1e-4)

    # The emptied first bin: (1e-4 - 0.1) ln(1e-4 / 0.1).
    assert terms[0] == pytest.approx((1e-4 - 0.1) * math.log(1e-4 / 0.1), rel=1e-12)
    assert terms[1] == pytest.approx(0.1 * math.log(1.5), rel=1e-12)
    assert float(np.sum(terms)) == population_stability_index(p, q, eps=1e-4)
