"""The models a server holds (champion, challenger), scoring them, and swapping them live.

Each loaded version has its own micro-batcher. A background task polls the registry aliases;
when one moves, the new version is loaded in a worker thread and swapped in with one assignment,
so a request in flight finishes on the model it started with and none fails during the swap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from driftwarden.core.errors import NotFoundError, RegistryError
from driftwarden.registry import LoadedModel, ModelRegistry
from driftwarden.serving.batching import Committer, MicroBatcher, Recorder, Row
from driftwarden.serving.model_router import Arm
from driftwarden.training import RowScorer

__all__ = ["ModelSet", "ServedModel"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ServedModel:
    """One loaded version and the batcher that scores it."""

    loaded: LoadedModel
    batcher: MicroBatcher
    threshold: float = 0.5

    @property
    def version(self) -> int:
        """The registry version."""
        return self.loaded.version

    @property
    def is_regression(self) -> bool:
        """Whether the version predicts a number (its score) rather than a class."""
        return self.loaded.schema.is_regression

    async def score(
        self, rows: Sequence[Row], record: Recorder | None = None
    ) -> NDArray[np.float64]:
        """Probabilities of the positive class, or a regression model's predicted values
        (through the micro-batcher).

        ``record`` turns the scores into prediction rows, which are logged before this returns
        when the server logs predictions (see :meth:`MicroBatcher.submit`).
        """
        return await self.batcher.submit(rows, record)


def _signature(loaded: LoadedModel) -> list[tuple[str, str]]:
    """What a request must carry for a version: its features' names and kinds, in order.

    A retrained version may widen its contract (new categories, wider ranges, a feature that
    may now be missing); the request model accepts unseen categories and any number, so such a
    version serves the same requests and swaps in live.
    """
    return [(spec.name, spec.kind) for spec in loaded.schema.features]


class ModelSet:
    """The champion and the challenger a server serves, kept current with the registry.

    ``commit`` stores the prediction rows of each scored batch (the prediction writer's
    ``submit``); ``None`` when predictions are not logged.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        max_rows: int,
        max_wait_ms: float,
        commit: Committer | None = None,
    ) -> None:
        self.registry = registry
        self._commit = commit
        self._max_rows = max_rows
        self._max_wait_ms = max_wait_ms
        self.models: dict[Arm, ServedModel] = {}
        self._poller: asyncio.Task[None] | None = None
        self.swaps = 0
        # One refresh of an arm at a time: a promotion's own refresh and the poller's would
        # both load the new version, and the first copy's batcher would never be stopped.
        self._locks: dict[Arm, asyncio.Lock] = {}
        self._locks_loop: asyncio.AbstractEventLoop | None = None

    def get(self, arm: Arm) -> ServedModel | None:
        """The model serving ``arm``, if loaded."""
        return self.models.get(arm)

    def _alias(self, arm: Arm) -> str:
        return self.registry.champion if arm == "champion" else self.registry.challenger

    def _serve(self, loaded: LoadedModel, scorer: RowScorer) -> ServedModel:
        batcher = MicroBatcher(
            scorer.score,
            max_rows=self._max_rows,
            max_wait_ms=self._max_wait_ms,
            # Direct scoring takes about a millisecond a batch; the whole pipeline, tens.
            in_thread=scorer.method == "pipeline",
            commit=self._commit,
        )
        batcher.start()
        return ServedModel(loaded, batcher)

    async def load_initial(self) -> None:
        """Load whatever the aliases point to now (a missing alias leaves its arm empty, and so
        does a registry that cannot be reached: the poller loads the arm once it answers)."""
        for arm in ("champion", "challenger"):
            try:
                await self.refresh(arm)
            except RegistryError as exc:
                logger.warning(
                    "could not load the %s at start: %s; retrying at each poll", arm, exc
                )

    def _lock(self, arm: Arm) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._locks_loop is not loop:  # a lock serves the loop it was first awaited on
            self._locks = {"champion": asyncio.Lock(), "challenger": asyncio.Lock()}
            self._locks_loop = loop
        return self._locks[arm]

    async def refresh(self, arm: Arm) -> bool:
        """Load the version ``arm``'s alias points to if it changed; returns whether it swapped.

        Raises
        ------
        RegistryError
            If the registry cannot be reached; what is served stays as it is.
        """
        async with self._lock(arm):
            return await self._refresh(arm)

    async def _refresh(self, arm: Arm) -> bool:
        alias = self._alias(arm)
        version = await asyncio.to_thread(self.registry.alias_version, alias)
        current = self.models.get(arm)
        if version is None:
            if current is not None:
                del self.models[arm]
                await current.batcher.stop()
                logger.info("alias %s was removed; %s unloaded", alias, arm)
                return True
            return False
        if current is not None and current.version == version:
            return False
        champion = self.models.get("champion")
        try:
            loaded = await asyncio.to_thread(self.registry.load, version)
            scorer = await asyncio.to_thread(RowScorer, loaded.model, loaded.schema)
        except NotFoundError:
            logger.warning(
                "alias %s points to version %s, which could not be found", alias, version
            )
            return False
        if champion is not None and _signature(loaded) != _signature(champion.loaded):
            logger.error(
                "version %s reads other features than the served champion %s; not swapping it "
                "in (restart the server to serve a new schema)",
                version,
                champion.version,
            )
            return False
        self.models[arm] = self._serve(loaded, scorer)  # one assignment: requests see old or new
        self.swaps += 1
        logger.info("%s is now version %s", arm, version, extra={"model_version": version})
        if current is not None:
            await current.batcher.stop()
        return True

    def start_polling(self, interval_seconds: float) -> None:
        """Check the aliases every ``interval_seconds`` in the background."""

        async def poll() -> None:
            while True:
                await asyncio.sleep(interval_seconds)
                for arm in ("champion", "challenger"):
                    try:
                        await self.refresh(arm)
                    except Exception:  # a registry hiccup must not stop serving
                        logger.exception("checking the %s alias failed; will retry", arm)

        self._poller = asyncio.get_running_loop().create_task(poll(), name="alias-poller")

    async def stop(self) -> None:
        """Stop polling and every batcher."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for served in list(self.models.values()):
            await served.batcher.stop()
            logger.info(
                "version %s scored %d rows in %d batches",
                served.version,
                served.batcher.rows,
                served.batcher.batches,
            )
