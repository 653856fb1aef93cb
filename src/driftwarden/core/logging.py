"""Logging setup: the only place in driftwarden that installs a handler.

Modules log through ``logging.getLogger(__name__)`` and pass context in ``extra=``
(``request_id``, ``model_version``, ``window``...). The entry points (the CLI and ``create_app``)
call :func:`configure_logging` once; a library embedding driftwarden may skip it and configure
logging its own way.
"""

from __future__ import annotations

import json as _json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from driftwarden.core.errors import ConfigError

__all__ = ["JsonFormatter", "configure_logging"]

LOGGER_NAME = "driftwarden"

# Every attribute a bare LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object per line.

    Keys: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, every ``extra=`` field,
    and ``exception`` when the record carries one. Values JSON cannot represent are written with
    ``str()``.

    Examples
    --------
    >>> record = logging.LogRecord("driftwarden.x", logging.INFO, "", 0, "scored", None, None)
    >>> record.request_id = "r-1"
    >>> line = JsonFormatter().format(record)
    >>> _json.loads(line)["request_id"]
    'r-1'
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_extras(record))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return _json.dumps(payload, default=str, ensure_ascii=False)


class _ConsoleFormatter(logging.Formatter):
    """Human-readable lines, with the ``extra=`` fields appended as ``[key=value ...]``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<8} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " [" + " ".join(f"{k}={v}" for k, v in extras.items()) + "]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class _DriftwardenHandler(logging.StreamHandler[TextIO]):
    """Marks the handler :func:`configure_logging` installed, so a second call replaces it."""


def configure_logging(
    level: int | str = "INFO", json: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Install one handler on the ``driftwarden`` logger.

    Calling it again replaces the handler it installed before (so the format or level can
    change) and never adds a second one. Other handlers, e.g. pytest's, are left alone, and
    records still propagate to the root logger.

    Parameters
    ----------
    level : int or str, optional
        Level name (``"DEBUG"``, ``"info"``...) or number.
    json : bool, optional
        One JSON object per line (for log shippers) instead of readable text.
    stream : TextIO or None, optional
        Where to write; standard error by default.

    Returns
    -------
    logging.Handler
        The installed handler.

    Raises
    ------
    ConfigError
        If ``level`` is not a known level.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper()) if isinstance(level, str) else level
    if numeric is None:
        raise ConfigError(
            f"unknown log level {level!r}; expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
            key="log_level",
        )
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if isinstance(h, _DriftwardenHandler)]:
        logger.removeHandler(old)
        old.close()
    handler = _DriftwardenHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json else _ConsoleFormatter())
    logger.addHandler(handler)
    logger.setLevel(numeric)
    return handler
