"""What is wrong with the fleet, folded event by event: pure and incremental.

:class:`FleetInsight` is fed parsed events (:mod:`ayla_monitor.dss.events`)
one at a time, live or from stored rows (as the fields it reads from their
JSON: :mod:`ayla_monitor.fleet.decoded`), by the same code; it reads no
clock (an event brings its time, a query takes ``now``), does no I/O and
holds bounded memory (per device a few hundred bytes plus its latency
buckets; the datapoints waiting for an ack are capped).

Time: an event happens at its own ``time`` (the server's clock), or at
``received_at`` when it has no readable time. A datapoint's moment is the
cloud's ``created_at`` (its ``time`` is the device's clock when the device
sent one: a device whose clock is behind would look silent), an ack's is
its ``acked_at`` (:func:`event_instant`). Flaps, rhythm, rates and
the ack wait are measured on that time line; ``now`` passed to a query
must be on the same clock (the live caller's wall clock is close enough:
the latency figures say how far apart the two are).

Choices, with their reasons:

- Rhythm (a device's typical interval between events): the median of its
  last 15 gaps between events of distinct times (kept in a fixed array;
  the median is taken when asked). A median ignores one
  burst or one long pause where a mean or an EWMA is dragged along; 15
  gaps settle quickly after a device changes its pace. Events of the same
  second are one beat (event times have whole seconds).
- Quiet: not known to be offline, a rhythm from at least 3 gaps, and
  silent for more than ``quiet_factor`` (5) times the rhythm and at least
  ``quiet_min_s`` (60 s).
- A flap is a change of a device's connectivity state (online to offline
  or back) after its first known state; flapping is at least
  ``flapping_per_hour`` (6, three drops) in the last hour.
- Latency: ``received_at`` minus the event time, p50/p95 in ms: per
  device over every 4th of its events (the latest 64 of those: its first
  event is the first taken), per stream over every 4th event in a
  1 %-accurate log histogram (:class:`~ayla_monitor.fleet.stats.Quantiles`).
  Clock skew: ``created_at_from_device`` minus ``created_at``, the median
  of the device's latest 16.
- Acks: a ``datapointack`` pairs with the ``datapoint`` of the same
  datapoint id, whichever comes first (they come on different streams).
  Ack latency is ``acked_at`` minus ``created_at``. An ack failed when its
  ``ack_status`` is not 2xx, or its ``ack_message`` is present and not 0.
  A datapoint is missing its ack when no ack came within ``ack_timeout_s``
  (60 s) of its time and its property has had an ack by then; datapoints
  still inside their wait are ``pending``. A second copy of an ack (the
  same id) is not counted again.
- A rate spike: a whole minute with at least ``spike_min_per_minute``
  events and more than ``spike_factor`` (3) times the average of the
  minutes before it (an EWMA over about 30 minutes, after 5 minutes of
  history).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ayla_monitor.dss.events import Connectivity, Datapoint, DatapointAck, DssEvent, Value
from ayla_monitor.fleet.stats import MinuteRate, Quantiles, Recent, RecentCounts

__all__ = [
    "InsightSettings",
    "DeviceInsight",
    "StreamInsight",
    "AckTotals",
    "DeviceSummary",
    "GroupCounts",
    "Spike",
    "StreamGap",
    "FleetInsight",
    "instant_of",
    "event_instant",
    "ack_failed",
    "OTHER",
    "DATAPOINT",
    "ACK",
    "CONNECTIVITY",
]


@dataclass(frozen=True, slots=True)
class InsightSettings:
    """The thresholds; each one the user may change."""

    quiet_factor: float = 5.0
    quiet_min_s: float = 60.0
    ack_timeout_s: float = 60.0
    flapping_per_hour: int = 6
    spike_factor: float = 3.0
    spike_min_per_minute: int = 30
    #: gaps the rhythm's median is taken over
    rhythm_gaps: int = 15
    #: datapoints remembered while they wait for their ack (oldest dropped
    #: beyond: ~250 bytes each, so 25 MB at most)
    max_waiting: int = 100_000

    def __post_init__(self) -> None:
        for name in ("quiet_factor", "quiet_min_s", "ack_timeout_s", "spike_factor"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative ({getattr(self, name)})")
        if self.flapping_per_hour < 1 or self.spike_min_per_minute < 1 or self.rhythm_gaps < 1:
            raise ValueError("flapping_per_hour, spike_min_per_minute and rhythm_gaps must be 1 or more")


#: a device's latest latencies that its p50/p95 are taken over
LATENCY_SAMPLES = 64
#: a device's latest clock offsets and ack latencies kept
SKEW_SAMPLES = 16
ACK_SAMPLES = 32

#: what :meth:`FleetInsight.add_fields` is given
OTHER, DATAPOINT, ACK, CONNECTIVITY = 0, 1, 2, 3

_TIME_CACHE_SIZE = 4096
_time_cache: dict[str, float | None] = {}


def instant_of(text: str | None) -> float | None:
    """An ISO 8601 event time as epoch seconds (no zone: UTC, as DSS sends);
    ``None`` when it is not a time. Remembers recent texts: a fleet's events
    share their seconds."""
    if text is None:
        return None
    cached = _time_cache.get(text, -1.0)
    if cached != -1.0:
        return cached
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        value: float | None = moment.timestamp()
    except (ValueError, OverflowError, OSError):
        value = None
    if len(_time_cache) >= _TIME_CACHE_SIZE:
        _time_cache.clear()
    _time_cache[text] = value
    return value


def event_instant(event: DssEvent) -> float | None:
    """The moment the insight places ``event`` at (see the module doc)."""
    if isinstance(event, DatapointAck):
        text = event.acked_at or event.created_at or event.time
    elif isinstance(event, Datapoint):
        text = event.created_at or event.time
    else:
        text = event.time
    when = instant_of(text)
    return when if when is not None else (event.received_at or None)


def ack_failed(status: int | None, message: Value) -> bool:
    """An ack failed: status not 2xx, or a message that is there and not 0."""
    if status is None or not 200 <= status <= 299:
        return True
    return message is not None and message != 0 and message != "0"


@dataclass(frozen=True, slots=True)
class StreamGap:
    first: int
    last: int
    state: str
    seen_at: float


@dataclass(frozen=True, slots=True)
class Spike:
    """A minute in which ``dsn`` (``None``: the whole fleet) sent ``count``
    events against a usual ``baseline`` per minute."""

    dsn: str | None
    minute_start: float
    count: int
    baseline: float


class DeviceInsight:
    """One device's running figures (mutated by :class:`FleetInsight`).

    Per event only counters and fixed arrays are written (the latencies,
    gaps and clock offsets of its latest events, :class:`Recent`); medians
    and quantiles are taken when a summary is asked for.
    """

    __slots__ = (
        "dsn", "oem_id", "oem_model", "tags", "online", "online_since", "first_heard", "last_heard",
        "events", "flaps", "recent_flaps", "_beat", "gaps", "rate", "latency", "skew", "acks",
        "ack_latency", "failed", "missing", "acked_properties", "spikes",
    )

    def __init__(self, dsn: str, rhythm_gaps: int) -> None:
        self.dsn = dsn
        self.oem_id: str | None = None
        self.oem_model: str | None = None
        self.tags: tuple[str, ...] = ()
        self.online: bool | None = None
        self.online_since: float | None = None
        self.first_heard: float | None = None
        self.last_heard: float | None = None
        self.events = 0
        self.flaps = 0
        self.recent_flaps: RecentCounts | None = None
        self._beat: float | None = None
        #: the latest gaps between its events of distinct times (the rhythm)
        self.gaps = Recent(rhythm_gaps)
        self.rate = MinuteRate()
        #: received - event time of its latest events, ms
        self.latency = Recent(LATENCY_SAMPLES)
        #: created_at_from_device - created_at of its latest datapoints, s
        self.skew: Recent | None = None
        self.acks = 0
        #: acked_at - created_at of its latest acks, ms
        self.ack_latency: Recent | None = None
        self.failed = 0
        self.missing = 0
        self.acked_properties: set[str] | None = None
        self.spikes = 0

    @property
    def typical_interval(self) -> float | None:
        """The rhythm in seconds (the median gap), once three gaps are known."""
        return self.gaps.quantile(0.5) if len(self.gaps) >= 3 else None


@dataclass(slots=True)
class StreamInsight:
    """One stream's figures; reconnects, gaps and conflicts are told by the
    caller (the client and the recorder see them, events do not carry them)."""

    name: str
    events: int = 0
    latency: Quantiles = field(default_factory=Quantiles)
    reconnects: int = 0
    conflicts: int = 0
    gap_count: int = 0
    missing_seqs: int = 0
    #: the latest gaps (at most 100)
    gaps: deque[StreamGap] = field(default_factory=lambda: deque(maxlen=100))


@dataclass(frozen=True, slots=True)
class AckTotals:
    acks: int
    paired: int
    failed: int
    missing: int
    pending: int
    duplicates: int
    failed_by_status: dict[str, int]
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    #: property name -> (acks, p50 ms, p95 ms)
    by_property: dict[str, tuple[int, float | None, float | None]]


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """A device's figures at one moment, for a table row or a report line."""

    dsn: str
    oem_id: str | None
    oem_model: str | None
    tags: tuple[str, ...]
    online: bool | None
    online_since: float | None
    last_heard: float | None
    silent_s: float | None
    events: int
    events_per_min: float
    flaps: int
    flaps_hour: int
    flaps_day: int
    flapping: bool
    typical_interval_s: float | None
    quiet: bool
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    skew_s: float | None
    acks: int
    ack_p50_ms: float | None
    ack_p95_ms: float | None
    failed_acks: int
    missing_acks: int
    spike: bool


@dataclass(slots=True)
class GroupCounts:
    """Devices of one model, OEM or tag, by state."""

    devices: int = 0
    online: int = 0
    offline: int = 0
    unknown: int = 0
    quiet: int = 0
    flapping: int = 0


def _p(q: Quantiles | Recent | None, at: float) -> float | None:
    return None if q is None else q.quantile(at)


class FleetInsight:
    """The fleet's figures, fed one event at a time (see the module doc)."""

    def __init__(self, settings: InsightSettings | None = None, *, horizon: float | None = None) -> None:
        """``horizon``: the end of a report's range; acks are not judged
        missing past it, even when an event's own time is later (a row is
        picked by its stored time, which for a datapoint is the device's
        clock, while the insight goes by the cloud's)."""
        self.settings = settings or InsightSettings()
        # read on every event: plain attributes, not through the settings
        self._ack_timeout = self.settings.ack_timeout_s
        self._max_waiting = self.settings.max_waiting
        self._rhythm_gaps = self.settings.rhythm_gaps
        self._spike_min = self.settings.spike_min_per_minute
        self._keep_acks = 2 * self._ack_timeout
        #: the minute of the moment ``_minute_of`` (the last one asked)
        self._minute = 0
        self._minute_of = math.nan
        #: the earliest end of a wait in the ack tables (the first of each:
        #: they are in deadline order), infinity when they are empty
        self._due = math.inf
        self.horizon = horizon
        self._devices: dict[str, DeviceInsight] = {}
        self._streams: dict[str, StreamInsight] = {}
        self._stream_cache: StreamInsight | None = None
        self.events = 0
        #: the latest event time seen (the clock of stored rows)
        self.latest: float | None = None
        #: the moment of the event added last (``None``: it had no time and was skipped)
        self.last_instant: float | None = None
        self.earliest: float | None = None
        self.rate = MinuteRate()
        self.online_count = 0
        self.offline_count = 0
        # acks
        self._waiting: dict[str, tuple[DeviceInsight, str | None, float]] = {}
        self._early_acks: dict[str, float] = {}
        self._seen_acks: dict[str, float] = {}
        self.acks = 0
        self.paired = 0
        self.failed = 0
        self.missing = 0
        self.duplicate_acks = 0
        #: datapoints dropped from the wait list because it was full
        self.untracked = 0
        self.failed_by_status: dict[str, int] = {}
        self._ack_latency_by_property: dict[str | None, Quantiles] = {}
        self.spikes: deque[Spike] = deque(maxlen=100)

    # -- feeding ---------------------------------------------------------

    def add_many(self, events: Iterable[DssEvent], stream: str | None = None) -> None:
        add = self.add
        for event in events:
            add(event, stream)

    def add(self, event: DssEvent, stream: str | None = None) -> None:
        """Fold one event in (events of any type; ``stream``: its stream's name)."""
        cls = event.__class__
        if cls is Datapoint:
            self.add_fields(event.received_at, stream, DATAPOINT,
                            event.created_at or event.time,  # type: ignore[attr-defined]
                            event.dsn, event.oem_id, event.oem_model, event.resource_tags,
                            event.datapoint_id, event.property_name,  # type: ignore[attr-defined]
                            event.created_at, event.created_at_from_device)  # type: ignore[attr-defined]
        elif cls is DatapointAck:
            self.add_fields(event.received_at, stream, ACK,
                            event.acked_at or event.created_at or event.time,  # type: ignore[attr-defined]
                            event.dsn, event.oem_id, event.oem_model, event.resource_tags,
                            event.datapoint_id, event.property_name,  # type: ignore[attr-defined]
                            event.created_at, None, event.acked_at,  # type: ignore[attr-defined]
                            event.ack_status, event.ack_message)  # type: ignore[attr-defined]
        elif cls is Connectivity:
            self.add_fields(event.received_at, stream, CONNECTIVITY, event.time, event.dsn, event.oem_id,
                            event.oem_model, event.resource_tags, None, None, None, None, None, None, None,
                            event.online)  # type: ignore[attr-defined]
        else:
            self.add_fields(event.received_at, stream, OTHER, event.time, event.dsn, event.oem_id, event.oem_model,
                            event.resource_tags)

    def add_fields(
        self, received: float, stream: str | None, kind: int, text: str | None, dsn: str | None,
        oem_id: str | None, oem_model: str | None, tags: tuple[str, ...], dp_id: str | None = None,
        prop: str | None = None, created_at: str | None = None, from_device: str | None = None,
        acked_at: str | None = None, status: int | None = None, message: Value = None, online: bool | None = None,
    ) -> None:
        """:meth:`add` with the event's fields as read from it: when it was
        received and on which stream, its ``kind`` (:data:`DATAPOINT`,
        :data:`ACK`, :data:`CONNECTIVITY` or :data:`OTHER`), ``text``: the
        time it happened at (the moment of :func:`event_instant`), then the
        fields the typed events have, by their names there (``online``:
        :attr:`Connectivity.online`). For a caller that has the fields
        without a typed event (:mod:`ayla_monitor.fleet.decoded`): building
        the event cost as much as folding it in.

        The hot path of the live window, the recorder's alerts and the
        report: written flat, with the common case first, small helpers
        written out (benchmarks/insight.py measures it; each removed call or
        attribute chain shows in its instruction count)."""
        when = _time_cache.get(text) if text is not None else None
        if when is None:
            when = instant_of(text)
        if when is None:
            if not received:
                self.last_instant = None
                return  # no time at all: nothing to place it on
            when = received
        self.last_instant = when
        self.events += 1
        latest = self.latest
        if latest is None or when > latest:
            self.latest = when
            if when >= self._due:
                horizon = self.horizon
                self._expire(when if horizon is None or when < horizon else horizon)
            if self.earliest is None:
                self.earliest = when
        elif when < self.earliest:  # type: ignore[operator]  # set with the first latest
            self.earliest = when
        # events come in runs of the same second: its minute is remembered
        # (a float floor division and an int() cost more than the comparison)
        if when == self._minute_of:
            minute = self._minute
        else:
            minute = self._minute = int(when // 60)
            self._minute_of = when
        fleet_rate = self.rate
        if minute != fleet_rate.minute:
            self._roll(fleet_rate, minute, None)
        fleet_rate.current += 1
        if stream is not None:
            s = self._stream_cache
            if s is None or s.name != stream:
                s = self._streams.get(stream)
                if s is None:
                    s = self._streams[stream] = StreamInsight(stream)
                self._stream_cache = s
            count = s.events = s.events + 1
            if received and not count & 3:
                # every 4th event's latency: a quarter of the cost, p95 as good
                s.latency.add((received - when) * 1000.0)
        if dsn is None:
            return
        device = self._devices.get(dsn)
        if device is None:
            device = self._devices[dsn] = DeviceInsight(dsn, self._rhythm_gaps)
            device.first_heard = when
            device.oem_model = oem_model
            device.oem_id = oem_id
        elif oem_model != device.oem_model and oem_model is not None:
            device.oem_model = oem_model
            device.oem_id = oem_id or device.oem_id
        if tags and tags != device.tags:
            device.tags = tags
        count = device.events = device.events + 1
        beat = device._beat
        if beat is None or when > beat:
            if beat is not None:
                recent = device.gaps  # Recent.add, written out (as below)
                at = recent._at
                recent._values[at] = when - beat
                recent._at = 0 if at + 1 == recent._size else at + 1
                recent.count += 1
            device._beat = when
            device.last_heard = when
        rate = device.rate
        if minute != rate.minute:
            if rate.current >= self._spike_min:
                self._roll(rate, minute, device)
            else:
                rate.roll(minute)  # too few for a spike (most minutes of most devices)
        rate.current += 1
        if received and count & 3 == 1:
            # every 4th event's latency from the first (the latest 64 of them)
            recent = device.latency
            at = recent._at
            recent._values[at] = (received - when) * 1000.0
            recent._at = 0 if at + 1 == recent._size else at + 1
            recent.count += 1
        if kind == DATAPOINT:
            if from_device is not None and created_at is not None:
                # the device's clock against the cloud's
                device_time = _time_cache.get(from_device) or instant_of(from_device)
                created = _time_cache.get(created_at) or instant_of(created_at)
                if device_time is not None and created is not None:
                    skew = device.skew
                    if skew is None:
                        skew = device.skew = Recent(SKEW_SAMPLES)
                    skew.add(device_time - created)
            if dp_id is not None:
                # it waits for its ack, or pairs with one that came first
                early = self._early_acks
                if early and early.pop(dp_id, None) is not None:
                    self.paired += 1
                    return
                waiting = self._waiting
                if dp_id in waiting:
                    return  # the same datapoint again (another stream carries it too)
                if len(waiting) >= self._max_waiting:
                    del waiting[next(iter(waiting))]
                    self.untracked += 1
                deadline = when + self._ack_timeout
                waiting[dp_id] = (device, prop, deadline)
                if deadline < self._due:
                    self._due = deadline
        elif kind == ACK:
            self._ack(device, dp_id, prop, created_at, acked_at, status, message, when)
        elif kind == CONNECTIVITY:
            self._connectivity(device, online, when)

    def _roll(self, rate: MinuteRate, minute: int, device: DeviceInsight | None) -> None:
        """A new minute for ``rate``: was the minute that ended a spike?"""
        if rate.minute is not None and minute > rate.minute:
            count = rate.current
            s = self.settings
            if rate.minutes >= 5 and count >= s.spike_min_per_minute and count > s.spike_factor * rate.baseline:
                self.spikes.append(Spike(device.dsn if device else None, rate.minute * 60.0, count, rate.baseline))
                if device is not None:
                    device.spikes += 1
        rate.roll(minute)

    def _connectivity(self, device: DeviceInsight, online: bool | None, when: float) -> None:
        if online is None:
            return
        was = device.online
        if was == online:
            return
        if was is True:
            self.online_count -= 1
        elif was is False:
            self.offline_count -= 1
        if online:
            self.online_count += 1
        else:
            self.offline_count += 1
        device.online = online
        device.online_since = when
        if was is not None:
            device.flaps += 1
            if device.recent_flaps is None:
                device.recent_flaps = RecentCounts()
            device.recent_flaps.add(when)

    def _ack(self, device: DeviceInsight, dp_id: str | None, prop: str | None, created_at: str | None,
             acked_at: str | None, status: int | None, message: Value, when: float) -> None:
        keep_until = when + self._keep_acks
        if dp_id is not None:
            seen = self._seen_acks
            if dp_id in seen:
                self.duplicate_acks += 1
                return
            if len(seen) >= self._max_waiting:
                del seen[next(iter(seen))]
            seen[dp_id] = keep_until
            if keep_until < self._due:
                self._due = keep_until
        self.acks += 1
        device.acks += 1
        if prop is not None:
            acked_properties = device.acked_properties
            if acked_properties is None:
                device.acked_properties = {prop}
            elif prop not in acked_properties:
                acked_properties.add(prop)
        # ack_failed, written out
        if status is None or not 200 <= status <= 299 or (message is not None and message != 0 and message != "0"):
            self.failed += 1
            device.failed += 1
            key = "none" if status is None else str(status)
            self.failed_by_status[key] = self.failed_by_status.get(key, 0) + 1
        if created_at is not None and acked_at is not None:
            created = _time_cache.get(created_at)
            if created is None:
                created = instant_of(created_at)
            acked = _time_cache.get(acked_at)
            if acked is None:
                acked = instant_of(acked_at)
            if created is not None and acked is not None:
                ms = (acked - created) * 1000.0
                # one sketch per property (``None``: acks without one); the
                # fleet's is their merge (:attr:`ack_latency`)
                by_prop = self._ack_latency_by_property.get(prop)
                if by_prop is None:
                    by_prop = self._ack_latency_by_property[prop] = Quantiles()
                by_prop.add(ms)
                recent = device.ack_latency
                if recent is None:
                    recent = device.ack_latency = Recent(ACK_SAMPLES)
                at = recent._at  # Recent.add, written out
                recent._values[at] = ms
                recent._at = 0 if at + 1 == recent._size else at + 1
                recent.count += 1
        if dp_id is None:
            return
        if self._waiting.pop(dp_id, None) is not None:
            self.paired += 1
        else:
            early = self._early_acks
            if len(early) >= self._max_waiting:
                del early[next(iter(early))]
            early[dp_id] = keep_until

    def note_reconnect(self, stream: str) -> None:
        self._stream(stream).reconnects += 1

    def note_conflict(self, stream: str) -> None:
        self._stream(stream).conflicts += 1

    def note_gap(self, stream: str, first: int, last: int, state: str, seen_at: float) -> None:
        """A gap in ``stream``'s seqs (as the client or the store saw it)."""
        s = self._stream(stream)
        s.gap_count += 1
        s.missing_seqs += last - first + 1
        s.gaps.append(StreamGap(first, last, state, seen_at))

    def _stream(self, name: str) -> StreamInsight:
        s = self._streams.get(name)
        if s is None:
            s = self._streams[name] = StreamInsight(name)
        return s

    def advance(self, now: float) -> None:
        """Time passes without events: datapoints whose ack wait ended by
        ``now`` are settled (missing or not)."""
        self._expire(now)

    def _expire(self, now: float) -> None:
        """Settle the waits that ended by ``now`` (tables in insertion order,
        which is deadline order for events that come in time order)."""
        waiting = self._waiting
        ended: list[str] = []
        for dp_id, (device, prop, deadline) in waiting.items():
            if deadline > now:
                break
            ended.append(dp_id)
            acked = device.acked_properties
            if acked is not None and prop in acked:
                device.missing += 1
                self.missing += 1
        for dp_id in ended:
            del waiting[dp_id]
        due = next(iter(waiting.values()))[2] if waiting else math.inf
        for table in (self._early_acks, self._seen_acks):
            ended.clear()
            for key, until in table.items():
                if until > now:
                    due = min(due, until)
                    break
                ended.append(key)
            for key in ended:
                del table[key]
        self._due = due

    # -- reading ---------------------------------------------------------

    def __len__(self) -> int:
        return len(self._devices)

    def device(self, dsn: str) -> DeviceInsight | None:
        return self._devices.get(dsn)

    def devices(self) -> Iterator[DeviceInsight]:
        return iter(self._devices.values())

    def streams(self) -> list[StreamInsight]:
        return sorted(self._streams.values(), key=lambda s: s.name)

    @property
    def latency(self) -> Quantiles:
        """Every event's latency: the streams' together, or (no stream was
        named) the devices' latest ones."""
        total = Quantiles()
        for stream in self._streams.values():
            total.merge(stream.latency)
        if not self._streams:
            for device in self._devices.values():
                for value in device.latency.values():
                    total.add(value)
        return total

    @property
    def pending(self) -> int:
        """Datapoints still inside their ack wait, on properties that are acked
        (a property never acked is not waited for: its datapoints never go missing)."""
        count = 0
        for device, prop, _deadline in self._waiting.values():
            acked = device.acked_properties
            if acked is not None and prop in acked:
                count += 1
        return count

    def is_quiet(self, device: DeviceInsight, now: float) -> bool:
        return self._quiet(device, device.typical_interval, now)

    def _quiet(self, device: DeviceInsight, rhythm: float | None, now: float) -> bool:
        if device.online is False or device.last_heard is None or rhythm is None:
            return False
        s = self.settings
        return now - device.last_heard > max(s.quiet_factor * rhythm, s.quiet_min_s)

    def is_flapping(self, device: DeviceInsight, now: float) -> bool:
        recent = device.recent_flaps
        return recent is not None and recent.last_hour(now) >= self.settings.flapping_per_hour

    def is_spiking(self, rate: MinuteRate, now: float) -> bool:
        """Was the last whole minute before ``now`` a spike?"""
        minute = int(now // 60)
        if rate.minute == minute:
            count, base, minutes = rate.last, rate.before, rate.minutes - 1
        elif rate.minute == minute - 1:
            count, base, minutes = rate.current, rate.baseline, rate.minutes
        else:
            return False
        s = self.settings
        return minutes >= 5 and count >= s.spike_min_per_minute and count > s.spike_factor * base

    def summary(self, device: DeviceInsight, now: float) -> DeviceSummary:
        """(Each figure taken once, each array sorted once: the fleet table
        asks for 10,000 of these every few seconds.)"""
        recent = device.recent_flaps
        last = device.last_heard
        flaps_hour = recent.last_hour(now) if recent else 0
        rhythm = device.typical_interval
        latency_p50, latency_p95 = device.latency.quantiles(0.5, 0.95)
        ack_p50, ack_p95 = device.ack_latency.quantiles(0.5, 0.95) if device.ack_latency else (None, None)
        return DeviceSummary(
            dsn=device.dsn,
            oem_id=device.oem_id,
            oem_model=device.oem_model,
            tags=device.tags,
            online=device.online,
            online_since=device.online_since,
            last_heard=last,
            silent_s=None if last is None else max(0.0, now - last),
            events=device.events,
            events_per_min=device.rate.per_minute(now),
            flaps=device.flaps,
            flaps_hour=flaps_hour,
            flaps_day=recent.last_day(now) if recent else 0,
            flapping=flaps_hour >= self.settings.flapping_per_hour,
            typical_interval_s=rhythm,
            quiet=self._quiet(device, rhythm, now),
            latency_p50_ms=latency_p50,
            latency_p95_ms=latency_p95,
            skew_s=_p(device.skew, 0.5),
            acks=device.acks,
            ack_p50_ms=ack_p50,
            ack_p95_ms=ack_p95,
            failed_acks=device.failed,
            missing_acks=device.missing,
            spike=self.is_spiking(device.rate, now),
        )

    def summaries(self, now: float) -> list[DeviceSummary]:
        """Every device's summary, by DSN."""
        return [self.summary(d, now) for d in sorted(self._devices.values(), key=lambda d: d.dsn)]

    @property
    def ack_latency(self) -> Quantiles:
        """Every ack's latency (ms): the properties' sketches merged."""
        total = Quantiles()
        for q in self._ack_latency_by_property.values():
            total.merge(q)
        return total

    def ack_totals(self) -> AckTotals:
        by_property = {
            name: (q.count, q.quantile(0.5), q.quantile(0.95))
            for name, q in sorted(self._ack_latency_by_property.items(), key=lambda item: item[0] or "")
            if name is not None
        }
        ack_latency = self.ack_latency
        return AckTotals(
            acks=self.acks,
            paired=self.paired,
            failed=self.failed,
            missing=self.missing,
            pending=self.pending,
            duplicates=self.duplicate_acks,
            failed_by_status=dict(sorted(self.failed_by_status.items())),
            latency_p50_ms=ack_latency.quantile(0.5),
            latency_p95_ms=ack_latency.quantile(0.95),
            by_property=by_property,
        )

    def top_talkers(self, now: float | None = None, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` devices with the most events: per minute at ``now``, or
        in all (``now`` ``None``, as a report over a range wants)."""
        if now is None:
            ranked = heapq.nlargest(n, self._devices.values(), key=lambda d: (d.events, d.dsn))
            return [(d.dsn, float(d.events)) for d in ranked]
        rates = ((d.rate.per_minute(now), d.dsn) for d in self._devices.values())
        return [(dsn, rate) for rate, dsn in heapq.nlargest(n, rates) if rate > 0]

    def spiking(self, now: float) -> list[str]:
        """DSNs whose last whole minute was a spike (``""`` first: the fleet's own)."""
        found = [""] if self.is_spiking(self.rate, now) else []
        found += sorted(d.dsn for d in self._devices.values() if self.is_spiking(d.rate, now))
        return found

    def group_counts(self, now: float) -> dict[str, dict[str, GroupCounts]]:
        """``{"model": {...}, "oem": {...}, "tag": {...}}``: devices by state
        per model, OEM and resource tag (a device with two tags counts in both;
        ``""``: not known / no tag)."""
        groups: dict[str, dict[str, GroupCounts]] = {"model": {}, "oem": {}, "tag": {}}
        for device in self._devices.values():
            quiet = self.is_quiet(device, now)
            flapping = self.is_flapping(device, now)
            keys = [("model", device.oem_model or ""), ("oem", device.oem_id or "")]
            keys += [("tag", tag) for tag in device.tags] or [("tag", "")]
            for kind, key in keys:
                table = groups[kind]
                counts = table.get(key)
                if counts is None:
                    counts = table[key] = GroupCounts()
                counts.devices += 1
                if device.online is True:
                    counts.online += 1
                elif device.online is False:
                    counts.offline += 1
                else:
                    counts.unknown += 1
                counts.quiet += quiet
                counts.flapping += flapping
        return groups
