"""A local append-only spool that keeps predictions while the database is unreachable.

One JSON object per line. Each :meth:`Spool.append` writes its rows, flushes and fsyncs before
returning, so a row the writer acknowledged survives a crash. A crash in the middle of an append
can leave a torn last line; it was never acknowledged, so it is dropped when the spool is opened.

A spool holds at most ``max_bytes``: past it, an append is refused whole with
:class:`~driftwarden.core.SpoolFullError` and the caller is told nothing was kept, rather than the
disk filling up under the rest of the machine. A failed write (a full disk) is cut back off the
file, so it cannot tear the line of the next append.

Several processes may share one spool folder (the workers of ``driftwarden serve --workers``, or
servers started in one working folder): :meth:`Spool.claim` gives each its own file, held by an
advisory lock for as long as the process lives. A process that died leaves its file unlocked; the
next process to claim that slot takes its rows over, and a claim also adopts the rows of any other
unlocked file, so rows spooled by a worker that is gone are replayed by one that runs.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from driftwarden.core import SpoolFullError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per spool folder
    fcntl = None  # type: ignore[assignment]

__all__ = ["Spool"]

logger = logging.getLogger(__name__)

# Most spool files in one folder: slot 0 is ``predictions.jsonl``, slot k ``predictions-k.jsonl``.
_MAX_SLOTS = 1024


class Spool:
    """Rows waiting for the database, in arrival order.

    Parameters
    ----------
    directory : Path or str
        Folder of the spool file (created if missing).
    name : str, optional
        File name inside ``directory``.
    max_bytes : int or None, optional
        Most bytes the spool file may hold; ``None``: no limit but the disk's.

    Notes
    -----
    Methods may be called from several threads; a lock serialises them. Opening a spool this way
    takes no lock against other processes: :meth:`claim` does.
    """

    def __init__(
        self,
        directory: Path | str,
        name: str = "predictions.jsonl",
        *,
        max_bytes: int | None = None,
    ) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / name
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._holder: IO[bytes] | None = None
        self._size, self._bytes = self._repair()
        #: True since an append was refused for the quota, until the spool is emptied.
        self.full = False

    @classmethod
    def claim(cls, directory: Path | str, *, max_bytes: int | None = None) -> Spool:
        """Open a spool file of ``directory`` that no other live process holds, and keep it.

        Slot 0 (``predictions.jsonl``) is tried first, so a single server uses the same file as
        before. The file stays locked until :meth:`close` or the process ends. The rows of every
        other file no live process holds are moved into the claimed one first.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover - Windows
            return cls(folder, max_bytes=max_bytes)
        for slot in range(_MAX_SLOTS):
            name = "predictions.jsonl" if slot == 0 else f"predictions-{slot}.jsonl"
            holder = _try_lock(folder / f"{name}.lock")
            if holder is None:
                continue
            spool = cls(folder, name, max_bytes=max_bytes)
            spool._holder = holder
            # A spool dropped without close() gives its slot back as it goes.
            weakref.finalize(spool, holder.close)
            spool._adopt_orphans()
            return spool
        raise SpoolFullError(
            f"every one of the {_MAX_SLOTS} spool slots in {folder} is held by a live process"
        )

    def _adopt_orphans(self) -> None:
        """Move the rows of spool files no live process holds into this one, then delete them."""
        for path in sorted(self.directory.glob("predictions*.jsonl")):
            if path == self.path or path.name.endswith(".refused.jsonl"):
                continue
            holder = _try_lock(path.with_name(f"{path.name}.lock"))
            if holder is None:
                continue  # a live process spools there
            try:
                orphan = Spool(self.directory, path.name)
                rows = orphan.read()
                if rows:
                    # Adopted rows were acknowledged already: the quota does not refuse them.
                    self._append(self.path, rows, counted=True, bounded=False)
                    logger.warning(
                        "took over %d spooled predictions of a process that is gone",
                        len(rows),
                        extra={"spool": str(path), "into": str(self.path)},
                    )
                path.unlink(missing_ok=True)
            finally:
                holder.close()

    def close(self) -> None:
        """Give the claimed file back (its rows stay for the next claim)."""
        if self._holder is not None:
            self._holder.close()
            self._holder = None

    def _repair(self) -> tuple[int, int]:
        """Cut a torn last line off the file; return its complete rows and their bytes."""
        if not self.path.exists():
            return 0, 0
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
        return data.count(b"\n", 0, complete), complete

    @property
    def size(self) -> int:
        """Number of rows in the spool."""
        return self._size

    @property
    def size_bytes(self) -> int:
        """Bytes of the spool file."""
        return self._bytes

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows durably (written, flushed and fsynced before returning).

        Raises
        ------
        SpoolFullError
            If the rows would take the spool past ``max_bytes``, or the disk refused them;
            none of them was kept.
        """
        self._append(self.path, [dict(row) for row in rows], counted=True, bounded=True)

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

    def _append(
        self,
        path: Path,
        objects: list[dict[str, Any]],
        *,
        counted: bool = False,
        bounded: bool = False,
    ) -> None:
        """Append one JSON line per object to ``path``, fsynced.

        ``counted``: the objects are spool rows; ``bounded``: refuse them past ``max_bytes``.
        """
        if not objects:
            return
        lines = [json.dumps(obj, separators=(",", ":"), sort_keys=True) for obj in objects]
        payload = ("\n".join(lines) + "\n").encode()
        with self._lock:
            limit = self.max_bytes if bounded else None
            if limit is not None and self._bytes + len(payload) > limit:
                self.full = True
                raise SpoolFullError(
                    f"the spool is full ({self._bytes:,} of store.spool_max_bytes = "
                    f"{self.max_bytes:,} bytes); {len(lines)} prediction(s) were not kept"
                )
            with path.open("ab") as handle:
                start = handle.tell()
                try:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                except OSError as exc:
                    # A part written before the disk refused would tear the next append's line.
                    handle.truncate(start)
                    raise SpoolFullError(
                        f"the spool could not be written ({exc.strerror or exc}); "
                        f"{len(lines)} prediction(s) were not kept"
                    ) from exc
            if counted:
                self._size += len(lines)
                self._bytes += len(payload)

    def clear(self) -> None:
        """Empty the spool, after its rows were written to the database."""
        with self._lock:
            self.path.unlink(missing_ok=True)
            self._size = 0
            self._bytes = 0
            self.full = False

    def __repr__(self) -> str:
        return f"Spool(path={str(self.path)!r}, size={self._size})"


def _try_lock(path: Path) -> IO[bytes] | None:
    """Open ``path`` and take its exclusive advisory lock, or return ``None`` if it is held."""
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
