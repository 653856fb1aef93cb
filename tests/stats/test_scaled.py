from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from driftwarden.stats._scaled import (
    FLOAT_MAX,
    distance_sum,
    scaled_ratio,
    scaled_total,
    to_float,
)


def test_distance_sum_of_ordinary_values_is_the_plain_sum() -> None:
    value, exponent = distance_sum(1.0, np.array([-2.0, 0.5, 4.0]))

    assert math.ldexp(value, exponent) == 3.0 + 0.5 + 3.0


def test_distance_sum_beyond_the_largest_float_keeps_every_digit() -> None:
    big = sys.float_info.max
    values = np.full(1_000, -big)

    value, exponent = distance_sum(big, values)

    # 1,000 distances of 2 * big each, in units of 2**exponent.
    assert to_float(value, exponent) == math.inf
    assert math.ldexp(value, exponent - 1040) == pytest.approx(
        2_000 * math.ldexp(big, -1040), rel=1e-15
    )


def test_distance_sum_of_nothing_or_of_zeros_is_zero() -> None:
    assert distance_sum(0.0, np.zeros(0)) == (0.0, 0)
    assert distance_sum(0.0, np.zeros(3)) == (0.0, 0)


def test_scaled_total_adds_numbers_of_any_scale_without_overflow() -> None:
    big = sys.float_info.max

    value, exponent = scaled_total([(big, 0), (big, 0), (3.0, -2000), (0.0, 50)])

    assert math.ldexp(value, exponent - 1) == pytest.approx(big, rel=1e-15)


def test_scaled_total_of_nothing_is_zero() -> None:
    assert scaled_total([]) == (0.0, 0)
    assert scaled_total([(0.0, 7)]) == (0.0, 0)


@pytest.mark.parametrize(
    ("value", "exponent", "divisor", "expected"),
    [
        (3.0, 2, 4.0, 3.0),
        (1.0, -1074, 1.0, 5e-324),
        (1.0, 1100, 2.0**100, 2.0**1000),
        (0.0, 5000, 1e-300, 0.0),
        # Beyond the largest float: the documented cap.
        (1.0, 1000, 1e-300, FLOAT_MAX),
        (1.0, 1024, 1.0, FLOAT_MAX),
    ],
)
def test_scaled_ratio_is_exact_and_capped_at_the_largest_float(
    value: float, exponent: int, divisor: float, expected: float
) -> None:
    assert scaled_ratio(value, exponent, divisor) == expected


def test_to_float_overflows_to_a_signed_infinity() -> None:
    assert to_float(-1.0, 2000) == -math.inf
    assert to_float(0.5, -1) == 0.25
