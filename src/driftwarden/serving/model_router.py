"""Champion/challenger routing by a stable hash of the entity id.

Each request is placed at a point ``u`` in ``[0, 1)`` by hashing the experiment's salt with the
entity id (the request id when there is none). In ``split`` mode the challenger serves the requests
with ``u < share``. Because the point of an entity never changes, one customer always sees the
same arm, and raising the share only moves customers *into* the challenger (nobody flips back).
A new salt starts a new experiment with a fresh assignment. In ``shadow`` mode the champion serves
every request and the challenger scores it too, off the response path.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from typing import Literal

from driftwarden.core.errors import ConfigError

__all__ = ["Arm", "Mode", "ModelRouter", "RoutingConfig", "hash_point"]

Arm = Literal["champion", "challenger"]
Mode = Literal["off", "split", "shadow"]
_SCALE = float(2**64)


def hash_point(salt: str, key: str) -> float:
    """The stable point in ``[0, 1)`` of ``key`` under ``salt`` (BLAKE2b, 64 bits)."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """The experiment: its mode, the challenger's share in ``split`` mode, and the salt."""

    mode: Mode = "off"
    share: float = 0.0
    salt: str = "experiment-1"

    def __post_init__(self) -> None:
        if self.mode not in ("off", "split", "shadow"):
            raise ConfigError(f"mode must be off, split or shadow, got {self.mode!r}", key="mode")
        if not 0.0 <= self.share <= 1.0:
            raise ConfigError(f"share must be between 0 and 1, got {self.share}", key="share")
        if not self.salt:
            raise ConfigError("salt must not be empty", key="salt")


class ModelRouter:
    """Decides the arm of each request; the configuration changes atomically at runtime."""

    def __init__(self, config: RoutingConfig | None = None) -> None:
        self._config = config or RoutingConfig()
        self._lock = threading.Lock()

    @property
    def config(self) -> RoutingConfig:
        """The current experiment."""
        return self._config

    def update(
        self, *, mode: Mode | None = None, share: float | None = None, salt: str | None = None
    ) -> RoutingConfig:
        """Change some fields of the experiment; the others keep their values."""
        with self._lock:
            changes = {
                k: v
                for k, v in {"mode": mode, "share": share, "salt": salt}.items()
                if v is not None
            }
            self._config = replace(self._config, **changes)  # type: ignore[arg-type]
            return self._config

    def arm(self, key: str, *, challenger_available: bool) -> Arm:
        """The arm that answers a request with this entity (or request) id."""
        config = self._config
        if config.mode != "split" or not challenger_available or config.share <= 0.0:
            return "champion"
        return "challenger" if hash_point(config.salt, key) < config.share else "champion"

    def shadows(self, *, challenger_available: bool) -> bool:
        """Whether the challenger should also score requests off the response path."""
        return self._config.mode == "shadow" and challenger_available
