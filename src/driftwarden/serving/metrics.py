"""Prometheus metrics of one server, in their own registry (so several apps can share a process).

Names follow Prometheus conventions: a ``driftwarden_`` prefix, base units (seconds), ``_total``
on counters.

Behind one port, ``driftwarden serve --workers N`` runs N processes, and a scrape reaches one of
them. So that every scrape shows the whole server, the workers use the client's multiprocess
mode (``PROMETHEUS_MULTIPROC_DIR``, set by ``serve``): each process writes its values to files
there and ``/metrics`` adds them up. Per-worker labels would not do: a scrape would see only the
worker that answered it. Counters and histograms are summed; the gauges of the moment (requests
in flight, queue depth, spool rows) are summed over live processes. Model info is the answering
process's (every worker loads the same aliases). What the latest monitor pass measured (drift
statistics, window rows, run durations, open alerts) is read from the store when scraped
(:class:`StoredMonitorFigures`), so every worker and replica shows the same figures whichever
process ran the pass, a Prefect worker included.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

if TYPE_CHECKING:
    from driftwarden.monitoring import MonitorReport

__all__ = ["MONITOR_GAUGES", "ServerMetrics", "StoredMonitorFigures", "multiprocess_dir"]

logger = logging.getLogger(__name__)

# The files of the multiprocess mode's live gauges, by process id.
_LIVE_FILE = re.compile(r"^gauge_live\w+_(\d+)\.db$")


def multiprocess_dir() -> Path | None:
    """The folder of the multiprocess mode, when this process runs in it."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process
        return True
    return True


#: The monitor's figures: (name, help, labels), all gauges.
MONITOR_GAUGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("driftwarden_feature_drift", "Drift statistic of each feature in the latest monitor run, "
     "by model version and the feature's deciding method (PSI unless configured).",
     ("version", "feature", "method")),
    ("driftwarden_prediction_drift", "Drift statistic of the model's scores in the latest "
     "monitor run, by version.", ("version", "method")),
    ("driftwarden_drifted_features_share", "Share of features at warning or critical in the "
     "latest monitor run, by version.", ("version",)),
    ("driftwarden_monitor_window_rows", "Predictions in the latest monitor window, by version.",
     ("version",)),
    ("driftwarden_monitor_run_seconds", "Duration of the latest monitor run, by phase (read, "
     "statistics, total).", ("phase",)),
    ("driftwarden_alerts_open", "Alerts not resolved (open or acknowledged), by severity.",
     ("severity",)),
)  # fmt: skip


class StoredMonitorFigures(Collector):
    """The figures of the latest successful monitor pass, read from the store when scraped.

    Whichever process ran the pass (this one, another worker or replica, a Prefect worker, a
    ``monitor --once`` from cron), every server shows the same figures, and none shows figures
    a newer pass replaced. A read is kept for ``max_age`` seconds, so scrapes from several
    Prometheus servers cost one query; a pass of this process's own expires it. A store that
    cannot be read leaves the last figures read (logged once), and is asked again after
    ``retry_after`` seconds; a server whose store was never read exports the families with no
    samples.
    """

    def __init__(self, max_age: float = 5.0, retry_after: float = 30.0) -> None:
        self.max_age = max_age
        self.retry_after = retry_after
        self._read: Callable[[Mapping[str, Any] | None], Mapping[str, Any] | None] | None = None
        self._figures: Mapping[str, Any] | None = None
        self._read_at = -math.inf
        self._failing = False
        self._lock = threading.Lock()

    def read_from(
        self, read: Callable[[Mapping[str, Any] | None], Mapping[str, Any] | None]
    ) -> None:
        """Read the figures with ``read`` from now on: given the last figures read (or None),
        it returns the current ones, as :func:`driftwarden.store.latest_figures` of the served
        model does."""
        with self._lock:
            self._read, self._figures, self._read_at = read, None, -math.inf

    def expire(self) -> None:
        """Read again at the next scrape."""
        self._read_at = -math.inf

    def describe(self) -> list[Metric]:
        """The families, without samples (no store read at registration)."""
        return [GaugeMetricFamily(name, doc, labels=labels) for name, doc, labels in MONITOR_GAUGES]

    def collect(self) -> list[Metric]:
        """The families with the latest figures."""
        figures = self._current()
        families = {
            name: GaugeMetricFamily(name, doc, labels=labels)
            for name, doc, labels in MONITOR_GAUGES
        }
        if figures is None:
            return list(families.values())
        for phase, key in (("read", "read_seconds"), ("statistics", "stats_seconds"),
                           ("total", "duration_seconds")):  # fmt: skip
            if figures.get(key) is not None:
                families["driftwarden_monitor_run_seconds"].add_metric([phase], figures[key])
        for result in figures["results"]:
            version = str(result["model_version"])
            families["driftwarden_monitor_window_rows"].add_metric([version], result["n_rows"])
            families["driftwarden_drifted_features_share"].add_metric(
                [version], result["share_drifted"]
            )
            for feature in result["features"]:
                families["driftwarden_feature_drift"].add_metric(
                    [version, feature["feature"], feature["method"]], feature["statistic"]
                )
            prediction = result["prediction"]
            if prediction is not None:
                families["driftwarden_prediction_drift"].add_metric(
                    [version, prediction["method"]], prediction["statistic"]
                )
        for severity in ("info", "warning", "critical"):
            families["driftwarden_alerts_open"].add_metric(
                [severity], figures["alerts_open"].get(severity, 0)
            )
        return list(families.values())

    def _current(self) -> Mapping[str, Any] | None:
        with self._lock:
            # A store that is down may take its connect timeout to say so: not at every scrape.
            age = self.retry_after if self._failing else self.max_age
            if self._read is None or time.monotonic() - self._read_at < age:
                return self._figures
            try:
                self._figures = self._read(self._figures)
            except Exception as exc:  # a scrape never fails: the last figures stay
                if not self._failing:  # once while it lasts, not at every scrape
                    logger.warning("could not read the monitor's latest figures: %s", exc)
                self._failing = True
            else:
                self._failing = False
            self._read_at = time.monotonic()
            return self._figures


# Latency buckets for a fast scoring endpoint: 0.5 ms to 2.5 s.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    """Every metric ``/metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = multiprocess_dir()
        # Info has no multiprocess form: it lives in this process's own registry.
        self._local = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "driftwarden_requests_total",
            "Requests answered, by endpoint and HTTP status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.predict_requests = Counter(
            "driftwarden_predict_requests_total",
            "Prediction requests answered, by the model version and variant that answered them "
            "and HTTP status. A batch answered by both arms counts once as variant 'mixed' "
            "(version 'mixed'); a request no model answered counts as 'none'.",
            ["version", "variant", "status"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "driftwarden_predictions_total",
            "Rows scored, by model version and variant (champion, challenger, shadow).",
            ["version", "variant"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "driftwarden_request_duration_seconds",
            "Time from receiving a request to answering it, by endpoint.",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.scoring_calls = Counter(
            "driftwarden_scoring_calls_total",
            "Calls to score rows with a model, by arm (champion, challenger; a shadow call "
            "counts for the challenger) and outcome (ok, error): the A/B test's error-rate "
            "guardrail.",
            ["arm", "outcome"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "driftwarden_requests_in_flight",
            "Requests being handled now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.unseen_categories = Counter(
            "driftwarden_unseen_categories_total",
            "Categorical values never seen in the training data, by feature.",
            ["feature"],
            registry=self.registry,
        )
        self.log_queue_depth = Gauge(
            "driftwarden_log_queue_depth",
            "Predictions waiting to be committed to the prediction log.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.spool_rows = Gauge(
            "driftwarden_log_spool_rows",
            "Predictions held in the local spool while the database is unreachable.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.model = Info(
            "driftwarden_model",
            "The model versions loaded, by alias.",
            registry=self._local,
        )

        # What the latest monitor pass measured is read from the store at scrape time: one
        # process (or a Prefect worker) ran it, and every replica and worker shows it.
        self.monitor_figures = StoredMonitorFigures()
        self._local.register(self.monitor_figures)
        self.monitor_runs = Counter(
            "driftwarden_monitor_runs_total",
            "Monitor runs, by outcome (ok, failed).",
            ["status"],
            registry=self.registry,
        )
        self.alerts_opened = Counter(
            "driftwarden_alerts_opened_total",
            "Alerts opened, by rule and severity.",
            ["rule", "severity"],
            registry=self.registry,
        )
        self.alert_deliveries = Counter(
            "driftwarden_alert_deliveries_total",
            "Alert notifications, by outcome (delivered, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self._errors_seen = (0.0, 0.0)
        self._arm_seen: dict[str, tuple[float, float]] = {}

    def observe_monitor(self, report: MonitorReport) -> None:
        """Count what a monitor pass of this process did (its figures come from the store)."""
        self.monitor_runs.labels("ok").inc()
        for rule, severity in report.alerts.opened_rules:
            self.alerts_opened.labels(rule, severity).inc()
        for outcome in report.alerts.deliveries:
            self.alert_deliveries.labels("delivered" if outcome.delivered else "failed").inc()
        self.monitor_figures.expire()

    def observe_monitor_failure(self, _: BaseException) -> None:
        """Count a failed monitor run."""
        self.monitor_runs.labels("failed").inc()

    def error_rate(self) -> float | None:
        """Share of prediction requests answered with a 5xx since the last call (``None``
        when there were none)."""
        total = errors = 0.0
        for sample in self._samples(self.predict_requests):
            if sample.name.endswith("_total"):
                total += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    errors += sample.value
        seen_total, seen_errors = self._errors_seen
        self._errors_seen = (total, errors)
        if total <= seen_total:
            return None
        return (errors - seen_errors) / (total - seen_total)

    def arm_error_rates(self) -> dict[str, float | None]:
        """Per arm, the share of scoring calls that failed since the last call (``None`` for an
        arm that was not called)."""
        counts: dict[tuple[str, str], float] = {}
        for sample in self._samples(self.scoring_calls):
            if sample.name.endswith("_total"):
                counts[sample.labels["arm"], sample.labels["outcome"]] = sample.value
        rates: dict[str, float | None] = {}
        for arm in ("champion", "challenger"):
            total = counts.get((arm, "ok"), 0.0) + counts.get((arm, "error"), 0.0)
            errors = counts.get((arm, "error"), 0.0)
            seen_total, seen_errors = self._arm_seen.get(arm, (0.0, 0.0))
            self._arm_seen[arm] = (total, errors)
            rates[arm] = (
                None if total <= seen_total else (errors - seen_errors) / (total - seen_total)
            )
        return rates

    def _samples(self, counter: Counter) -> Iterator[Sample]:
        """The samples of ``counter``: of every worker in the multiprocess mode (the monitor's
        guardrails must see the requests other workers answered), else of this process."""
        if self.multiprocess is None:
            families = counter.collect()
        else:
            (name,) = {family.name for family in counter.describe()}
            every = multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                None, path=str(self.multiprocess)
            )
            found = every.collect()  # type: ignore[no-untyped-call]
            families = [family for family in found if family.name == name]
        for family in families:
            yield from family.samples

    def render(self) -> bytes:
        """The text exposition format: every worker's metrics in the multiprocess mode."""
        if self.multiprocess is None:
            return generate_latest(self.registry) + generate_latest(self._local)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            merged, path=str(self.multiprocess)
        )
        return generate_latest(merged) + generate_latest(self._local)

    def forget_dead_processes(self) -> list[int]:
        """Drop the live gauges of worker processes that are gone (killed, or crashed), so they
        do not count in requests in flight or queue depth; returns their process ids."""
        if self.multiprocess is None:
            return []
        dead = sorted(
            {
                int(match.group(1))
                for path in self.multiprocess.glob("gauge_live*.db")
                if (match := _LIVE_FILE.match(path.name)) and not _alive(int(match.group(1)))
            }
        )
        for pid in dead:
            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                pid, path=str(self.multiprocess)
            )
        if dead:
            logger.info("dropped the live gauges of %d finished worker processes", len(dead))
        return dead

    def close(self) -> None:
        """At shut-down: this process's live gauges stop counting."""
        if self.multiprocess is not None:
            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                os.getpid(), path=str(self.multiprocess)
            )
