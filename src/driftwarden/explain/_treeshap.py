"""Exact path-dependent TreeSHAP for scikit-learn's histogram gradient boosting, with its
categorical splits.

Why this module exists: shap's ``TreeExplainer`` (0.51, the newest release for Python 3.11)
reads each node of a ``HistGradientBoosting*`` tree as a threshold split, ``x <= num_threshold``.
A node that splits a categorical feature sends the categories of a *set* (a bitset) left, and
its ``num_threshold`` means nothing, so shap routes rows down the wrong branches and its values
are wrong; measured on a model with one categorical split feature, ``expected_value + Σφ`` missed
the model's output by up to 6 log-odds (shap issue #3436, closed unfixed). Its C++ core knows
LightGBM-style categorical splits only as a bitmask in an ``int`` (at most 31 categories), and its
HistGradientBoosting loader does not use it. So models that split on a category are explained
here; models without categorical splits go to shap (``attributions.py``), and a test checks that
both give the same values to 1e-9 on such models.

The quantity is the one shap's ``feature_perturbation="tree_path_dependent"`` computes (Lundberg
et al. 2020, Algorithm 2): the Shapley values of the game

    v(S) = Σ_leaves value_l · Π_{nodes n on the path to l} (f_n ∈ S ? 1[x follows n's branch]
                                                                     : count(child)/count(n))

for the raw output of the model (log-odds for a binary classifier, the prediction on the link
scale for a regressor). Here it is computed leaf by leaf. Group a leaf's path nodes by feature:
for each of its ``d`` distinct features ``g``, ``a_g(x) ∈ {0, 1}`` says whether ``x`` follows
every node of ``g`` on the path and ``b_g`` is the product of their cover fractions. A leaf's
term is then ``value · Π_g (g ∈ S ? a_g : b_g)``, a product game, whose Shapley values are

    φ_f = value · (a_f - b_f) · Σ_{k=0}^{d-1} w(k, d) · [z^k] Π_{g ≠ f} (a_g z + b_g),
    w(k, d) = k! (d - k - 1)! / d!

(the coefficient of ``z^k`` sums the products over the subsets of size ``k``). The polynomial of
all ``d`` factors is built once per row and leaf, and each factor divided out again: by
``b_f`` when ``a_f = 0``, and by synthetic division from the top coefficient when ``a_f = 1``,
which is stable because ``0 < b_f <= 1``. Cost: ``O(d²)`` per row and leaf, as Algorithm 2;
everything is vectorised over rows and over the leaves with the same ``d``.

Rows follow the trees exactly as scikit-learn's ``_predict_one_from_raw_data`` routes them:
NaN, a negative code and a category unknown at fit go the node's missing-value way; a known
category goes left if it is in the node's bitset, right otherwise; numeric values go left when
``x <= num_threshold``. The model's own raw predictions check every call (``Σφ + E = f(x)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError, DataError

__all__ = ["TreeShap", "has_categorical_splits"]

# Elements of the largest temporary array per block of rows (about 32 MB of float64).
_BLOCK_ELEMENTS = 1 << 22
# Leaves testing at most this many distinct features get a table of their attributions for
# every one of the 2**d ways a row can follow or leave their path; a row then costs a lookup.
# Deeper leaves (rare: the pipeline grows 8-leaf trees, so d <= 7) are computed row by row.
_MAX_TABLE_FEATURES = 10
# The node fields read, in this order.
_FIELDS = (
    "value", "count", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right",
    "is_leaf", "is_categorical", "bitset_idx",
)  # fmt: skip
# Largest |Σφ + E - f(x)| tolerated, relative to the spread of the model's output.
_ADDITIVITY_TOLERANCE = 1e-8


def has_categorical_splits(estimator: Any) -> bool:
    """Whether any tree of a fitted HistGradientBoosting model splits on a category set."""
    return any(
        bool(predictor.nodes["is_categorical"].any())
        for iteration in estimator._predictors
        for predictor in iteration
    )


@dataclass(frozen=True, slots=True)
class _Group:
    """The leaves whose paths test ``d`` distinct features (``d >= 1``)."""

    values: NDArray[np.float64]  # (L,) leaf values
    covers: NDArray[np.float64]  # (L, d) b: product of the cover fractions per feature
    conditions: NDArray[np.intp]  # (L, d, K) columns of the follow matrix, ANDed per feature
    weights: NDArray[np.float64]  # (d,) Shapley weights w(k, d)
    onehot: NDArray[np.float64]  # (L * d, n_features) slot -> feature column
    # (2**d, L, d) attributions and (2**d, L) outputs per follow pattern, or None (row by row).
    table: tuple[NDArray[np.float64], NDArray[np.float64]] | None

    @property
    def width(self) -> int:
        """Elements per row of the largest temporary array of this group."""
        n_leaves, d, k = self.conditions.shape
        return int(n_leaves * d * (k if self.table is not None else k + d + 1))


def _shapley_weights(d: int) -> NDArray[np.float64]:
    return np.array(
        [math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) for k in range(d)]
    )


class TreeShap:
    """Path-dependent TreeSHAP of a fitted ``HistGradientBoostingClassifier`` (binary) or
    ``HistGradientBoostingRegressor``, categorical splits included.

    Parameters
    ----------
    estimator : HistGradientBoostingClassifier or HistGradientBoostingRegressor
        Fitted; a classifier must be binary (one tree per iteration).

    Attributes
    ----------
    expected_value : float
        ``E``: the cover-weighted mean raw output, what the values of a row add to.
    n_features : int
        Columns of the matrix the model was fitted on.

    Raises
    ------
    ConfigError
        The model is not fitted, or has more than one tree per iteration (multiclass).
    """

    def __init__(self, estimator: Any) -> None:
        predictors = getattr(estimator, "_predictors", None)
        if predictors is None:
            raise ConfigError(
                f"{type(estimator).__name__} is not fitted (or not a HistGradientBoosting "
                "model); explain the fitted pipeline of a model version"
            )
        if int(estimator.n_trees_per_iteration_) != 1:
            raise ConfigError(
                f"the model has {estimator.n_trees_per_iteration_} trees per iteration "
                "(multiclass); attributions are computed for binary classifiers and regressors"
            )
        self._estimator = estimator
        self.n_features = int(estimator._bin_mapper.is_categorical_.size)
        known, f_idx_map = estimator._bin_mapper.make_known_categories_bitsets()
        self._read_nodes(predictors, known, f_idx_map)
        baseline = float(np.asarray(estimator._baseline_prediction).ravel()[0])
        self.expected_value = (
            baseline
            + self._constant
            + sum(float(g.values @ np.prod(g.covers, axis=1)) for g in self._groups)
        )

    def _read_nodes(self, predictors: Any, known: Any, f_idx_map: Any) -> None:
        feature: list[int] = []
        threshold: list[float] = []
        categorical: list[bool] = []
        missing_left: list[bool] = []
        left_sets: list[NDArray[np.uint32]] = []
        known_sets: list[NDArray[np.uint32]] = []
        no_set = np.zeros(8, dtype=np.uint32)
        # Per leaf: value and its path as (node id, goes left, cover fraction, feature).
        leaves: list[tuple[float, list[tuple[int, bool, float, int]]]] = []
        self._constant = 0.0  # leaves of trees that are a single leaf
        for iteration in predictors:
            predictor = iteration[0]
            nodes = predictor.nodes
            bitsets = np.asarray(predictor.raw_left_cat_bitsets, dtype=np.uint32)
            offset = len(feature)
            rows = nodes[list(_FIELDS)].tolist()
            for _, _, f, thr, miss, _, _, _, cat, bit in rows:
                feature.append(int(f))
                threshold.append(float(thr))
                categorical.append(bool(cat))
                missing_left.append(bool(miss))
                left_sets.append(bitsets[bit] if cat else no_set)
                known_sets.append(known[f_idx_map[f]] if cat else no_set)
            if rows[0][7]:
                self._constant += float(rows[0][0])
                continue
            stack: list[tuple[int, list[tuple[int, bool, float, int]]]] = [(0, [])]
            while stack:
                index, path = stack.pop()
                value, count, f, _, _, left, right, is_leaf, _, _ = rows[index]
                if is_leaf:
                    leaves.append((float(value), path))
                    continue
                for child, goes_left in ((left, True), (right, False)):
                    # Every node holds training rows (min_samples_leaf >= 1): count > 0.
                    fraction = rows[child][1] / count
                    stack.append((child, [*path, (offset + index, goes_left, fraction, int(f))]))
        n_nodes = len(feature)
        self._feature = np.asarray(feature, dtype=np.intp)
        self._threshold = np.asarray(threshold, dtype=np.float64)
        self._categorical = np.asarray(categorical, dtype=bool)
        self._missing_left = np.asarray(missing_left, dtype=bool)
        self._left_sets = np.asarray(left_sets, dtype=np.uint32).reshape(n_nodes, 8)
        self._known_sets = np.asarray(known_sets, dtype=np.uint32).reshape(n_nodes, 8)
        self._groups = self._group_leaves(leaves, n_nodes)

    def _group_leaves(
        self, leaves: list[tuple[float, list[tuple[int, bool, float, int]]]], n_nodes: int
    ) -> list[_Group]:
        """Leaves by number of distinct features; a follow-matrix column per condition.

        Column ``n`` of the follow matrix says that a row goes left at node ``n``, column
        ``n_nodes + n`` that it goes right, and the last column is always true (padding).
        """
        always = 2 * n_nodes
        by_depth: dict[int, list[tuple[float, list[int], list[float], list[list[int]]]]] = {}
        for value, path in leaves:
            slots: dict[int, tuple[float, list[int]]] = {}
            for node, goes_left, fraction, f in path:
                cover, tests = slots.get(f, (1.0, []))
                column = node if goes_left else n_nodes + node
                slots[f] = (cover * fraction, [*tests, column])
            columns = list(slots)
            by_depth.setdefault(len(columns), []).append(
                (value, columns, [slots[f][0] for f in columns], [slots[f][1] for f in columns])
            )
        groups = []
        for d, members in sorted(by_depth.items()):
            width = max(len(c) for _, _, _, conds in members for c in conds)
            conditions = np.full((len(members), d, width), always, dtype=np.intp)
            onehot = np.zeros((len(members) * d, self.n_features))
            for i, (_, columns, _, conds) in enumerate(members):
                for j, (column, cond) in enumerate(zip(columns, conds, strict=True)):
                    conditions[i, j, : len(cond)] = cond
                    onehot[i * d + j, column] = 1.0
            values = np.array([m[0] for m in members])
            covers = np.array([m[2] for m in members])
            weights = _shapley_weights(d)
            table = None
            if d <= _MAX_TABLE_FEATURES:
                bits = (np.arange(2**d)[:, None] >> np.arange(d)) & 1
                patterns = np.broadcast_to(bits[:, None, :], (2**d, len(members), d))
                table = _leaf_values(patterns.astype(np.float64), values, covers, weights)
            groups.append(_Group(values, covers, conditions, weights, onehot, table))
        return groups

    def _follow(self, x: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Per row: goes left at each node, goes right at each node, and a true column."""
        values = x[:, self._feature]
        missing = np.isnan(values)
        left = values <= self._threshold
        if self._categorical.any():
            cats = np.flatnonzero(self._categorical)
            v = values[:, cats]
            usable = (v >= 0) & (v < 256)  # NaN compares false: missing
            code = np.where(usable, v, 0).astype(np.intp)
            word, bit = code >> 5, (code & 31).astype(np.uint32)
            in_left = (self._left_sets[cats, word] >> bit) & 1 == 1
            in_known = (self._known_sets[cats, word] >> bit) & 1 == 1
            left[:, cats] = in_left
            missing[:, cats] = ~usable | ~(in_left | in_known)
        left = np.where(missing, self._missing_left, left)
        return np.concatenate([left, ~left, np.ones((x.shape[0], 1), dtype=bool)], axis=1)

    def shap_values(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per-row attributions, shape ``(n_rows, n_features)``, in the model's column order.

        Raises
        ------
        DataError
            The matrix has the wrong number of columns.
        RuntimeError
            The values do not add up to the model's own raw output (a bug, never expected).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise DataError(
                f"expected a matrix of {self.n_features} columns (the model's inputs), got "
                f"shape {x.shape}"
            )
        phi = np.zeros(x.shape, dtype=np.float64)
        reached = np.full(x.shape[0], self._constant)
        widest = max((g.width for g in self._groups), default=1)
        block = max(1, _BLOCK_ELEMENTS // widest)
        for start in range(0, x.shape[0], block):
            rows = slice(start, start + block)
            follow = self._follow(x[rows])
            for group in self._groups:
                a = follow[:, group.conditions].all(axis=3)
                n_rows, n_leaves, d = a.shape
                if group.table is None:
                    follows = np.asarray(a, dtype=np.float64)
                    contributions, output = _leaf_values(
                        follows, group.values, group.covers, group.weights
                    )
                else:
                    pattern = a.astype(np.intp) @ (1 << np.arange(d))
                    flat = pattern * n_leaves + np.arange(n_leaves)
                    table, outputs = group.table
                    contributions = table.reshape(-1, d)[flat]
                    output = outputs.reshape(-1)[flat]
                phi[rows] += contributions.reshape(n_rows, -1) @ group.onehot
                reached[rows] += output.sum(axis=1)
        self._check_additivity(x, phi, reached)
        return phi

    def _check_additivity(
        self, x: NDArray[np.float64], phi: NDArray[np.float64], reached: NDArray[np.float64]
    ) -> None:
        # One thread: OpenMP's spinning threads cost more than they gain on a busy machine.
        raw = np.asarray(self._estimator._raw_predict(x, n_threads=1), dtype=np.float64)[:, 0]
        baseline = float(np.asarray(self._estimator._baseline_prediction).ravel()[0])
        scale = max(1.0, float(np.max(np.abs(raw))))
        routed = float(np.max(np.abs(baseline + reached - raw)))
        summed = float(np.max(np.abs(self.expected_value + phi.sum(axis=1) - raw)))
        if max(routed, summed) > _ADDITIVITY_TOLERANCE * scale:
            raise RuntimeError(  # pragma: no cover - a defect, not an input problem
                f"attributions do not add up to the model's output (routing error {routed:.3g}, "
                f"sum error {summed:.3g}); please report this with the model's scikit-learn "
                "version"
            )


def _leaf_values(
    follows: NDArray[np.float64],
    values: NDArray[np.float64],
    covers: NDArray[np.float64],
    weights: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Attributions ``(N, L, d)`` and outputs ``(N, L)`` of leaves with ``d`` features.

    ``follows[n, l, j]`` is ``a_j`` (0 or 1) of leaf ``l`` for row (or pattern) ``n``.
    """
    n_rows, n_leaves, d = follows.shape
    # poly[..., k]: coefficient of z^k of Π_g (a_g z + b_g).
    poly = np.zeros((n_rows, n_leaves, d + 1))
    poly[..., 0] = 1.0
    for j in range(d):
        poly[..., 1 : j + 2] = (
            poly[..., 1 : j + 2] * covers[:, j, None] + poly[..., : j + 1] * follows[..., j, None]
        )
        poly[..., 0] *= covers[:, j]
    out = np.empty_like(follows)
    for j in range(d):
        a_j, b_j = follows[..., j], covers[:, j]
        # a_j = 1: divide by (z + b_j) from the top coefficient down.
        quotient = poly[..., d]
        divided = weights[d - 1] * quotient
        for k in range(d - 1, 0, -1):
            quotient = poly[..., k] - b_j * quotient
            divided = divided + weights[k - 1] * quotient
        # a_j = 0: the factor is the constant b_j (> 0: every branch held training rows).
        constant = (poly[..., :d] @ weights) / b_j
        out[..., j] = values * (a_j - b_j) * np.where(a_j > 0, divided, constant)
    return out, np.prod(follows, axis=2) * values
