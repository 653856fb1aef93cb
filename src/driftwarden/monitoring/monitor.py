"""The monitor: a run over the latest window, its alert rules, and the loop that repeats it.

:meth:`Monitor.run_once` is what ``driftwarden monitor --once`` (the form a scheduler runs)
and every turn of the loop call. :meth:`Monitor.loop` runs inside ``driftwarden serve``: a run
that fails is logged, stored as failed and tried again after ``monitor.retry_after`` (doubling
up to the interval); it never stops the loop, so it never takes the API down.

Every API process runs the loop (the replicas of a deployment, the workers of ``serve
--workers``), but only the one holding the store's ``monitor:<model>`` lease runs each pass;
the others stand by. The holder renews the lease around every pass for two intervals and 30 s,
and gives it up when it stops, so another process takes over at its next turn; one that dies is
replaced within three intervals and 30 s at most. What the monitor carries from pass to pass
(its detectors, the A/B test) lives in the store, so the next holder goes on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from driftwarden.core import Clock, Settings
from driftwarden.monitoring.abtest import ABDecision, ABTestManager
from driftwarden.monitoring.alerts import AlertManager, AlertSummary
from driftwarden.monitoring.channels import Channel, channels_from_settings
from driftwarden.monitoring.references import References
from driftwarden.monitoring.retrain_policy import RetrainPolicy, RetrainRequest
from driftwarden.monitoring.rules import Check, evaluate
from driftwarden.monitoring.run import RunOutcome, WindowRunner
from driftwarden.registry import ModelRegistry
from driftwarden.store import acquire_lease, release_lease

__all__ = ["Monitor", "MonitorReport"]

logger = logging.getLogger(__name__)

# Added to the lease's two intervals: a pass slowed by a busy machine or a slow store must not
# lose the lease half-way, and another process start the same pass.
_LEASE_GRACE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class MonitorReport:
    """One run, the checks it made, and what happened to the alerts."""

    outcome: RunOutcome
    checks: list[Check]
    alerts: AlertSummary
    #: What the promotion policy decided about the running A/B test (None: no test ran).
    ab_test: ABDecision | None = None
    #: The retraining this run asked for, if any.
    retrain: RetrainRequest | None = None

    @property
    def firing(self) -> list[Check]:
        """The checks at info, warning or critical."""
        return [check for check in self.checks if check.firing]

    def to_dict(self) -> dict[str, Any]:
        """What the run found, as plain JSON types (what ``monitor --once --json`` prints and
        ``POST /v1/monitoring/run`` answers)."""
        outcome = self.outcome
        return {
            "run_id": outcome.run_id,
            "window_start": outcome.window_start.isoformat(),
            "window_end": outcome.window_end.isoformat(),
            "n_rows": outcome.n_rows,
            "read_seconds": outcome.read_seconds,
            "stats_seconds": outcome.stats_seconds,
            "results": [
                {
                    "model_version": r.model_version,
                    "n_rows": r.n_rows,
                    "severity": r.severity,
                    "drifted_features": r.report.drifted_features,
                    "n_labelled": r.n_labelled,
                    "realised": r.performance,
                    "estimated": r.estimated,
                }
                for r in outcome.results
            ],
            "firing": [
                {
                    "rule": c.rule,
                    "model_version": c.model_version,
                    "subject": c.subject,
                    "severity": c.severity,
                    "message": c.message,
                }
                for c in self.firing
            ],
            "alerts": {
                "opened": self.alerts.opened,
                "escalated": self.alerts.escalated,
                "resolved": self.alerts.resolved,
                "failed_deliveries": self.alerts.failed_deliveries,
            },
            "ab_test": None if self.ab_test is None else self.ab_test.to_dict(),
            "retrain": None if self.retrain is None else self.retrain.to_dict(),
        }


class Monitor:
    """Watches one registered model's logged predictions.

    Parameters
    ----------
    settings : Settings
    engine
        The prediction store (migrated).
    registry : ModelRegistry
    clock : Clock
    channels : sequence of Channel, optional
        Where alerts go; by default those of ``settings.alerts``.
    error_rate : callable, optional
        Returns the share of prediction requests answered with a server error since its last
        call (the API knows it; the store does not), or ``None``.
    on_report : callable, optional
        Called with each report (the API exports it as Prometheus metrics).
    on_failure : callable, optional
        Called with the exception of each failed run.
    on_retrain : callable, optional
        Called with the :class:`RetrainRequest` a run makes; it decides whether a retraining
        starts (one at a time, the cooldown) and records the request either way. Without it,
        requests are only reported.
    arm_error_rates : callable, optional
        Returns the share of failed scoring calls per arm since its last call, for the A/B
        test's error-rate guardrail.
    holder : str, optional
        Who this process is, in the monitor's lease; by default host, process id and a random
        part.
    """

    def __init__(
        self,
        settings: Settings,
        engine: object,
        registry: ModelRegistry,
        clock: Clock,
        *,
        channels: list[Channel] | None = None,
        error_rate: Callable[[], float | None] | None = None,
        on_report: Callable[[MonitorReport], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        on_retrain: Callable[[RetrainRequest], object] | None = None,
        arm_error_rates: Callable[[], Mapping[str, float | None]] | None = None,
        sleep: Callable[[float], None] | None = None,
        holder: str | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.engine: Engine = engine  # type: ignore[assignment]
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = f"monitor:{registry.name}"
        #: Whether this process held the lease at its loop's last turn.
        self.leading = False
        self.references = References(registry)
        self.runner = WindowRunner(engine, self.references, settings.monitor, clock)
        chosen = channels_from_settings(settings.alerts) if channels is None else channels
        extra = {} if sleep is None else {"sleep": sleep}
        self.alerts = AlertManager(engine, registry.name, settings.alerts, chosen, clock, **extra)
        self.ab_tests = ABTestManager(
            settings, engine, registry, clock, arm_error_rates=arm_error_rates
        )
        self.retrain_policy = RetrainPolicy(
            settings, engine, registry.name, clock,
            holdout_metrics=self.references.holdout_metrics,
        )  # fmt: skip
        self.on_retrain = on_retrain
        self._error_rate = error_rate
        self._on_report = on_report
        self._on_failure = on_failure

    def run_once(self, end: datetime | None = None) -> MonitorReport:
        """Run over the window ending at ``end`` (default: now), apply the rules and alerts,
        step the running A/B test, and ask for a retraining when the policy says so.

        A failure is stored as a failed run (when the store takes it) and raised.
        """
        try:
            outcome = self.runner.run(end)
            rate = None if self._error_rate is None else self._error_rate()
            checks = evaluate(outcome, self.settings.alerts.rules, error_rate=rate)
            summary = self.alerts.process(checks, run_id=outcome.run_id)
            decision = self.ab_tests.step(outcome)
            request = self.retrain_policy.check(outcome)
        except Exception as exc:
            self.runner.record_failure(exc, end)
            if self._on_failure is not None:
                self._on_failure(exc)
            raise
        if request is not None and self.on_retrain is not None:
            try:
                self.on_retrain(request)
            except Exception:  # the run itself succeeded; the retraining records its failure
                logger.exception("the retraining this run asked for (%s) failed", request.trigger)
        report = MonitorReport(outcome, checks, summary, decision, request)
        if self._on_report is not None:
            self._on_report(report)
        return report

    def lead(self) -> bool:
        """Take or renew the monitor's lease for two intervals and a grace period; return
        whether this process holds it. Lease times are the machine's wall clock, whatever clock
        the runs use."""
        ttl = 2 * self.settings.monitor.interval + _LEASE_GRACE
        leading = acquire_lease(
            self.engine, self.lease, self.holder, ttl=ttl, now=datetime.now(UTC)
        )
        if leading != self.leading:
            logger.info(
                "this process runs the monitor now"
                if leading
                else "another process holds the monitor's lease; this one stands by",
                extra={"lease": self.lease, "holder": self.holder},
            )
        self.leading = leading
        return leading

    def _lead_or_fail(self) -> bool:
        """:meth:`lead`, with a store that cannot be asked counted as a failed run."""
        try:
            return self.lead()
        except Exception as exc:
            if self._on_failure is not None:
                self._on_failure(exc)
            raise

    async def loop(self) -> None:
        """Run every ``monitor.interval`` while this process holds the monitor's lease, until
        cancelled; failures are retried, never raised."""
        interval = self.settings.monitor.interval.total_seconds()
        retry = self.settings.monitor.retry_after.total_seconds()
        wait = interval
        try:
            while True:
                await asyncio.sleep(wait)
                try:
                    if not await asyncio.to_thread(self._lead_or_fail):
                        wait = interval
                        continue
                    await asyncio.to_thread(self.run_once)
                    # A long pass must not let the lease lapse before the next one.
                    await asyncio.to_thread(self.lead)
                except Exception:
                    logger.exception("the monitor run failed; retrying in %.0fs", retry)
                    wait, retry = retry, min(retry * 2, interval)
                else:
                    wait, retry = interval, self.settings.monitor.retry_after.total_seconds()
        finally:
            if self.leading:
                # Hand over at once rather than after the lease runs out.
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(
                        release_lease, self.engine, self.lease, self.holder, now=datetime.now(UTC)
                    )
                self.leading = False
