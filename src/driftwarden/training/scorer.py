"""Scoring rows one request at a time, at the speed online serving needs.

A fitted pipeline's ``ColumnTransformer`` and ``OrdinalEncoder`` cost milliseconds per call
whatever the number of rows (a frame is built, every column is validated and encoded on its
own), and online serving calls it for a handful of rows at a time. :class:`RowScorer` does the
same encoding with one dictionary lookup per categorical value, straight into the numeric matrix
the model was fitted on, and calls the fitted model itself. The model, and so every score, is
the one the pipeline holds: a binary classifier, whose score is the positive class's
probability, or a regressor, whose score is its predicted value.

It takes that shortcut only for the pipeline shape :func:`~driftwarden.training.build_pipeline`
makes, and only after checking, when it is built, that it gives the pipeline's own scores on
probe rows that cover every known category, an unseen one, missing values and the observed
numeric range. For any other model, or if the check fails, it scores through the pipeline
(``schema.coerce_frame``, then ``predict_proba`` or ``predict``): slower, never different.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from driftwarden.schema import FeatureSchema
from driftwarden.training.evaluate import is_regression_model, predict_scores
from driftwarden.training.pipeline import FINAL_STEP

__all__ = ["RowScorer", "ScoringMethod"]

logger = logging.getLogger(__name__)

Row = Mapping[str, Any]
ScoringMethod = Literal["trees", "classifier", "regressor", "pipeline"]

# The code of a missing value in a tree's lookup table; the codes 0-255 are categories or bins.
_MISSING = 256

# Most rows scored by walking every tree at once; more go through each tree's own walk.
_WALK_ROWS = 32

# Largest difference from the pipeline's score the shortcut may show on the probe rows, relative
# to the scores' size where they exceed 1 (a regressor's values may be in the millions). Both
# paths hand the model the same float64 matrix, so in practice the difference is zero.
_TOLERANCE = 1e-12


def _is_missing(value: Any) -> bool:
    """As the schema's convention: None, NaN, and blank strings are missing."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


class RowScorer:
    """Scores rows given as ``{column: value}`` mappings with a fitted pipeline.

    Parameters
    ----------
    model : Pipeline
        The fitted model of a version.
    schema : FeatureSchema
        Its feature schema. Row values are what the API's request model produces: floats (or
        None) for numeric features, strings (or None) for categorical ones.

    Attributes
    ----------
    method : {"trees", "classifier", "regressor", "pipeline"}
        How rows are scored: encoded directly and the gradient-boosted trees summed directly
        (a classifier's or a regressor's); encoded directly and passed to the classifier's
        ``predict_proba`` or the regressor's ``predict``; or through the whole pipeline.
    """

    def __init__(self, model: Pipeline, schema: FeatureSchema) -> None:
        self.model = model
        self.schema = schema
        self._plan = _plan(model, schema)
        if self._plan is not None and not self._agrees():
            logger.warning(
                "direct encoding disagrees with the pipeline on probe rows; scoring through "
                "the pipeline (slower)"
            )
            self._plan = None
        self.method: ScoringMethod = "pipeline" if self._plan is None else self._plan.method

    def score(self, rows: Sequence[Row]) -> NDArray[np.float64]:
        """Each row's score: the positive class's probability, or the predicted value."""
        if not rows:
            return np.empty(0, dtype=np.float64)
        if self._plan is None:
            return self._score_pipeline(rows)
        return self._plan.score(rows)

    def _score_pipeline(self, rows: Sequence[Row]) -> NDArray[np.float64]:
        frame = pd.DataFrame.from_records(
            [{name: row.get(name) for name in self.schema.feature_names} for row in rows],
            columns=self.schema.feature_names,
        )
        features = self.schema.coerce_frame(frame)[self.schema.feature_names]
        return predict_scores(self.model, features)

    def _agrees(self) -> bool:
        probe = _probe_rows(self.schema)
        fast = self.score(probe)
        slow = self._score_pipeline(probe)
        scale = np.maximum(np.abs(slow), 1.0)
        return bool(np.all(np.abs(fast - slow) <= _TOLERANCE * scale))


class _Plan:
    """Where each feature goes in the model's input, and how categories become codes."""

    def __init__(
        self,
        estimator: Any,
        categorical: list[tuple[str, dict[str, float]]],
        numeric: list[str],
    ) -> None:
        self.estimator = estimator
        self.regression = is_regression_model(estimator)
        self.width = len(categorical) + len(numeric)
        self._trees = _TreeSum.of(estimator, categorical)
        if self._trees is not None:
            categorical = self._trees.categorical
        self.categorical = categorical
        self.numeric = numeric
        self.method: ScoringMethod = (
            "trees"
            if self._trees is not None
            else ("regressor" if self.regression else "classifier")
        )

    def score(self, rows: Sequence[Row]) -> NDArray[np.float64]:
        """Each row's score: the positive class's probability, or the predicted value."""
        matrix = self.encode(rows)
        if self._trees is not None:
            return self._trees.predict(matrix)
        if self.regression:
            values: NDArray[np.float64] = self.estimator.predict(matrix)
            return values.astype(np.float64, copy=False)
        scores: NDArray[np.float64] = self.estimator.predict_proba(matrix)[:, 1]
        return scores.astype(np.float64, copy=False)

    def encode(self, rows: Sequence[Row]) -> NDArray[np.float64]:
        """The model's input: categorical codes first, then the numeric columns."""
        nan = math.nan
        categorical, numeric = self.categorical, self.numeric
        # Unseen and missing categories both encode as NaN, as the fitted encoder does. Lists
        # first, one array at the end: element-wise writes into an array cost more.
        data = [
            [
                nan if (v := row.get(name)) is None else codes.get(v, nan)
                for name, codes in categorical
            ]
            + [nan if (v := row.get(name)) is None else v for name in numeric]
            for row in rows
        ]
        return np.array(data, dtype=np.float64).reshape(len(rows), self.width)


class _TreeSum:
    """The fitted trees of a binary ``HistGradientBoostingClassifier`` or of a
    ``HistGradientBoostingRegressor`` with squared error, summed directly.

    ``predict_proba`` (``predict``) validates its input and re-encodes the categorical columns
    with an encoder of its own on every call: about 5 ms here, against about 0.5 ms for the
    trees themselves. Both steps are folded into the lookup tables once. The trees themselves
    cost one call per tree (a few microseconds each, whatever the number of rows), so for the
    few rows of online serving all their nodes are laid end to end, with a table of where each
    node sends each code of its feature (a category, or a number's position among the
    feature's split thresholds), and walked one level at a time, every tree and row at once:
    three array lookups per level. Each row's leaf values are summed in the model's own order
    from its baseline, so the raw prediction is the model's, bit for bit (which the probe check
    in :class:`RowScorer` verifies). The classifier's score is the sigmoid of it; the
    regressor's, with its identity link, is the sum itself. Relies on the model's fitted
    attributes; if they are not as expected, :meth:`of` returns None and the model's own
    ``predict_proba`` or ``predict`` is used.
    """

    def __init__(
        self,
        predictors: list[Any],
        baseline: float,
        bitsets: tuple[Any, Any],
        categorical: list[tuple[str, dict[str, float]]],
        inverse_link: Callable[[NDArray[np.float64]], NDArray[np.float64]] = expit,
    ) -> None:
        self.baseline = baseline
        self.inverse_link = inverse_link
        self.categorical = categorical
        self.predictors = predictors
        self.bitsets = bitsets
        n_categorical = len(categorical)
        known, index_map = bitsets
        sizes = [len(p.nodes) for p in predictors]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        nodes = np.concatenate([p.nodes for p in predictors])
        leaf = nodes["is_leaf"].astype(bool)
        feature = np.where(leaf, 0, nodes["feature_idx"]).astype(np.intp)
        threshold = nodes["num_threshold"]
        split_on_category = ~leaf & nodes["is_categorical"].astype(bool)
        if (feature[split_on_category] >= n_categorical).any() or (
            feature[~leaf & ~split_on_category] < n_categorical
        ).any():
            raise ValueError("a split's feature is not of the kind its column holds")
        # Every numeric value becomes a code: how many of its feature's split thresholds lie
        # below it, so that ``value <= threshold`` holds exactly when the code is at most the
        # threshold's position. A categorical value is its own code. Missing is code 256. (The
        # classifier bins a feature into at most 255 bins, so no feature has more than 254
        # thresholds and codes stay below 256.)
        self._cuts = [
            np.unique(threshold[~leaf & (feature == f)])
            for f in range(n_categorical, int(feature.max(initial=n_categorical - 1)) + 1)
        ]
        self._n_categorical = n_categorical
        # Where each node sends each code, as the classifier decides it: a leaf leads to itself,
        # so rows that reached one stay while deeper trees go on.
        shift = np.repeat(offsets[:-1], sizes)
        left = nodes["left"].astype(np.intp) + shift
        right = nodes["right"].astype(np.intp) + shift
        codes = np.arange(_MISSING)
        child = np.empty((len(nodes), _MISSING + 1), dtype=np.intp)
        for node in range(len(nodes)):
            if leaf[node]:
                child[node] = node
                continue
            f = feature[node]
            if split_on_category[node]:
                tree = int(np.searchsorted(offsets, node, side="right")) - 1
                bitset = predictors[tree].raw_left_cat_bitsets[nodes["bitset_idx"][node]]
                # Left if the split's bitset holds the code, right if the feature's known
                # categories do, else where missing values go.
                goes_left = _in_bitset(bitset) | (
                    ~_in_bitset(known[index_map[f]]) & bool(nodes["missing_go_to_left"][node])
                )
            else:
                position = int(np.searchsorted(self._cuts[f - n_categorical], threshold[node]))
                goes_left = codes <= position
            goes_left = np.append(goes_left, bool(nodes["missing_go_to_left"][node]))
            child[node] = np.where(goes_left, left[node], right[node])
        self._child = child.astype(np.uint16 if len(nodes) < 2**16 else np.intp)
        self._feature = feature
        self._value = nodes["value"].astype(np.float64)
        self._roots = offsets[:-1]
        self._levels = int(nodes["depth"][leaf].max()) if len(nodes) else 0

    @classmethod
    def of(cls, model: Any, categorical: list[tuple[str, dict[str, float]]]) -> _TreeSum | None:
        """The trees of ``model``, or None if it is not a model whose trees this can sum."""
        inverse_link: Callable[[NDArray[np.float64]], NDArray[np.float64]]
        if isinstance(model, HistGradientBoostingClassifier):
            inverse_link = expit
        elif isinstance(model, HistGradientBoostingRegressor) and model.loss == "squared_error":
            # The identity link: the prediction is the raw sum. (Other losses have other links,
            # Poisson and gamma a logarithm; the model's own predict serves those.)
            inverse_link = _identity
        else:
            return None
        try:
            if model.n_trees_per_iteration_ != 1:
                return None
            if inverse_link is expit and len(model.classes_) != 2:
                return None
            predictors = [trees[0] for trees in model._predictors]
            baseline = float(np.asarray(model._baseline_prediction).reshape(-1)[0])
            bitsets = model._bin_mapper.make_known_categories_bitsets()
            remapped = _remap(model, categorical)
            if remapped is None:
                return None
            return cls(predictors, baseline, bitsets, remapped, inverse_link)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return None

    def encode(self, matrix: NDArray[np.float64]) -> NDArray[np.intp]:
        """The code of every value: the category, or the count of thresholds below the number."""
        codes = np.zeros(matrix.shape, dtype=np.intp)  # a column no split uses stays 0
        split = self._n_categorical
        categories = matrix[:, :split]
        # A negative category is treated as missing, as the classifier treats it.
        usable = (categories >= 0) & (categories < _MISSING)  # false for NaN
        codes[:, :split] = np.where(usable, categories, _MISSING)
        for column, cuts in enumerate(self._cuts, start=split):
            values = matrix[:, column]
            codes[:, column] = np.where(np.isnan(values), _MISSING, np.searchsorted(cuts, values))
        return codes

    def predict(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        n_rows = len(matrix)
        if n_rows > _WALK_ROWS:
            # Row by row in each tree's own compiled walk: for many rows the per-call cost of
            # a tree matters less than the lookups of the level-wise walk.
            raw = np.full(n_rows, self.baseline)
            known, index_map = self.bitsets
            for predictor in self.predictors:
                raw += predictor.predict(matrix, known, index_map, 1)
            return np.asarray(self.inverse_link(raw), dtype=np.float64)
        codes = self.encode(matrix)
        node: NDArray[Any] = np.tile(self._roots, (n_rows, 1))
        rows = np.arange(n_rows)[:, None]
        for _ in range(self._levels):
            node = self._child[node, codes[rows, self._feature[node]]]
        # Summed one tree after another from the baseline, as the model sums them.
        leaves = np.empty((n_rows, node.shape[1] + 1))
        leaves[:, 0] = self.baseline
        leaves[:, 1:] = self._value[node]
        raw = np.cumsum(leaves, axis=1)[:, -1]
        return np.asarray(self.inverse_link(raw), dtype=np.float64)


def _identity(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    """The inverse of the identity link: a squared-error regressor predicts its raw sum."""
    return raw


def _in_bitset(bitset: Any) -> NDArray[np.bool_]:
    """Which of the codes 0-255 a 256-bit bitset (eight 32-bit words) holds."""
    codes = np.arange(256)
    words = np.asarray(bitset, dtype=np.uint32)
    return ((words[codes // 32] >> (codes % 32).astype(np.uint32)) & 1).astype(bool)


def _remap(
    model: Any, categorical: list[tuple[str, dict[str, float]]]
) -> list[tuple[str, dict[str, float]]] | None:
    """Compose the pipeline's codes with the model's own re-encoding of them."""
    inner = getattr(model, "_preprocessor", None)
    if inner is None:
        return None if categorical else []
    # The model's encoder writes its columns first, so they stay where ours are.
    written = inner.output_indices_["encoder"]
    if (written.start or 0) != 0 or written.stop != len(categorical):
        return None
    encoder = inner.named_transformers_["encoder"]
    if len(encoder.categories_) != len(categorical):
        return None
    remapped = []
    for (name, codes), seen in zip(categorical, encoder.categories_, strict=True):
        inner_code = {float(c): float(i) for i, c in enumerate(seen) if not math.isnan(c)}
        remapped.append(
            (name, {label: inner_code.get(code, math.nan) for label, code in codes.items()})
        )
    return remapped


def _plan(model: Any, schema: FeatureSchema) -> _Plan | None:
    """The direct encoding of ``model``, or None if it is not the pipeline shape we build."""
    shapes = [["preprocess", final] for final in FINAL_STEP.values()]
    if not isinstance(model, Pipeline) or [name for name, _ in model.steps] not in shapes:
        return None
    preprocess, estimator = model.steps[0][1], model.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer) or not hasattr(preprocess, "transformers_"):
        return None
    if preprocess.remainder != "drop":
        return None
    # The fitted transformers, with the constructor's "passthrough" (fitting replaces it).
    declared = {name: transformer for name, transformer, _ in preprocess.transformers}
    parts = {
        name: (declared.get(name), transformer, list(columns))
        for name, transformer, columns in preprocess.transformers_
        if name != "remainder"
    }
    if not set(parts) <= {"categorical", "numeric"}:
        return None
    categorical: list[tuple[str, dict[str, float]]] = []
    if "categorical" in parts:
        codes = _category_codes(*parts["categorical"][1:])
        if codes is None:
            return None
        categorical = codes
    numeric: list[str] = []
    if "numeric" in parts:
        transformer, _, columns = parts["numeric"]
        if transformer != "passthrough":
            return None
        numeric = [str(c) for c in columns]
    # The model was fitted on the encoder's output: categorical columns, then numeric.
    if list(parts) != ["categorical", "numeric"][: len(parts)] and list(parts) != ["numeric"]:
        return None
    if set(schema.categorical_features) != {n for n, _ in categorical} or set(
        schema.numeric_features
    ) != set(numeric):
        return None
    return _Plan(estimator, categorical, numeric)


def _category_codes(encoder: Any, columns: list[Any]) -> list[tuple[str, dict[str, float]]] | None:
    """``{label: code}`` per column of a fitted encoder that maps unseen and missing to NaN."""
    if not isinstance(encoder, OrdinalEncoder) or not hasattr(encoder, "categories_"):
        return None
    if (
        encoder.handle_unknown != "use_encoded_value"
        or not _is_nan(encoder.unknown_value)
        or not _is_nan(encoder.encoded_missing_value)
        # Infrequent categories share a code: a plain lookup would not reproduce that.
        or any(c is not None for c in (getattr(encoder, "infrequent_categories_", None) or []))
    ):
        return None
    plans: list[tuple[str, dict[str, float]]] = []
    for column, categories in zip(columns, encoder.categories_, strict=True):
        codes: dict[str, float] = {}
        for code, category in enumerate(categories):
            if isinstance(category, str):
                codes[category] = float(code)
            elif not _is_missing(category):
                return None  # labels are strings after coerce_frame; anything else is foreign
        plans.append((str(column), codes))
    return plans


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _probe_rows(schema: FeatureSchema) -> list[dict[str, Any]]:
    """Rows that visit every known category, an unseen one, missing values and the range."""
    values: dict[str, list[Any]] = {}
    for spec in schema.features:
        if spec.kind == "categorical":
            values[spec.name] = [*spec.categories, "\x00unseen\x00", None, " "]
        else:
            low = spec.min if spec.min is not None else 0.0
            high = spec.max if spec.max is not None else 1.0
            values[spec.name] = [low, high, (low + high) / 2, low - 1.0, high + 1.0, None]
    n_rows = max(len(v) for v in values.values())
    # Shifting each feature's cycle by its position varies the combinations across rows.
    columns = list(values.items())
    return [
        {name: options[(i + k) % len(options)] for k, (name, options) in enumerate(columns)}
        for i in range(n_rows)
    ]
