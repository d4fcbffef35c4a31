"""The bounded statistics behind the insight, on numbers whose answers are known."""

from __future__ import annotations

import math
import random

import pytest

from ayla_monitor.fleet.stats import RELATIVE_ACCURACY, MinuteRate, Quantiles, Recent, RecentCounts


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def test_quantiles_are_within_their_accuracy_on_a_million_values_in_few_buckets() -> None:
    rng = random.Random(5)
    values = [rng.lognormvariate(5, 1.5) for _ in range(200_000)]
    q = Quantiles()
    for v in values:
        q.add(v)
    for at in (0.5, 0.95, 0.99):
        got = q.quantile(at)
        assert got is not None
        assert abs(got - exact(values, at)) <= RELATIVE_ACCURACY * exact(values, at) * 1.01
    assert q.count == 200_000
    assert q.buckets < 1_500  # bounded by the range of values, not their number
    assert q.minimum == min(values) and q.maximum == max(values)


def test_quantiles_keep_negative_and_zero_values_in_order() -> None:
    q = Quantiles()
    for v in (-120.0, -120.0, -5.0, 0.0, 0.0, 3.0, 3000.0):
        q.add(v)
    assert q.quantile(0.0) == -120.0
    assert q.quantile(0.5) == 0.0
    low = q.quantile(0.2)
    assert low is not None and abs(low + 120) <= 1.3
    assert q.quantile(1.0) == 3000.0
    assert Quantiles().quantile(0.5) is None


def test_quantiles_merge_and_histogram() -> None:
    a, b = Quantiles(), Quantiles()
    for v in range(1, 101):
        a.add(float(v))
        b.add(float(v) + 100)
    a.merge(b)
    assert a.count == 200
    median = a.quantile(0.5)
    assert median is not None and abs(median - 100) <= 2
    c = Quantiles()
    for value, n in ((10.0, 10), (100.0, 20), (1000.0, 5), (-3.0, 2)):
        for _ in range(n):
            c.add(value)
    assert c.histogram([0, 50, 500, 5000]) == [12, 20, 5]


def test_recent_keeps_the_last_values_and_their_quantiles() -> None:
    r = Recent(3)
    assert r.quantile(0.5) is None and len(r) == 0
    for v in (10.0, 1.0, 100.0):
        r.add(v)
    assert r.quantile(0.5) == 10.0 and r.values() == [10.0, 1.0, 100.0]
    r.add(2.0)  # 1, 100, 2
    assert r.quantile(0.5) == 2.0 and r.quantile(1.0) == 100.0
    r.add(3.0)  # 100, 2, 3
    assert r.values() == [100.0, 2.0, 3.0] and r.quantile(0.5) == 3.0
    assert len(r) == 3 and r.count == 5
    with pytest.raises(ValueError):
        Recent(0)


def test_minute_rate_counts_whole_minutes_and_decays_over_silence() -> None:
    r = MinuteRate(span=3)  # alpha 0.5
    for i in range(10):
        r.add(60.0 * 100 + i)  # 10 in minute 100
    assert r.per_minute(60.0 * 100 + 30) == 0  # the minute before had none
    assert r.per_minute(60.0 * 101 + 1) == 10  # minute 100 is the last whole one
    r.add(60.0 * 101)
    assert r.last == 10 and r.baseline == 10.0 and r.before == 0.0  # the first minute is the mean
    r.add(60.0 * 104)  # minutes 102, 103 had nothing
    assert r.last == 0
    assert r.baseline == pytest.approx((10 + 0.5 * (1 - 10)) * 0.25)
    assert r.per_minute(60.0 * 200) == 0


def test_recent_counts_by_minute_and_by_hour() -> None:
    c = RecentCounts()
    base = 3600.0 * 1000
    for i in range(6):
        c.add(base + i * 300)  # every 5 minutes for half an hour
    assert c.last_hour(base + 1800) == 6
    assert c.last_hour(base + 3600 + 600) == 3  # the first three are an hour old or more
    assert c.last_day(base + 3600 * 5) == 6
    assert c.last_day(base + 3600 * 25) == 0
