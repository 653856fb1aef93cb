"""The exact TreeSHAP of categorical splits: against the Shapley definition, and against shap."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from driftwarden.core.errors import ConfigError, DataError
from driftwarden.explain import _treeshap
from driftwarden.explain._treeshap import TreeShap, has_categorical_splits
from driftwarden.explain.attributions import load_shap


def matrix(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A code column (6 categories), a numeric column with NaN, and a numeric partner."""
    rng = np.random.default_rng(seed)
    code = rng.integers(0, 6, n).astype(np.float64)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    z = rng.normal(size=n)
    logit = np.where(np.isin(code, [0, 3, 5]), 2.0, -2.0) + np.nan_to_num(x) * (1 + z)
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return np.column_stack([code, x, z]), y


@pytest.fixture(scope="module")
def categorical_model():
    features, labels = matrix(0, 3000)
    model = HistGradientBoostingClassifier(
        categorical_features=[True, False, False], max_iter=25, max_leaf_nodes=6, random_state=0
    )
    return model.fit(features, labels)


def shapley_by_definition(model, row: np.ndarray) -> np.ndarray:
    """Shapley values of v(S) = path-dependent expectation, summed over every subset S."""
    known, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
    n_features = row.shape[0]

    def goes_left(node, bitsets) -> bool:
        value = row[node["feature_idx"]]
        if np.isnan(value):
            return bool(node["missing_go_to_left"])
        if not node["is_categorical"]:
            return bool(value <= node["num_threshold"])
        code = int(value)
        if code < 0 or code > 255:
            return bool(node["missing_go_to_left"])
        word, bit = code // 32, code % 32
        if (bitsets[node["bitset_idx"], word] >> bit) & 1:
            return True
        if (known[f_idx_map[node["feature_idx"]], word] >> bit) & 1:
            return False
        return bool(node["missing_go_to_left"])

    def expectation(predictor, subset, index=0) -> float:
        nodes = predictor.nodes
        node = nodes[index]
        if node["is_leaf"]:
            return float(node["value"])
        left, right = int(node["left"]), int(node["right"])
        if node["feature_idx"] in subset:
            branch = left if goes_left(node, predictor.raw_left_cat_bitsets) else right
            return expectation(predictor, subset, branch)
        weights = nodes[left]["count"], nodes[right]["count"]
        return (
            weights[0] * expectation(predictor, subset, left)
            + weights[1] * expectation(predictor, subset, right)
        ) / node["count"]

    phi = np.zeros(n_features)
    for (predictor,) in model._predictors:
        for feature in range(n_features):
            others = [g for g in range(n_features) if g != feature]
            for size in range(n_features):
                weight = (
                    math.factorial(size)
                    * math.factorial(n_features - size - 1)
                    / math.factorial(n_features)
                )
                for subset in itertools.combinations(others, size):
                    with_f = expectation(predictor, {*subset, feature})
                    without = expectation(predictor, set(subset))
                    phi[feature] += weight * (with_f - without)
    return phi


def test_treeshap_equals_the_shapley_definition_with_categorical_splits(categorical_model):
    rows, _ = matrix(1, 12)
    # Every routing case: an unknown category (9), a negative code, NaN, a known category.
    rows[0, 0], rows[1, 0], rows[2, 0], rows[3, 1] = 9.0, -1.0, np.nan, np.nan
    explainer = TreeShap(categorical_model)

    values = explainer.shap_values(rows)
    expected = np.array([shapley_by_definition(categorical_model, row) for row in rows])

    assert has_categorical_splits(categorical_model)
    np.testing.assert_allclose(values, expected, atol=1e-12)
    raw = categorical_model.decision_function(rows)
    np.testing.assert_allclose(explainer.expected_value + values.sum(axis=1), raw, atol=1e-10)


def test_treeshap_agrees_with_shap_on_a_model_without_categorical_splits():
    features, labels = matrix(2, 3000)
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(features, labels)
    explainer = load_shap().TreeExplainer(model, feature_perturbation="tree_path_dependent")

    ours = TreeShap(model)

    assert not has_categorical_splits(model)
    np.testing.assert_allclose(
        ours.shap_values(features[:400]), explainer.shap_values(features[:400]), atol=1e-9
    )
    assert ours.expected_value == pytest.approx(
        float(np.ravel(explainer.expected_value)[0]), abs=1e-9
    )


def test_shap_misreads_categorical_splits_which_is_why_they_are_explained_here(categorical_model):
    rows, _ = matrix(3, 300)
    explainer = load_shap().TreeExplainer(
        categorical_model, feature_perturbation="tree_path_dependent"
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = explainer.shap_values(rows, check_additivity=False)
    base = float(np.ravel(explainer.expected_value)[0])
    error = np.abs(base + values.sum(axis=1) - categorical_model.decision_function(rows))

    # shap 0.51 routes category-set splits as thresholds: its values do not add up. If a shap
    # release fixes this, this test fails, and models with categorical splits can go to shap.
    assert error.max() > 0.5


def test_treeshap_row_by_row_equals_the_pattern_tables(categorical_model, monkeypatch):
    rows, _ = matrix(4, 200)
    tables = TreeShap(categorical_model)
    monkeypatch.setattr(_treeshap, "_MAX_TABLE_FEATURES", 0)

    direct = TreeShap(categorical_model)

    assert all(group.table is None for group in direct._groups)
    np.testing.assert_allclose(direct.shap_values(rows), tables.shap_values(rows), atol=1e-12)


def test_treeshap_works_in_blocks_of_rows(categorical_model, monkeypatch):
    rows, _ = matrix(5, 300)
    whole = TreeShap(categorical_model).shap_values(rows)
    monkeypatch.setattr(_treeshap, "_BLOCK_ELEMENTS", 1)

    blocked = TreeShap(categorical_model).shap_values(rows)

    np.testing.assert_allclose(blocked, whole, atol=1e-12)


def test_treeshap_of_a_regressor_with_single_leaf_trees_is_zero():
    features, _ = matrix(6, 200)
    target = np.full(200, 3.5)  # nothing to learn: every tree is one leaf
    model = HistGradientBoostingRegressor(max_iter=5).fit(features, target)

    explainer = TreeShap(model)

    np.testing.assert_array_equal(explainer.shap_values(features), np.zeros_like(features))
    assert explainer.expected_value == pytest.approx(3.5)


def test_treeshap_refuses_multiclass_unfitted_and_wrong_width(categorical_model):
    features, labels = matrix(7, 300)
    multiclass = HistGradientBoostingClassifier(max_iter=3).fit(
        features, labels.astype(int) + (features[:, 2] > 1)
    )

    with pytest.raises(ConfigError, match="3 trees per iteration"):
        TreeShap(multiclass)
    with pytest.raises(ConfigError, match="is not fitted"):
        TreeShap(HistGradientBoostingClassifier())
    with pytest.raises(DataError, match=r"expected a matrix of 3 columns.*\(5, 2\)"):
        TreeShap(categorical_model).shap_values(np.zeros((5, 2)))
