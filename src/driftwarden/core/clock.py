"""Clocks: every piece of driftwarden that reads the time takes one.

Code that asks a :class:`Clock` for the time, instead of calling :func:`datetime.now`, runs
unchanged live (:class:`SystemClock`) and in simulated time (:class:`SimulatedClock`), where a
30-day scenario replays in minutes and every run is deterministic.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

from driftwarden.core.errors import ClockError

__all__ = ["Clock", "SimulatedClock", "SystemClock"]


def _require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` converted to UTC, refusing naive datetimes."""
    if not isinstance(value, datetime):
        raise ClockError(
            f"{what} must be a timezone-aware datetime, got {type(value).__name__} {value!r}; "
            "pass e.g. datetime(2024, 1, 1, tzinfo=UTC)"
        )
    # A naive datetime has no offset; so does one whose tzinfo answers None (a broken tzinfo).
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError(
            f"{what} must be timezone-aware, got the naive datetime {value.isoformat()}; "
            "add tzinfo=UTC (or the zone it was recorded in)"
        )
    return value.astimezone(UTC)


class Clock(ABC):
    """Source of the current time.

    Implementations return timezone-aware UTC datetimes from :meth:`now` and a float that never
    decreases from :meth:`monotonic`, suitable for measuring durations.
    """

    @abstractmethod
    def now(self) -> datetime:
        """Return the current time as a timezone-aware datetime in UTC."""

    @abstractmethod
    def monotonic(self) -> float:
        """Return seconds from an arbitrary origin; never decreases, only differences matter."""


class SystemClock(Clock):
    """The wall clock of this machine.

    Examples
    --------
    >>> clock = SystemClock()
    >>> clock.now().tzinfo
    datetime.timezone.utc
    """

    def now(self) -> datetime:
        """Return the current wall-clock time in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


class SimulatedClock(Clock):
    """A clock that moves only when told to.

    Time stands still between calls to :meth:`advance` and :meth:`set`, so a test or a
    simulation decides exactly when a window closes or a label arrives. All methods may be called
    from several threads at once.

    Parameters
    ----------
    start : datetime
        The initial time. Must be timezone-aware; it is converted to UTC.

    Raises
    ------
    ClockError
        If ``start`` is naive (has no timezone).

    Notes
    -----
    :meth:`monotonic` starts at ``0.0`` and grows by exactly the simulated time that passes, so
    durations measured with it agree with differences of :meth:`now`.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> clock = SimulatedClock(datetime(2024, 1, 1, tzinfo=UTC))
    >>> clock.advance(timedelta(hours=1))
    datetime.datetime(2024, 1, 1, 1, 0, tzinfo=datetime.timezone.utc)
    >>> clock.advance(30)
    datetime.datetime(2024, 1, 1, 1, 0, 30, tzinfo=datetime.timezone.utc)
    >>> clock.monotonic()
    3630.0
    """

    def __init__(self, start: datetime) -> None:
        self._start = _require_aware(start, "SimulatedClock start")
        self._now = self._start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the simulated current time in UTC."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Return the simulated seconds elapsed since ``start``."""
        with self._lock:
            return (self._now - self._start).total_seconds()

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock forward.

        Parameters
        ----------
        delta : timedelta or float
            How far to move, as a timedelta or in seconds. Zero is allowed.

        Returns
        -------
        datetime
            The new current time.

        Raises
        ------
        ClockError
            If ``delta`` is negative, not finite, or neither a number nor a timedelta.
        """
        if isinstance(delta, timedelta):
            step = delta
        elif isinstance(delta, int | float) and not isinstance(delta, bool):
            if not math.isfinite(delta):
                raise ClockError(
                    f"advance() needs a finite number of seconds, got {delta!r}; "
                    "pass a timedelta or a finite float"
                )
            step = timedelta(seconds=delta)
        else:
            raise ClockError(
                f"advance() takes a timedelta or seconds as a number, got {type(delta).__name__} "
                f"{delta!r}"
            )
        if step < timedelta(0):
            raise ClockError(
                f"a simulated clock only moves forward, got advance({delta!r}); "
                "use a non-negative step (time that went backwards would corrupt windows)"
            )
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when``, which must not be earlier than the current time.

        Parameters
        ----------
        when : datetime
            The new time; timezone-aware, converted to UTC.

        Returns
        -------
        datetime
            The new current time, in UTC.

        Raises
        ------
        ClockError
            If ``when`` is naive or earlier than the current simulated time.
        """
        target = _require_aware(when, "SimulatedClock.set()")
        with self._lock:
            if target < self._now:
                raise ClockError(
                    f"a simulated clock only moves forward: it reads {self._now.isoformat()} and "
                    f"was set to the earlier {target.isoformat()}; create a new SimulatedClock "
                    "to start over"
                )
            self._now = target
            return self._now

    def __repr__(self) -> str:
        return f"SimulatedClock(now={self.now().isoformat()})"
