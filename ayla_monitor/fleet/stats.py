"""Small fixed-memory statistics for the fleet insight: pure, no clock.

- :class:`Quantiles`: p50/p95 of a stream of numbers in bounded memory,
  as a log-bucketed histogram (the DDSketch idea): every value falls in a
  bucket whose bounds are within 1 % of each other, so a quantile read
  from the buckets is within 1 % of the exact one, however many values
  came, and the buckets needed for 1 ms .. 1 day number under 1,300 (a
  device's latencies fill a few dozen). Chosen over a reservoir because it
  needs no randomness, merges by adding counts and never forgets a tail.
- :class:`MinuteRate`: events in the current and the last whole minute,
  and a slow average of the per-minute counts (a device's "own recent
  rate", against which a spike is judged).
- :class:`RecentCounts`: how many in the last hour and day, in 84 slots.
- :class:`Recent`: a device's last N values in a fixed array, for the
  figures of every event (a sketch per device cost as much as parsing
  the event; an array store costs a tenth of it).
"""

from __future__ import annotations

import math
from array import array

__all__ = ["Quantiles", "MinuteRate", "RecentCounts", "Recent", "RELATIVE_ACCURACY"]

#: A quantile read from :class:`Quantiles` is within this fraction of the exact one.
RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
#: values this close to 0 (in the caller's unit) count as 0
_TINY = 1e-9


class Quantiles:
    """Quantiles of signed numbers in bounded memory (see the module doc).

    Negative values (a clock ahead of another) keep their own buckets;
    ``count``, ``minimum`` and ``maximum`` are exact.
    """

    __slots__ = ("_pos", "_neg", "_zero", "count", "minimum", "maximum", "total")

    def __init__(self) -> None:
        self._pos: dict[int, int] = {}
        self._neg: dict[int, int] = {}
        self._zero = 0
        self.count = 0
        self.minimum = math.inf
        self.maximum = -math.inf
        self.total = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value
        if value > _TINY:
            key = math.ceil(math.log(value) / _LOG_GAMMA)
            pos = self._pos
            pos[key] = pos.get(key, 0) + 1
        elif value < -_TINY:
            key = math.ceil(math.log(-value) / _LOG_GAMMA)
            neg = self._neg
            neg[key] = neg.get(key, 0) + 1
        else:
            self._zero += 1

    def merge(self, other: Quantiles) -> None:
        """Add ``other``'s values to these."""
        for key, n in other._pos.items():
            self._pos[key] = self._pos.get(key, 0) + n
        for key, n in other._neg.items():
            self._neg[key] = self._neg.get(key, 0) + n
        self._zero += other._zero
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    @property
    def buckets(self) -> int:
        """How many buckets are held (the memory used)."""
        return len(self._pos) + len(self._neg) + (1 if self._zero else 0)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1), ``None`` before the first value."""
        if self.count == 0:
            return None
        if q <= 0:
            return self.minimum
        if q >= 1:
            return self.maximum
        rank = math.ceil(q * self.count) - 1  # nearest rank: p95 of 20 values is the 19th
        seen = 0
        for key in sorted(self._neg, reverse=True):
            seen += self._neg[key]
            if seen > rank:
                return self._clamp(-self._value(key))
        seen += self._zero
        if seen > rank:
            return 0.0
        for key in sorted(self._pos):
            seen += self._pos[key]
            if seen > rank:
                return self._clamp(self._value(key))
        return self.maximum

    def _clamp(self, value: float) -> float:
        return min(max(value, self.minimum), self.maximum)

    @staticmethod
    def _value(key: int) -> float:
        # the middle of bucket (gamma^(k-1), gamma^k], within RELATIVE_ACCURACY of both ends
        return 2 * _GAMMA**key / (_GAMMA + 1)

    def histogram(self, edges: list[float]) -> list[int]:
        """Counts of the values between consecutive ``edges`` (ascending); a
        value below the first edge counts in the first bin, above the last in
        the last. For the report's latency distribution."""
        bins = [0] * max(1, len(edges) - 1)

        def place(value: float, n: int) -> None:
            at = 0
            while at < len(bins) - 1 and value >= edges[at + 1]:
                at += 1
            bins[at] += n

        for key, n in self._neg.items():
            place(-self._value(key), n)
        if self._zero:
            place(0.0, self._zero)
        for key, n in self._pos.items():
            place(self._value(key), n)
        return bins


class MinuteRate:
    """Events per minute, by whole minutes of the events' own time.

    ``current`` counts the minute being filled, ``last`` the minute before
    it (0 if that minute had none). ``baseline`` is the exponentially
    weighted average of the per-minute counts over roughly the last
    ``span`` minutes, the minutes without events counted as 0: what is
    normal for this device or fleet.
    """

    __slots__ = ("minute", "current", "last", "baseline", "before", "minutes", "_alpha")

    def __init__(self, span: float = 30.0) -> None:
        self.minute: int | None = None
        self.current = 0
        self.last = 0
        self.baseline = 0.0
        #: ``baseline`` as it was before the last finished minute was folded in
        self.before = 0.0
        #: whole minutes folded into the baseline so far
        self.minutes = 0
        self._alpha = 2.0 / (span + 1.0)

    def add(self, when: float, n: int = 1) -> None:
        minute = int(when // 60)
        if minute != self.minute:
            self.roll(minute)
        self.current += n

    def roll(self, minute: int) -> None:
        """Move to ``minute`` (a later one), folding the finished minutes in."""
        start = self.minute
        if start is None:
            self.minute = minute
            return
        if minute <= start:
            return  # an event from an earlier minute: counted in the current one
        # the plain mean of the minutes so far until there are ``span`` of
        # them (a baseline that starts at 0 would call every early minute a spike)
        # (max() and min() written out: this runs for most events of a quiet device)
        alpha = 1.0 / (self.minutes + 1)
        if alpha <= self._alpha:
            alpha = self._alpha
        folded = self.current
        skipped = minute - start - 1
        baseline = self.before = self.baseline
        baseline += alpha * (folded - baseline)
        if skipped:
            # minutes without events: the average decays toward 0 (in one step)
            baseline *= (1 - alpha) ** (skipped if skipped < 10_000 else 10_000)
            self.minutes += skipped + 1
            self.last = 0
        else:
            self.minutes += 1
            self.last = folded
        self.baseline = baseline
        self.current = 0
        self.minute = minute

    def per_minute(self, now: float) -> float:
        """The rate at ``now``: the last whole minute's count (0 once it is
        older than that)."""
        if self.minute is None:
            return 0.0
        minute = int(now // 60)
        if minute == self.minute:
            return float(self.last)
        if minute == self.minute + 1:
            return float(self.current)
        return 0.0


class RecentCounts:
    """How many things happened in the last hour (counted by minute) and the
    last day (counted by hour): 84 slots, whatever the rate."""

    __slots__ = ("_minute_counts", "_minute_stamps", "_hour_counts", "_hour_stamps")

    def __init__(self) -> None:
        self._minute_counts = [0] * 60
        self._minute_stamps = [-1] * 60
        self._hour_counts = [0] * 24
        self._hour_stamps = [-1] * 24

    def add(self, when: float, n: int = 1) -> None:
        minute = int(when // 60)
        at = minute % 60
        if self._minute_stamps[at] != minute:
            self._minute_stamps[at] = minute
            self._minute_counts[at] = 0
        self._minute_counts[at] += n
        hour = minute // 60
        at = hour % 24
        if self._hour_stamps[at] != hour:
            self._hour_stamps[at] = hour
            self._hour_counts[at] = 0
        self._hour_counts[at] += n

    def last_hour(self, now: float) -> int:
        """In the 60 minutes up to ``now``'s minute (that minute included)."""
        minute = int(now // 60)
        return sum(c for c, s in zip(self._minute_counts, self._minute_stamps, strict=True) if minute - 60 < s <= minute)

    def last_day(self, now: float) -> int:
        """In the 24 hours up to ``now``'s hour (that hour included)."""
        hour = int(now // 3600)
        return sum(c for c, s in zip(self._hour_counts, self._hour_stamps, strict=True) if hour - 24 < s <= hour)


class Recent:
    """The last ``size`` numbers, in a fixed array (a device's latencies,
    gaps, clock offsets): writing one is an index store, and quantiles are
    taken when asked (a sort of at most ``size`` values)."""

    __slots__ = ("_values", "_at", "count", "_size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"room for one value at least, not {size}")
        self._values = array("d", bytes(8 * size))
        self._at = 0
        self._size = size
        #: values added so far (the array holds the last ``size`` of them)
        self.count = 0

    def add(self, value: float) -> None:
        at = self._at
        self._values[at] = value
        self._at = 0 if at + 1 == self._size else at + 1
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, self._size)

    def values(self) -> list[float]:
        """The values held, oldest first."""
        if self.count < self._size:
            return list(self._values[: self.count])
        return list(self._values[self._at :]) + list(self._values[: self._at])

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile of the values held; ``None`` when empty."""
        return self.quantiles(q, q)[0]

    def quantiles(self, q1: float, q2: float) -> tuple[float | None, float | None]:
        """:meth:`quantile` of ``q1`` and of ``q2``, with one sort."""
        n = self.count if self.count < self._size else self._size
        if n == 0:
            return None, None
        ordered = sorted(self._values[:n])
        last = n - 1
        return ordered[min(last, max(0, math.ceil(q1 * n) - 1))], ordered[min(last, max(0, math.ceil(q2 * n) - 1))]
