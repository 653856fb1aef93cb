"""One monitor run: a window of logged predictions against each serving version's reference.

For every model version that scored rows in the window, a run computes the drift verdict of
every feature and of the scores against *that version's* profile, data quality, request volume,
latency percentiles, performance estimated from the scores (CBPE, classifiers only), and
realised performance on the rows whose labels have arrived (ROC AUC and the rest of a
classifier; RMSE, MAE, R² and MAPE of a regression model, whose scores are its predicted
values). Between windows, ADWIN detectors watch the labelled error stream (misses of a
classifier, absolute errors of a regression model) and the score stream of each version, so a
change is caught at the run after the data that shows it arrived, whatever the window length.
Labels that arrive for older windows recompute those windows' realised performance.

Everything is stored (:mod:`driftwarden.store.results`), so every chart can show history; the
time spent reading the window and in the statistics are kept apart.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftwarden.core import Clock, MonitorSettings
from driftwarden.core.errors import NotFoundError
from driftwarden.monitoring.multivariate import WindowExplainer
from driftwarden.monitoring.references import References
from driftwarden.monitoring.window import WindowFrame, assemble
from driftwarden.stats import (
    Adwin,
    DriftConfig,
    DriftReport,
    ReferenceProfile,
    Thresholds,
    estimated_metrics,
)
from driftwarden.stats.metrics import classification_metrics, regression_metrics
from driftwarden.store import (
    count_between,
    labelled_scores,
    load_state,
    newly_labelled,
    read_window,
    results_overlapping,
    save_run,
    save_state,
    scores_between,
    update_performance,
    versions_between,
    window_bounds_by_count,
)

__all__ = ["DetectorChange", "RunOutcome", "VersionResult", "WindowRunner", "drift_config"]

logger = logging.getLogger(__name__)

#: Scores at or above this are the positive class (the threshold serving answers with).
THRESHOLD = 0.5


def drift_config(settings: MonitorSettings) -> DriftConfig:
    """The drift engine's configuration from the monitor settings."""
    levels = settings.drift
    return DriftConfig(
        thresholds={
            "psi": Thresholds(levels.psi.warning, levels.psi.critical),
            "jensen_shannon": Thresholds(
                levels.jensen_shannon.warning, levels.jensen_shannon.critical
            ),
            "ks": Thresholds(levels.ks.warning, levels.ks.critical),
            "wasserstein": Thresholds(levels.wasserstein.warning, levels.wasserstein.critical),
        },
        min_samples=settings.min_samples,
        alpha=settings.p_value_alpha,
    )


@dataclass(frozen=True, slots=True)
class DetectorChange:
    """A change a streaming detector found since the last run."""

    stream: str  # "error" or "score"
    model_version: int
    before: float
    after: float
    n_seen: int


@dataclass(frozen=True, slots=True)
class VersionResult:
    """What a run found for one model version."""

    model_version: int
    n_rows: int
    report: DriftReport
    profile: ReferenceProfile
    latency_ms: dict[str, float | None]
    estimated: dict[str, Any]
    performance: dict[str, Any] | None
    n_labelled: int
    holdout: dict[str, float] = field(default_factory=dict)
    task: str = "binary_classification"
    #: Adversarial validation of the window (``AdversarialResult.to_dict``), when measured.
    multivariate: dict[str, Any] | None = None
    #: Explanation drift of the window (``ExplanationDriftResult.to_dict``), when measured.
    explanation: dict[str, Any] | None = None

    @property
    def severity(self) -> str:
        """The worst drift severity of the window (``insufficient_data`` without verdicts)."""
        return self.report.severity.value


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """One finished run."""

    run_id: int
    model_name: str
    window_start: datetime
    window_end: datetime
    n_rows: int
    results: list[VersionResult]
    changes: list[DetectorChange]
    champion: int | None
    read_seconds: float
    stats_seconds: float
    duration_seconds: float

    def result(self, version: int) -> VersionResult | None:
        """The result of one version, if it scored rows in the window."""
        return next((r for r in self.results if r.model_version == version), None)


def _percentiles(values: NDArray[np.float64]) -> dict[str, float | None]:
    # A version is in a run's results only because it scored rows: there are values.
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


class WindowRunner:
    """Runs the monitor over windows of one model's logged predictions and stores the results.

    Parameters
    ----------
    engine
        The prediction store (migrated).
    references : References
        Profiles and holdout metrics of the model's versions.
    settings : MonitorSettings
    clock : Clock
        The end of each window, and the time of everything stored.
    """

    def __init__(
        self, engine: Any, references: References, settings: MonitorSettings, clock: Clock
    ) -> None:
        self.engine = engine
        self.references = references
        self.settings = settings
        self.clock = clock
        self.config = drift_config(settings)
        self.explainer = WindowExplainer(references, settings)

    @property
    def model_name(self) -> str:
        """The model watched."""
        return self.references.model_name

    # -- the window ---------------------------------------------------------------------------

    def window(self, end: datetime) -> tuple[datetime, datetime]:
        """The window a run ending at ``end`` covers."""
        if self.settings.window_rows is None:
            return end - self.settings.window, end
        start = window_bounds_by_count(self.engine, end, self.settings.window_rows)
        return (end if start is None else start), end

    def _kinds(self, versions: list[int]) -> dict[str, str]:
        kinds: dict[str, str] = {}
        for version in versions:
            try:
                profile = self.references.profile(version)
            except NotFoundError:
                continue
            for name, kind in profile.kinds.items():
                kinds.setdefault(name, kind)
        return kinds

    def _version_result(
        self, version: int, rows: WindowFrame, labelled: tuple[Any, ...]
    ) -> VersionResult | None:
        try:
            profile = self.references.profile(version)
            holdout = self.references.holdout_metrics(version)
            task = self.references.task(version)
        except NotFoundError:
            logger.warning(
                "version %s scored %d rows of the window but is not in the registry; skipped",
                version,
                len(rows),
            )
            return None
        columns = rows.features[list(profile.features)]
        # A version is here because it scored rows of the window: there is always a report.
        report = profile.compare(
            columns,
            scores=rows.score if profile.prediction is not None else None,
            config=self.config,
            extra_columns="ignore",
        )
        regression = task == "regression"
        # Performance estimated from the scores alone (CBPE) needs probabilities: a regression
        # model's predicted values say nothing of its error until labels arrive.
        estimated = (
            {} if regression else estimated_metrics(rows.score, threshold=THRESHOLD).to_dict()
        )
        performance, n_labelled = self._performance(version, labelled, regression=regression)
        return VersionResult(
            version,
            len(rows),
            report,
            profile,
            _percentiles(rows.latency_ms),
            estimated,
            performance,
            n_labelled,
            holdout,
            task,
        )

    def _performance(
        self, version: int, labelled: tuple[Any, ...], *, regression: bool
    ) -> tuple[dict[str, Any] | None, int]:
        versions, scores, labels = labelled
        mask = versions == version
        n = int(mask.sum())
        if n < self.settings.min_labelled:
            return None, n
        if regression:
            return regression_metrics(labels[mask], scores[mask]).to_dict(), n
        metrics = classification_metrics(labels[mask], scores[mask], threshold=THRESHOLD)
        return metrics.to_dict(), n

    def _is_regression(self, version: int) -> bool:
        try:
            return self.references.task(version) == "regression"
        except NotFoundError:
            return False

    def _labelled(self, start: datetime, end: datetime) -> tuple[Any, ...]:
        found = labelled_scores(self.engine, start, end)
        return found.model_version, found.score, found.true_label

    # -- detectors ------------------------------------------------------------------------------

    def _state_key(self, suffix: str) -> str:
        return f"{self.model_name}:{suffix}"

    def _score_stream(
        self, frame: WindowFrame, start: datetime, since: datetime
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The versions and scores of the rows created since ``since``, oldest first.

        The window's own rows are already in memory, in the same order: the rows before
        ``since`` are counted (an index-only query), not read again; only a gap before the
        window (after a pause longer than the window) is read from the store.
        """
        if since >= start:
            skip = count_between(self.engine, start, since)
            return frame.model_version[skip:], frame.score[skip:]
        gap_versions, gap_scores = scores_between(self.engine, since, start)
        return (
            np.concatenate([gap_versions, frame.model_version]),
            np.concatenate([gap_scores, frame.score]),
        )

    def _detectors(
        self, frame: WindowFrame, start: datetime, end: datetime, state: dict[str, str]
    ) -> tuple[list[DetectorChange], dict[str, str | None], list[tuple[datetime, int]]]:
        """Feed the labelled errors and the scores that arrived since the last run to ADWIN."""
        changes: list[DetectorChange] = []
        updates: dict[str, str | None] = {}
        labels_key = self._state_key("labels_since")
        scores_key = self._state_key("scores_since")
        since_labels = _parse_time(state.get(labels_key))
        lookback = end - self.settings.label_lookback
        # After a long pause, the score stream picks up at most one lookback back.
        since_scores = max(_parse_time(state.get(scores_key)) or start, min(lookback, start))
        created, labelled = newly_labelled(self.engine, since_labels or lookback, end)
        # A classifier's error is a miss (0 or 1), a regression model's the absolute error.
        errors = ((labelled.score >= THRESHOLD) != labelled.true_label).astype(np.float64)
        for version in {int(v) for v in labelled.model_version}:
            if self._is_regression(version):
                rows = labelled.model_version == version
                errors[rows] = np.abs(labelled.score[rows] - labelled.true_label[rows])
        streams: list[tuple[str, NDArray[np.int64], NDArray[np.float64]]] = [
            ("error", labelled.model_version, errors)
        ]
        versions, scores = self._score_stream(frame, start, min(since_scores, end))
        streams.append(("score", versions, scores))
        for stream, stream_versions, values in streams:
            for version in sorted({int(v) for v in stream_versions}):
                key = self._state_key(f"adwin:{stream}:v{version}")
                text = state.get(key)
                detector = (
                    Adwin(delta=self.settings.adwin_delta)
                    if text is None
                    else Adwin.from_state(text)
                )
                before = detector.estimation
                seen_before = detector.n_
                fed = values[stream_versions == version]
                detector.update(fed)
                last = detector.last_detection_
                if detector.drift_detected and last is not None and last > 0:
                    # The mean since the change; River keeps the old values in its window
                    # until the next one arrives.
                    offset = max(0, last - seen_before)
                    since = fed[offset:]
                    after = float(since.mean()) if since.size else detector.estimation
                    if seen_before == 0:
                        before = float(fed[:offset].mean())
                    changes.append(DetectorChange(stream, version, before, after, detector.n_))
                updates[key] = detector.to_state()
        updates[labels_key] = end.isoformat()
        updates[scores_key] = end.isoformat()
        touched = [
            (when, int(version))
            for when, version in zip(created, labelled.model_version, strict=True)
            if when >= lookback
        ]
        return changes, updates, touched

    def _recompute(self, touched: list[tuple[datetime, int]], window_start: datetime) -> int:
        """Recompute the realised performance of stored windows that got new labels."""
        by_version: dict[int, list[datetime]] = {}
        for when, version in touched:
            if when < window_start:  # the window being run is computed afresh anyway
                by_version.setdefault(version, []).append(when)
        recomputed = 0
        now = self.clock.now()
        for version, times in by_version.items():
            stored = results_overlapping(
                self.engine, self.model_name, version, min(times), max(times)
            )
            for result in stored:
                labelled = self._labelled(result["window_start"], result["window_end"])
                performance, n = self._performance(
                    version, labelled, regression=self._is_regression(version)
                )
                update_performance(
                    self.engine,
                    result["id"],
                    n_labelled=n,
                    performance=performance,
                    performance_at=now,
                )
                recomputed += 1
        if recomputed:
            logger.info("recomputed the performance of %d earlier windows", recomputed)
        return recomputed

    # -- the run --------------------------------------------------------------------------------

    def run(self, end: datetime | None = None) -> RunOutcome:
        """Run over the window that ends at ``end`` (default: now) and store what it found.

        Raises
        ------
        StoreUnavailableError
            The store cannot be reached; nothing was stored.
        """
        started = self.clock.now()
        began = time.perf_counter()
        end = end or started
        start, end = self.window(end)
        versions = versions_between(self.engine, start, end)
        kinds = self._kinds(versions)
        frame = assemble(read_window(self.engine, start, end), kinds)
        labelled = self._labelled(start, end)
        read_seconds = time.perf_counter() - began

        state = load_state(self.engine, f"{self.model_name}:")
        stats_began = time.perf_counter()
        explained: dict[str, str | None] = {}
        results = [
            self.explainer.measure(result, frame.of_version(version), end, state, explained)
            for version in frame.versions()
            if (result := self._version_result(version, frame.of_version(version), labelled))
            is not None
        ]
        stats_seconds = time.perf_counter() - stats_began
        changes, state_updates, touched = self._detectors(frame, start, end, state)
        state_updates.update(explained)
        self._recompute(touched, start)
        champion = self.references.champion()
        duration = time.perf_counter() - began
        run = {
            "model_name": self.model_name,
            "started_at": started,
            "finished_at": self.clock.now(),
            "window_start": start,
            "window_end": end,
            "status": "ok",
            "error": None,
            "n_rows": len(frame),
            "read_seconds": read_seconds,
            "stats_seconds": stats_seconds,
            "duration_seconds": duration,
        }
        run_id = save_run(
            self.engine,
            run,
            [_result_row(r, start, end, started) for r in results],
            [_feature_rows(r, end) for r in results],
        )
        save_state(self.engine, state_updates, updated_at=started)
        logger.info(
            "monitor run %d over %s to %s: %d rows, %d versions, read %.3fs, statistics %.3fs",
            run_id,
            start.isoformat(),
            end.isoformat(),
            len(frame),
            len(results),
            read_seconds,
            stats_seconds,
        )
        return RunOutcome(
            run_id, self.model_name, start, end, len(frame), results, changes, champion,
            read_seconds, stats_seconds, duration,
        )  # fmt: skip

    def record_failure(self, error: BaseException, end: datetime | None = None) -> None:
        """Store a failed run, if the store can take it (the failure may be the store)."""
        now = self.clock.now()
        end = end or now
        try:
            save_run(
                self.engine,
                {
                    "model_name": self.model_name,
                    "started_at": now,
                    "finished_at": now,
                    "window_start": end - self.settings.window,
                    "window_end": end,
                    "status": "failed",
                    "error": f"{type(error).__name__}: {error}"[:4000],
                    "n_rows": 0,
                    "read_seconds": 0.0,
                    "stats_seconds": 0.0,
                    "duration_seconds": 0.0,
                },
                [],
                [],
            )
        except Exception:
            logger.warning("could not record the failed monitor run either", exc_info=True)


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _result_row(
    result: VersionResult, start: datetime, end: datetime, now: datetime
) -> dict[str, Any]:
    report = result.report
    prediction = report.prediction
    return {
        "model_version": result.model_version,
        "window_start": start,
        "window_end": end,
        "n_rows": result.n_rows,
        "severity": result.severity,
        "share_drifted": report.share_drifted,
        "prediction_statistic": None if prediction is None else _finite(prediction.statistic),
        "prediction_severity": None if prediction is None else prediction.severity.value,
        "latency_p50_ms": result.latency_ms["p50"],
        "latency_p95_ms": result.latency_ms["p95"],
        "latency_p99_ms": result.latency_ms["p99"],
        "n_labelled": result.n_labelled,
        "performance": result.performance,
        "performance_at": now,
        "estimated": result.estimated,
        "multivariate": result.multivariate,
        "explanation": result.explanation,
        "report": report.to_dict(),
    }


def _feature_rows(result: VersionResult, end: datetime) -> list[dict[str, Any]]:
    report = result.report
    rows = []
    for name, verdict in report.features.items():
        quality = report.quality.get(name)
        rows.append(
            {
                "model_version": result.model_version,
                "window_end": end,
                "feature": name,
                "kind": verdict.kind,
                "method": verdict.method,
                "statistic": _finite(verdict.statistic),
                "warning": verdict.warning,
                "critical": verdict.critical,
                "p_value": _finite(verdict.p_value),
                "severity": verdict.severity.value,
                "n_reference": verdict.n_reference,
                "n_current": verdict.n_current,
                "missing_rate": None if quality is None else quality.missing_rate,
                "invalid_rate": None if quality is None else quality.invalid_rate,
                "out_of_range_rate": None if quality is None else quality.out_of_range_rate,
                "unseen_rate": None if quality is None else quality.unseen_category_rate,
            }
        )
    return rows
