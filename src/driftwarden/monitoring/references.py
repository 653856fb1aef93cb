"""What each model version is measured against: its reference profile and holdout metrics.

Registered versions never change, so both are read from the registry once per version and kept.
"""

from __future__ import annotations

import threading

from driftwarden.registry import ModelRegistry
from driftwarden.stats import ReferenceProfile

__all__ = ["References"]


class References:
    """Reference profiles and holdout metrics of the versions of one registered model."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self._profiles: dict[int, ReferenceProfile] = {}
        self._metrics: dict[int, dict[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """The registered model's name."""
        return self.registry.name

    def profile(self, version: int) -> ReferenceProfile:
        """The profile of the version's training data (and holdout scores).

        Raises
        ------
        NotFoundError
            The version does not exist.
        """
        with self._lock:
            found = self._profiles.get(version)
        if found is None:
            found = self.registry.load_profile(version)
            with self._lock:
                self._profiles[version] = found
        return found

    def holdout_metrics(self, version: int) -> dict[str, float]:
        """The version's metrics on its holdout (``roc_auc``, ``accuracy``, ...)."""
        with self._lock:
            found = self._metrics.get(version)
        if found is None:
            found = dict(self.registry.get_version(version).metrics)
            with self._lock:
                self._metrics[version] = found
        return found

    def champion(self) -> int | None:
        """The version the champion alias points to now (read each time: it moves)."""
        return self.registry.alias_version(self.registry.champion)
