"""Multivariate drift by adversarial validation: can a classifier tell window from reference?

Per-feature tests compare one marginal distribution at a time, so a shift that changes only how
features go together (a correlation, an interaction) passes every one of them. A *domain
classifier* sees all features at once: it is trained to tell reference rows (label 0) from window
rows (label 1), and if the two samples come from one distribution it can do no better than chance.
Its cross-validated ROC AUC is the drift score (0.5: no drift, 1: the samples are told apart
perfectly), and the features it relies on say where the shift is.

Method (all sizes fixed by :class:`AdversarialParams`, so the cost does not grow with the window):

1. Draw at most ``sample_size`` rows from each side, without replacement; coerce them with the
   schema; encode categorical features as codes (the 253 most frequent labels of the pooled
   sample one code each, every rarer one sharing one more code, missing as NaN).
2. Split the pooled sample into ``n_folds`` stratified folds. For each fold, fit a
   ``HistGradientBoostingClassifier`` (native categorical splits, ``n_threads`` OpenMP threads)
   on the other folds and score the held-out fold. The ROC AUC of the out-of-fold scores of all
   rows (:func:`driftwarden.stats.metrics.classification_metrics`) is the drift score.
3. **Significance, per fold.** Within fold ``k``, the model never saw the held-out rows. If
   reference and window rows come from one distribution (the null hypothesis), the rows are
   exchangeable, so given that model and the fold's rows, which of them carry label 1 is a
   uniformly random choice of the fold's count of window rows. The fold's AUC therefore has
   exactly the distribution obtained by **permuting the held-out rows' labels against their fixed
   scores**, and ``p_k = (1 + #{permuted AUC_k >= observed AUC_k}) / (1 + n_permutations)`` is a
   valid one-sided p-value (AUC above 0.5 is the evidence of drift).
4. The fold p-values are dependent (the folds' models share training rows), so they are merged
   with the rule valid under any dependence, twice their mean (Rüschendorf 1982; Vovk & Wang
   2020): ``p = min(1, 2 · mean(p_k))``. Under the null, ``P(p <= alpha) <= alpha`` for every
   ``alpha``.

   *Not done, and why:* permuting the labels against the pooled out-of-fold scores is not a valid
   test. Every fold's model was fitted on the labels of the other folds, so a model that picks up
   noise makes fold ``j``'s scores agree with fold ``k``'s labels, and the AUCs of different folds
   move together; a permutation that treats the scores as fixed ignores that and gives p-values
   that are too small. Refitting every model for every permutation is exact but costs
   ``n_permutations · n_folds`` fits.
5. **Verdict.** The AUC decides, as effect sizes do in the drift engine: ``critical`` at
   ``auc >= critical``, ``warning`` at ``auc >= warning``, else ``ok``; an effect past a threshold
   whose ``p >= alpha`` is reported as ``ok`` with the reason.
6. **Where the shift is.** Each feature's importance is the drop of the held-out AUC when that
   feature's values are shuffled among a fold's held-out rows, averaged over folds (``n_repeats``
   shuffles each). A shift in the relation of two features shows up on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from driftwarden.core.errors import ConfigError
from driftwarden.explain._frames import check_frame, check_positive, sample_features
from driftwarden.schema import FeatureSchema
from driftwarden.stats import Severity
from driftwarden.stats.metrics import classification_metrics
from driftwarden.stats.result import severity_of

__all__ = [
    "AdversarialParams",
    "AdversarialResult",
    "FeatureImportance",
    "adversarial_validation",
]

METHOD = "adversarial_validation"
# Permutations scored per matrix product: bounds the temporary arrays to a few MB.
_PERMUTATION_BLOCK = 256
# Category codes a HistGradientBoosting categorical feature may use (its max_bins is 255).
_MAX_CATEGORIES = 254


@dataclass(frozen=True, slots=True)
class AdversarialParams:
    """Parameters of :func:`adversarial_validation`; every cost is bounded by them.

    Parameters
    ----------
    sample_size : int, default=5000
        Rows drawn from each side (all of them when a side has fewer).
    n_folds : int, default=5
        Stratified cross-validation folds; one model is fitted per fold.
    n_permutations : int, default=1000
        Label permutations per fold for the p-value; its smallest value is
        ``2 / (1 + n_permutations)``.
    n_repeats : int, default=1
        Shuffles per feature and fold for the importances.
    warning, critical : float, default=0.55, 0.65
        AUC thresholds of the verdict (inclusive).
    alpha : float, default=0.05
        An AUC past a threshold with ``p >= alpha`` is reported as ok.
    min_rows : int, default=50
        Fewest rows each side must have; at least ``n_folds``.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf : int, float, int, int
        The domain classifier's boosting (100, 0.1, 15, 20): a fixed number of iterations, no
        early stopping, so that every call costs the same.
    top_k : int, default=5
        Features listed in :attr:`AdversarialResult.top_features`.
    n_threads : int, default=1
        OpenMP threads of the classifier. One: on two cores OpenMP's spinning threads made
        fitting slower as soon as another process held a core.
    seed : int, default=0
        Seeds the samples, the folds, the permutations and the shuffles.
    """

    sample_size: int = 5000
    n_folds: int = 5
    n_permutations: int = 1000
    n_repeats: int = 1
    warning: float = 0.55
    critical: float = 0.65
    alpha: float = 0.05
    min_rows: int = 50
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    top_k: int = 5
    n_threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        check_positive("n_folds", self.n_folds, 2)
        for name in ("sample_size", "min_rows"):
            check_positive(name, getattr(self, name), self.n_folds)
        for name in ("n_permutations", "n_repeats", "max_iter", "min_samples_leaf"):
            check_positive(name, getattr(self, name))
        check_positive("max_leaf_nodes", self.max_leaf_nodes, 2)
        check_positive("top_k", self.top_k)
        check_positive("n_threads", self.n_threads)
        if not 0.5 <= self.warning <= self.critical <= 1.0:
            raise ConfigError(
                f"AUC thresholds need 0.5 <= warning <= critical <= 1, got warning="
                f"{self.warning}, critical={self.critical}",
                key="warning",
            )
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}", key="alpha")
        if not 0.0 < self.learning_rate <= 1.0:
            raise ConfigError(
                f"learning_rate must be in (0, 1], got {self.learning_rate}", key="learning_rate"
            )


@dataclass(frozen=True, slots=True)
class FeatureImportance:
    """How much the domain classifier relies on one feature.

    ``importance`` is the mean drop of the held-out ROC AUC when the feature is shuffled among a
    fold's held-out rows (0: not used; it can be slightly negative by chance).
    """

    feature: str
    kind: str
    importance: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"feature": self.feature, "kind": self.kind, "importance": self.importance}


@dataclass(frozen=True, slots=True)
class AdversarialResult:
    """The verdict of :func:`adversarial_validation`.

    Attributes
    ----------
    method : str
        ``"adversarial_validation"``.
    auc : float
        ROC AUC of the out-of-fold scores of every sampled row: the drift score.
    fold_aucs : tuple of float
        The AUC of each fold's held-out rows.
    p_value : float
        ``min(1, 2 · mean of the fold p-values)``; see the module docstring.
    severity : Severity
        ``ok``, ``warning`` or ``critical``.
    warning, critical, alpha : float
        The thresholds applied.
    n_reference, n_current : int
        Rows sampled from each side.
    n_reference_rows, n_current_rows : int
        Rows each side had.
    n_folds, n_permutations : int
        As in the parameters.
    importances : tuple of FeatureImportance
        Every feature, most important first.
    top_features : tuple of FeatureImportance
        The first ``top_k`` of them.
    reason : str or None
        Why an AUC past a threshold was reported as ok.
    """

    method: str
    auc: float
    fold_aucs: tuple[float, ...]
    p_value: float
    severity: Severity
    warning: float
    critical: float
    alpha: float
    n_reference: int
    n_current: int
    n_reference_rows: int
    n_current_rows: int
    n_folds: int
    n_permutations: int
    importances: tuple[FeatureImportance, ...]
    top_features: tuple[FeatureImportance, ...]
    reason: str | None = None

    @property
    def drifted(self) -> bool:
        """True for warning or critical."""
        return self.severity in (Severity.WARNING, Severity.CRITICAL)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (no NaN: every number here is finite)."""
        return {
            "method": self.method,
            "auc": self.auc,
            "fold_aucs": list(self.fold_aucs),
            "p_value": self.p_value,
            "severity": self.severity.value,
            "drifted": self.drifted,
            "warning": self.warning,
            "critical": self.critical,
            "alpha": self.alpha,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "n_reference_rows": self.n_reference_rows,
            "n_current_rows": self.n_current_rows,
            "n_folds": self.n_folds,
            "n_permutations": self.n_permutations,
            "top_features": [f.feature for f in self.top_features],
            "importances": [f.to_dict() for f in self.importances],
            "reason": self.reason,
        }


def adversarial_validation(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: FeatureSchema,
    params: AdversarialParams | None = None,
) -> AdversarialResult:
    """Multivariate drift of ``current`` against ``reference`` by a cross-validated classifier.

    Parameters
    ----------
    reference : DataFrame
        Reference rows (a model version's training or holdout data), with the schema's features.
    current : DataFrame
        The window's rows. Other columns than the features are ignored on both sides.
    schema : FeatureSchema
        Which columns are features, and their kinds.
    params : AdversarialParams, optional
        Sample sizes, folds, permutations, thresholds, seed.

    Returns
    -------
    AdversarialResult

    Raises
    ------
    DataError
        A side is not a DataFrame or has fewer than ``params.min_rows`` rows.
    SchemaMismatchError
        A side lacks a feature column of the schema.

    Notes
    -----
    The method, what is permuted and what the p-value means are in the module docstring and in
    ``docs/statistics.md``. Cost: ``n_folds`` fits on ``(n_folds - 1)/n_folds`` of at most
    ``2 · sample_size`` rows, ``n_folds · n_features · n_repeats`` predictions of a fold, and
    ``n_folds · n_permutations`` rank sums of a fold: independent of the window's size beyond
    drawing the sample.
    """
    params = params or AdversarialParams()
    check_frame(reference, schema, "reference", min_rows=params.min_rows)
    check_frame(current, schema, "current window", min_rows=params.min_rows)
    rng = np.random.default_rng(params.seed)
    ref = sample_features(reference, schema, params.sample_size, rng)
    cur = sample_features(current, schema, params.sample_size, rng)
    matrix, categorical = _encode(pd.concat([ref, cur], ignore_index=True), schema)
    labels = np.concatenate([np.zeros(len(ref), dtype=bool), np.ones(len(cur), dtype=bool)])
    folds = StratifiedKFold(n_splits=params.n_folds, shuffle=True, random_state=params.seed)
    scores = np.empty(len(labels))
    fold_aucs: list[float] = []
    p_values: list[float] = []
    drops = np.zeros(matrix.shape[1])
    with threadpool_limits(limits=params.n_threads, user_api="openmp"):
        for train, test in folds.split(matrix, labels):
            model = _classifier(params, categorical).fit(matrix[train], labels[train])
            scores[test] = model.predict_proba(matrix[test])[:, 1]
            fold_auc = _auc(labels[test], scores[test])
            fold_aucs.append(fold_auc)
            p_values.append(_fold_p_value(labels[test], scores[test], params.n_permutations, rng))
            drops += _importance(model, matrix[test], labels[test], fold_auc, params, rng)
    auc = _auc(labels, scores)
    p_value = min(1.0, 2.0 * float(np.mean(p_values)))
    severity = severity_of(auc, params.warning, params.critical)
    reason = None
    if severity is not Severity.OK and p_value >= params.alpha:
        reason = (
            f"AUC {auc:.4g} is past its {severity.value} threshold, but with {len(ref)} and "
            f"{len(cur)} rows it is not significant (p={p_value:.3g} >= {params.alpha})"
        )
        severity = Severity.OK
    kinds = schema.kinds()
    importances = sorted(
        (
            FeatureImportance(name, kinds[name], float(drop / params.n_folds))
            for name, drop in zip(schema.feature_names, drops, strict=True)
        ),
        key=lambda item: -item.importance,
    )
    return AdversarialResult(
        method=METHOD,
        auc=auc,
        fold_aucs=tuple(fold_aucs),
        p_value=p_value,
        severity=severity,
        warning=params.warning,
        critical=params.critical,
        alpha=params.alpha,
        n_reference=len(ref),
        n_current=len(cur),
        n_reference_rows=len(reference),
        n_current_rows=len(current),
        n_folds=params.n_folds,
        n_permutations=params.n_permutations,
        importances=tuple(importances),
        top_features=tuple(importances[: params.top_k]),
        reason=reason,
    )


def _encode(frame: pd.DataFrame, schema: FeatureSchema) -> tuple[NDArray[np.float64], list[bool]]:
    """The features as one float matrix, categorical ones as codes (most frequent first)."""
    columns = []
    categorical = []
    for spec in schema.features:
        values = frame[spec.name]
        if spec.kind == "numeric":
            columns.append(values.to_numpy(dtype=np.float64))
            categorical.append(False)
            continue
        counts = values.value_counts(dropna=True)
        codes = pd.Series(np.arange(len(counts), dtype=np.float64), index=counts.index)
        coded = values.map(codes).to_numpy(dtype=np.float64)
        # Rare labels share the last code, so codes stay below the classifier's bins.
        columns.append(np.minimum(coded, _MAX_CATEGORIES - 1))
        categorical.append(True)
    return np.column_stack(columns), categorical


def _classifier(
    params: AdversarialParams, categorical: list[bool]
) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=1.0,
        early_stopping=False,
        categorical_features=categorical,
        random_state=params.seed,
    )


def _auc(labels: NDArray[np.bool_], scores: NDArray[np.float64]) -> float:
    # Both classes are present (stratified folds of two non-empty samples): never None.
    return cast(float, classification_metrics(labels, scores).roc_auc)


def _fold_p_value(
    labels: NDArray[np.bool_], scores: NDArray[np.float64], n_permutations: int,
    rng: np.random.Generator,
) -> float:  # fmt: skip
    """``(1 + #{permuted rank sum >= observed}) / (1 + n_permutations)`` for one fold.

    The AUC is an increasing function of the positives' rank sum (Mann–Whitney), so comparing
    rank sums compares AUCs. Twice the average ranks are integers, so the comparison is exact
    and a permutation that ties the observed AUC counts.
    """
    ranks = np.rint(2.0 * rankdata(scores)).astype(np.int64)
    observed = int(ranks[labels].sum())
    exceed = 0
    for start in range(0, n_permutations, _PERMUTATION_BLOCK):
        block = min(_PERMUTATION_BLOCK, n_permutations - start)
        permuted = rng.permuted(np.tile(labels, (block, 1)), axis=1)
        exceed += int(np.count_nonzero(permuted.astype(np.int64) @ ranks >= observed))
    return (1 + exceed) / (1 + n_permutations)


def _importance(
    model: HistGradientBoostingClassifier, matrix: NDArray[np.float64],
    labels: NDArray[np.bool_], fold_auc: float, params: AdversarialParams,
    rng: np.random.Generator,
) -> NDArray[np.float64]:  # fmt: skip
    """Per feature: the held-out AUC minus the AUC with that feature shuffled (mean of repeats).

    Every shuffled copy of the fold is stacked into one matrix and scored in one call: the
    classifier's fixed price per call (its checks and categorical encoder) would otherwise be
    most of the work, as there are ``n_features · n_repeats`` copies of a fold of a few hundred
    rows. The shuffles are drawn in the order one call per copy would draw them.
    """
    n_rows, n_features = matrix.shape
    copies = n_features * params.n_repeats
    stacked = np.tile(matrix, (copies, 1))
    for column in range(n_features):
        for repeat in range(params.n_repeats):
            block = (column * params.n_repeats + repeat) * n_rows
            stacked[block : block + n_rows, column] = rng.permutation(matrix[:, column])
    scores = model.predict_proba(stacked)[:, 1]
    aucs = np.array(
        [_auc(labels, scores[i * n_rows : (i + 1) * n_rows]) for i in range(copies)]
    ).reshape(n_features, params.n_repeats)
    result: NDArray[np.float64] = (fold_auc - aucs).mean(axis=1)
    return result
