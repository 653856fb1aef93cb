from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from driftwarden.core.errors import ConfigError
from driftwarden.core.logging import JsonFormatter, configure_logging

LOGGER = logging.getLogger("driftwarden")


@pytest.fixture(autouse=True)
def _restore_logger() -> Iterator[None]:
    handlers, level = list(LOGGER.handlers), LOGGER.level
    yield
    for handler in LOGGER.handlers:
        if handler not in handlers:
            LOGGER.removeHandler(handler)
    LOGGER.setLevel(level)


def _ours() -> list[logging.Handler]:
    return [h for h in LOGGER.handlers if type(h).__name__ == "_DriftwardenHandler"]


def test_configure_logging_installs_one_handler_however_often_called():
    other = logging.NullHandler()
    LOGGER.addHandler(other)
    first = configure_logging()
    second = configure_logging(json=True)
    assert _ours() == [second]
    assert first not in LOGGER.handlers
    assert other in LOGGER.handlers
    assert isinstance(second.formatter, JsonFormatter)


def test_configure_logging_json_carries_extra_fields():
    stream = io.StringIO()
    configure_logging("info", json=True, stream=stream)
    logging.getLogger("driftwarden.serving").info(
        "scored %d rows", 3, extra={"request_id": "r-1", "model_version": "7", "window": 12}
    )
    record = json.loads(stream.getvalue())
    assert record["message"] == "scored 3 rows"
    assert record["level"] == "INFO"
    assert record["logger"] == "driftwarden.serving"
    assert record["time"].endswith("+00:00")
    assert (record["request_id"], record["model_version"], record["window"]) == ("r-1", "7", 12)


def test_configure_logging_json_writes_exceptions_and_unserialisable_values():
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    try:
        raise RuntimeError("store down")
    except RuntimeError:
        LOGGER.exception("write failed", extra={"rows": {1, 2}}, stack_info=True)
    record = json.loads(stream.getvalue())
    assert "RuntimeError: store down" in record["exception"]
    assert record["rows"] == "{1, 2}"
    assert "stack" in record


def test_configure_logging_console_appends_context():
    stream = io.StringIO()
    configure_logging(logging.DEBUG, stream=stream)
    LOGGER.debug("window closed", extra={"window": "2024-01-01T00"})
    LOGGER.debug("plain")
    first, second = stream.getvalue().splitlines()
    assert "DEBUG" in first
    assert first.endswith("driftwarden: window closed [window=2024-01-01T00]")
    assert second.endswith("driftwarden: plain")


def test_configure_logging_console_writes_tracebacks():
    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        raise ValueError("bad row")
    except ValueError:
        LOGGER.error("rejected", exc_info=True, stack_info=True, extra={"request_id": "r"})
    text = stream.getvalue()
    assert text.splitlines()[0].endswith("rejected [request_id=r]")
    assert "ValueError: bad row" in text
    assert "Stack (most recent call last)" in text


def test_configure_logging_sets_the_level():
    stream = io.StringIO()
    configure_logging("warning", stream=stream)
    LOGGER.info("hidden")
    LOGGER.warning("shown")
    assert stream.getvalue().count("\n") == 1
    assert LOGGER.level == logging.WARNING


def test_configure_logging_rejects_unknown_levels():
    with pytest.raises(ConfigError, match=r"unknown log level 'LOUD'.*DEBUG, INFO") as info:
        configure_logging("LOUD")
    assert info.value.key == "log_level"
    assert _ours() == []
