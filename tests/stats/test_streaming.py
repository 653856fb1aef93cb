from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats.errors import StatsError
from driftwarden.stats.streaming import Adwin

CHANGE_AT = 1_000
# With the default delta and clock, the first detection after a 0.1 -> 0.4 shift of the error
# rate comes 55 values after it at the median and 151 at worst over seeds 0-99 (River's Bernstein
# bound needs about 50 post-change values, then clock=32 and noise add to it).
MAX_DELAY = 300


def _errors(rng: np.random.Generator, rates: list[tuple[float, int]]) -> NDArray[np.float64]:
    """A Bernoulli error stream: ``count`` values at each ``rate``, in order."""
    return np.concatenate([(rng.random(count) < rate).astype(np.float64) for rate, count in rates])


def _shifted_stream(seed: int) -> NDArray[np.float64]:
    return _errors(np.random.default_rng(seed), [(0.1, CHANGE_AT), (0.4, 1_000)])


def _snapshot(adwin: Adwin) -> tuple[Any, ...]:
    return (
        adwin.n_,
        adwin.detections_,
        adwin.last_detection_,
        adwin.drift_detected,
        adwin.width,
        adwin.estimation,
    )


def test_adwin_detects_error_rate_shift_within_bounded_delay(global_random_seed: int) -> None:
    adwin = Adwin().update(_shifted_stream(global_random_seed))

    assert adwin.detections_, "the shift was never detected"
    first = adwin.detections_[0]
    assert CHANGE_AT <= first < CHANGE_AT + MAX_DELAY
    assert adwin.drift_detected
    assert adwin.n_ == 2 * CHANGE_AT


def test_adwin_stationary_stream_rarely_alarms() -> None:
    # ADWIN's per-check guarantee (false alarm probability <= delta per check) gives only a
    # vacuous union bound over 625 checks, so the bound here is empirical: 0 of 100 seeds alarm
    # with River 0.26 (the Bernstein threshold is conservative); 3 leaves room and still fails
    # a detector that alarms on more than a few percent of stationary streams.
    alarmed = [
        seed
        for seed in range(100)
        if Adwin().update(_errors(np.random.default_rng(seed), [(0.2, 20_000)])).detections_
    ]

    assert len(alarmed) <= 3, alarmed


def test_adwin_detections_do_not_depend_on_batching(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    stream = _errors(rng, [(0.1, 700), (0.5, 600), (0.05, 700)])
    cuts = np.sort(rng.choice(np.arange(1, len(stream)), size=20, replace=False))
    whole = Adwin(clock=8).update(stream)

    batched = Adwin(clock=8)
    for batch in np.split(stream, cuts):
        batched.update(batch)

    assert batched.detections_ == whole.detections_
    assert (batched.n_, batched.width, batched.estimation) == (
        whole.n_,
        whole.width,
        whole.estimation,
    )


def test_adwin_positions_count_the_whole_stream() -> None:
    # A constant stream has zero variance, so the jump is detected at the first check after it:
    # the 64th value counted from the start (clock=32), position 63.
    adwin = Adwin().update(np.zeros(40))
    assert not adwin.drift_detected

    adwin.update(np.ones(30))

    assert adwin.detections_ == (63,)
    assert adwin.last_detection_ == 63
    assert adwin.drift_detected
    assert adwin.n_ == 70


def test_adwin_drift_detected_reports_the_last_call_only() -> None:
    adwin = Adwin().update(np.r_[np.zeros(40), np.ones(30)])
    assert adwin.drift_detected

    adwin.update(np.ones(5))

    assert not adwin.drift_detected
    assert adwin.detections_ == (63,)
    # River empties the window on the value after a detection: it holds the 6 values after
    # position 63 in the first call and the 5 of this one.
    assert adwin.width == 11
    assert adwin.estimation == 1.0


def test_adwin_empty_batch_clears_drift_detected() -> None:
    adwin = Adwin().update(np.r_[np.zeros(40), np.ones(30)])

    adwin.update([])

    assert not adwin.drift_detected
    assert (adwin.n_, adwin.detections_) == (70, (63,))


def test_adwin_fresh_state() -> None:
    adwin = Adwin()

    assert _snapshot(adwin) == (0, (), None, False, 0, 0.0)


@pytest.mark.parametrize(
    "values",
    [0.5, [0.5], np.array([0.5]), [True], np.array([1], dtype=np.int8)],
    ids=["scalar", "list", "array", "bool", "int8"],
)
def test_adwin_update_accepts_scalars_and_numeric_dtypes(values: ArrayLike) -> None:
    adwin = Adwin().update(values)

    assert (adwin.n_, adwin.width) == (1, 1)
    assert adwin.estimation == float(np.asarray(values).ravel()[0])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0.0, np.nan, np.nan], r"got 2 NaN or infinite value\(s\), the first \(nan\) at index 1"),
        ([0.0, 1.0, -np.inf], r"got 1 NaN or infinite value\(s\), the first \(-inf\) at index 2"),
        ([[0.0, 1.0]], r"expected a one-dimensional array, got shape \(1, 2\)"),
        (["a", "b"], "values must be numbers .*dtype <U1"),
    ],
)
def test_adwin_update_refuses_bad_values_and_feeds_nothing(values: ArrayLike, message: str) -> None:
    adwin = Adwin().update(np.r_[np.zeros(40), np.ones(30)])
    before = _snapshot(adwin)

    with pytest.raises(StatsError, match=message):
        adwin.update(values)

    assert _snapshot(adwin) == before


def test_adwin_reset_gives_a_fresh_detector_with_the_same_params() -> None:
    stream = _shifted_stream(7)
    adwin = Adwin(0.01, clock=4, grace_period=20, min_window_length=8).update(stream)
    assert adwin.detections_

    adwin.reset()

    assert _snapshot(adwin) == (0, (), None, False, 0, 0.0)
    assert repr(adwin) == "Adwin(delta=0.01, clock=4, grace_period=20, min_window_length=8)"
    fresh = Adwin(0.01, clock=4, grace_period=20, min_window_length=8).update(stream)
    assert adwin.update(stream).detections_ == fresh.detections_


def test_adwin_state_round_trip_continues_identically(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    stream = _errors(rng, [(0.1, 800), (0.4, 400), (0.1, 800)])
    reference = Adwin(clock=4)
    checkpoints = []
    for batch in np.array_split(stream, 8):
        reference.update(batch)
        checkpoints.append(_snapshot(reference))

    restored = Adwin(clock=4)
    for batch, expected in zip(np.array_split(stream, 8), checkpoints, strict=True):
        restored = Adwin.from_state(restored.to_state()).update(batch)
        assert _snapshot(restored) == expected
    assert _snapshot(Adwin.from_state(restored.to_state())) == checkpoints[-1]


def test_adwin_state_round_trip_right_after_a_detection() -> None:
    # The detection falls on the last value of the first batch: River's flag that empties the
    # window on the next value must survive the round trip, or the two detectors diverge.
    stream = np.r_[np.zeros(40), np.ones(24), np.ones(100), np.zeros(100)]
    reference = Adwin().update(stream)
    first = Adwin().update(stream[:64])
    assert first.detections_ == (63,)
    state = first.to_state()
    assert json.loads(state)["pending_reset"] is True

    restored = Adwin.from_state(state)

    assert restored.drift_detected
    assert restored.width == first.width
    restored.update(stream[64:])
    assert _snapshot(restored) == _snapshot(reference)
    assert len(reference.detections_) == 2


def test_adwin_state_is_plain_versioned_json() -> None:
    adwin = Adwin(0.05, clock=16).update(np.r_[np.zeros(40), np.ones(30)])

    doc = json.loads(adwin.to_state())

    assert (doc["format"], doc["version"]) == ("driftwarden.stats.Adwin", 1)
    assert doc["params"] == {
        "delta": 0.05,
        "clock": 16,
        "grace_period": 10,
        "min_window_length": 5,
    }
    assert (doc["n"], doc["detections"], doc["drift_detected"]) == (70, [63], True)
    assert repr(Adwin.from_state(adwin.to_state())) == repr(adwin)


def _state(**changes: Any) -> str:
    doc = json.loads(Adwin(clock=16).update(np.r_[np.zeros(40), np.ones(30)]).to_state())
    for key, value in changes.items():
        if value is _DROP:
            del doc[key]
        else:
            doc[key] = value
    return json.dumps(doc)


_DROP = object()
_OTHER_WINDOW = Adwin(clock=16).update(np.ones(3)).to_state()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "must be the JSON text of Adwin.to_state"),
        ("[1, 2]", "not an Adwin state of format 'driftwarden.stats.Adwin' version 1"),
        (_state(format="other"), "not an Adwin state of format"),
        (_state(version=2), "not an Adwin state of format .* version 1"),
        (_state(n=_DROP), r"missing or mistyped field\(s\) \['n'\]"),
        (_state(n="70", drift_detected=1), r"mistyped field\(s\) \['n', 'drift_detected'\]"),
        (_state(river="0.1.0"), "written under river 0.1.0, but river .* is installed"),
        (_state(params={"delta": 0.002, "clock": 16}), "params must hold exactly"),
        (
            _state(params={"delta": 1, "clock": 16, "grace_period": 10, "min_window_length": 5}),
            "params must hold exactly",
        ),
        (
            _state(params={"delta": 2.0, "clock": 16, "grace_period": 10, "min_window_length": 5}),
            r"delta must be a number in \(0, 1\)",
        ),
        (
            _state(params={"delta": 0.002, "clock": 8, "grace_period": 10, "min_window_length": 5}),
            r"saved with parameters \(0\.002, 16, 5, 5, 10\) .* do not match",
        ),
        (_state(detections=[47, 47]), "detections must be strictly increasing"),
        (_state(detections=[-1]), "detections must be strictly increasing"),
        (_state(detections=[70]), "positions in \\[0, n\\); got n=70"),
        (_state(detections=[True]), "detections must be strictly increasing"),
        (_state(n=-1, detections=[]), "got n=-1"),
        (_state(window="not base64!"), "the window is not valid base64"),
        (
            _state(window=json.loads(_OTHER_WINDOW)["window"]),
            "does not match its SHA-256 digest",
        ),
    ],
)
def test_adwin_from_state_refuses_bad_states(text: str, message: str) -> None:
    with pytest.raises(StatsError, match=message):
        Adwin.from_state(text)


def test_adwin_from_state_accepts_a_matching_foreign_window() -> None:
    # The digest guards against corruption, not substitution: a consistent window and digest
    # from another detector with the same parameters is a valid state.
    other = json.loads(_OTHER_WINDOW)
    window = base64.b64decode(other["window"])
    assert other["window_sha256"] == hashlib.sha256(window).hexdigest()

    adwin = Adwin.from_state(_state(window=other["window"], window_sha256=other["window_sha256"]))

    assert (adwin.width, adwin.estimation, adwin.n_) == (3, 1.0, 70)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": 0.0}, r"delta must be a number in \(0, 1\), e\.g\. 0\.002; got 0\.0"),
        ({"delta": 1.0}, r"delta must be a number in \(0, 1\)"),
        ({"delta": float("nan")}, r"delta must be a number in \(0, 1\)"),
        ({"delta": "0.01"}, r"delta must be a number in \(0, 1\), .*got '0\.01'"),
        ({"delta": True}, r"delta must be a number in \(0, 1\), .*got True"),
        ({"clock": 0}, r"clock must be an integer in \[1, 2\*\*31 - 1\]; got 0"),
        ({"clock": 2.0}, r"clock must be an integer .*got 2\.0"),
        ({"clock": 2**31}, r"clock must be an integer .*got 2147483648"),
        ({"grace_period": -1}, r"grace_period must be an integer .*got -1"),
        ({"min_window_length": False}, r"min_window_length must be an integer .*got False"),
    ],
)
def test_adwin_invalid_params_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        Adwin(**kwargs)


def test_adwin_params_are_read_only() -> None:
    adwin = Adwin(0.01, clock=4, grace_period=20, min_window_length=8)

    assert (adwin.delta, adwin.clock, adwin.grace_period, adwin.min_window_length) == (
        0.01,
        4,
        20,
        8,
    )
    with pytest.raises(AttributeError, match="delta"):
        adwin.delta = 0.5  # type: ignore[misc]
    with pytest.raises(AttributeError, match="drift_detected"):
        adwin.drift_detected = True  # type: ignore[misc]
