"""A local append-only spool that keeps predictions while the database is unreachable.

One JSON object per line. Each :meth:`Spool.append` writes its rows, flushes and fsyncs before
returning, so a row the writer acknowledged survives a crash. A crash in the middle of an append
can leave a torn last line; it was never acknowledged, so it is dropped when the spool is opened.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["Spool"]

logger = logging.getLogger(__name__)


class Spool:
    """Rows waiting for the database, in arrival order.

    Parameters
    ----------
    directory : Path or str
        Folder of the spool file (created if missing).
    name : str, optional
        File name inside ``directory``.

    Notes
    -----
    Methods may be called from several threads; a lock serialises them.
    """

    def __init__(self, directory: Path | str, name: str = "predictions.jsonl") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / name
        self._lock = threading.Lock()
        self._size = self._repair()

    def _repair(self) -> int:
        """Cut a torn last line off the file and return the number of complete rows."""
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            logger.warning(
                "dropping a torn last line of the spool (an append interrupted by a crash)",
                extra={"spool": str(self.path), "bytes": len(data) - complete},
            )
            with self.path.open("r+b") as handle:
                handle.truncate(complete)
                handle.flush()
                os.fsync(handle.fileno())
        return data.count(b"\n", 0, complete)

    @property
    def size(self) -> int:
        """Number of rows in the spool."""
        return self._size

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows durably (written, flushed and fsynced before returning)."""
        self._append(self.path, [dict(row) for row in rows], counted=True)

    def read(self) -> list[dict[str, Any]]:
        """Return every complete row, oldest first (a torn final line is ignored)."""
        with self._lock:
            if not self.path.exists():
                return []
            data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line]

    @property
    def refused_path(self) -> Path:
        """The file of rows the database refused at replay (``<name>.refused.jsonl``)."""
        return self.path.with_name(f"{self.path.stem}.refused.jsonl")

    def set_aside(self, refused: Iterable[tuple[Mapping[str, Any], str]]) -> None:
        """Keep rows the database refused, each with its error, in :attr:`refused_path`.

        They were acknowledged, so they are never dropped: an operator can read why each was
        refused, fix it and load it. Written, flushed and fsynced before returning.
        """
        self._append(
            self.refused_path, [{"error": error, "row": dict(row)} for row, error in refused]
        )

    def _append(self, path: Path, objects: list[dict[str, Any]], *, counted: bool = False) -> None:
        """Append one JSON line per object to ``path``, fsynced; ``counted``: spool rows."""
        if not objects:
            return
        lines = [json.dumps(obj, separators=(",", ":"), sort_keys=True) for obj in objects]
        payload = ("\n".join(lines) + "\n").encode()
        with self._lock, path.open("ab") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
            if counted:
                self._size += len(lines)

    def clear(self) -> None:
        """Empty the spool, after its rows were written to the database."""
        with self._lock:
            self.path.unlink(missing_ok=True)
            self._size = 0

    def __repr__(self) -> str:
        return f"Spool(path={str(self.path)!r}, size={self._size})"
