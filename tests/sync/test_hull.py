"""Lower hull and the minimum-mean-gap envelope line."""

from __future__ import annotations

import math

import pytest

from batonsense.sync import envelope_line, lower_hull
from batonsense.sync._hull import push_lower_hull


def test_lower_hull_drops_points_above_the_chain() -> None:
    hx, hy = lower_hull([0, 1, 2, 3, 4], [0, 5, 1, 0.5, 3])
    assert hx == [0, 3, 4] and hy == [0, 0.5, 3]


def test_equal_x_keeps_the_lower_point() -> None:
    hx: list[float] = [0.0]
    hy: list[float] = [1.0]
    push_lower_hull(hx, hy, 0.0, 0.5)
    push_lower_hull(hx, hy, 0.0, 2.0)
    assert hx == [0.0] and hy == [0.5]


def test_collinear_points_give_that_line() -> None:
    xs = [0.0, 1.0, 2.0, 3.0]
    hx, hy = lower_hull(xs, [1.0 + 0.5 * x for x in xs])
    intercept, slope = envelope_line(hx, hy, 1.5, -1.0, 1.0)
    assert intercept == pytest.approx(1.0) and slope == pytest.approx(0.5)


def test_mean_on_a_vertex_takes_the_feasible_slope_nearest_the_prior() -> None:
    xs = [0.0, 1.0, 2.0, 3.0, 4.0]
    ys = [0.0, 0.3, 0.1, 0.4, 0.6]
    hx, hy = lower_hull(xs, ys)
    intercept, slope = envelope_line(hx, hy, sum(xs) / 5, -1.0, 1.0)
    # hull (0, 0), (2, 0.1), (4, 0.6); mean x = 2 is a vertex: slopes 0.05..0.25 tie, prior 0
    assert slope == pytest.approx(0.05)
    assert all(y >= intercept + slope * x - 1e-12 for x, y in zip(xs, ys, strict=True))


def test_slope_is_clamped_and_the_line_lowered_to_fit() -> None:
    hx, hy = lower_hull([0.0, 1.0, 2.0], [0.0, 1.0, 2.0])
    intercept, slope = envelope_line(hx, hy, 0.5, -0.1, 0.1)
    assert slope == pytest.approx(0.1) and intercept == pytest.approx(0.0)


def test_single_point_takes_the_prior_slope() -> None:
    intercept, slope = envelope_line([2.0], [1.0], 2.0, -1.0, 1.0, slope_prior=0.25)
    assert slope == 0.25 and math.isclose(intercept, 0.5)
