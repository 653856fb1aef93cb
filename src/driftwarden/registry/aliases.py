"""The promotion history: an append-only log of champion moves, and what rollback means.

MLflow keeps only the current target of each alias. driftwarden records every move of the
champion alias as an event, so that "roll back" has a meaning (return to the champion before the
current one) and the audit trail says who moved it, when and why.

The *lineage* is the stack of champions the events imply: a promotion pushes a version, a
rollback pops the current one. Rolling back twice from ``1 → 2 → 3`` gives 2, then 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from driftwarden.core.errors import RegistryError

__all__ = ["Action", "PromotionEvent", "lineage"]

Action = Literal["promote", "rollback"]


@dataclass(frozen=True, slots=True)
class PromotionEvent:
    """One move of the champion alias."""

    sequence: int
    action: Action
    alias: str
    from_version: int | None
    to_version: int
    at: datetime
    reason: str
    actor: str

    def to_json(self) -> str:
        """Compact JSON (the timestamp in ISO 8601)."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PromotionEvent:
        """Inverse of :meth:`to_json`."""
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(
                sequence=int(data["sequence"]),
                action=data["action"],
                alias=str(data["alias"]),
                from_version=None if data["from_version"] is None else int(data["from_version"]),
                to_version=int(data["to_version"]),
                at=datetime.fromisoformat(data["at"]),
                reason=str(data["reason"]),
                actor=str(data["actor"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RegistryError(f"unreadable promotion history entry {text[:80]!r}: {exc}") from exc


def lineage(events: list[PromotionEvent]) -> list[int]:
    """The stack of champions, oldest first, implied by ``events`` in sequence order."""
    stack: list[int] = []
    for event in sorted(events, key=lambda e: e.sequence):
        if event.action == "promote":
            stack.append(event.to_version)
        elif stack:
            stack.pop()
    return stack
