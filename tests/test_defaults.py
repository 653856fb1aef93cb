"""Defaults that live in two layers must agree (core cannot import stats, so a test ties them)."""

from driftwarden.core import load_settings
from driftwarden.stats import DEFAULT_THRESHOLDS


def test_settings_drift_thresholds_match_stats_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    drift = load_settings().monitor.drift
    for method, limits in DEFAULT_THRESHOLDS.items():
        section = getattr(drift, method)
        assert (section.warning, section.critical) == (limits.warning, limits.critical), method
