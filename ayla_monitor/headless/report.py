"""``ayla-monitor report``: the fleet insight over a stored time range, as
text, JSON or one self-contained HTML file.

The stored events are read in id order, a chunk at a time
(:func:`~ayla_monitor.store.scan.scan_events`; on MySQL by a process of its
own, beside this one's folding), and fed to the same
:class:`~ayla_monitor.fleet.insight.FleetInsight` the live window uses, so
the report and the window cannot disagree: datapoints and acks as the
fields the insight reads from their JSON
(:func:`~ayla_monitor.fleet.decoded.insight_fields`), other rows turned
back into the parsed events they were (:func:`event_of_row`). Memory stays
bounded: the insight is bounded, and the charts keep at most
:data:`MAX_BUCKETS` time buckets (they widen as the range grows).

The window's File -> Fleet report... runs :func:`build_report` off the UI
thread and writes what :func:`render` gives.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ayla_monitor.dss.events import Connectivity, Datapoint, DatapointAck, DssEvent, UnknownEvent
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import parse_event
from ayla_monitor.fleet.decoded import insight_fields
from ayla_monitor.fleet.insight import DATAPOINT, FleetInsight, InsightSettings
from ayla_monitor.headless.report_html import render_html
from ayla_monitor.store.database import Store
from ayla_monitor.store.scan import row_columns, scan_events

try:  # orjson reads stored events about twice as fast; json stays the reference
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - orjson is a dependency
    _fast_loads = json.loads  # type: ignore[assignment]

__all__ = [
    "FORMATS",
    "MAX_BUCKETS",
    "Report",
    "ReportCancelled",
    "TimeBuckets",
    "build_report",
    "event_of_row",
    "render",
    "report_json",
    "report_text",
]

FORMATS = ("text", "json", "html")
#: the most time buckets a chart keeps (its bucket widens past that)
MAX_BUCKETS = 720
#: devices listed by name in the worst-devices chart and table
WORST = 15
#: edges of the ack latency distribution, ms
ACK_EDGES_MS = [0, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, math.inf]


class ReportCancelled(Exception):
    """The caller asked the report to stop (the window's dialog closed)."""


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str | None:
    return value if value.__class__ is str else None


def event_of_row(
    row: tuple[Any, ...], columns_of: Callable[[int], tuple[Any, ...] | None] | None = None
) -> DssEvent | None:
    """The parsed event a scanned row (:func:`~ayla_monitor.store.scan.scan_events`)
    was, from its JSON as received; a row without readable JSON (one written
    by another tool) is rebuilt from its columns (those the scan brought, or
    ``columns_of(id)``'s :data:`~ayla_monitor.store.scan.BARE_COLUMNS`);
    ``None`` for a row that is neither.

    Datapoints and acks (nine rows in ten) are built from the few fields of
    the JSON that the insight reads (:func:`~ayla_monitor.fleet.decoded.insight_fields`);
    what it does not read (the value, the user, the display name, echo,
    updated_at) is left ``None``: :func:`~ayla_monitor.dss.frames.parse_event`
    would type every value and check every field, which measured 40 % of a
    report's time. Other events, and the odd datapoint with a field that is
    not text, go through ``parse_event``.
    """
    obj = _loaded(row[4])
    fields = insight_fields(obj) if obj.__class__ is dict else None
    if fields is None:
        return _other_event(row, obj, columns_of)
    kind, _moment, dsn, oem_id, oem_model, tags, dp_id, prop, created, from_device, acked_at, status, message = fields
    common = (row[2], "datapoint" if kind == DATAPOINT else "datapointack", oem_id, oem_model, dsn, tags, None,
              from_device or created, row[3] or 0.0, row[4], None, prop, None, None, None, None, dp_id, None,
              created, from_device, None)
    if kind == DATAPOINT:
        return Datapoint(*common)
    body = obj.get("datapoint")
    if body.__class__ is not dict:
        body = obj.get("datapointack")
    return DatapointAck(*common, status, message, _text(body.get("ack_id")), acked_at)


def _loaded(raw: Any) -> Any:
    """A row's JSON decoded (``None``: no JSON, or JSON that does not read)."""
    if not raw:
        return None
    try:
        return _fast_loads(raw)
    except Exception:  # orjson refuses some JSON that json reads
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return None


def _other_event(
    row: tuple[Any, ...], obj: Any, columns_of: Callable[[int], tuple[Any, ...] | None] | None
) -> DssEvent | None:
    """:func:`event_of_row` of what is not a datapoint or an ack with text fields."""
    row_id, seq, received, raw = row[0], row[2], row[3] or 0.0, row[4]
    if obj.__class__ is dict:
        return parse_event(obj, raw, received)
    columns = row[5:] or (columns_of(row_id) if columns_of is not None and row_id is not None else None)
    if not columns:
        return None
    event_type, oem_id, oem_model, dsn, time, _prop, value = columns
    if event_type is None and dsn is None:
        return None
    common: dict[str, Any] = {
        "seq": seq, "event_type": event_type or "", "oem_id": oem_id, "oem_model": oem_model,
        "dsn": dsn, "resource_tags": (), "user_uuid": None, "time": time,
        "received_at": received, "raw": raw or "", "note": None,
    }
    if event_type == "connectivity":
        return Connectivity(status=value, **common)
    return UnknownEvent(**common)


class TimeBuckets:
    """Counts (or a last value) per time bucket over an open range, in at most
    ``limit`` buckets: the bucket doubles in width whenever more are needed."""

    def __init__(self, width: float = 60.0, limit: int = MAX_BUCKETS) -> None:
        self.width = width
        self.limit = limit
        self.counts: dict[int, int] = {}
        #: bucket -> (time of the value, value): the latest value in the bucket
        self.values: dict[int, tuple[float, float]] = {}

    def _key(self, when: float) -> int:
        """The bucket of ``when``, widening the buckets first if it is a new
        one and there are ``limit`` already."""
        key = int(when // self.width)
        while key not in self.counts and key not in self.values and len(
            self.counts.keys() | self.values.keys()
        ) >= self.limit:
            self._widen()
            key = int(when // self.width)
        return key

    def _widen(self) -> None:
        self.width *= 2
        counts: dict[int, int] = {}
        for key, n in self.counts.items():
            counts[key // 2] = counts.get(key // 2, 0) + n
        values: dict[int, tuple[float, float]] = {}
        for key, (at, value) in self.values.items():
            old = values.get(key // 2)
            if old is None or at >= old[0]:
                values[key // 2] = (at, value)
        self.counts, self.values = counts, values

    def count(self, when: float) -> None:
        key = int(when // self.width)
        counts = self.counts
        if key in counts:
            counts[key] += 1
        else:
            key = self._key(when)  # may widen: a new dict
            self.counts[key] = self.counts.get(key, 0) + 1

    def value(self, when: float, value: float) -> None:
        key = self._key(when)
        old = self.values.get(key)
        if old is None or when >= old[0]:
            self.values[key] = (when, value)

    def series(self, start: float, end: float) -> list[tuple[float, int]]:
        """``(bucket start, count)`` for every bucket over ``[start, end]``, 0 where none."""
        if end < start:
            return []
        first, last = int(start // self.width), int(end // self.width)
        return [(k * self.width, self.counts.get(k, 0)) for k in range(first, last + 1)]

    def steps(self) -> list[tuple[float, float]]:
        """``(time, value)`` of the latest value in each bucket, in time order."""
        return [self.values[k] for k in sorted(self.values)]


@dataclass(slots=True)
class Report:
    """What a report says; :func:`report_json` is its shape on the outside."""

    database: str
    since: float | None
    until: float | None
    insight: FleetInsight
    events: int
    per_minute: TimeBuckets
    online: TimeBuckets
    gaps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: the moment "quiet" and "per minute" are judged at: the end of the data
    now: float = 0.0


def build_report(
    store: Store,
    since: float | None = None,
    until: float | None = None,
    *,
    settings: InsightSettings | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    chunk: int = 5000,
) -> Report:
    """The insight over the events whose time is in ``[since, until)``
    (epoch seconds; ``None``: open). ``progress(events so far)`` is called
    after each chunk; ``cancelled()`` returning true stops with
    :class:`ReportCancelled`."""
    insight = FleetInsight(settings, horizon=until)
    per_minute = TimeBuckets()
    online = TimeBuckets()
    events = 0
    add_fields = insight.add_fields
    loads = _fast_loads
    last_online = -1
    last_when: float | None = None
    key = 0
    names = {s.id: s.name for s in store.streams()}
    columns_of = partial(row_columns, store)
    rows = scan_events(store, EventFilter(since=since, until=until), chunk=chunk, aside=True)
    with closing(rows):  # stopped early: its reader process too
        for row in rows:
            # event_of_row and insight.add, written out: a datapoint or an ack
            # (nine rows in ten) goes in as its fields, without its typed event
            stream = names.get(row[1])
            raw = row[4]
            obj = None
            if raw:
                try:
                    obj = loads(raw)
                except Exception:  # orjson refuses some JSON that json reads
                    obj = _loaded(raw)
            fields = insight_fields(obj) if obj.__class__ is dict else None
            if fields is not None:
                add_fields(row[3] or 0.0, stream, *fields)
            else:
                event = _other_event(row, obj, columns_of)
                if event is None:
                    continue
                insight.add(event, stream)
            if row[2] is None and stream is not None and raw:
                # a conflict: another event under a seq already stored, kept in a row of its own
                insight.note_conflict(stream)
            events += 1
            when = insight.last_instant
            if when:
                if when != last_when:  # (rows come in runs of the same second)
                    key = int(when // per_minute.width)
                    last_when = when
                counts = per_minute.counts
                if key in counts:
                    counts[key] += 1  # TimeBuckets.count's common case, without the call
                else:
                    per_minute.count(when)
                    last_when = None  # the buckets may have widened
                if insight.online_count != last_online:
                    last_online = insight.online_count
                    online.value(when, last_online)
            if events % chunk == 0:
                if progress is not None:
                    progress(events)
                if cancelled is not None and cancelled():
                    raise ReportCancelled()
    end = insight.latest
    if until is not None and end is not None:
        end = min(end, until)
    now = end if end is not None else (until or 0.0)
    insight.advance(now)
    if insight.latest is not None:
        online.value(insight.latest, insight.online_count)
    gaps: dict[str, list[dict[str, Any]]] = {}
    for gap in store.gaps():
        if since is not None and gap.seen_at < since or until is not None and gap.seen_at >= until:
            continue
        name = gap.stream_name or str(gap.stream_id)
        gaps.setdefault(name, []).append({"first": gap.first_seq, "last": gap.last_seq, "state": gap.state,
                                          "epoch": gap.epoch, "seen_at": _iso(gap.seen_at)})
        insight.note_gap(name, gap.first_seq, gap.last_seq, gap.state, gap.seen_at)
    if progress is not None:
        progress(events)
    return Report(store.description, since, until, insight, events, per_minute, online, gaps, now)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain data (the ``json`` format, and what the HTML shows)."""
    insight, now = report.insight, report.now
    summaries = insight.summaries(now)
    acks = insight.ack_totals()
    since = report.since if report.since is not None else insight.earliest
    until = report.until if report.until is not None else insight.latest
    worst = sorted(
        (s for s in summaries if s.flaps or s.failed_acks or s.missing_acks or s.quiet),
        key=lambda s: (-(s.flaps + s.failed_acks + s.missing_acks + (5 if s.quiet else 0)), s.dsn),
    )[:WORST]
    streams = []
    for s in insight.streams():
        streams.append({
            "stream": s.name,
            "events": s.events,
            "conflicts": s.conflicts,
            "latency_ms": {"p50": _round(s.latency.quantile(0.5)), "p95": _round(s.latency.quantile(0.95))},
            "gaps": report.gaps.get(s.name, []),
        })
    groups = insight.group_counts(now)
    return {
        "since": _iso(since),
        "until": _iso(until),
        "events": report.events,
        "database": report.database,
        "devices": [
            {
                "dsn": s.dsn,
                "oem_id": s.oem_id,
                "oem_model": s.oem_model,
                "tags": list(s.tags),
                "online": s.online,
                "online_since": _iso(s.online_since),
                "last_heard": _iso(s.last_heard),
                "flaps": s.flaps,
                "flapping": s.flapping,
                "events": s.events,
                "quiet": s.quiet,
                "typical_interval_s": _round(s.typical_interval_s),
                "latency_ms": {"p50": _round(s.latency_p50_ms), "p95": _round(s.latency_p95_ms)},
                "clock_skew_s": _round(s.skew_s),
                "acks": s.acks,
                "ack_latency_ms": {"p50": _round(s.ack_p50_ms), "p95": _round(s.ack_p95_ms)},
                "failed_acks": s.failed_acks,
                "missing_acks": s.missing_acks,
                "spikes": d.spikes if (d := insight.device(s.dsn)) is not None else 0,
            }
            for s in summaries
        ],
        "acks": {
            "acks": acks.acks,
            "paired": acks.paired,
            "failed": acks.failed,
            "missing": acks.missing,
            "pending": acks.pending,
            "duplicates": acks.duplicates,
            "failed_by_status": acks.failed_by_status,
            "latency_ms": {"p50": _round(acks.latency_p50_ms), "p95": _round(acks.latency_p95_ms)},
            "by_property": {
                name: {"acks": n, "p50_ms": _round(p50), "p95_ms": _round(p95)}
                for name, (n, p50, p95) in acks.by_property.items()
            },
            "distribution_ms": {
                "edges": [e if math.isfinite(e) else None for e in ACK_EDGES_MS],
                "counts": insight.ack_latency.histogram(ACK_EDGES_MS[:-1] + [1e18]),
            },
        },
        "streams": streams,
        "latency_ms": {"p50": _round(insight.latency.quantile(0.5)), "p95": _round(insight.latency.quantile(0.95))},
        "top_talkers": [{"dsn": dsn, "events": int(n)} for dsn, n in insight.top_talkers(None, 10)],
        "spikes": [
            {"dsn": s.dsn, "minute": _iso(s.minute_start), "events": s.count, "usual_per_minute": round(s.baseline, 1)}
            for s in insight.spikes
        ],
        "groups": {
            kind: {
                key: {"devices": c.devices, "online": c.online, "offline": c.offline, "unknown": c.unknown,
                      "quiet": c.quiet, "flapping": c.flapping}
                for key, c in sorted(table.items())
            }
            for kind, table in groups.items()
        },
        "worst": [
            {"dsn": s.dsn, "oem_model": s.oem_model, "flaps": s.flaps, "failed_acks": s.failed_acks,
             "missing_acks": s.missing_acks, "quiet": s.quiet}
            for s in worst
        ],
        "charts": {
            "bucket_s": report.per_minute.width,
            "events": [[_iso(t), n] for t, n in report.per_minute.series(since, until)]
            if since is not None and until is not None else [],
            "online": [[_iso(t), int(v)] for t, v in report.online.steps()],
        },
        "settings": {
            "quiet_factor": insight.settings.quiet_factor,
            "quiet_min_s": insight.settings.quiet_min_s,
            "ack_timeout_s": insight.settings.ack_timeout_s,
            "flapping_per_hour": insight.settings.flapping_per_hour,
        },
    }


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def report_text(data: dict[str, Any]) -> str:
    """A plain summary for a terminal."""
    acks = data["acks"]
    devices = data["devices"]
    lines = [
        f"Fleet report {data['since'] or '-'} .. {data['until'] or '-'}",
        f"{data['events']:,} events from {len(devices):,} devices"
        f" (online {sum(d['online'] is True for d in devices):,},"
        f" offline {sum(d['online'] is False for d in devices):,},"
        f" quiet {sum(d['quiet'] for d in devices):,},"
        f" flapping {sum(d['flapping'] for d in devices):,})",
        f"latency (received - event time): p50 {_ms(data['latency_ms']['p50'])}, p95 {_ms(data['latency_ms']['p95'])}",
        f"acks: {acks['acks']:,} ({acks['paired']:,} paired with their datapoint), {acks['failed']:,} failed, "
        f"{acks['missing']:,} missing, {acks['pending']:,} still waiting; "
        f"latency p50 {_ms(acks['latency_ms']['p50'])}, p95 {_ms(acks['latency_ms']['p95'])}",
    ]
    if acks["failed_by_status"]:
        lines.append("failed acks by status: " + ", ".join(f"{k}: {v:,}" for k, v in acks["failed_by_status"].items()))
    if data["worst"]:
        lines += ["", "Worst devices:"]
        for w in data["worst"]:
            lines.append(
                f"  {w['dsn']} ({w['oem_model'] or '?'}): {w['flaps']} flaps, {w['failed_acks']} failed acks, "
                f"{w['missing_acks']} missing acks{', quiet' if w['quiet'] else ''}"
            )
    quiet = [d for d in devices if d["quiet"]]
    if quiet:
        lines += ["", "Quiet (silent for much longer than their own rhythm):"]
        for d in quiet[:WORST]:
            lines.append(f"  {d['dsn']}: usually every {d['typical_interval_s']} s, last heard {d['last_heard']}")
    skewed = [d for d in devices if d["clock_skew_s"] is not None and abs(d["clock_skew_s"]) >= 5]
    if skewed:
        lines += ["", "Device clocks off by 5 s or more:"]
        for d in skewed[:WORST]:
            lines.append(f"  {d['dsn']}: {d['clock_skew_s']:+} s")
    if data["spikes"]:
        lines += ["", "Rate spikes:"]
        for s in data["spikes"][-WORST:]:
            lines.append(f"  {s['dsn'] or 'the fleet'} at {s['minute']}: {s['events']:,} events/min "
                         f"(usually {s['usual_per_minute']})")
    if data["top_talkers"]:
        lines += ["", "Top talkers: " + ", ".join(f"{t['dsn']} ({t['events']:,})" for t in data["top_talkers"])]
    lines += ["", "Streams:"]
    for s in data["streams"]:
        gaps = s["gaps"]
        still = sum(1 for g in gaps if g["state"] == "open")
        lines.append(f"  {s['stream']}: {s['events']:,} events, {len(gaps)} gaps ({still} open), "
                     f"latency p95 {_ms(s['latency_ms']['p95'])}")
    if not data["streams"]:
        lines.append("  (none)")
    return "\n".join(lines)


def render(report: Report, fmt: str) -> str:
    """The report as ``text``, ``json`` or ``html``."""
    data = report_json(report)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if fmt == "html":
        return render_html(data)
    if fmt == "text":
        return report_text(data)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
