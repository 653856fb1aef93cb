r"""Streaming change detection on a stream of floats: ADWIN, wrapped from River.

A monitored model produces one number per labelled prediction (1 for an error, 0 for a hit, or
a loss). :class:`Adwin` watches that stream for a change in its mean, keeps counters that
survive batching (positions are counted over the whole stream, whatever the batch sizes), and
saves its full state as JSON text so that a detector survives a process restart.

The algorithm is River's ``river.drift.ADWIN`` (a Rust port of ADWIN2 [1]_); this module adds
input validation, stream positions of the detections and a safe, versioned state format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from functools import cache
from importlib.metadata import version
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import ArrayLike

from driftwarden.stats._validation import as_1d_array
from driftwarden.stats.errors import StatsError

if TYPE_CHECKING:
    from river.drift import ADWIN

__all__ = ["Adwin"]

_STATE_FORMAT: Final = "driftwarden.stats.Adwin"
_STATE_VERSION: Final = 1
# ADWIN2's bucket compression constant M; River's default, as in the paper's experiments.
_MAX_BUCKETS: Final = 5
# River's Rust core stores clock, min_window_length and grace_period as 32-bit integers.
_MAX_INT_PARAM: Final = 2**31 - 1
# Exact JSON types of the state document; json.loads gives exactly these types.
_STATE_FIELDS: Final[dict[str, type]] = {
    "format": str,
    "version": int,
    "river": str,
    "params": dict,
    "n": int,
    "detections": list,
    "drift_detected": bool,
    "pending_reset": bool,
    "window": str,
    "window_sha256": str,
}
_PARAM_FIELDS: Final[dict[str, type]] = {
    "delta": float,
    "clock": int,
    "grace_period": int,
    "min_window_length": int,
}


class Adwin:
    r"""ADaptive WINdowing change detector over a stream of floats.

    ADWIN keeps a window :math:`W` of the most recent values, as long as the data allow: while
    no split of :math:`W` into an older part :math:`W_0` and a newer part :math:`W_1` has means
    that differ significantly, the window grows; when one does, the older values are dropped
    and a change is reported.

    Parameters
    ----------
    delta : float, default=0.002
        Confidence parameter in (0, 1): smaller values make false alarms rarer and detection
        slower (the threshold :math:`\varepsilon_{cut}` grows with :math:`\ln(1/\delta)`).
    clock : int, default=32
        Look for a change every ``clock`` values (1 checks at every value): a change can only
        be reported at every ``clock``-th value counted from the creation of the window or
        from its last emptying (see Notes).
    grace_period : int, default=10
        No change is looked for while the window holds ``grace_period`` values or fewer.
    min_window_length : int, default=5
        Splits whose older or newer part holds fewer values are not tested.

    Attributes
    ----------
    n_ : int
        Values seen since creation or the last :meth:`reset`, over all calls to :meth:`update`.
    detections_ : tuple of int
        Stream positions (0-based: the number of values seen before) of the values at which a
        change was detected, oldest first.
    last_detection_ : int or None
        The last of ``detections_``, or ``None`` before the first detection.
    drift_detected : bool
        Whether the last call to :meth:`update` detected at least one change.
    estimation : float
        Mean of the values in the current window (0.0 when it is empty).
    width : int
        Number of values in the current window.

    Raises
    ------
    StatsError
        If a parameter is out of range: ``delta`` outside (0, 1), or an integer parameter that
        is not an integer in [1, 2**31 - 1].

    Notes
    -----
    The window is stored as exponential histogram buckets (at most 5 of each size), so memory
    and time per value are :math:`O(\log |W|)`. Every ``clock`` values, once
    :math:`|W| > \text{grace\_period}`, each split at a bucket boundary with
    :math:`n_0, n_1 \ge \text{min\_window\_length}` values in :math:`W_0, W_1` and means
    :math:`\hat\mu_0, \hat\mu_1` is tested; a change is detected when

    .. math::

        |\hat\mu_0 - \hat\mu_1| > \varepsilon_{cut}
        = \sqrt{\frac{2}{m}\,\sigma_W^2\,\delta'} + \frac{2}{3m}\,\delta',
        \qquad \frac{1}{m} = \frac{1}{n_0 - L + 1} + \frac{1}{n_1 - L + 1},
        \qquad \delta' = \ln\frac{2 \ln |W|}{\delta},

    with :math:`\sigma_W^2` the (population) variance of the window and :math:`L` =
    ``min_window_length`` (River's variant of the Bernstein bound of [1]_). On a detection the
    oldest bucket is dropped and the test repeated until no split is significant.

    River then empties the window entirely on the next value (it does not keep :math:`W_1` as
    the paper does), so from that value on ``width`` and ``estimation`` describe only the
    values that came after the detection. Non-finite values are refused (one NaN would poison the
    window's sum for good); a batch holding one is refused as a whole, before any value of it
    is fed.

    The test is two-sided: a fall of the mean (a model that improves) is reported too; compare
    ``estimation`` before and after a detection to tell the direction. The second term of
    :math:`\varepsilon_{cut}` is Bernstein's range term for values spread over at most 1, so
    the stated confidence holds for values in [0, 1]: feed error indicators (0 or 1) or losses
    scaled into [0, 1]; wider values make false alarms more frequent than ``delta`` suggests.

    Cost, measured on one x86-64 core with CPython 3.11, numpy 2.4 and River 0.26: about
    0.2 µs per value when values come in batches (1e5 values in one call of :meth:`update`
    take about 20 ms; 50 ms with ``clock=1``), and about 5 µs for a call with a single value,
    mostly spent validating the input: feed batches where the stream allows.

    The state of :meth:`to_state` holds the raw bytes of River's Rust window and is refused by
    :meth:`from_state` under another River version, whose layout may differ. No pickle is
    involved, so loading a state cannot run code; a SHA-256 digest of the window catches
    corrupted text before River's loader sees it.

    References
    ----------
    .. [1] Bifet, A. and Gavaldà, R. (2007). Learning from time-changing data with adaptive
       windowing. Proceedings of the 2007 SIAM International Conference on Data Mining,
       443-448.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> errors = np.r_[rng.random(1000) < 0.1, rng.random(1000) < 0.4]
    >>> detector = Adwin()
    >>> detector.update(errors[:1000]).drift_detected
    False
    >>> detector.update(errors[1000:]).drift_detected
    True
    >>> detector.detections_, detector.n_
    ((1055,), 2000)
    >>> restored = Adwin.from_state(detector.to_state())
    >>> restored.detections_, restored.width == detector.width
    ((1055,), True)
    """

    __slots__ = (
        "_clock",
        "_delta",
        "_detections",
        "_detector",
        "_drift_detected",
        "_grace_period",
        "_min_window_length",
        "_n",
    )

    def __init__(
        self,
        delta: float = 0.002,
        *,
        clock: int = 32,
        grace_period: int = 10,
        min_window_length: int = 5,
    ) -> None:
        _check_delta(delta)
        _check_int_param("clock", clock)
        _check_int_param("grace_period", grace_period)
        _check_int_param("min_window_length", min_window_length)
        self._delta = delta
        self._clock = clock
        self._grace_period = grace_period
        self._min_window_length = min_window_length
        self._detector = self._new_detector()
        self._n = 0
        self._detections: tuple[int, ...] = ()
        self._drift_detected = False

    def __repr__(self) -> str:
        return (
            f"Adwin(delta={self._delta!r}, clock={self._clock!r}, "
            f"grace_period={self._grace_period!r}, min_window_length={self._min_window_length!r})"
        )

    @property
    def delta(self) -> float:
        """Confidence parameter (read-only)."""
        return self._delta

    @property
    def clock(self) -> int:
        """Values between two looks for a change (read-only)."""
        return self._clock

    @property
    def grace_period(self) -> int:
        """Window length below which no change is looked for (read-only)."""
        return self._grace_period

    @property
    def min_window_length(self) -> int:
        """Smallest sub-window that is tested (read-only)."""
        return self._min_window_length

    @property
    def n_(self) -> int:
        """Values seen since creation or the last reset."""
        return self._n

    @property
    def detections_(self) -> tuple[int, ...]:
        """Stream positions at which changes were detected, oldest first."""
        return self._detections

    @property
    def last_detection_(self) -> int | None:
        """Stream position of the last detected change, or ``None``."""
        return self._detections[-1] if self._detections else None

    @property
    def drift_detected(self) -> bool:
        """Whether the last call to :meth:`update` detected at least one change."""
        return self._drift_detected

    @property
    def estimation(self) -> float:
        """Mean of the values in the current window (0.0 when it is empty)."""
        return float(self._detector.estimation)

    @property
    def width(self) -> int:
        """Number of values in the current window."""
        return int(self._detector.width)

    def update(self, values: ArrayLike) -> Adwin:
        """Feed values to the detector, in order.

        Parameters
        ----------
        values : array-like of shape (n,) or scalar
            Finite numbers (bool and integers are read as floats). An empty batch is allowed
            and only clears :attr:`drift_detected`.

        Returns
        -------
        Adwin
            ``self``.

        Raises
        ------
        StatsError
            If ``values`` is not one-dimensional, not numeric, or holds NaN or infinity; the
            detector is then left unchanged.
        """
        batch = _as_finite_floats(values)
        detector = self._detector
        step = detector.update
        start = self._n
        found: list[int] = []
        for offset, value in enumerate(batch):
            step(value)  # type: ignore[no-untyped-call]
            if detector.drift_detected:
                found.append(start + offset)
        self._n = start + len(batch)
        self._drift_detected = bool(found)
        if found:
            self._detections = (*self._detections, *found)
        return self

    def reset(self) -> None:
        """Forget every value and detection; keep the parameters."""
        self._detector = self._new_detector()
        self._n = 0
        self._detections = ()
        self._drift_detected = False

    def to_state(self) -> str:
        """Return the full state as JSON text, for :meth:`from_state`.

        Returns
        -------
        str
            A JSON object: format name and version, the River version, the parameters, the
            counters, and the River window as base64 with its SHA-256 digest.
        """
        # River has no public state API; pickling an ADWIN goes through these same bytes, and
        # reading them directly keeps pickle (and its code execution on load) out of the state.
        window = self._detector._helper.__getstate__()
        doc = {
            "format": _STATE_FORMAT,
            "version": _STATE_VERSION,
            "river": _river_version(),
            "params": {
                "delta": float(self._delta),
                "clock": self._clock,
                "grace_period": self._grace_period,
                "min_window_length": self._min_window_length,
            },
            "n": self._n,
            "detections": list(self._detections),
            "drift_detected": self._drift_detected,
            # River empties the window on the value after a detection; that flag is state too.
            "pending_reset": self._detector.drift_detected,
            "window": base64.b64encode(window).decode("ascii"),
            "window_sha256": hashlib.sha256(window).hexdigest(),
        }
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_state(cls, text: str) -> Adwin:
        """Rebuild a detector from the text of :meth:`to_state`.

        The result continues exactly as the saved detector would have: the same detections at
        the same stream positions.

        Parameters
        ----------
        text : str
            Text returned by :meth:`to_state`.

        Returns
        -------
        Adwin
            A new detector.

        Raises
        ------
        StatsError
            If the text is not a state of this format and version, was written under another
            River version, or is inconsistent or corrupted.
        """
        doc = _parse_state(text)
        params = doc["params"]
        wrong = [key for key, kind in _PARAM_FIELDS.items() if type(params.get(key)) is not kind]
        if wrong or len(params) != len(_PARAM_FIELDS):
            raise StatsError(
                f"Adwin state: params must hold exactly {list(_PARAM_FIELDS)} (delta a float, "
                f"the others integers); got {params!r}."
            )
        adwin = cls(**params)
        n: int = doc["n"]
        detections: list[Any] = doc["detections"]
        # The sentinels -1 and n make "strictly increasing" also mean "within [0, n)".
        if not all(type(d) is int for d in detections) or not all(
            a < b for a, b in pairwise([-1, *detections, n])
        ):
            raise StatsError(
                "Adwin state: detections must be strictly increasing positions in [0, n); "
                f"got n={n} and detections starting {detections[:5]!r}."
            )
        window = _decode_window(doc["window"], doc["window_sha256"])
        helper = adwin._detector._helper
        helper.__setstate__(window)
        saved = helper.__getnewargs__()
        expected = (
            adwin._delta,
            adwin._clock,
            _MAX_BUCKETS,
            adwin._min_window_length,
            adwin._grace_period,
        )
        if saved != expected:
            raise StatsError(
                f"Adwin state: the window was saved with parameters {saved} (delta, clock, "
                "max_buckets, min_window_length, grace_period), which do not match params "
                f"{params!r}."
            )
        adwin._detector._drift_detected = doc["pending_reset"]
        adwin._n = n
        adwin._detections = tuple(detections)
        adwin._drift_detected = doc["drift_detected"]
        return adwin

    def _new_detector(self) -> ADWIN:
        # Imported on first use: river.drift imports pandas and scikit-learn (for its datasets),
        # which would add about half a second to every `import driftwarden.stats`.
        from river.drift import ADWIN

        return ADWIN(  # type: ignore[no-untyped-call]
            delta=self._delta,
            clock=self._clock,
            max_buckets=_MAX_BUCKETS,
            min_window_length=self._min_window_length,
            grace_period=self._grace_period,
        )


@cache
def _river_version() -> str:
    return version("river")


def _check_delta(delta: float) -> None:
    if isinstance(delta, bool) or not isinstance(delta, int | float) or not 0.0 < delta < 1.0:
        raise StatsError(
            f"delta must be a number in (0, 1), e.g. 0.002; got {delta!r}. Smaller values give "
            "fewer false alarms and slower detection."
        )


def _check_int_param(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_INT_PARAM:
        raise StatsError(f"{name} must be an integer in [1, 2**31 - 1]; got {value!r}.")


def _as_finite_floats(values: ArrayLike) -> list[float]:
    array = as_1d_array(values, "values")
    if array.dtype.kind not in "biuf":
        raise StatsError(
            f"values must be numbers (float, int or bool); got an array of dtype {array.dtype}."
        )
    floats = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(floats)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise StatsError(
            f"values must be finite numbers; got {int(np.count_nonzero(bad))} NaN or infinite "
            f"value(s), the first ({float(floats[first])!r}) at index {first} of the batch. "
            "Nothing was fed to the detector: drop missing values first."
        )
    batch: list[float] = floats.tolist()
    return batch


def _parse_state(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise StatsError(f"Adwin state must be the JSON text of Adwin.to_state(): {exc}") from exc
    if not isinstance(doc, dict) or (doc.get("format"), doc.get("version")) != (
        _STATE_FORMAT,
        _STATE_VERSION,
    ):
        raise StatsError(
            f"not an Adwin state of format {_STATE_FORMAT!r} version {_STATE_VERSION}; "
            "pass the text returned by Adwin.to_state()."
        )
    wrong = [key for key, kind in _STATE_FIELDS.items() if type(doc.get(key)) is not kind]
    if wrong:
        raise StatsError(f"Adwin state: missing or mistyped field(s) {wrong}.")
    if doc["river"] != _river_version():
        raise StatsError(
            f"Adwin state was written under river {doc['river']}, but river "
            f"{_river_version()} is installed, whose window layout may differ. Start a fresh "
            "detector (Adwin(...)) or load the state under the river version that wrote it."
        )
    return doc


def _decode_window(encoded: str, digest: str) -> bytes:
    try:
        window = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise StatsError(f"Adwin state: the window is not valid base64: {exc}") from exc
    # River's Rust loader panics on malformed bytes (an exception that is not an Exception):
    # the digest turns corruption into a StatsError before the bytes reach it.
    if hashlib.sha256(window).hexdigest() != digest:
        raise StatsError(
            "Adwin state: the window does not match its SHA-256 digest; the state is "
            "corrupted. Start a fresh detector."
        )
    return window
