from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.metrics import roc_curve as sklearn_roc_curve

from driftwarden.stats.errors import InsufficientDataError, StatsError
from driftwarden.stats.metrics import ClassificationMetrics, classification_metrics, roc_curve

EPS = 1e-15


def _labelled_scores(
    rng: np.random.Generator, n: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Labels with a random prevalence and informative, overlapping probabilities."""
    prevalence = rng.uniform(0.05, 0.6)
    y = (rng.random(n) < prevalence).astype(np.int64)
    logits = rng.normal(loc=np.where(y == 1, 1.0, -0.5), scale=rng.uniform(0.5, 2.0))
    return y, 1.0 / (1.0 + np.exp(-logits))


def _assert_agrees_with_sklearn(
    y: NDArray[np.int64], scores: NDArray[np.float64], threshold: float
) -> None:
    m = classification_metrics(y, scores, threshold=threshold)
    y_pred = (scores >= threshold).astype(np.int64)

    tn, fp, fn, tp = confusion_matrix(y, y_pred, labels=[0, 1]).ravel().tolist()
    assert (m.tn, m.fp, m.fn, m.tp) == (tn, fp, fn, tp)
    assert m.n == len(y)
    assert m.n_positive == int(y.sum())
    assert m.accuracy == pytest.approx(accuracy_score(y, y_pred), rel=1e-12)
    assert m.precision == pytest.approx(precision_score(y, y_pred, zero_division=0), rel=1e-12)
    assert m.recall == pytest.approx(recall_score(y, y_pred, zero_division=0), rel=1e-12)
    assert m.f1 == pytest.approx(f1_score(y, y_pred, zero_division=0), rel=1e-12)
    assert m.roc_auc == pytest.approx(roc_auc_score(y, scores), rel=1e-10)
    assert m.brier == pytest.approx(brier_score_loss(y, scores), rel=1e-12)
    assert m.positive_rate == pytest.approx(y_pred.mean(), rel=1e-12)
    assert m.prevalence == pytest.approx(y.mean(), rel=1e-12)
    # scikit-learn clips at the dtype's machine epsilon, not at `eps`: giving it the scores
    # already clipped at `eps` makes its own clipping a no-op, so both compute the same sum.
    clipped = np.clip(scores, EPS, 1.0 - EPS)
    assert m.log_loss == pytest.approx(log_loss(y, clipped, labels=[0, 1]), rel=1e-12)
    if np.all((scores > 0.0) & (scores < 1.0)):
        assert m.log_loss == pytest.approx(log_loss(y, scores, labels=[0, 1]), rel=1e-9)


@pytest.mark.parametrize("seed", range(100))
def test_classification_metrics_agrees_with_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, scores = _labelled_scores(rng, int(rng.integers(1_000, 3_000)))
    _assert_agrees_with_sklearn(y, scores, threshold=float(rng.uniform(0.05, 0.95)))


@pytest.mark.parametrize("seed", range(100))
def test_classification_metrics_agrees_with_sklearn_on_tied_scores(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, scores = _labelled_scores(rng, int(rng.integers(1_000, 3_000)))
    # One or two decimals: hundreds of rows share each score, some sit at exactly 0 or 1, and the
    # threshold is itself one of the scores, so `>=` decides many rows.
    decimals = int(rng.integers(1, 3))
    tied = np.round(scores, decimals)
    threshold = float(rng.choice(np.unique(tied)))
    _assert_agrees_with_sklearn(y, tied, threshold=threshold)


def test_classification_metrics_golden_values() -> None:
    y = [0, 0, 1, 1, 1, 0]
    scores = [0.2, 0.5, 0.5, 0.8, 0.3, 0.6]

    m = classification_metrics(y, scores)

    # predicted positive (score >= 0.5): rows 1, 2, 3, 5
    assert (m.tn, m.fp, m.fn, m.tp) == (1, 2, 1, 2)
    assert (m.n, m.n_positive, m.threshold) == (6, 3, 0.5)
    assert m.accuracy == pytest.approx(3 / 6)
    assert m.precision == pytest.approx(2 / 4)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(4 / 7)
    assert m.positive_rate == pytest.approx(4 / 6)
    assert m.prevalence == pytest.approx(3 / 6)
    # positive vs negative pairs: 0.5 beats 0.2, ties 0.5 (half); 0.8 beats all three;
    # 0.3 beats 0.2: 5.5 of 9 pairs
    assert m.roc_auc == pytest.approx(5.5 / 9)
    expected_log_loss = (
        -(math.log(0.5) + math.log(0.8) + math.log(0.3))
        - (math.log(0.8) + math.log(0.5) + math.log(0.4))
    ) / 6
    assert m.log_loss == pytest.approx(expected_log_loss)
    assert m.brier == pytest.approx((0.25 + 0.04 + 0.49 + 0.04 + 0.25 + 0.36) / 6)


def test_classification_metrics_score_at_threshold_is_positive() -> None:
    m = classification_metrics([0, 1], [0.3, 0.7], threshold=0.7)

    assert (m.tn, m.fp, m.fn, m.tp) == (1, 0, 0, 1)


def test_classification_metrics_zero_denominators_give_zero() -> None:
    # Nothing predicted positive and no actual positive: precision, recall and F1 are 0/0.
    m = classification_metrics([0, 0, 0], [0.1, 0.2, 0.3])

    assert (m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0)
    assert m.accuracy == 1.0


def test_classification_metrics_confident_mistake_costs_log_eps() -> None:
    m = classification_metrics([1, 0], [0.0, 1.0], eps=1e-6)

    assert m.log_loss == pytest.approx(-math.log(1e-6))
    assert m.brier == 1.0


@pytest.mark.parametrize("label", [0, 1])
def test_classification_metrics_single_class_gives_no_auc_and_no_warning(label: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics([label] * 4, [0.1, 0.4, 0.6, 0.9])

    assert m.roc_auc is None
    assert m.to_dict()["roc_auc"] is None
    assert m.n_positive == 4 * label


def test_classification_metrics_accepts_bool_and_float_labels() -> None:
    scores = [0.2, 0.7, 0.4, 0.9]
    expected = classification_metrics(np.array([0, 1, 1, 0]), scores)

    assert classification_metrics([False, True, True, False], scores) == expected
    assert classification_metrics(np.array([0.0, 1.0, 1.0, 0.0]), scores) == expected
    assert classification_metrics(np.array([0, 1, 1, 0], dtype=np.uint8), scores) == expected


def test_classification_metrics_single_row() -> None:
    m = classification_metrics([1], [0.9])

    assert (m.n, m.tp, m.accuracy, m.roc_auc) == (1, 1, 1.0, None)


def test_classification_metrics_empty_input_raises() -> None:
    with pytest.raises(InsufficientDataError, match="at least one labelled prediction; got 0"):
        classification_metrics([], [])


def test_classification_metrics_length_mismatch_raises() -> None:
    with pytest.raises(StatsError, match="same length; got 3 labels and 2 scores"):
        classification_metrics([0, 1, 1], [0.2, 0.8])


@pytest.mark.parametrize(
    ("y_true", "scores", "name"),
    [
        ([[0, 1], [1, 0]], [0.1, 0.2, 0.3, 0.4], "y_true"),
        ([0, 1], [[0.1], [0.9]], "scores"),
        (1, [0.5], "y_true"),
    ],
)
def test_classification_metrics_not_one_dimensional_raises(
    y_true: ArrayLike, scores: ArrayLike, name: str
) -> None:
    with pytest.raises(StatsError, match=f"{name} must be one-dimensional; got an array of shape"):
        classification_metrics(y_true, scores)


def test_classification_metrics_unreadable_input_raises() -> None:
    with pytest.raises(StatsError, match="y_true must be a one-dimensional array; could not read"):
        classification_metrics([[0, 1], [1]], [0.1, 0.2])


@pytest.mark.parametrize(
    ("y_true", "shown"),
    [
        ([0, 1, 2], r"\[2\]"),
        ([-1, 0, 1], r"\[-1\]"),
        ([0.0, 0.5, 1.0], r"\[0\.5\]"),
        ([0.0, float("nan"), 1.0], r"\[nan\]"),
    ],
)
def test_classification_metrics_non_binary_labels_raise(y_true: ArrayLike, shown: str) -> None:
    with pytest.raises(
        StatsError, match=rf"binary labels 0/1 \(bool or integer\); got 1 .*{shown}"
    ):
        classification_metrics(y_true, [0.1, 0.5, 0.9])


def test_classification_metrics_string_labels_raise() -> None:
    with pytest.raises(StatsError, match=r"binary labels 0/1 .*got an array of dtype <U3"):
        classification_metrics(["yes", "no"], [0.1, 0.9])


@pytest.mark.parametrize(
    ("scores", "problem"),
    [
        ([0.1, float("nan"), float("nan")], "got 2 NaN value.*first at index 1"),
        ([0.1, 0.2, float("inf")], "got 1 infinite value.*first at index 2"),
        ([0.1, 0.2, float("-inf")], "got 1 infinite value"),
        ([0.1, 1.5, 0.2], r"got 1 value\(s\) outside it \(scores range from 0\.1 to 1\.5\)"),
        ([-0.2, 0.5, 0.2], r"got 1 value\(s\) outside it \(scores range from -0\.2 to 0\.5\)"),
        (["a", "b", "c"], "probabilities of the positive class .*dtype <U1"),
    ],
)
def test_classification_metrics_invalid_scores_raise(scores: ArrayLike, problem: str) -> None:
    with pytest.raises(StatsError, match=f"scores must be .*{problem}"):
        classification_metrics([0, 1, 0], scores)


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), -0.1, 1.5])
def test_classification_metrics_invalid_threshold_raises(threshold: float) -> None:
    with pytest.raises(StatsError, match="threshold must be a finite number in"):
        classification_metrics([0, 1], [0.2, 0.8], threshold=threshold)


@pytest.mark.parametrize("eps", [0.0, -1e-9, 0.5, float("nan")])
def test_classification_metrics_invalid_eps_raises(eps: float) -> None:
    with pytest.raises(StatsError, match=r"eps must be a number in \(0, 0\.5\)"):
        classification_metrics([0, 1], [0.2, 0.8], eps=eps)


def test_classification_metrics_to_dict_is_plain_json() -> None:
    m = classification_metrics(np.array([0, 1, 1, 0, 1]), np.array([0.0, 1.0, 0.6, 0.4, 0.2]))

    d = m.to_dict()

    assert list(d) == [f.name for f in dataclasses.fields(ClassificationMetrics)]
    for name in ("n", "n_positive", "tn", "fp", "fn", "tp"):
        assert type(d[name]) is int
    for name, value in d.items():
        assert type(value) in (int, float), name
    json.dumps(d, allow_nan=False)


def test_classification_metrics_to_dict_replaces_non_finite_with_none() -> None:
    m = dataclasses.replace(
        classification_metrics([0, 1], [0.2, 0.8]), log_loss=math.nan, brier=math.inf
    )

    d = m.to_dict()

    assert d["log_loss"] is None
    assert d["brier"] is None
    json.dumps(d, allow_nan=False)


def test_classification_metrics_result_is_frozen() -> None:
    m = classification_metrics([0, 1], [0.2, 0.8])

    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
        m.accuracy = 0.0  # type: ignore[misc]


_rows = st.lists(
    st.tuples(st.booleans(), st.floats(min_value=0.0, max_value=1.0)), min_size=1, max_size=60
)


@settings(deadline=None, max_examples=200)
@given(rows=_rows, threshold=st.floats(min_value=0.0, max_value=1.0))
def test_classification_metrics_property_values_in_range(
    rows: list[tuple[bool, float]], threshold: float
) -> None:
    y = [label for label, _ in rows]
    scores = [score for _, score in rows]

    m = classification_metrics(y, scores, threshold=threshold)

    assert m.tn + m.fp + m.fn + m.tp == m.n == len(rows)
    for value in (m.accuracy, m.precision, m.recall, m.f1, m.brier, m.positive_rate):
        assert 0.0 <= value <= 1.0
    assert m.prevalence == sum(y) / len(y)
    # The worst row costs -log(1 - (1 - eps)), a hair above -log(eps) in floating point.
    assert 0.0 <= m.log_loss <= -math.log(1.0 - (1.0 - EPS))
    assert (m.roc_auc is None) == (len(set(y)) == 1)
    if m.roc_auc is not None:
        assert 0.0 <= m.roc_auc <= 1.0
    json.dumps(m.to_dict(), allow_nan=False)


@settings(deadline=None, max_examples=200)
@given(
    rows=st.lists(
        st.tuples(st.booleans(), st.integers(min_value=0, max_value=1_000)),
        min_size=2,
        max_size=60,
    ).filter(lambda rows: len({label for label, _ in rows}) == 2)
)
def test_classification_metrics_property_auc_invariant_to_increasing_transform(
    rows: list[tuple[bool, int]],
) -> None:
    y = [label for label, _ in rows]
    # Integer levels keep ties as ties and distinct levels distinct after the transform.
    levels = np.array([level for _, level in rows], dtype=np.float64)
    transformed = (levels / 1_000) ** 2

    auc = classification_metrics(y, levels / 1_000).roc_auc
    transformed_auc = classification_metrics(y, transformed).roc_auc

    assert auc is not None
    assert transformed_auc == pytest.approx(auc, rel=1e-12)


@settings(deadline=None, max_examples=100)
@given(rows=_rows, data=st.data())
def test_classification_metrics_property_invariant_to_row_order(
    rows: list[tuple[bool, float]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(rows))

    m = classification_metrics([r[0] for r in rows], [r[1] for r in rows])
    s = classification_metrics([r[0] for r in shuffled], [r[1] for r in shuffled])

    assert (s.tn, s.fp, s.fn, s.tp) == (m.tn, m.fp, m.fn, m.tp)
    # Ranks are multiples of one half, so their sums are exact in any order.
    assert s.roc_auc == m.roc_auc
    assert s.log_loss == pytest.approx(m.log_loss, rel=1e-12)
    assert s.brier == pytest.approx(m.brier, rel=1e-12, abs=1e-15)


# -- the ROC curve -----------------------------------------------------------------------------


def _assert_curve_is_sklearns(y: NDArray[np.int64], scores: NDArray[np.float64]) -> None:
    curve = roc_curve(y, scores)
    fpr, tpr, thresholds = sklearn_roc_curve(y, scores)
    np.testing.assert_allclose(curve.fpr, fpr, rtol=0, atol=1e-15)
    np.testing.assert_allclose(curve.tpr, tpr, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(curve.thresholds, thresholds)


def test_roc_curve_agrees_with_sklearn(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    y, scores = _labelled_scores(rng, int(rng.integers(2, 150)))
    y[:2] = [1, 0]
    _assert_curve_is_sklearns(y, scores)
    curve = roc_curve(y, scores)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(roc_auc_score(y, scores))


def test_roc_curve_agrees_with_sklearn_on_tied_scores(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    y, scores = _labelled_scores(rng, 120)
    y[:2] = [0, 1]
    # Few distinct scores: every threshold takes a run of ties, a diagonal step of the curve.
    tied = np.round(scores, 1)
    _assert_curve_is_sklearns(y, tied)
    curve = roc_curve(y, tied)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(roc_auc_score(y, tied))
    assert len(curve) <= np.unique(tied).size + 1


def test_roc_curve_golden_values_with_a_tie() -> None:
    # Scores 0.4 of a positive and of a negative tie: one step of (+1/2, +1/2).
    curve = roc_curve([0, 1, 0, 1], [0.1, 0.4, 0.4, 0.8])
    assert curve.fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert curve.tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert curve.thresholds.tolist() == [math.inf, 0.8, 0.4, 0.1]


def test_roc_curve_drops_points_on_straight_segments() -> None:
    # Three positives, then three negatives: 0.8, 0.3 and 0.2 lie on straight segments between
    # their neighbours; the first and the last threshold are always kept.
    curve = roc_curve([1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1])
    assert curve.fpr.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert curve.tpr.tolist() == pytest.approx([0.0, 1 / 3, 1.0, 1.0])
    assert curve.thresholds.tolist() == [math.inf, 0.9, 0.7, 0.1]


def test_roc_curve_is_thinned_to_max_points_keeping_both_ends() -> None:
    rng = np.random.default_rng(7)
    y, scores = _labelled_scores(rng, 5_000)
    fpr, tpr, thresholds = sklearn_roc_curve(y, scores)
    assert fpr.size > 400
    curve = roc_curve(y, scores)
    assert len(curve) == 200
    assert (curve.fpr[0], curve.tpr[0], curve.thresholds[0]) == (0.0, 0.0, math.inf)
    assert (curve.fpr[-1], curve.tpr[-1], curve.thresholds[-1]) == (1.0, 1.0, thresholds[-1])
    assert np.all(np.diff(curve.fpr) >= 0)
    assert np.all(np.diff(curve.tpr) >= 0)
    assert np.all(np.diff(curve.thresholds) < 0)
    # Every point kept is a point of the full curve.
    index = np.searchsorted(-thresholds, -curve.thresholds)
    np.testing.assert_array_equal(thresholds[index], curve.thresholds)
    np.testing.assert_array_equal(fpr[index], curve.fpr)
    np.testing.assert_array_equal(tpr[index], curve.tpr)
    assert len(roc_curve(y, scores, max_points=2)) == 2
    assert len(roc_curve(y, scores, max_points=10_000)) == fpr.size


@pytest.mark.parametrize("y", [[0, 0, 0], [1, 1], []])
def test_roc_curve_of_a_single_class_is_empty(y: list[int]) -> None:
    curve = roc_curve(y, np.linspace(0.1, 0.9, len(y)))
    assert len(curve) == 0
    assert curve.to_dict() == {"fpr": [], "tpr": [], "thresholds": []}


def test_roc_curve_to_dict_is_strict_json() -> None:
    found = roc_curve([0, 1, 1], [0.2, 0.6, 0.9]).to_dict()
    assert found == {
        "fpr": [0.0, 0.0, 0.0, 1.0],
        "tpr": [0.0, 0.5, 1.0, 1.0],
        "thresholds": [None, 0.9, 0.6, 0.2],
    }
    json.dumps(found, allow_nan=False)


def test_roc_curve_takes_any_finite_scores() -> None:
    y = np.array([0, 1, 0, 1, 1])
    logits = np.array([-3.0, 2.5, 0.0, 7.0, -1.0])
    _assert_curve_is_sklearns(y, logits)


@pytest.mark.parametrize(
    ("y", "scores", "kwargs", "match"),
    [
        ([0, 1], [0.2, 0.8], {"max_points": 1}, "max_points must be an integer >= 2"),
        ([0, 1], [0.2, 0.8], {"max_points": True}, "max_points must be an integer >= 2"),
        ([0, 1], [0.2, 0.8, 0.5], {}, "same length; got 2 labels and 3 scores"),
        ([0, 1], [0.2, float("nan")], {}, "scores: expected finite numbers"),
        ([0, 2], [0.2, 0.8], {}, "binary labels 0/1"),
    ],
)
def test_roc_curve_refuses_bad_input(
    y: ArrayLike, scores: ArrayLike, kwargs: dict[str, int], match: str
) -> None:
    with pytest.raises(StatsError, match=match):
        roc_curve(y, scores, **kwargs)  # type: ignore[arg-type]
