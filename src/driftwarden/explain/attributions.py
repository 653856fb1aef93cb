"""Per-row feature attributions (SHAP values) of a fitted driftwarden pipeline, and their profile.

The pipeline is an encoder (``pipeline[:-1]``: a ``ColumnTransformer`` whose ordinal encoder
keeps one column per feature) before a histogram gradient-boosted model (``pipeline[-1]``: a
binary ``HistGradientBoostingClassifier`` or a ``HistGradientBoostingRegressor``). Attributions
are path-dependent TreeSHAP values of the model's **raw output** on the encoded matrix: log-odds
for the classifier, the prediction on the link scale for the regressor (the prediction itself
for squared error). Because each feature is one encoded column, each column's value is that
feature's attribution; the encoder's output names map the columns back to schema features.

Two implementations compute the same quantity. ``shap.TreeExplainer`` explains models without
categorical splits. Models that split on a category set go to
:mod:`driftwarden.explain._treeshap`, because shap reads those nodes as threshold splits and its
values are wrong (see that module). A test checks that the two agree to 1e-9 where both apply,
and every call checks that the values add up to the model's own output. Both need the
``explain`` extra (``pip install 'driftwarden[explain]'``), so that whether shap is needed never
depends on which splits a model happened to learn.

An :class:`AttributionProfile` summarises the attributions of a version's holdout rows: each
feature's mean ``|SHAP|``, its share of the total, and the distribution of its attribution
values as a :class:`~driftwarden.stats.ReferenceProfile` with one numeric feature per input
feature, so that the drift engine compares a window's attributions with the same statistics it
uses for inputs (:mod:`driftwarden.explain.drift`).
"""

from __future__ import annotations

import importlib
import json
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError, DataError, SchemaMismatchError
from driftwarden.explain._frames import check_frame, check_positive, sample_features
from driftwarden.explain._treeshap import TreeShap, has_categorical_splits
from driftwarden.schema import FeatureSchema
from driftwarden.stats import ReferenceProfile

__all__ = [
    "INSTALL_HINT",
    "AttributionProfile",
    "Attributions",
    "attribution_profile",
    "compute_attributions",
]

INSTALL_HINT = "pip install 'driftwarden[explain]'"
PROFILE_FORMAT = 1
SHAP_EXPLAINER = "shap.TreeExplainer"
OWN_EXPLAINER = "driftwarden.explain.treeshap"


def load_shap() -> ModuleType:
    """Import shap, or say how to install it.

    Raises
    ------
    ModuleNotFoundError
        shap is not installed; the message names ``pip install 'driftwarden[explain]'``.
    """
    try:
        with warnings.catch_warnings():
            # shap's plotting module, imported by its package, builds colour maps with calls that
            # matplotlib has deprecated: not ours to act on, and not a reason to fail.
            warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="shap")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="shap")
            return importlib.import_module("shap")
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"SHAP attributions need the shap package, which is not installed: {INSTALL_HINT} "
            "(adversarial validation needs only scikit-learn)",
            name="shap",
        ) from exc


@dataclass(frozen=True, slots=True)
class Attributions:
    """Per-row attributions of a model's raw output.

    Attributes
    ----------
    values : ndarray of shape (n_rows, n_features)
        Columns in schema order; each row adds up, with ``expected_value``, to the model's raw
        output for that row.
    features : tuple of str
        Schema feature names, the columns of ``values``.
    expected_value : float
        The cover-weighted mean raw output of the model (the base value).
    output : str
        ``"log_odds"`` (binary classifier) or ``"raw"`` (regressor, link scale).
    explainer : str
        ``"shap.TreeExplainer"`` or ``"driftwarden.explain.treeshap"`` (categorical splits).
    """

    values: NDArray[np.float64]
    features: tuple[str, ...]
    expected_value: float
    output: str
    explainer: str

    def column(self, feature: str) -> NDArray[np.float64]:
        """The attributions of one feature, one per row."""
        return self.values[:, self.features.index(feature)]


def _model_parts(pipeline: Any, schema: FeatureSchema) -> tuple[Any, Any, list[int], str]:
    """The encoder, the model, the schema position of each model column, and the output."""
    try:
        preprocess, estimator = pipeline[:-1], pipeline[-1]
    except (TypeError, IndexError) as exc:
        raise ConfigError(
            f"expected a fitted scikit-learn Pipeline (encoder, then model), got "
            f"{type(pipeline).__name__}"
        ) from exc
    kind = type(estimator).__name__
    if kind not in ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor"):
        raise ConfigError(
            f"attributions are computed for HistGradientBoostingClassifier and "
            f"HistGradientBoostingRegressor models, got {kind}; explain a model that "
            "driftwarden.training built"
        )
    try:
        names = [str(n) for n in preprocess.get_feature_names_out()]
    except AttributeError as exc:  # sklearn's NotFittedError is an AttributeError too
        raise ConfigError(f"the pipeline's encoder is not fitted: {exc}") from exc
    if sorted(names) != sorted(schema.feature_names):
        raise SchemaMismatchError(
            f"the model reads columns {names}, but the schema's features are "
            f"{schema.feature_names}; explain a model with the schema it was trained with",
            column=next((n for n in schema.feature_names if n not in names), None),
        )
    order = [schema.feature_names.index(name) for name in names]
    output = "log_odds" if kind == "HistGradientBoostingClassifier" else "raw"
    return preprocess, estimator, order, output


def compute_attributions(pipeline: Any, frame: pd.DataFrame, schema: FeatureSchema) -> Attributions:
    """Path-dependent TreeSHAP values of every row of ``frame`` (explain a sample, not a window).

    Parameters
    ----------
    pipeline : Pipeline
        A fitted driftwarden pipeline: ``pipeline[:-1]`` encodes, ``pipeline[-1]`` is a binary
        ``HistGradientBoostingClassifier`` or a ``HistGradientBoostingRegressor``.
    frame : DataFrame
        Rows with the schema's feature columns (others are ignored).
    schema : FeatureSchema
        The schema the model was trained with.

    Returns
    -------
    Attributions

    Raises
    ------
    ModuleNotFoundError
        shap is not installed (``pip install 'driftwarden[explain]'``).
    ConfigError
        Not a fitted pipeline of that shape, or a multiclass classifier.
    SchemaMismatchError
        The frame lacks a feature, or the model's columns are not the schema's features.
    DataError
        ``frame`` is not a DataFrame, or has no rows.
    """
    shap = load_shap()
    check_frame(frame, schema, "frame")
    preprocess, estimator, order, output = _model_parts(pipeline, schema)
    data = schema.coerce_frame(frame[schema.feature_names].reset_index(drop=True))
    matrix = np.asarray(preprocess.transform(data), dtype=np.float64)
    if has_categorical_splits(estimator):
        explainer = TreeShap(estimator)
        values = explainer.shap_values(matrix)
        expected, name = explainer.expected_value, OWN_EXPLAINER
    else:
        values, expected = _shap_values(shap, estimator, matrix)
        name = SHAP_EXPLAINER
    ordered = np.empty_like(values)
    ordered[:, order] = values
    return Attributions(ordered, tuple(schema.feature_names), expected, output, name)


def _shap_values(
    shap: ModuleType, estimator: Any, matrix: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float]:
    explainer = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")
    expected = float(np.ravel(explainer.expected_value)[0])
    values = np.asarray(explainer.shap_values(matrix, check_additivity=True), dtype=np.float64)
    return values.reshape(matrix.shape), expected


@dataclass(frozen=True, slots=True)
class AttributionProfile:
    """The attributions of a model version's holdout rows, summarised for drift.

    Attributes
    ----------
    features : tuple of str
        Schema features, in order.
    kinds : dict of str to str
        Each feature's input kind (``numeric``/``categorical``); attribution values are numeric.
    mean_abs : dict of str to float
        Mean ``|SHAP|`` per feature.
    shares : dict of str to float
        ``mean_abs`` over its sum: each feature's share of total attribution (all 0 when the
        model's output is constant).
    expected_value : float
        The model's base value; identifies the model the profile belongs to.
    output, explainer : str
        As in :class:`Attributions`.
    n_rows : int
        Rows explained.
    profile : ReferenceProfile
        The attribution values' distributions, one numeric feature per input feature.
    """

    features: tuple[str, ...]
    kinds: dict[str, str]
    mean_abs: dict[str, float]
    shares: dict[str, float]
    expected_value: float
    output: str
    explainer: str
    n_rows: int
    profile: ReferenceProfile

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; :meth:`from_dict` restores an equal profile."""
        return {
            "format": PROFILE_FORMAT,
            "features": list(self.features),
            "kinds": dict(self.kinds),
            "mean_abs": dict(self.mean_abs),
            "shares": dict(self.shares),
            "expected_value": self.expected_value,
            "output": self.output,
            "explainer": self.explainer,
            "n_rows": self.n_rows,
            "profile": self.profile.to_dict(),
        }

    def to_json(self) -> str:
        """Compact JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttributionProfile:
        """Restore a profile written by :meth:`to_dict`.

        Raises
        ------
        DataError
            Not an attribution profile, or of a format this version does not read.
        """
        try:
            if data["format"] != PROFILE_FORMAT:
                raise DataError(
                    f"attribution profile format {data['format']!r} is not supported (this "
                    f"version reads {PROFILE_FORMAT}); profile the holdout again with "
                    "attribution_profile()"
                )
            features = tuple(str(f) for f in data["features"])
            return cls(
                features=features,
                kinds={f: str(data["kinds"][f]) for f in features},
                mean_abs={f: float(data["mean_abs"][f]) for f in features},
                shares={f: float(data["shares"][f]) for f in features},
                expected_value=float(data["expected_value"]),
                output=str(data["output"]),
                explainer=str(data["explainer"]),
                n_rows=int(data["n_rows"]),
                profile=ReferenceProfile.from_dict(data["profile"]),
            )
        except (KeyError, TypeError, ValueError) as exc:  # StatsError is a ValueError
            if isinstance(exc, DataError):
                raise
            raise DataError(f"not an attribution profile: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> AttributionProfile:
        """Restore a profile from :meth:`to_json` text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not an attribution profile: invalid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise DataError("not an attribution profile: expected a JSON object")
        return cls.from_dict(data)


def summarise(attributions: Attributions) -> tuple[dict[str, float], dict[str, float]]:
    """Mean ``|SHAP|`` per feature and each one's share of their sum (rows: at least one)."""
    mean_abs = np.abs(attributions.values).mean(axis=0)
    total = float(mean_abs.sum())
    shares = mean_abs / total if total > 0 else np.zeros_like(mean_abs)
    names = attributions.features
    return (
        dict(zip(names, map(float, mean_abs), strict=True)),
        dict(zip(names, map(float, shares), strict=True)),
    )


def attribution_profile(
    pipeline: Any,
    frame: pd.DataFrame,
    schema: FeatureSchema,
    *,
    sample_size: int = 2000,
    seed: int = 0,
    n_bins: int = 10,
    n_quantiles: int = 2000,
) -> AttributionProfile:
    """Profile the attributions of a model version on its holdout rows.

    Parameters
    ----------
    pipeline : Pipeline
        The fitted pipeline of the version (see :func:`compute_attributions`).
    frame : DataFrame
        Its holdout rows, with the schema's features.
    schema : FeatureSchema
        The schema the model was trained with.
    sample_size : int, default=2000
        Rows explained, drawn without replacement (all rows when there are fewer).
    seed : int, default=0
        Seeds the sample.
    n_bins, n_quantiles : int
        Of the attribution distributions' :class:`~driftwarden.stats.ReferenceProfile`.

    Returns
    -------
    AttributionProfile

    Raises
    ------
    ModuleNotFoundError
        shap is not installed (``pip install 'driftwarden[explain]'``).
    ConfigError
        As :func:`compute_attributions`, or ``sample_size`` below 1.
    DataError
        ``frame`` has no rows.
    SchemaMismatchError
        As :func:`compute_attributions`.
    """
    check_positive("sample_size", sample_size)
    check_frame(frame, schema, "holdout frame")
    sample = sample_features(frame, schema, sample_size, np.random.default_rng(seed))
    attributions = compute_attributions(pipeline, sample, schema)
    mean_abs, shares = summarise(attributions)
    columns = {name: attributions.column(name) for name in attributions.features}
    profile = ReferenceProfile.fit(
        columns,
        dict.fromkeys(attributions.features, "numeric"),
        n_bins=n_bins,
        n_quantiles=n_quantiles,
    )
    return AttributionProfile(
        features=attributions.features,
        kinds=dict(schema.kinds()),
        mean_abs=mean_abs,
        shares=shares,
        expected_value=attributions.expected_value,
        output=attributions.output,
        explainer=attributions.explainer,
        n_rows=len(sample),
        profile=profile,
    )
