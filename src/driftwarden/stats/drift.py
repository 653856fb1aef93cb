"""Drift verdicts: a window against a :class:`~driftwarden.stats.profile.ReferenceProfile`.

For every feature the engine computes all of its methods (numeric: PSI, Jensen–Shannon, KS,
normalised Wasserstein; categorical: PSI, Jensen–Shannon, chi-squared) from one placement of the
window, and decides the severity by one effect size, the feature's *deciding method* (PSI unless
configured). P-values are reported beside it and only *gate small samples*: below
``DriftConfig.gate_below`` rows, an effect past its threshold whose test is not significant at
``alpha`` is reported as ok, with the reason, because small windows produce large effect sizes by
chance. A window with fewer than ``min_samples`` usable values gets ``insufficient_data``.

Features are independent: the passes over the window's columns (numpy and pyarrow release the
GIL in them) run on the calling thread and on worker threads kept between calls, and the
verdicts, computed from fixed-size summaries, follow on the calling thread.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats._encoding import EncodedColumn, encode_categories
from driftwarden.stats._scaled import FLOAT_MAX, scaled_ratio, scaled_total
from driftwarden.stats._validation import clean_numeric
from driftwarden.stats.chi2 import chi2_goodness_of_fit
from driftwarden.stats.errors import ColumnMismatchError, StatsError
from driftwarden.stats.jensen_shannon import jensen_shannon_distance
from driftwarden.stats.ks import ks_error_bound, ks_p_value, ks_statistic
from driftwarden.stats.profile import (
    CategoricalProfile,
    ColumnSource,
    NumericProfile,
    NumericWindow,
    ReferenceProfile,
)
from driftwarden.stats.psi import DEFAULT_EPS, population_stability_index
from driftwarden.stats.result import (
    DriftReport,
    FeatureDrift,
    FeatureQuality,
    MethodResult,
    Severity,
    severity_of,
)
from driftwarden.stats.wasserstein import integrate_between_edges

__all__ = ["DEFAULT_THRESHOLDS", "DriftConfig", "Thresholds", "compare"]

NUMERIC_METHODS = ("psi", "jensen_shannon", "ks", "wasserstein")
CATEGORICAL_METHODS = ("psi", "jensen_shannon")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Warning and critical levels of one effect size (inclusive)."""

    warning: float
    critical: float

    def __post_init__(self) -> None:
        # Finite, because reports carry the thresholds and must serialise to strict JSON.
        if not 0.0 <= self.warning <= self.critical < math.inf:
            raise StatsError(
                f"thresholds must be finite with 0 <= warning <= critical, got "
                f"warning={self.warning}, critical={self.critical}"
            )


DEFAULT_THRESHOLDS: Mapping[str, Thresholds] = {
    "psi": Thresholds(0.1, 0.25),
    "jensen_shannon": Thresholds(0.1, 0.2),
    "ks": Thresholds(0.1, 0.2),
    "wasserstein": Thresholds(0.1, 0.25),
}


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """How verdicts are decided.

    Parameters
    ----------
    thresholds : mapping of method to :class:`Thresholds`
        Defaults per method (merged over :data:`DEFAULT_THRESHOLDS`).
    numeric_method, categorical_method : str
        The deciding method per kind.
    feature_methods : mapping of feature to method
        Per-feature deciding method.
    feature_thresholds : mapping of feature to :class:`Thresholds`
        Per-feature thresholds of its deciding method.
    min_samples : int
        Fewer usable values than this in the window (or the reference): ``insufficient_data``.
    gate_below : int
        Windows smaller than this need ``p < alpha`` for a warning or critical verdict.
    alpha : float
        Significance level of that gate.
    eps : float
        PSI floor for empty bins (also the expected share of unseen categories in chi-squared).
    n_jobs : int or None
        Threads for the features; ``None`` uses every core.
    """

    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    numeric_method: str = "psi"
    categorical_method: str = "psi"
    feature_methods: Mapping[str, str] = field(default_factory=dict)
    feature_thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    min_samples: int = 50
    gate_below: int = 1000
    alpha: float = 0.05
    eps: float = DEFAULT_EPS
    n_jobs: int | None = None

    def __post_init__(self) -> None:
        merged = {**DEFAULT_THRESHOLDS, **self.thresholds}
        unknown = sorted(set(merged) - set(NUMERIC_METHODS))
        if unknown:
            raise StatsError(f"unknown drift method(s) {unknown}; known: {list(NUMERIC_METHODS)}")
        object.__setattr__(self, "thresholds", merged)
        if self.numeric_method not in NUMERIC_METHODS:
            raise StatsError(
                f"numeric_method must be one of {list(NUMERIC_METHODS)}, "
                f"got {self.numeric_method!r}"
            )
        if self.categorical_method not in CATEGORICAL_METHODS:
            raise StatsError(
                f"categorical_method must be one of {list(CATEGORICAL_METHODS)}, "
                f"got {self.categorical_method!r}"
            )
        for name, method in self.feature_methods.items():
            if method not in NUMERIC_METHODS:
                raise StatsError(f"feature {name!r}: unknown method {method!r}")
        if self.min_samples < 1:
            raise StatsError(f"min_samples must be >= 1, got {self.min_samples}")
        if not 0.0 < self.alpha < 1.0:
            raise StatsError(f"alpha must be in (0, 1), got {self.alpha}")
        if not 0.0 < self.eps < 1.0:
            raise StatsError(f"eps must be in (0, 1), got {self.eps}")
        if self.n_jobs is not None and self.n_jobs < 1:
            raise StatsError(f"n_jobs must be >= 1 or None, got {self.n_jobs}")

    def method_for(self, feature: str, kind: str) -> str:
        """The deciding method of ``feature``."""
        method = self.feature_methods.get(feature)
        if method is None:
            return self.numeric_method if kind == "numeric" else self.categorical_method
        if kind == "categorical" and method not in CATEGORICAL_METHODS:
            raise StatsError(
                f"feature {feature!r} is categorical: its method must be one of "
                f"{list(CATEGORICAL_METHODS)}, got {method!r}"
            )
        return method


def _thresholds(config: DriftConfig, feature: str, method: str, deciding: str) -> Thresholds:
    if method == deciding and feature in config.feature_thresholds:
        return config.feature_thresholds[feature]
    return config.thresholds[method]


def _result(
    config: DriftConfig,
    feature: str,
    deciding: str,
    method: str,
    statistic: float,
    p_value: float | None = None,
    error_bound: float | None = None,
) -> MethodResult:
    limits = _thresholds(config, feature, method, deciding)
    return MethodResult(
        method=method,
        statistic=statistic,
        p_value=p_value,
        warning=limits.warning,
        critical=limits.critical,
        severity=severity_of(statistic, limits.warning, limits.critical),
        error_bound=error_bound,
    )


def _verdict(
    config: DriftConfig,
    feature: str,
    kind: Literal["numeric", "categorical"],
    deciding: str,
    results: tuple[MethodResult, ...],
    p_value: float | None,
    n_reference: int,
    n_current: int,
    unseen: tuple[str, ...] = (),
) -> FeatureDrift:
    decider = next(r for r in results if r.method == deciding)
    severity = decider.severity or Severity.OK
    reason = None
    if (
        severity is not Severity.OK
        and n_current < config.gate_below
        and p_value is not None
        and p_value >= config.alpha
    ):
        reason = (
            f"{deciding} {decider.statistic:.4g} is past its {severity.value} threshold, but with "
            f"{n_current} rows the test is not significant (p={p_value:.3g} >= {config.alpha})"
        )
        severity = Severity.OK
    return FeatureDrift(
        feature=feature,
        kind=kind,
        severity=severity,
        method=deciding,
        statistic=decider.statistic,
        warning=float(decider.warning or 0.0),
        critical=float(decider.critical or 0.0),
        p_value=p_value,
        n_reference=n_reference,
        n_current=n_current,
        results=results,
        unseen_categories=unseen,
        reason=reason,
    )


def _insufficient(
    config: DriftConfig,
    feature: str,
    kind: Literal["numeric", "categorical"],
    n_reference: int,
    n_current: int,
    unseen: tuple[str, ...] = (),
) -> FeatureDrift:
    deciding = config.method_for(feature, kind)
    limits = _thresholds(config, feature, deciding, deciding)
    side, n = (
        ("reference", n_reference) if n_reference < config.min_samples else ("window", n_current)
    )
    return FeatureDrift(
        feature=feature,
        kind=kind,
        severity=Severity.INSUFFICIENT_DATA,
        method=deciding,
        statistic=None,
        warning=limits.warning,
        critical=limits.critical,
        p_value=None,
        n_reference=n_reference,
        n_current=n_current,
        unseen_categories=unseen,
        reason=f"the {side} has {n} usable values; at least {config.min_samples} are needed",
    )


def _cdfs(
    open_counts: NDArray[np.int64], atom_counts: NDArray[np.int64], n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """F(e_k) and F(e_k^-) at every edge from the counts between and at the edges."""
    before = np.cumsum(open_counts[:-1]) + np.concatenate(([0], np.cumsum(atom_counts)[:-1]))
    at = before + atom_counts
    return at / n, before / n


def _psi_counts(
    profile: NumericProfile, open_counts: NDArray[np.int64], atom_counts: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Counts in the PSI bins ``(-inf, c_1], (c_1, c_2], ..., (c_last, inf)``."""
    cumulative = np.cumsum(open_counts[:-1] + atom_counts)
    total = int(open_counts.sum() + atom_counts.sum())
    at_edges = cumulative[profile.psi_positions]
    return np.diff(np.concatenate(([0], at_edges, [total])))


def _interval_shares(profile: NumericProfile) -> NDArray[np.float64]:
    """The reference's share strictly inside each interval of its grid."""
    return profile.derived("interval_shares", lambda: profile.open_counts[1:-1] / profile.n)


def _wasserstein(
    profile: NumericProfile,
    window: NumericWindow,
    difference_at: NDArray[np.float64],
) -> tuple[float, float]:
    """Normalised Wasserstein-1 and its error bound (see :mod:`driftwarden.stats.wasserstein`).

    Widths and distances are in units of ``2**unit`` (the profile's), the outside parts in their
    own scale, so that nothing overflows; the ratio to the profile's scale is capped at the
    largest float.
    """
    n_cur, unit = window.n, profile.unit_exponent
    widths = profile.derived("widths", lambda: np.diff(np.ldexp(profile.edges, -unit)))
    rise = _interval_shares(profile)
    counts = window.open_counts[1:-1]
    # The window's mean position in each interval, from the sum of its distances below the upper
    # edge (0.5, unused, where it has no value or the width is too small to divide by).
    scaled = counts * widths
    positions = np.ones_like(widths)
    positions -= np.divide(
        window.open_gaps[1:-1], scaled, out=np.full_like(widths, 0.5), where=scaled > 0
    )
    reference = None if profile.open_positions is None else profile.open_positions[1:-1]
    inside, bound = integrate_between_edges(
        widths, difference_at[:-1], rise, counts / n_cur, reference, positions
    )
    outside, outside_exponent = scaled_total(
        [(window.below_excess / n_cur, window.excess_exponent),
         (window.above_excess / n_cur, window.excess_exponent)]
    )  # fmt: skip
    # Both parts are at most the largest float once divided by the scale, so the sum is at most
    # twice it: capped again.
    distance = scaled_ratio(inside, unit, profile.scale) + scaled_ratio(
        outside, outside_exponent, profile.scale
    )
    return min(distance, FLOAT_MAX), scaled_ratio(bound, unit, profile.scale)


def numeric_drift(
    profile: NumericProfile, window: NumericWindow, config: DriftConfig, name: str | None = None
) -> FeatureDrift:
    """Every numeric method for one placed window, and the verdict."""
    feature = name or profile.name
    n_ref, n_cur = profile.n, window.n
    if n_ref < config.min_samples or n_cur < config.min_samples:
        return _insufficient(config, feature, "numeric", n_ref, n_cur)
    deciding = config.method_for(feature, "numeric")
    # The reference's side of every method is the same for any window: worked out once.
    ref_at, ref_before = profile.derived(
        "cdfs", lambda: _cdfs(profile.open_counts, profile.atom_counts, n_ref)
    )
    cur_at, cur_before = _cdfs(window.open_counts, window.atom_counts, n_cur)

    ref_bins = profile.derived(
        "psi_bins", lambda: _psi_counts(profile, profile.open_counts, profile.atom_counts)
    )
    cur_bins = _psi_counts(profile, window.open_counts, window.atom_counts)
    psi = population_stability_index(ref_bins, cur_bins, eps=config.eps)
    js = jensen_shannon_distance(ref_bins, cur_bins)

    ks = max(ks_statistic(ref_at, cur_at), ks_statistic(ref_before, cur_before))
    bound = ks_error_bound(_interval_shares(profile), window.open_counts[1:-1] / n_cur)
    ks_p = ks_p_value(ks, n_ref, n_cur)

    wasserstein, wasserstein_bound = _wasserstein(profile, window, ref_at - cur_at)

    results = (
        _result(config, feature, deciding, "psi", psi),
        _result(config, feature, deciding, "jensen_shannon", js),
        _result(config, feature, deciding, "ks", ks, p_value=ks_p, error_bound=bound),
        _result(
            config, feature, deciding, "wasserstein", wasserstein, error_bound=wasserstein_bound
        ),
    )
    return _verdict(config, feature, "numeric", deciding, results, ks_p, n_ref, n_cur)


def _place_numeric(
    profile: NumericProfile, values: Any, name: str
) -> tuple[NumericWindow, FeatureQuality]:
    """The heavy, GIL-free part of a numeric feature: clean the values and place them."""
    clean = clean_numeric(values, name)
    window = profile.place(clean.values)
    if profile.range_min == profile.minimum and profile.range_max == profile.maximum:
        out_of_range = int(window.open_counts[0] + window.open_counts[-1])
    else:
        x = clean.values
        out_of_range = int(np.count_nonzero((x < profile.range_min) | (x > profile.range_max)))
    quality = FeatureQuality(name, clean.n_rows, clean.n_missing, clean.n_invalid, out_of_range, 0)
    return window, quality


def _encode_categorical(
    profile: CategoricalProfile, values: Any, name: str
) -> tuple[EncodedColumn, NDArray[np.bool_], FeatureQuality]:
    """The heavy part of a categorical feature: count the window's categories.

    Also returns, per value the profile does not list, whether it may be one of the profile's
    folded rare categories (:meth:`CategoricalProfile.may_be_folded`) rather than unseen.
    """
    encoded = encode_categories(values, profile.categories, name)
    folded = profile.may_be_folded(encoded.unseen)
    n_unseen = int(encoded.unseen_counts[~folded].sum())
    n_rows = int(encoded.counts.sum())
    return encoded, folded, FeatureQuality(name, n_rows, encoded.n_missing, 0, 0, n_unseen)


def categorical_drift(
    profile: CategoricalProfile,
    encoded: EncodedColumn,
    config: DriftConfig,
    name: str,
    folded: NDArray[np.bool_] | None = None,
) -> FeatureDrift:
    """Every categorical method for one encoded window, and the verdict.

    ``folded`` marks the values the profile does not list that count as its ``other`` bucket
    (default: :meth:`CategoricalProfile.may_be_folded`); the rest are unseen.
    """
    if folded is None:
        folded = profile.may_be_folded(encoded.unseen)
    observed = encoded.category_counts
    expected = profile.counts
    unseen_counts = encoded.unseen_counts
    if profile.truncated:
        observed = np.append(observed, unseen_counts[folded].sum())
        expected = np.append(expected, profile.other_count)
    # Sorted, as the profile's categories are, so that the report does not depend on row order.
    unseen = tuple(sorted(label for label, f in zip(encoded.unseen, folded, strict=True) if not f))
    n_unseen = int(unseen_counts[~folded].sum())
    if n_unseen:
        observed = np.append(observed, n_unseen)
        expected = np.append(expected, 0)
    n_cur = int(observed.sum())
    if profile.n < config.min_samples or n_cur < config.min_samples:
        return _insufficient(config, name, "categorical", profile.n, n_cur, unseen)
    deciding = config.method_for(name, "categorical")
    psi = population_stability_index(expected, observed, eps=config.eps)
    js = jensen_shannon_distance(expected, observed)
    shares = expected / expected.sum()
    if n_unseen:
        shares = np.append(shares[:-1] * (1.0 - config.eps), config.eps)
    chi2, chi2_p = chi2_goodness_of_fit(observed.astype(np.float64), shares)
    results = (
        _result(config, name, deciding, "psi", psi),
        _result(config, name, deciding, "jensen_shannon", js),
        MethodResult(method="chi2", statistic=chi2, p_value=chi2_p),
    )
    return _verdict(
        config, name, "categorical", deciding, results, chi2_p, profile.n, n_cur, unseen
    )


# What one pass over a column leaves: how to decide its verdict, and its data quality.
_Summary = tuple[Callable[[], FeatureDrift], FeatureQuality]


def _check_columns(
    profile: ReferenceProfile, window: ColumnSource | Mapping[str, Any], extra: str
) -> tuple[int, dict[str, Any]]:
    """The window's row count and its profiled columns, each taken from the window once."""
    available = [str(key) for key in window.keys()]  # noqa: SIM118 - DataFrames iterate keys too
    present = set(available)
    for name in profile.features:
        if name not in present:
            raise ColumnMismatchError(
                f"column {name!r} is in the reference profile but not in the window; "
                f"send every profiled feature (window has: {', '.join(available) or 'nothing'})",
                column=name,
            )
    if extra == "error":
        for name in available:
            if name not in profile.features:
                raise ColumnMismatchError(
                    f"column {name!r} is in the window but not in the reference profile; "
                    f"drop it or pass extra_columns='ignore'",
                    column=name,
                )
    columns = {name: window[name] for name in profile.features}
    lengths = {len(column) for column in columns.values()}
    if len(lengths) > 1:
        raise StatsError(f"window columns have different lengths: {sorted(lengths)}")
    return (lengths.pop() if lengths else 0), columns


# Worker threads are kept between comparisons: threads started for every call brought fresh
# stacks and allocator arenas, whose page faults took back most of what the second core gave on
# windows of 100,000 rows.
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()
# Set on the pools' threads: a comparison started from one of them runs serially, since its
# lanes could otherwise wait for the very thread they run on.
_ON_POOL_THREAD = threading.local()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _POOLS_LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = ThreadPoolExecutor(
                max_workers=threads,
                thread_name_prefix="driftwarden-stats",
                initializer=_mark_pool_thread,
            )
            _POOLS[threads] = pool
        return pool


def _mark_pool_thread() -> None:
    _ON_POOL_THREAD.active = True


def _forget_pools() -> None:
    """In a forked child the pools' threads do not exist: start with none."""
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools)


def _in_lanes(
    summarise: Callable[[str], _Summary],
    categorical: list[str],
    numeric: list[str],
    lanes: int,
) -> dict[str, _Summary]:
    """Run ``summarise`` over every column in ``lanes`` threads (this one included).

    One lane takes the categorical columns first and the others the numeric ones; a lane whose
    columns are done takes the rest of the other kind. Encoding a categorical column is a few
    long calls that release the GIL; placing a numeric one is many short numpy calls, each of
    which must take the GIL back when it returns. Two lanes of short calls wait on each other at
    every call; a lane of long calls beside one of short calls seldom does, which measured about
    a quarter faster than taking columns in any fixed order on 2 cores.
    """
    queues = (deque(categorical), deque(numeric))
    failed = threading.Event()

    def lane(order: Iterable[deque[str]]) -> dict[str, _Summary]:
        done: dict[str, _Summary] = {}
        for queue in order:
            while not failed.is_set():
                try:
                    name = queue.popleft()  # atomic: lanes never take the same column
                except IndexError:
                    break
                try:
                    done[name] = summarise(name)
                except BaseException:
                    failed.set()  # the others stop at their next column
                    raise
        return done

    others: list[Future[dict[str, _Summary]]] = [
        _pool(lanes - 1).submit(lane, queues[::-1]) for _ in range(lanes - 1)
    ]
    results: dict[str, _Summary] = {}
    error: BaseException | None = None
    try:
        results.update(lane(queues))
    except BaseException as exc:
        error = exc
    for future in others:
        # A lane still queued behind another comparison's has nothing left to do: this lane
        # emptied the queues (or an error stopped them). Waiting for it would mean waiting for
        # that other comparison.
        if future.cancel():
            continue
        try:
            results.update(future.result())
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error
    return results


def compare(
    profile: ReferenceProfile,
    window: ColumnSource | Mapping[str, Any],
    *,
    scores: ArrayLike | None = None,
    config: DriftConfig | None = None,
    extra_columns: Literal["error", "ignore"] = "error",
) -> DriftReport:
    """Drift and data quality of every feature (and the scores) of ``window``.

    Parameters
    ----------
    profile : ReferenceProfile
    window : mapping of column name to array, or a pandas DataFrame
        Must hold every profiled feature.
    scores : array_like, optional
        The model's scores on the window; needs a profile fitted with scores.
    config : DriftConfig, optional
    extra_columns : {"error", "ignore"}
        What to do with window columns the profile does not know.

    Raises
    ------
    ColumnMismatchError
        A profiled column is missing from the window, or an unknown one is present (with
        ``extra_columns="error"``).
    StatsError
        Columns of different lengths, scores without a profile of scores.
    """
    config = config or DriftConfig()
    if extra_columns not in ("error", "ignore"):
        raise StatsError(f"extra_columns must be 'error' or 'ignore', got {extra_columns!r}")
    n_rows, columns = _check_columns(profile, window, extra_columns)

    def summarise(name: str) -> _Summary:
        """Pass over one column; return how to decide its verdict, and its quality."""
        feature = profile.features[name]
        if isinstance(feature, NumericProfile):
            placed, quality = _place_numeric(feature, columns[name], name)
            decide = partial(numeric_drift, feature, placed, config, name)
        else:
            encoded, folded, quality = _encode_categorical(feature, columns[name], name)
            decide = partial(categorical_drift, feature, encoded, config, name, folded)
        return decide, quality

    names = list(profile.features)
    workers = min(config.n_jobs or os.cpu_count() or 1, max(len(names), 1))
    # Two phases: the passes over the window (numpy and pyarrow, which release the GIL) run in
    # lanes on several threads; the verdicts, many small Python steps over fixed-size summaries,
    # run after them on this thread. Mixing the two in the threads made each pass wait for the
    # GIL behind them.
    if workers > 1 and not getattr(_ON_POOL_THREAD, "active", False):
        categorical = [n for n in names if profile.features[n].kind == "categorical"]
        numeric = [n for n in names if profile.features[n].kind != "categorical"]
        done = _in_lanes(summarise, categorical, numeric, workers)
        summaries = [done[name] for name in names]
    else:
        summaries = [summarise(name) for name in names]
    verdicts = {name: decide() for name, (decide, _) in zip(names, summaries, strict=True)}

    prediction = prediction_quality = None
    if scores is not None:
        if profile.prediction is None:
            raise StatsError(
                "scores were given but the profile has no score profile; fit it with scores="
            )
        n_scores = int(np.atleast_1d(np.asarray(scores)).shape[0])
        if n_scores != n_rows:
            raise StatsError(
                f"scores has {n_scores} values but the window has {n_rows} rows; send one score "
                "per row"
            )
        placed, prediction_quality = _place_numeric(profile.prediction, scores, "prediction")
        prediction = numeric_drift(profile.prediction, placed, config, "prediction")
    return DriftReport(
        n_rows=n_rows,
        features=verdicts,
        quality={name: summary[1] for name, summary in zip(names, summaries, strict=True)},
        prediction=prediction,
        prediction_quality=prediction_quality,
        min_samples=config.min_samples,
    )
