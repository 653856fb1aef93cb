"""The champion/challenger experiment shared by every replica through the store.

A change is written to the store first and applied to this server's :class:`ModelRouter` only
once stored, so a change the store refused changes nothing anywhere. Other replicas, and this one
after a restart, read the newest stored change: at start-up, every
``serving.routing_poll_interval`` and on ``POST /v1/admin/reload``. A partial change (say, only
the share) completes the *stored* experiment, not this replica's copy, which may be one poll
behind. While the store is unreachable a replica keeps serving the experiment it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import cast

from sqlalchemy.engine import Engine

from driftwarden.core import Clock, ConfigError, StoreUnavailableError
from driftwarden.serving.model_router import Mode, ModelRouter, RoutingConfig
from driftwarden.store import StoredRouting, current_routing, record_routing

__all__ = ["SharedRouting"]

logger = logging.getLogger(__name__)


def _config(stored: StoredRouting) -> RoutingConfig:
    return RoutingConfig(mode=cast(Mode, stored.mode), share=stored.share, salt=stored.salt)


class SharedRouting:
    """Keeps a server's router in step with the experiment stored for its model.

    Parameters
    ----------
    router : ModelRouter
        The router this server's requests go through.
    engine : Engine
        The store.
    model_name : str
        The registered model; each model has its own experiment.
    clock : Clock
        Times the changes.
    """

    def __init__(self, router: ModelRouter, engine: Engine, model_name: str, clock: Clock) -> None:
        self.router = router
        self.engine = engine
        self.model_name = model_name
        self.clock = clock
        # One read-change-write or read-apply at a time, so a poll that read the store before a
        # change cannot apply that older experiment after it.
        self._lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None

    def _apply(self, config: RoutingConfig) -> bool:
        if config == self.router.config:
            return False
        self.router.update(mode=config.mode, share=config.share, salt=config.salt)
        logger.info(
            "routing is now mode=%s share=%s salt=%s", config.mode, config.share, config.salt
        )
        return True

    async def change(
        self,
        *,
        mode: Mode | None = None,
        share: float | None = None,
        salt: str | None = None,
        changed_by: str,
    ) -> RoutingConfig:
        """Store a change of the experiment, then apply it here; omitted fields keep theirs.

        Raises
        ------
        ConfigError
            If the changed experiment is invalid; nothing is stored or applied.
        StoreUnavailableError
            If the store cannot be reached; nothing is stored or applied.
        """
        async with self._lock:
            stored = await asyncio.to_thread(current_routing, self.engine, self.model_name)
            base = self.router.config if stored is None else _config(stored)
            config = RoutingConfig(
                mode=base.mode if mode is None else mode,
                share=base.share if share is None else share,
                salt=base.salt if salt is None else salt,
            )
            if stored is None or config != base:
                await asyncio.to_thread(
                    record_routing,
                    self.engine,
                    self.model_name,
                    mode=config.mode,
                    share=config.share,
                    salt=config.salt,
                    changed_by=changed_by,
                    clock=self.clock,
                )
            self._apply(config)
            return config

    async def load(self) -> bool:
        """Apply the stored experiment now; returns whether this server's routing changed.

        With nothing stored, the router keeps its configuration and nothing is written.

        Raises
        ------
        StoreUnavailableError
            If the store cannot be reached; the routing is unchanged.
        """
        async with self._lock:
            stored = await asyncio.to_thread(current_routing, self.engine, self.model_name)
            if stored is None:
                return False
            try:
                config = _config(stored)
            except ConfigError as exc:
                # Only a row written around the store's checks gets here: keep serving.
                logger.error(
                    "the stored routing of %r is invalid (%s); keeping mode=%s share=%s",
                    self.model_name,
                    exc,
                    self.router.config.mode,
                    self.router.config.share,
                )
                return False
            return self._apply(config)

    async def refresh(self) -> bool:
        """Like :meth:`load`, but an unreachable store logs a warning and keeps the routing."""
        try:
            return await self.load()
        except StoreUnavailableError as exc:
            config = self.router.config
            logger.warning(
                "could not re-read the routing experiment (%s); keeping mode=%s share=%s salt=%s",
                exc,
                config.mode,
                config.share,
                config.salt,
            )
            return False

    def start_polling(self, interval_seconds: float) -> None:
        """Re-read the stored experiment every ``interval_seconds`` in the background."""

        async def poll() -> None:
            while True:
                await asyncio.sleep(interval_seconds)
                try:
                    await self.refresh()
                except Exception:  # e.g. a store not migrated yet: serving must go on
                    logger.exception("re-reading the routing experiment failed; will retry")

        self._poller = asyncio.get_running_loop().create_task(poll(), name="routing-poller")

    async def stop(self) -> None:
        """Stop polling."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
