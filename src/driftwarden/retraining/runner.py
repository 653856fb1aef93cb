"""Carrying out retraining requests: one at a time, a cooldown after each, nothing stacked.

:meth:`Retrainer.request` is what every trigger calls: the monitor's retrain policy, ``POST
/v1/retrain``, ``driftwarden retrain`` and the schedule. It records the request as a run before
anything else, so the audit trail holds every trigger, including those that did not start a
retraining (``skipped``, with the reason: another run under way, the cooldown, an A/B test
running). A run whose process died (no progress for ``retraining.stale_after``) is marked failed
first, and a challenger it left without a test is removed, so one crash never blocks retraining
for good.

The flow then runs in this process (in a background thread when ``wait`` is false), or, with
``retraining.deployment`` set, as a run of that Prefect deployment on a work pool.

:func:`build_monitor` assembles a monitor whose retrain policy goes through a :class:`Retrainer`:
what ``driftwarden monitor`` and the monitor's Prefect flow run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from driftwarden.core import Clock, Settings, SystemClock
from driftwarden.monitoring import Monitor
from driftwarden.registry import ModelRegistry
from driftwarden.retraining.steps import RetrainContext
from driftwarden.store import (
    begin_retrain_run,
    create_store_engine,
    fail_stale_retrain_runs,
    get_retrain_run,
    last_finished_retrain_run,
    list_retrain_runs,
    record_skipped_run,
    running_ab_test,
    running_retrain_run,
    update_retrain_run,
    upgrade,
)

__all__ = ["Retrainer", "build_monitor"]

logger = logging.getLogger(__name__)


class Retrainer:
    """Starts retraining runs of one registered model.

    Parameters
    ----------
    settings : Settings
    engine
        The store (migrated).
    registry : ModelRegistry
    clock : Clock
    settings_file : Path, optional
        The settings file a worker reads (deployments only; an absolute path every worker can
        read).
    progress : callable, optional
        Called with a short message as each step of an in-process run starts.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Any,
        registry: ModelRegistry,
        clock: Clock,
        *,
        settings_file: Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.settings_file = settings_file
        self.progress = progress
        self._threads: list[threading.Thread] = []
        # Runs this process is carrying out: never stale, however far a simulated clock moved.
        self._active: set[int] = set()
        self._active_lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """The registered model."""
        return self.registry.name

    def request(
        self,
        trigger: str,
        reason: str,
        evidence: Mapping[str, Any] | None = None,
        *,
        wait: bool = True,
    ) -> dict[str, Any]:
        """Record a request and start a retraining if none runs; returns the stored run.

        ``manual`` requests ignore the cooldown. With ``wait``, an in-process run is finished
        when this returns; otherwise it runs in a background thread (see :meth:`join`).
        """
        now = self.clock.now()
        evidence = dict(evidence or {})
        self._reap_stale()
        why = None if trigger == "manual" else self._hold(now)
        if why is not None:
            return self._skip(trigger, reason, evidence, why)
        run_id, started = begin_retrain_run(
            self.engine, self.model_name, trigger=trigger, reason=reason, evidence=evidence, at=now
        )
        if not started:
            logger.info(
                "retraining requested (%s) while another runs: recorded, not queued", trigger
            )
            return get_retrain_run(self.engine, run_id)
        logger.info("retraining run %s started (%s): %s", run_id, trigger, reason)
        if self.settings.retraining.deployment is not None:
            self._dispatch(run_id, trigger)
        elif wait:
            self._run(run_id, trigger)
        else:
            thread = threading.Thread(
                target=self._run, args=(run_id, trigger), name=f"retrain-{run_id}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return get_retrain_run(self.engine, run_id)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the retrainings started in the background."""
        for thread in list(self._threads):
            thread.join(timeout)
            if not thread.is_alive():
                self._threads.remove(thread)

    # -- why not now ----------------------------------------------------------------------------

    def _hold(self, now: Any) -> str | None:
        """Why an automatic request must not start a retraining now, or None."""
        test = running_ab_test(self.engine, self.model_name)
        if test is not None:
            return (
                f"A/B test {test['id']} of version {test['challenger_version']} is running; "
                "retraining waits until it ends"
            )
        last = last_finished_retrain_run(self.engine, self.model_name)
        cooldown = self.settings.retraining.cooldown
        if last is not None and now - last["finished_at"] < cooldown:
            return (
                f"retraining run {last['id']} finished at {last['finished_at'].isoformat()}; "
                f"the cooldown (retraining.cooldown {cooldown}) has not passed"
            )
        return None

    def _skip(
        self, trigger: str, reason: str, evidence: dict[str, Any], why: str
    ) -> dict[str, Any]:
        """Record a skipped request, once: the same trigger held for the same reason at every
        monitor run is one entry, not one per run."""
        newest = list_retrain_runs(self.engine, model_name=self.model_name, limit=1)
        if (
            newest
            and newest[0]["status"] == "skipped"
            and newest[0]["trigger"] == trigger
            and newest[0]["error"] == why
        ):
            return newest[0]
        run_id = record_skipped_run(
            self.engine,
            self.model_name,
            trigger=trigger,
            reason=reason,
            evidence=evidence,
            at=self.clock.now(),
            why=why,
        )
        logger.info("retraining requested (%s) but not started: %s", trigger, why)
        return get_retrain_run(self.engine, run_id)

    def _reap_stale(self) -> None:
        """Fail runs whose process died, and remove a challenger such a run left untested."""
        before = self.clock.now() - self.settings.retraining.stale_after
        running = running_retrain_run(self.engine, self.model_name)
        with self._active_lock:
            if running is not None and running["id"] in self._active:
                return
        for run_id in fail_stale_retrain_runs(
            self.engine, self.model_name, heartbeat_before=before, at=self.clock.now()
        ):
            run = get_retrain_run(self.engine, run_id)
            version = run.get("candidate_version")
            if (
                version is not None
                and running_ab_test(self.engine, self.model_name) is None
                and self.registry.alias_version(self.registry.challenger) == version
            ):
                self.registry.clear_challenger()
            logger.warning("retraining run %s stopped without finishing; marked failed", run_id)

    # -- running ------------------------------------------------------------------------------

    def _context(self, run_id: int, trigger: str) -> RetrainContext:
        ctx = RetrainContext(self.settings, self.engine, self.registry, self.clock, run_id, trigger)
        if self.progress is not None:
            ctx.progress = self.progress
        return ctx

    def _run(self, run_id: int, trigger: str) -> None:
        # Imported here: Prefect takes a second to import, which a server that never retrains
        # (or runs retraining on a work pool) should not pay.
        from driftwarden.retraining.flow import run_in_process

        with self._active_lock:
            self._active.add(run_id)
        try:
            run_in_process(self._context(run_id, trigger))
        except Exception:  # recorded on the run by the flow; a thread has nobody to raise to
            logger.exception("retraining run %s failed", run_id)
        finally:
            with self._active_lock:
                self._active.discard(run_id)

    def _dispatch(self, run_id: int, trigger: str) -> None:
        """Submit the run to the deployment; the worker's flow takes it from there."""
        from driftwarden.retraining.deploy import submit

        name = self.settings.retraining.deployment
        assert name is not None
        try:
            flow_run_id = submit(name, run_id, trigger, self.settings_file)
        except Exception as exc:
            update_retrain_run(
                self.engine,
                run_id,
                {
                    "status": "failed",
                    "finished_at": self.clock.now(),
                    "error": f"could not submit the run to the Prefect deployment {name!r}: {exc}",
                },
            )
            raise
        update_retrain_run(self.engine, run_id, {"flow_run_id": flow_run_id})


def build_monitor(
    settings: Settings,
    settings_file: Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> Monitor:
    """The monitor of the settings' store (migrated first) and registry, on the system clock;
    a retraining its policy asks for goes through a :class:`Retrainer` (in this process, or to
    ``retraining.deployment``) before the run returns.

    What ``driftwarden monitor`` and the monitor's Prefect flow run; ``driftwarden serve`` builds
    its own, sharing the API's store and registry.
    """
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    upgrade(engine)
    clock = SystemClock()
    registry = ModelRegistry(settings.registry, clock=clock, home=settings.home)
    retrainer = Retrainer(
        settings, engine, registry, clock, settings_file=settings_file, progress=progress
    )
    return Monitor(
        settings,
        engine,
        registry,
        clock,
        on_retrain=lambda request: retrainer.request(
            request.trigger, request.reason, request.evidence
        ),
    )
