"""Where the ticks of a chart's axes go and what they read (pure: no Qt).

Time ticks fall on round local times (every 15 s, 5 min, 6 h, midnight,
Mondays, the first of a month, New Year) and read like pyqtgraph's date
axis did: ``15:56:30`` when zoomed to seconds, ``15:55`` for minutes and
hours, ``Thu 26`` at midnight and for days, ``Nov`` on the first of a month,
``2026`` on New Year. The step is the finest whose labels do not touch at the
width given; the caller measures text (a font's ``horizontalAdvance``), so
nothing here knows about fonts.

Value ticks step by 1, 2 or 5 times a power of ten. Times are epoch seconds;
``tz=None`` means the machine's local time zone (tests pass a fixed one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import NamedTuple

__all__ = [
    "Tick",
    "TimeStep",
    "TIME_STEPS",
    "MIN_SPAN",
    "MAX_SPAN",
    "clamp_range",
    "pick_time_step",
    "time_ticks",
    "value_ticks",
    "padded_range",
]

#: Narrowest x range a chart zooms to (seconds) and the widest (about 50 years).
MIN_SPAN = 5.0
MAX_SPAN = 50 * 365.25 * 86_400
#: Times a chart can show: 1970 to 2500 (datetime cannot go further on every system).
_LOWEST, _HIGHEST = 0.0, 16_725_225_600.0

_DAY = 86_400
_WEEK = 7 * _DAY


class Tick(NamedTuple):
    """A tick: where (epoch seconds or a value) and its label."""

    value: float
    label: str


@dataclass(frozen=True, slots=True)
class TimeStep:
    """A distance between time ticks: ``count`` seconds, days, weeks, months or years."""

    unit: str  # "s", "d", "w", "mo" or "y"
    count: int

    @property
    def seconds(self) -> float:
        """The step's length (months and years on average)."""
        per = {"s": 1, "d": _DAY, "w": _WEEK, "mo": 30.44 * _DAY, "y": 365.25 * _DAY}[self.unit]
        return self.count * per

    def label(self, wall: datetime) -> str:
        """The label of a tick at local time ``wall``: the coarser unit wins at its
        boundary (midnight reads ``Thu 26``, the first of a month ``Nov``)."""
        if self.unit == "y" or (self.unit in ("d", "mo") and wall.month == 1 and wall.day == 1):
            return wall.strftime("%Y")
        if self.unit == "mo":
            return wall.strftime("%b")
        if self.unit == "w":
            return wall.strftime("%b %d")
        if self.unit == "d":
            return wall.strftime("%b") if wall.day == 1 else wall.strftime("%a %d")
        if _midnight(wall):
            return wall.strftime("%a %d")
        return wall.strftime("%H:%M:%S" if self.count < 60 else "%H:%M")

    def samples(self) -> tuple[str, ...]:
        """Labels as wide as this step's labels get (to measure)."""
        wide = datetime(2000, 12, 28, 23, 58, 58)
        formats = {"s": ("%H:%M:%S" if self.count < 60 else "%H:%M", "%a %d"), "d": ("%a %d", "%b", "%Y"),
                   "w": ("%b %d",), "mo": ("%b", "%Y"), "y": ("%Y",)}[self.unit]
        return tuple(wide.strftime(f) for f in formats)


#: Steps from fine to coarse; sub-day steps divide a day, so ticks stay on round times.
TIME_STEPS: tuple[TimeStep, ...] = (
    *(TimeStep("s", n) for n in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)),
    *(TimeStep("s", n * 3600) for n in (1, 2, 3, 6, 12)),
    TimeStep("d", 1),
    TimeStep("d", 2),
    TimeStep("w", 1),
    TimeStep("w", 2),
    TimeStep("mo", 1),
    TimeStep("mo", 3),
    TimeStep("mo", 6),
    *(TimeStep("y", n) for n in (1, 2, 5, 10, 20, 50, 100)),
)


def _midnight(wall: datetime) -> bool:
    return wall.hour == 0 and wall.minute == 0 and wall.second == 0


def _wall(epoch: float, tz: tzinfo | None) -> datetime:
    """Local wall-clock time (naive) of an epoch second."""
    if tz is None:
        return datetime.fromtimestamp(epoch)
    return datetime.fromtimestamp(epoch, tz).replace(tzinfo=None)


def _epochs(wall: datetime, tz: tzinfo | None) -> list[float]:
    """The epoch seconds of a local wall-clock time (naive): two when a DST
    change repeats it (``fold``), one otherwise."""
    if tz is not None:
        wall = wall.replace(tzinfo=tz)
    return sorted({wall.timestamp(), wall.replace(fold=1).timestamp()})


def clamp_range(start: float, end: float) -> tuple[float, float]:
    """``[start, end]`` kept at least :data:`MIN_SPAN` and at most :data:`MAX_SPAN`
    wide, and inside the times a chart can show (1970 to 2500)."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return (0.0, _DAY)
    if end < start:
        start, end = end, start
    span = min(max(end - start, MIN_SPAN), MAX_SPAN)
    middle = (start + end) / 2
    start, end = middle - span / 2, middle + span / 2
    if start < _LOWEST:
        start, end = _LOWEST, _LOWEST + span
    if end > _HIGHEST:
        start, end = _HIGHEST - span, _HIGHEST
    return start, end


def _default_width(text: str) -> float:
    return 7.0 * len(text)


def pick_time_step(start: float, end: float, width: float,
                   text_width: Callable[[str], float] = _default_width, gap: float = 16.0) -> TimeStep:
    """The finest step whose labels fit ``width`` pixels without touching."""
    span = max(end - start, 1e-9)
    for step in TIME_STEPS:
        room = step.seconds / span * width
        if room >= max(text_width(s) for s in step.samples()) + gap:
            return step
    return TIME_STEPS[-1]


def _first_wall(start: float, step: TimeStep, tz: tzinfo | None) -> datetime:
    """The last tick time (local wall clock) at or before ``start``."""
    wall = _wall(start, tz)
    day = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if step.unit == "s":
        into = (wall - day).total_seconds()
        return day + timedelta(seconds=math.floor(into / step.count) * step.count)
    if step.unit == "d":
        ordinal = day.toordinal()
        return datetime.fromordinal(ordinal - (ordinal % step.count))
    if step.unit == "w":
        monday = day - timedelta(days=day.weekday())
        weeks = monday.toordinal() // 7
        return datetime.fromordinal(monday.toordinal() - 7 * (weeks % step.count))
    if step.unit == "mo":
        index = wall.year * 12 + wall.month - 1
        index -= index % step.count
        return datetime(index // 12, index % 12 + 1, 1)
    year = max(1, wall.year - wall.year % step.count)
    return datetime(year, 1, 1)


def _next_wall(wall: datetime, step: TimeStep) -> datetime:
    if step.unit == "s":
        return wall + timedelta(seconds=step.count)
    if step.unit == "d":
        return wall + timedelta(days=step.count)
    if step.unit == "w":
        return wall + timedelta(weeks=step.count)
    if step.unit == "mo":
        index = wall.year * 12 + wall.month - 1 + step.count
        return datetime(index // 12, index % 12 + 1, 1)
    return datetime(wall.year + step.count, 1, 1)


def time_ticks(start: float, end: float, width: float, *,
               text_width: Callable[[str], float] = _default_width, gap: float = 16.0,
               tz: tzinfo | None = None) -> list[Tick]:
    """Ticks on round local times in ``[start, end]`` for an axis ``width`` pixels
    wide, labelled so that neighbours never overlap."""
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start or width <= 0:
        return []
    start, end = max(start, _LOWEST), min(end, _HIGHEST)
    if end <= start:
        return []
    step = pick_time_step(start, end, width, text_width, gap)
    found: set[float] = set()
    wall = _first_wall(start, step, tz)
    limit = int(width) + 8  # a bound that no sane step reaches; guards a bad clock
    while len(found) < limit:
        try:
            moments = _epochs(wall, tz)
        except (OverflowError, OSError, ValueError):
            break
        if moments[0] > end:
            break
        found.update(at for at in moments if start <= at <= end)
        try:
            wall = _next_wall(wall, step)
        except (OverflowError, ValueError):
            break
    # Labelled from the moment, not from the wall time stepped to: a time that a
    # DST change skips (02:30) is the moment an hour later (03:30).
    return [Tick(at, step.label(_wall(at, tz))) for at in sorted(found)]


def _number_label(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0"


def value_ticks(low: float, high: float, most: int) -> list[Tick]:
    """At most ``most`` (at least 2) ticks in ``[low, high]`` at 1, 2 or 5 times a
    power of ten, labelled with as many decimals as the step needs."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return []
    most = max(2, most)
    raw = (high - low) / most
    power = 10.0 ** math.floor(math.log10(raw))
    step = 10 * power
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            step = factor * power
            break
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    big = max(abs(low), abs(high)) >= 1e7 or step < 1e-6
    first = math.ceil(low / step - 1e-9)
    ticks = []
    for i in range(first, first + most + 2):
        value = i * step
        if value > high + step * 1e-9:
            break
        ticks.append(Tick(value, f"{value:.4g}" if big else _number_label(value, decimals)))
    return ticks


def padded_range(low: float, high: float, fraction: float = 0.06) -> tuple[float, float]:
    """``[low, high]`` with a margin of ``fraction`` of its span on each side; a
    single value gets a margin of its own, so that a flat line sits mid-chart."""
    if high < low:
        low, high = high, low
    span = high - low
    if span <= 0 or not math.isfinite(span):
        pad = max(abs(low) * 0.02, 0.5)
        return low - pad, high + pad
    return low - span * fraction, high + span * fraction
