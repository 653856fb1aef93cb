"""The naive peer: a per-column loop over scipy and pandas, as one would write it by hand.

It has no stored profile: every call bins the reference again. Numeric columns get
``scipy.stats.ks_2samp`` on the full data (so its statistic is exact and serves as the accuracy
reference) and PSI over reference-decile bins (``np.quantile`` edges, ``np.histogram`` counts).
Categorical columns get ``value_counts`` on both sides, ``scipy.stats.chisquare`` of the current
counts against the reference shares, and categorical PSI. Verdicts use the PSI thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

PSI_WARNING = 0.1
PSI_CRITICAL = 0.25


def _psi(ref_share: np.ndarray, cur_share: np.ndarray, epsilon: float) -> float:
    ref_p = np.maximum(ref_share, epsilon)
    cur_p = np.maximum(cur_share, epsilon)
    return float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))


def _severity(psi: float) -> str:
    if psi >= PSI_CRITICAL:
        return "critical"
    if psi >= PSI_WARNING:
        return "warning"
    return "ok"


def decile_edges(ref: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Distinct reference quantile edges (ties collapse bins, e.g. for integer counts)."""
    return np.unique(np.quantile(ref, np.linspace(0.0, 1.0, n_bins + 1)))


def numeric_psi(ref: np.ndarray, cur: np.ndarray, epsilon: float) -> float:
    """PSI over reference-decile bins; current values outside the reference range go to the end
    bins (clipped onto the first and last edge)."""
    edges = decile_edges(ref)
    if edges.size < 2:
        edges = np.array([edges[0], edges[0]])
    ref_counts, _ = np.histogram(ref, bins=edges)
    cur_counts, _ = np.histogram(np.clip(cur, edges[0], edges[-1]), bins=edges)
    return _psi(ref_counts / ref.size, cur_counts / cur.size, epsilon)


def numeric_psi_same_rule(ref: np.ndarray, cur: np.ndarray, epsilon: float) -> float:
    """PSI over the same deciles with driftwarden's rules, for the accuracy check (not timed).

    Edges are ``np.quantile(..., method="inverted_cdf")`` at 1/10 .. 9/10 (values that occur in the
    data), merged when equal and dropped when equal to the maximum; bins are closed on the right:
    ``(-inf, c1], (c1, c2], ..., (c_last, inf)``.
    """
    ref = ref[~np.isnan(ref)]
    cur = cur[~np.isnan(cur)]
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10, method="inverted_cdf"))
    edges = edges[edges < ref.max()]
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=edges.size + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=edges.size + 1)
    return _psi(ref_counts / ref.size, cur_counts / cur.size, epsilon)


def _numeric(ref_col: pd.Series, cur_col: pd.Series, epsilon: float) -> dict[str, Any]:
    ref = ref_col.to_numpy(dtype=np.float64)
    cur = cur_col.to_numpy(dtype=np.float64)
    ref = ref[~np.isnan(ref)]
    cur = cur[~np.isnan(cur)]
    ks = stats.ks_2samp(ref, cur)
    psi = numeric_psi(ref, cur, epsilon)
    return {
        "kind": "numeric",
        "ks": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "psi": psi,
        "severity": _severity(psi),
    }


def _categorical(ref_col: pd.Series, cur_col: pd.Series, epsilon: float) -> dict[str, Any]:
    ref_counts = ref_col.value_counts(dropna=True)
    cur_counts = cur_col.value_counts(dropna=True)
    levels = ref_counts.index.union(cur_counts.index)
    ref_aligned = ref_counts.reindex(levels, fill_value=0).to_numpy(dtype=np.float64)
    cur_aligned = cur_counts.reindex(levels, fill_value=0).to_numpy(dtype=np.float64)
    ref_share = ref_aligned / ref_aligned.sum()
    cur_share = cur_aligned / cur_aligned.sum()
    # A level never seen in the reference would get an expected count of 0 (infinite chi²): floor
    # the reference shares at the PSI epsilon and renormalise so both sides sum to n.
    expected_share = np.maximum(ref_share, epsilon)
    expected = expected_share / expected_share.sum() * cur_aligned.sum()
    chi2 = stats.chisquare(cur_aligned, expected)
    psi = _psi(ref_share, cur_share, epsilon)
    return {
        "kind": "categorical",
        "chi2": float(chi2.statistic),
        "chi2_p_value": float(chi2.pvalue),
        "psi": psi,
        "severity": _severity(psi),
    }


def naive_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: Mapping[str, str],
    epsilon: float,
) -> dict[str, dict[str, Any]]:
    """The full verdict of the naive loop: one entry per column."""
    out: dict[str, dict[str, Any]] = {}
    for name, kind in kinds.items():
        if kind == "numeric":
            out[name] = _numeric(reference[name], current[name], epsilon)
        else:
            out[name] = _categorical(reference[name], current[name], epsilon)
    return out


def normalised_wasserstein(ref: np.ndarray, cur: np.ndarray) -> float:
    """``scipy.stats.wasserstein_distance(ref, cur) / ref.std()`` on non-missing values."""
    ref = ref[~np.isnan(ref)]
    cur = cur[~np.isnan(cur)]
    return float(stats.wasserstein_distance(ref, cur) / np.std(ref))
