"""Request ids the server generates: UUIDv7, so ids made later sort later.

A random id (UUIDv4) lands on a random page of the prediction log's unique index on every
insert, so each commit rewrites as many index pages as it holds rows. A UUIDv7 begins with the
time in milliseconds, so ids made in the same stretch of time share the index's last pages and a
commit rewrites about one. Its 74 random bits keep ids unique across processes and machines
without coordination.
"""

from __future__ import annotations

import os
import time

__all__ = ["new_request_id"]

_MILLIS = (1 << 48) - 1
_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


def new_request_id() -> str:
    """Return a new UUIDv7 (RFC 9562) as 32 lowercase hex digits.

    The first 48 bits are the Unix time in milliseconds, then the version (7), 12 random bits,
    the variant (binary 10) and 62 random bits from :func:`os.urandom`. Ids made in different
    milliseconds sort in time order; ids made in the same millisecond sort at random.

    Returns
    -------
    str
        For example ``"019ade3c8f5a7b3e9c41d2e07f6a1b58"``; ``uuid.UUID(hex=...)`` reads it.
    """
    millis = time.time_ns() // 1_000_000 & _MILLIS
    rand = int.from_bytes(os.urandom(10), "big")
    value = millis << 80 | 0x7 << 76 | (rand >> 62 & _RAND_A) << 64 | 0b10 << 62 | (rand & _RAND_B)
    return f"{value:032x}"
