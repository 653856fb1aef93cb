from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from driftwarden.stats.errors import InsufficientDataError, StatsError
from driftwarden.stats.estimated import EstimatedMetrics, estimated_metrics
from driftwarden.stats.metrics import classification_metrics

N_AGREEMENT = 5_000
# |estimate - realised| * sqrt(n) over seeds 0-99 peaks at 2.2 (precision, whose denominator is
# the rows predicted positive, 18% of them or more here). A realised metric's standard deviation
# is sqrt(m (1 - m) / d), d the rows in its denominator: at most 1.2 / sqrt(n) here, so 4 / sqrt(n)
# is more than 3 standard deviations for every metric and 1.8 times the worst seen.
AGREEMENT_SCALE = 4.0


def _calibrated_scores(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """Informative scores spread over (0, 1): a logistic of a normal, prevalence about 0.4."""
    return 1.0 / (1.0 + np.exp(-rng.normal(-0.5, 1.5, size=n)))


def _pairwise_auc(scores: list[float]) -> float:
    """The double-sum form of the Notes, written out for small inputs."""
    p = np.asarray(scores, dtype=np.float64)
    order = np.sign(p[:, None] - p[None, :])
    kernel = np.where(order > 0, 1.0, np.where(order == 0, 0.5, 0.0))
    pairs = np.outer(p, 1.0 - p)
    return float(np.sum(pairs * kernel) / (p.sum() * (1.0 - p).sum()))


def test_estimated_metrics_golden_values() -> None:
    m = estimated_metrics([0.2, 0.6, 0.6, 1.0])

    # Predicted positive (score >= 0.5): 0.6, 0.6, 1.0. Predicted negative: 0.2.
    assert m.tp == pytest.approx(0.6 + 0.6 + 1.0)
    assert m.fp == pytest.approx(0.4 + 0.4 + 0.0)
    assert m.fn == pytest.approx(0.2)
    assert m.tn == pytest.approx(0.8)
    assert (m.n, m.threshold) == (4, 0.5)
    assert m.accuracy == pytest.approx(3.0 / 4)
    assert m.precision == pytest.approx(2.2 / 3.0)
    assert m.recall == pytest.approx(2.2 / 2.4)
    assert m.f1 == pytest.approx(4.4 / 5.4)
    assert m.positive_rate == 0.75
    assert m.expected_prevalence == pytest.approx(0.6)
    # Curve points (FP, TP): (0, 0), (0, 1.0) at score 1.0, (0.8, 2.2) at the tied 0.6s,
    # (1.6, 2.4) at 0.2. Trapezoids: 0 + 0.8 * (1.0 + 2.2) + 0.8 * (2.2 + 2.4) = 6.24, over
    # 2 P N = 2 * 2.4 * 1.6 = 7.68.
    assert m.roc_auc == pytest.approx(6.24 / 7.68)
    assert m.roc_auc == pytest.approx(_pairwise_auc([0.2, 0.6, 0.6, 1.0]))


def test_estimated_metrics_score_at_threshold_is_predicted_positive() -> None:
    m = estimated_metrics([0.3, 0.7], threshold=0.7)

    assert (m.tp, m.fn, m.positive_rate) == (0.7, 0.3, 0.5)
    assert m.fp == pytest.approx(0.3)
    assert m.tn == pytest.approx(0.7)


def test_estimated_metrics_agrees_with_realised_metrics(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    scores = _calibrated_scores(rng, N_AGREEMENT)
    labels = (rng.random(N_AGREEMENT) < scores).astype(np.int64)
    threshold = float(rng.uniform(0.3, 0.7))

    estimate = estimated_metrics(scores, threshold=threshold)
    realised = classification_metrics(labels, scores, threshold=threshold)

    tolerance = AGREEMENT_SCALE / math.sqrt(N_AGREEMENT)
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert getattr(estimate, name) == pytest.approx(getattr(realised, name), abs=tolerance)
    assert estimate.expected_prevalence == pytest.approx(realised.prevalence, abs=tolerance)
    for name in ("tp", "fp", "fn", "tn"):
        assert getattr(estimate, name) / N_AGREEMENT == pytest.approx(
            getattr(realised, name) / N_AGREEMENT, abs=tolerance
        )
    assert estimate.positive_rate == realised.positive_rate
    assert estimate.n == realised.n


def test_estimated_roc_auc_is_the_mean_of_realised_roc_auc(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    n, draws = 2_000, 400
    scores = _calibrated_scores(rng, n)
    labels = rng.random((draws, n)) < scores
    # Realised AUC of each draw by the rank formula (as metrics.py), vectorised over draws.
    ranks = rankdata(scores)
    n_positive = labels.sum(axis=1)
    u_statistic = labels @ ranks - n_positive * (n_positive + 1) / 2.0
    realised = u_statistic / (n_positive * (n - n_positive))

    expected = estimated_metrics(scores).roc_auc

    # Monte Carlo error (4 standard errors; the worst seed is at 2.3) plus 1/n for the
    # ratio-of-expectations bias of the Notes.
    tolerance = 4.0 * realised.std() / math.sqrt(draws) + 1.0 / n
    assert expected == pytest.approx(realised.mean(), abs=tolerance)


@pytest.mark.parametrize("n", [1, 3])
def test_estimated_metrics_all_scores_zero(n: int) -> None:
    m = estimated_metrics([0.0] * n)

    assert (m.tp, m.fp, m.fn, m.tn) == (0.0, 0.0, 0.0, float(n))
    assert (m.accuracy, m.precision, m.recall, m.f1) == (1.0, 0.0, 0.0, 0.0)
    assert (m.roc_auc, m.positive_rate, m.expected_prevalence) == (None, 0.0, 0.0)


@pytest.mark.parametrize("n", [1, 3])
def test_estimated_metrics_all_scores_one(n: int) -> None:
    m = estimated_metrics(np.ones(n))

    assert (m.tp, m.fp, m.fn, m.tn) == (float(n), 0.0, 0.0, 0.0)
    assert (m.accuracy, m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0, 1.0)
    assert (m.roc_auc, m.positive_rate, m.expected_prevalence) == (None, 1.0, 1.0)


def test_estimated_metrics_all_scores_tied() -> None:
    m = estimated_metrics([0.3] * 5)

    # One tie group: the curve is the diagonal.
    assert m.roc_auc == 0.5
    assert (m.positive_rate, m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0, 0.0)
    assert m.accuracy == pytest.approx(0.7)


def test_estimated_metrics_single_row() -> None:
    m = estimated_metrics([0.7])

    assert m.n == 1
    assert (m.tp, m.fn) == (0.7, 0.0)
    assert m.fp == pytest.approx(0.3)
    assert (m.accuracy, m.precision, m.recall) == (0.7, 0.7, 1.0)
    assert m.f1 == pytest.approx(1.4 / 1.7)
    assert m.roc_auc == 0.5


def test_estimated_metrics_certain_scores_are_the_realised_metrics() -> None:
    # Scores of exactly 0 and 1 leave no uncertainty: the labels must equal the scores.
    scores = [1.0, 0.0, 1.0, 1.0, 0.0]

    estimate = estimated_metrics(scores)
    realised = classification_metrics([1, 0, 1, 1, 0], scores)

    assert (estimate.tp, estimate.fp, estimate.fn, estimate.tn) == (3.0, 0.0, 0.0, 2.0)
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert getattr(estimate, name) == getattr(realised, name) == 1.0
    assert estimate.positive_rate == realised.positive_rate == 0.6


def test_estimated_metrics_accepts_bool_and_integer_scores() -> None:
    expected = estimated_metrics([1.0, 0.0, 1.0])

    assert estimated_metrics([True, False, True]) == expected
    assert estimated_metrics(np.array([1, 0, 1], dtype=np.uint8)) == expected


def test_estimated_metrics_empty_input_raises() -> None:
    with pytest.raises(InsufficientDataError, match="at least one score; got 0 rows"):
        estimated_metrics([])


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([0.1, math.nan, 0.3, math.nan], r"got 2 value\(s\) that are NaN .*first nan at index 1"),
        (
            [0.1, 1.5, 2.0],
            r"got 2 value\(s\) that are NaN or outside it, the first 1\.5 at index 1",
        ),
        ([-0.2, 0.5], r"got 1 value\(s\) .*the first -0\.2 at index 0"),
        ([0.5, math.inf], r"got 1 value\(s\) .*the first inf at index 1"),
        ([[0.1, 0.2]], r"one-dimensional; got an array of shape \(1, 2\)"),
        (0.5, r"one-dimensional; got an array of shape \(\)"),
        (["a", "b"], r"numbers in \[0, 1\]\); got an array of dtype <U1"),
        ([[0.1, 0.2], [0.3]], "could not read it"),
    ],
)
def test_estimated_metrics_invalid_scores_raise(scores: ArrayLike, message: str) -> None:
    with pytest.raises(StatsError, match=f"scores must be .*{message}"):
        estimated_metrics(scores)


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.1, 1.5, math.nan, math.inf])
def test_estimated_metrics_invalid_threshold_raises(threshold: float) -> None:
    with pytest.raises(StatsError, match=r"threshold must be a number in \(0, 1\), e\.g\. 0\.5"):
        estimated_metrics([0.2, 0.8], threshold=threshold)


def test_estimated_metrics_to_dict_is_plain_json() -> None:
    d = estimated_metrics(np.array([0.1, 0.9, 0.6])).to_dict()

    assert list(d) == [f.name for f in dataclasses.fields(EstimatedMetrics)]
    assert type(d.pop("n")) is int
    assert all(type(value) is float for value in d.values())
    json.dumps(d, allow_nan=False)


def test_estimated_metrics_to_dict_keeps_undefined_auc_as_none() -> None:
    d = estimated_metrics([1.0, 1.0]).to_dict()

    assert d["roc_auc"] is None
    assert json.loads(json.dumps(d, allow_nan=False))["roc_auc"] is None


def test_estimated_metrics_result_is_frozen() -> None:
    m = estimated_metrics([0.2, 0.8])

    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
        m.accuracy = 0.0  # type: ignore[misc]


_scores = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=60)
# Few distinct levels, so that ties, zeros and ones are common.
_tied_scores = st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0]), min_size=1, max_size=40)
_thresholds = st.floats(min_value=1e-6, max_value=1.0 - 1e-6)


@settings(deadline=None, max_examples=200)
@given(scores=st.one_of(_scores, _tied_scores), threshold=_thresholds)
def test_estimated_metrics_property_values_in_range(scores: list[float], threshold: float) -> None:
    m = estimated_metrics(scores, threshold=threshold)

    assert m.n == len(scores)
    assert m.tp + m.fp + m.fn + m.tn == pytest.approx(m.n)
    for count in (m.tp, m.fp, m.fn, m.tn):
        assert count >= 0.0
    for value in (
        m.accuracy,
        m.precision,
        m.recall,
        m.f1,
        m.positive_rate,
        m.expected_prevalence,
    ):
        assert 0.0 <= value <= 1.0
    assert (m.roc_auc is None) == (all(s == 0.0 for s in scores) or all(s == 1.0 for s in scores))
    if m.roc_auc is not None:
        assert 0.0 <= m.roc_auc <= 1.0
    json.dumps(m.to_dict(), allow_nan=False)


@settings(deadline=None, max_examples=100)
@given(scores=st.one_of(_scores, _tied_scores), data=st.data())
def test_estimated_metrics_property_invariant_to_row_order(
    scores: list[float], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(scores))

    m = estimated_metrics(scores)
    s = estimated_metrics(shuffled)

    # Sums in another order may differ in the last bits only.
    for field in dataclasses.fields(EstimatedMetrics):
        original, permuted = getattr(m, field.name), getattr(s, field.name)
        if original is None:
            assert permuted is None
        else:
            assert permuted == pytest.approx(original, rel=1e-9, abs=1e-12), field.name


@settings(deadline=None, max_examples=100)
@given(
    # Six decimals keep the oracle's products p_i (1 - p_j) clear of subnormal underflow.
    scores=st.one_of(
        st.lists(
            st.floats(min_value=0.0, max_value=1.0).map(lambda x: round(x, 6)),
            min_size=1,
            max_size=60,
        ),
        _tied_scores,
    )
)
def test_estimated_metrics_property_auc_is_the_pairwise_sum(scores: list[float]) -> None:
    auc = estimated_metrics(scores).roc_auc

    if auc is not None:
        assert auc == pytest.approx(_pairwise_auc(scores), rel=1e-9, abs=1e-12)
