"""History queries and chart data, on every backend (see conftest), and the
pure shaping (steps, gaps, spans) without a database."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.dss.keys import key_fingerprint
from ayla_monitor.store.database import Store
from ayla_monitor.store.history import (
    Cursor,
    Span,
    connectivity_spans,
    count_history,
    epoch_of,
    history_page,
    iso_of,
    iter_history,
    location_history,
    property_series,
    read_event,
    read_malformed,
    spans_from_changes,
    step_points,
    value_at,
    with_gaps,
)
from ayla_monitor.store.retention import cutoff_for, delete_batch
from ayla_monitor.store.writer import EventWriter

T0 = epoch_of("2024-05-01T00:00:00Z")
assert T0 is not None
DSN = "AC000W000000001"
OTHER = "AC000W000000002"
KEY = "0123456789abcdef0123456789abcdef"


class Story:
    """Builds DSS events for one or more devices, numbered in order."""

    def __init__(self) -> None:
        self.seq = 0
        self.events: list[Event] = []

    def _add(self, obj: dict[str, Any], at: float) -> None:
        self.seq += 1
        obj = {"seq": str(self.seq), **obj}
        frame = parse_frame(encode_frame(obj), at)
        assert isinstance(frame, Event.__args__), frame  # type: ignore[attr-defined]
        self.events.append(frame)

    def status(self, at: float, status: str, dsn: str = DSN) -> Story:
        self._add(wire.connectivity_event(None, oem_id="4a3e9c10", oem_model="thermostat", dsn=dsn,
                                          event_time=iso_of(at), status=status, user_uuid=None), at)
        return self

    def value(self, at: float, prop: str, base_type: str, value: Any, dsn: str = DSN) -> Story:
        self._add(wire.datapoint_event(None, oem_id="4a3e9c10", oem_model="thermostat", dsn=dsn,
                                       property_name=prop, base_type=base_type, value=value,
                                       datapoint_id=f"dp-{self.seq}", created_at=iso_of(at),
                                       user_uuid=None), at)
        return self

    def location(self, at: float, lat: float, lon: float, dsn: str = DSN) -> Story:
        self._add(wire.location_event(None, oem_id="4a3e9c10", oem_model="thermostat", dsn=dsn,
                                      ip="10.0.0.1", lat=wire.format_coordinate(lat),
                                      long=wire.format_coordinate(lon), provider="gps",
                                      created_at=iso_of(at), user_uuid=None), at)
        return self


def device_story() -> Story:
    """A thermostat that goes offline for five minutes, with values that are
    not numbers, and a second device that must not leak into the first."""
    return (
        Story()
        .status(T0, "Online")
        .value(T0 + 60, "temperature", "decimal", 21.5)
        .value(T0 + 100, "temperature", "decimal", 99.0, dsn=OTHER)
        .value(T0 + 120, "temperature", "decimal", "22.0")  # a decimal sent as text: a number
        .value(T0 + 180, "temperature", "decimal", "n/a")
        .value(T0 + 200, "temperature", "decimal", "")
        .value(T0 + 210, "temperature", "decimal", None)
        .value(T0 + 240, "power", "boolean", 1)
        .status(T0 + 300, "Offline")
        .status(T0 + 600, "Online")
        .value(T0 + 660, "temperature", "decimal", 23.0)
        .value(T0 + 700, "power", "boolean", 0)
        .location(T0 + 720, 44.7695, -69.4283)
    )


def write_story(url: str, story: Story, name: str = "history test") -> int:
    with Store.open(url) as store:
        stream_id = store.ensure_stream(name, "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    writer = EventWriter(url, commit_interval=0.01)
    writer.start()
    assert writer.submit(stream_id, story.events)
    assert writer.flush(timeout=20), writer.error
    assert writer.close() is None
    return stream_id


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    write_story(db_url, device_story())
    with Store.open(db_url) as opened:
        yield opened


# -- queries on both backends ----------------------------------------------------


def test_series_has_the_numbers_in_time_order_and_counts_the_rest(store: Store) -> None:
    series = property_series(store, DSN, ["temperature", "power"], T0 - 3600, T0 + 3600)
    temp = series["temperature"]
    assert temp.times == [T0 + 60, T0 + 120, T0 + 660]
    assert temp.values == [21.5, 22.0, 23.0]
    assert temp.skipped == 3  # "n/a", "" and null
    assert temp.base_type == "decimal"
    power = series["power"]
    assert (power.times, power.values, power.boolean) == ([T0 + 240, T0 + 700], [1.0, 0.0], True)


def test_series_range_is_half_open_and_empty_outside(store: Store) -> None:
    series = property_series(store, DSN, ["temperature"], T0 + 120, T0 + 660)["temperature"]
    assert series.times == [T0 + 120]
    empty = property_series(store, DSN, ["temperature", "nothing"], T0 + 10_000, T0 + 20_000)
    assert empty["temperature"].times == [] and empty["temperature"].skipped == 0
    assert empty["nothing"].times == [] and empty["nothing"].base_type is None


def test_connectivity_spans_start_from_the_state_before_the_range(store: Store) -> None:
    spans = connectivity_spans(store, DSN, T0 - 100, T0 + 1000)
    assert spans == [
        Span(T0 - 100, T0, None),
        Span(T0, T0 + 300, True),
        Span(T0 + 300, T0 + 600, False),
        Span(T0 + 600, T0 + 1000, True),
    ]
    assert connectivity_spans(store, DSN, T0 + 400, T0 + 500) == [Span(T0 + 400, T0 + 500, False)]
    assert connectivity_spans(store, OTHER, T0, T0 + 10) == [Span(T0, T0 + 10, None)]


def test_chart_data_breaks_where_the_device_was_offline(store: Store) -> None:
    spans = connectivity_spans(store, DSN, T0, T0 + 1000)
    series = property_series(store, DSN, ["temperature", "power"], T0, T0 + 1000)
    xs, ys = series["temperature"].drawn(spans)
    assert xs == [T0 + 60, T0 + 120, T0 + 300, T0 + 660]
    assert ys[:2] == [21.5, 22.0] and math.isnan(ys[2]) and ys[3] == 23.0
    # Booleans are steps: the value holds until the next one, and until the device left.
    xs, ys = series["power"].drawn(spans, until=T0 + 1000)
    assert xs == [T0 + 240, T0 + 300, T0 + 300, T0 + 700, T0 + 700, T0 + 1000]
    assert ys[0] == 1.0 and ys[1] == 1.0 and math.isnan(ys[2])
    assert ys[3:] == [1.0, 0.0, 0.0]


def test_location_history_newest_first_with_a_map_link(store: Store) -> None:
    (point,) = location_history(store, DSN)
    assert (point.lat, point.long, point.provider) == (44.7695, -69.4283, "gps")
    assert point.map_url() == (
        "https://www.openstreetmap.org/?mlat=44.769500&mlon=-69.428300#map=15/44.769500/-69.428300"
    )
    assert location_history(store, OTHER) == []


def _all_pages(store: Store, query: EventFilter, size: int) -> list[Any]:
    events: list[Any] = []
    after: Cursor | None = None
    pages = 0
    while True:
        page = history_page(store, query, after, size)
        pages += 1
        assert len(page.events) <= size
        events.extend(page.events)
        if page.next is None:
            return events
        after = page.next
        assert pages < 100


def test_pages_walk_every_event_once_in_time_order(store: Store) -> None:
    everything = list(store.iter_events())
    newest_first = sorted(everything, key=lambda e: (e.time, e.id), reverse=True)
    paged = _all_pages(store, EventFilter(descending=True), size=4)
    assert [e.id for e in paged] == [e.id for e in newest_first]
    oldest_first = _all_pages(store, EventFilter(descending=False), size=5)
    assert [e.id for e in oldest_first] == [e.id for e in reversed(newest_first)]
    assert paged[0].stream_name == "history test"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (EventFilter(descending=True, dsns=(OTHER,)), 1),
        (EventFilter(descending=True, dsns=(DSN,)), 12),
        (EventFilter(descending=True, dsns=(DSN,), event_types=("connectivity",)), 3),
        (EventFilter(descending=True, property_names=("power",)), 2),
        (EventFilter(descending=True, property_like="TEMP"), 7),
        (EventFilter(descending=True, text="n/a"), 1),
        (EventFilter(descending=True, since=T0 + 300, until=T0 + 700), 3),
        (EventFilter(descending=True, since=T0 + 50_000), 0),
        (EventFilter(descending=True, event_types=("location",), dsns=(OTHER,)), 0),
    ],
)
def test_filters(store: Store, query: EventFilter, expected: int) -> None:
    events = _all_pages(store, query, size=3)
    assert len(events) == expected
    assert count_history(store, query) == expected
    assert count_history(store, query, at_most=2) == min(expected, 3)  # 3: "more than 2"
    assert sum(1 for _ in iter_history(store, query, chunk=2)) == expected


def test_empty_range_gives_an_empty_last_page(store: Store) -> None:
    page = history_page(store, EventFilter(descending=True, since=T0 + 50_000))
    assert page.events == [] and page.next is None


def test_a_preview_page_cuts_long_values_in_the_database(db_url: str) -> None:
    big = "v" * 50_000
    stream_id = write_story(db_url, Story().value(T0, "blob", "string", big).value(T0 + 1, "t", "integer", 7))
    with Store.open(db_url) as store:
        page = history_page(store, EventFilter(descending=False), preview=1000)
        blob, small = page.events
        assert blob.value == "v" * 1000 and len(blob.raw or "") == 1000
        assert page.raw_lengths[0] > 50_000 and page.raw_lengths[1] == len(small.raw or "")
        assert small.value == "7"
        # The whole event, read when asked for: by row id, or as the live log knows it.
        whole = read_event(store, event_id=blob.id)
        assert whole is not None and whole.value == big and len(whole.raw or "") == page.raw_lengths[0]
        by_seq = read_event(store, stream_id=stream_id, seq=blob.seq)
        assert by_seq is not None and by_seq.id == blob.id
        assert read_event(store, stream_id=stream_id, seq=999) is None
        with pytest.raises(ValueError):
            read_event(store)


def test_a_bad_frame_is_read_back_whole(db_url: str) -> None:
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("bad", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    writer = EventWriter(db_url, commit_interval=0.01)
    writer.start()
    raw = "{" + "x" * 100_000
    assert writer.submit(stream_id, [MalformedFrame(raw, "not JSON", 1_700_000_000.123456)])
    assert writer.flush(timeout=20), writer.error
    assert writer.close() is None
    with Store.open(db_url) as store:
        bad = read_malformed(store, stream_id, 1_700_000_000.123456)
        assert bad is not None and bad.raw == raw and bad.reason == "not JSON"
        assert read_malformed(store, stream_id, 1_600_000_000.0) is None


def test_retention_deletes_old_events_in_batches(store: Store) -> None:
    cutoff = T0 + 301  # everything up to and including the Offline event
    first = delete_batch(store, cutoff, batch=4)
    assert first.events == 4
    second = delete_batch(store, cutoff, batch=4)
    assert second.events == 4
    last = delete_batch(store, cutoff, batch=4)
    assert last.events == 1  # 9 events were older
    assert delete_batch(store, cutoff, batch=4).total == 0
    left = [e.time for e in store.iter_events()]
    assert len(left) == 4 and min(left) == iso_of(T0 + 600)
    assert cutoff_for(T0 + 86_400 * 3, 2) == T0 + 86_400


# -- pure shaping ----------------------------------------------------------------


def test_steps_hold_each_value_until_the_next() -> None:
    assert step_points([1, 2, 3], [0, 1, 1]) == ([1, 2, 2, 3], [0, 0, 1, 1])
    assert step_points([1, 2], [1, 0], until=5) == ([1, 2, 2, 5], [1, 1, 0, 0])
    assert step_points([], [], until=5) == ([], [])


def test_gaps_only_between_points() -> None:
    offline = [Span(0, 1, False), Span(5, 6, False), Span(20, 30, False), Span(7, 8, True)]
    xs, ys = with_gaps([2, 4, 10], [1, 2, 3], offline)
    assert xs == [2, 4, 5, 10]
    assert ys[:2] == [1, 2] and math.isnan(ys[2]) and ys[3] == 3


def test_spans_merge_repeated_states() -> None:
    spans = spans_from_changes(True, [(2, True), (4, False), (5, False), (8, True)], 0, 10)
    assert spans == [Span(0, 4, True), Span(4, 8, False), Span(8, 10, True)]
    assert spans_from_changes(None, [], 0, 10) == [Span(0, 10, None)]


def test_hover_finds_the_nearest_point() -> None:
    assert value_at([1, 5, 9], [10, 50, 90], 6.9) == (5, 50)
    assert value_at([1, 5, 9], [10, 50, 90], 100) == (9, 90)
    assert value_at([], [], 1) is None


def test_times_round_trip() -> None:
    assert iso_of(T0 + 61.9) == "2024-05-01T00:01:01Z"
    assert epoch_of("2024-05-01T00:01:01Z") == T0 + 61
    assert epoch_of("2024-05-01T02:01:01+02:00") == T0 + 61
    assert epoch_of("yesterday") is None and epoch_of(None) is None
