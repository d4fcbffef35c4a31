"""Chart maths without Qt: time and value ticks, ranges, and what is drawn of a
series in view (peak downsampling, breaks, clipping)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ayla_monitor.ui.chart_axes import (
    MAX_SPAN,
    MIN_SPAN,
    clamp_range,
    padded_range,
    pick_time_step,
    time_ticks,
    value_ticks,
)
from ayla_monitor.ui.chart_data import breaks_of, clip_ends, extent, finite_runs, in_view, peak_reduce

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int, tz: object = UTC) -> float:
    return datetime(*args, tzinfo=tz).timestamp()  # type: ignore[arg-type,misc]


def labels(start: float, end: float, width: float = 800, tz: object = UTC) -> list[str]:
    return [t.label for t in time_ticks(start, end, width, tz=tz)]  # type: ignore[arg-type]


# -- time ticks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # a minute: every 10 s
        (at(2026, 11, 26, 15, 56, 7), at(2026, 11, 26, 15, 57, 7),
         ["15:56:10", "15:56:20", "15:56:30", "15:56:40", "15:56:50", "15:57:00"]),
        # an hour: every 5 minutes
        (at(2026, 11, 26, 15, 56, 7), at(2026, 11, 26, 16, 56, 7),
         ["16:00", "16:05", "16:10", "16:15", "16:20", "16:25", "16:30", "16:35", "16:40", "16:45",
          "16:50", "16:55"]),
        # two days: every 6 hours, midnight named by its day
        (at(2026, 11, 26, 15), at(2026, 11, 28, 15),
         ["18:00", "Fri 27", "06:00", "12:00", "18:00", "Sat 28", "06:00", "12:00"]),
        # a week: days, the first of the month named by its month
        (at(2026, 11, 28), at(2026, 12, 5),
         ["Sat 28", "Sun 29", "Mon 30", "Dec", "Wed 02", "Thu 03", "Fri 04", "Sat 05"]),
        # a month: Mondays
        (at(2026, 11, 28), at(2026, 12, 28), ["Nov 30", "Dec 07", "Dec 14", "Dec 21", "Dec 28"]),
        # a year: months, New Year named by its year
        (at(2026, 11, 28), at(2027, 11, 28),
         ["Dec", "2027", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov"]),
        # twenty years: every other year
        (at(2026, 11, 28), at(2046, 11, 28),
         ["2028", "2030", "2032", "2034", "2036", "2038", "2040", "2042", "2044", "2046"]),
    ],
    ids=["minute", "hour", "two-days", "week", "month", "year", "decades"],
)
def test_time_ticks_fall_on_round_times_with_date_axis_labels(start: float, end: float,
                                                               expected: list[str]) -> None:
    assert labels(start, end) == expected


def test_time_ticks_are_round_in_local_time() -> None:
    # Berlin is UTC+1 in November: local midnight is 23:00 UTC.
    ticks = time_ticks(at(2026, 11, 26, 12), at(2026, 11, 28, 12), 800, tz=BERLIN)
    midnights = [t for t in ticks if t.label.startswith(("Fri", "Sat"))]
    assert [t.value for t in midnights] == [at(2026, 11, 26, 23), at(2026, 11, 27, 23)]
    assert all(datetime.fromtimestamp(t.value, BERLIN).minute == 0 for t in ticks)


def test_daylight_saving_changes_keep_ticks_on_real_local_times() -> None:
    spring = time_ticks(at(2026, 3, 28, 22), at(2026, 3, 29, 4), 800, tz=BERLIN)
    assert "02:00" not in [t.label for t in spring]  # 02:00-03:00 does not exist that night
    assert [t.label for t in spring][5:8] == ["01:30", "03:00", "03:30"]
    autumn = time_ticks(at(2026, 10, 24, 22), at(2026, 10, 25, 4), 800, tz=BERLIN)
    assert [t.label for t in autumn].count("02:00") == 2  # that hour happens twice
    for ticks in (spring, autumn):
        values = [t.value for t in ticks]
        assert values == sorted(set(values))
        assert {b - a for a, b in zip(values, values[1:], strict=False)} == {1800.0}


def test_a_wider_axis_gets_finer_ticks() -> None:
    day = (at(2026, 11, 26), at(2026, 11, 27))
    assert pick_time_step(*day, 400).seconds > pick_time_step(*day, 1600).seconds
    assert len(time_ticks(*day, 1600, tz=UTC)) > len(time_ticks(*day, 400, tz=UTC))


def test_nothing_sensible_gives_no_ticks() -> None:
    assert time_ticks(10.0, 5.0, 800) == []
    assert time_ticks(math.nan, 5.0, 800) == []
    assert time_ticks(0.0, 100.0, 0) == []


@settings(max_examples=150, deadline=None)
@given(start=st.floats(0, 16e9), span=st.floats(MIN_SPAN, MAX_SPAN), width=st.floats(80, 3000),
       berlin=st.booleans())
def test_tick_labels_never_overlap(start: float, span: float, width: float, berlin: bool) -> None:
    start, end = clamp_range(start, start + span)
    ticks = time_ticks(start, end, width, tz=BERLIN if berlin else UTC)
    xs = [(t.value - start) / (end - start) * width for t in ticks]
    assert xs == sorted(xs) and all(0 <= x <= width for x in xs)
    for (a, ta), (b, tb) in zip(zip(xs, ticks, strict=True), zip(xs[1:], ticks[1:], strict=True), strict=False):
        assert b - a >= (7.0 * len(ta.label) + 7.0 * len(tb.label)) / 2, (ta, tb)


# -- values and ranges -----------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "most", "expected"),
    [
        (68, 76, 5, ["68", "70", "72", "74", "76"]),
        (19.3, 22.7, 8, ["19.5", "20.0", "20.5", "21.0", "21.5", "22.0", "22.5"]),
        (-0.1, 1.1, 3, ["0.0", "0.5", "1.0"]),
        (-3, 3, 6, ["-3", "-2", "-1", "0", "1", "2", "3"]),
        (-0.25, 0.25, 5, ["-0.2", "-0.1", "0.0", "0.1", "0.2"]),
        (0, 2e7, 4, ["0", "5e+06", "1e+07", "1.5e+07", "2e+07"]),
    ],
)
def test_value_ticks_step_by_one_two_or_five(low: float, high: float, most: int, expected: list[str]) -> None:
    ticks = value_ticks(low, high, most)
    assert [t.label for t in ticks] == expected
    assert len(ticks) <= most + 1


def test_ranges_get_a_margin_and_stay_showable() -> None:
    assert padded_range(10, 20) == pytest.approx((9.4, 20.6))
    assert padded_range(5, 5) == (4.5, 5.5)  # a flat line sits mid-chart
    assert padded_range(1000, 1000) == (980, 1020)
    assert clamp_range(100, 100) == (100 - MIN_SPAN / 2, 100 + MIN_SPAN / 2)
    assert clamp_range(-100, 50) == (0, 150)  # nothing before 1970
    assert clamp_range(50, -100) == (0, 150)
    low, high = clamp_range(0, 1e12)
    assert high - low == pytest.approx(MAX_SPAN)


# -- what is drawn -----------------------------------------------------------------


def _noise(n: int, seed: int = 3) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    xs = [1000.0 + i * 2.0 for i in range(n)]
    ys = [rng.gauss(0, 1) + (50 if rng.random() < 0.001 else 0) for _ in range(n)]  # rare spikes
    return xs, ys


def test_peak_reduce_keeps_every_columns_lowest_and_highest_value() -> None:
    xs, ys = _noise(50_000)
    start, end, columns = 11_000.0, 91_000.0, 300
    rx, ry = peak_reduce(xs, ys, start, end, columns)
    assert len(rx) <= 4 * columns + 2
    assert rx == sorted(rx)
    width = (end - start) / columns
    i0, i1 = in_view(xs, start, end)
    for column in range(columns):
        left, right = start + column * width, start + (column + 1) * width
        inside = [y for x, y in zip(xs[i0:i1], ys[i0:i1], strict=True) if left <= x < right]
        kept = [y for x, y in zip(rx, ry, strict=True) if left <= x < right]
        assert min(inside) in kept and max(inside) in kept
    # one neighbour on each side, so that the line runs to the edges
    assert rx[0] < start and rx[-1] > end


def test_peak_reduce_keeps_breaks_and_leaves_sparse_data_alone() -> None:
    xs, ys = _noise(20_000)
    for i in (5000, 5001, 12_345):
        ys[i] = math.nan
    rx, ry = peak_reduce(xs, ys, xs[0], xs[-1], 200)
    assert len(rx) < 1000
    assert sum(1 for y in ry if math.isnan(y)) == 3
    few_x, few_y = [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, math.nan, 3.0, 4.0, 5.0]
    rx, ry = peak_reduce(few_x, few_y, 2.5, 3.5, 100)
    assert rx == [2.0, 3.0, 4.0] and math.isnan(ry[0]) and ry[1:] == [3.0, 4.0]


def test_extent_is_what_is_in_view() -> None:
    xs = [0.0, 10.0, 20.0, 30.0, 40.0]
    ys = [100.0, 1.0, math.nan, 3.0, -100.0]
    assert extent(xs, ys, 5, 35) == (1.0, 3.0)
    assert extent(xs, ys, 21, 29) == (3.0, 3.0)  # nothing in view: the neighbours (one is a break)
    assert extent(xs, ys, 11, 19) == (1.0, 1.0)  # between a point and a break: the point
    assert extent([], [], 0, 1) is None


def test_clip_ends_puts_far_neighbours_on_the_edges() -> None:
    xs, ys = [0.0, 10.0, 20.0, 100.0], [0.0, 10.0, 20.0, 100.0]
    clip_ends(xs, ys, 5.0, 50.0)
    assert xs == [5.0, 10.0, 20.0, 50.0] and ys == [5.0, 10.0, 20.0, 50.0]


def test_finite_runs_split_at_breaks() -> None:
    nan = math.nan
    assert finite_runs([1.0, 2.0, nan, 3.0, nan, nan, 4.0, 5.0]) == [(0, 2), (3, 4), (6, 8)]
    assert finite_runs([nan]) == []
    assert breaks_of([1.0, nan, math.inf, 2.0]) == [1, 2]
