"""Pieces of error messages shared by the schema modules."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pydantic import ValidationError

from driftwarden.core.errors import ConfigError

__all__ = ["config_error", "did_you_mean", "show"]

_SHOWN = 5


def show(names: Sequence[object]) -> str:
    """Quote a few names for a message, saying how many more there are."""
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    more = len(names) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """Suggest the candidates closest to a misspelled name, as the end of a sentence."""
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f"; did you mean {show(close)}?" if close else ""


def config_error(
    exc: ValidationError, what: str, *, prefix: str = "schema", names: Sequence[str] = ()
) -> ConfigError:
    """Translate a schema ValidationError into a ConfigError naming the offending key.

    ``names`` are the feature names in list order, so that ``features.3.kind`` reads
    ``schema.features.<name>.kind``; ``prefix`` starts every key.
    """
    lines = []
    first_key: str | None = None
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        if len(loc) >= 2 and loc[0] == "features" and isinstance(loc[1], int) and names:
            loc[1] = names[loc[1]]
        key = ".".join([prefix, *(str(p) for p in loc)])
        first_key = first_key or key
        lines.append(f"  {key}: {error['msg']} (got {error.get('input')!r})")
    return ConfigError(f"invalid {what}:\n" + "\n".join(lines), key=first_key)
