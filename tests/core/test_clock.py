from __future__ import annotations

import math
import threading
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pytest

from driftwarden.core.clock import Clock, SimulatedClock, SystemClock
from driftwarden.core.errors import ClockError, DriftwardenError

START = datetime(2024, 1, 1, tzinfo=UTC)


class _BrokenZone(tzinfo):
    """A tzinfo that does not know its offset, which makes a datetime effectively naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_clock_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        Clock()  # type: ignore[abstract]


def test_system_clock_now_is_aware_utc():
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_system_clock_monotonic_never_decreases():
    clock = SystemClock()
    first = clock.monotonic()
    assert clock.monotonic() >= first
    assert repr(clock) == "SystemClock()"


def test_simulated_clock_stands_still_until_told():
    clock = SimulatedClock(START)
    assert clock.now() == START
    assert clock.now() == START
    assert clock.monotonic() == 0.0


@pytest.mark.parametrize(
    ("step", "seconds"),
    [(timedelta(hours=1), 3600.0), (90, 90.0), (0.5, 0.5), (0, 0.0), (timedelta(0), 0.0)],
)
def test_simulated_clock_advance_moves_by_step(step: timedelta | float, seconds: float):
    clock = SimulatedClock(START)
    assert clock.advance(step) == START + timedelta(seconds=seconds)
    assert clock.now() == START + timedelta(seconds=seconds)
    assert clock.monotonic() == seconds


@pytest.mark.parametrize("step", [timedelta(seconds=-1), -0.001, -5])
def test_simulated_clock_advance_refuses_going_backwards(step: timedelta | float):
    clock = SimulatedClock(START)
    with pytest.raises(ClockError, match="only moves forward"):
        clock.advance(step)
    assert clock.now() == START


@pytest.mark.parametrize("step", [math.nan, math.inf, -math.inf])
def test_simulated_clock_advance_refuses_non_finite_seconds(step: float):
    with pytest.raises(ClockError, match="finite"):
        SimulatedClock(START).advance(step)


@pytest.mark.parametrize("step", ["5", True, None])
def test_simulated_clock_advance_refuses_other_types(step: object):
    with pytest.raises(ClockError, match="takes a timedelta or seconds"):
        SimulatedClock(START).advance(step)  # type: ignore[arg-type]


def test_simulated_clock_set_moves_forward_and_allows_the_same_time():
    clock = SimulatedClock(START)
    later = START + timedelta(days=30)
    assert clock.set(later) == later
    assert clock.set(later) == later
    assert clock.monotonic() == timedelta(days=30).total_seconds()


def test_simulated_clock_set_refuses_going_backwards():
    clock = SimulatedClock(START)
    clock.advance(10)
    with pytest.raises(ClockError, match=r"only moves forward.*earlier") as info:
        clock.set(START)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DriftwardenError)
    assert clock.now() == START + timedelta(seconds=10)


def test_simulated_clock_converts_to_utc():
    paris = timezone(timedelta(hours=2))
    clock = SimulatedClock(datetime(2024, 6, 1, 12, tzinfo=paris))
    assert clock.now() == datetime(2024, 6, 1, 10, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    clock.set(datetime(2024, 6, 1, 14, tzinfo=paris))
    assert clock.now() == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


@pytest.mark.parametrize(
    "start", [datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=_BrokenZone())]
)
def test_simulated_clock_refuses_naive_start(start: datetime):
    with pytest.raises(ClockError, match=r"must be timezone-aware.*tzinfo=UTC"):
        SimulatedClock(start)


def test_simulated_clock_refuses_naive_set():
    clock = SimulatedClock(START)
    with pytest.raises(ClockError, match=r"set\(\) must be timezone-aware"):
        clock.set(datetime(2024, 2, 1))


def test_simulated_clock_refuses_a_date():
    with pytest.raises(ClockError, match="must be a timezone-aware datetime, got date"):
        SimulatedClock(date(2024, 1, 1))  # type: ignore[arg-type]


def test_simulated_clock_is_thread_safe():
    clock = SimulatedClock(START)
    threads = [
        threading.Thread(target=lambda: [clock.advance(1) for _ in range(500)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.monotonic() == 4000.0
    assert clock.now() == START + timedelta(seconds=4000)


def test_simulated_clock_repr_shows_the_time():
    assert repr(SimulatedClock(START)) == "SimulatedClock(now=2024-01-01T00:00:00+00:00)"
