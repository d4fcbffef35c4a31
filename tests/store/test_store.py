"""The storage suite, on every backend (see conftest)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence

import pytest

from ayla_monitor.dss.events import Event, MalformedFrame, SeqGap
from ayla_monitor.dss.filter import EventFilter, epoch_of
from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.dss.keys import key_fingerprint
from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.models import SCHEMA_VERSION
from ayla_monitor.store.records import StoredEvent
from ayla_monitor.store.writer import EventWriter

from .conftest import DATA, SAMPLE_TYPES, event_from, sample

KEY = "0123456789abcdef0123456789abcdef"

MakeEvent = Callable[..., Event]


def write(url: str, stream_id: int, frames: Sequence[Event | MalformedFrame]) -> EventWriter:
    writer = EventWriter(url, commit_interval=0.01)
    writer.start()
    assert writer.submit(stream_id, frames)
    assert writer.flush(timeout=20), writer.error
    assert writer.close() is None
    return writer


@pytest.fixture
def store(db_url: str) -> Store:
    with Store.open(db_url) as opened:
        yield opened  # type: ignore[misc]


@pytest.fixture
def stream_id(store: Store) -> int:
    return store.ensure_stream("test stream", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), "datapoint").id


def test_events_table_keeps_the_original_columns(store: Store, db_url: str) -> None:
    insert = (DATA / "events.sql").read_text().split(";")[2]
    assert insert.strip().startswith("INSERT INTO events")
    raw = make_database(db_url)
    raw.connect()
    raw.execute_sql(insert)
    raw.close()
    (row,) = store.iter_events()
    assert (row.event_type, row.oem_id, row.oem_model, row.dsn, row.time, row.user_uuid) == (
        "connectivity",
        "0dfc7900",
        "ledevb",
        "AC000W000340649",
        "2018-09-24T10:26:37Z",
        "40e45b84-690c-11e8-acf3-12f911dcfe40",
    )
    assert row.stream_id is None and row.seq is None and row.raw is None


def test_every_sample_event_is_stored_and_read_back(store: Store, stream_id: int, db_url: str) -> None:
    frames = [parse_frame(text, 1_700_000_000.5) for text in json.loads((DATA / "frames.json").read_text())]
    events = [f for f in frames if isinstance(f, Event)]
    assert {e.event_type for e in events} == set(SAMPLE_TYPES)
    # Samples reuse seq 1: give each its own so that none is a duplicate.
    events = [event_from(json.loads(e.raw) | {"seq": str(100 + i)}) for i, e in enumerate(events)]
    writer = write(db_url, stream_id, events)
    assert (writer.stored, writer.duplicates, writer.pending) == (len(events), 0, 0)
    stored = list(store.iter_events())
    assert len(stored) == len(events)
    for event, row in zip(events, stored, strict=True):
        assert row.raw == event.raw
        assert (row.seq, row.event_type, row.dsn, row.time, row.user_uuid, row.received_at) == (
            event.seq,
            event.event_type,
            event.dsn,
            event.time,
            event.user_uuid,
            event.received_at,
        )
        assert row.stream_id == stream_id and row.stream_name == "test stream"
    by_type = {row.event_type: row for row in stored}
    assert (
        by_type["datapoint"].property_name,
        by_type["datapoint"].base_type,
        by_type["datapoint"].value,
    ) == (
        "Blue_LED",
        "boolean",
        "0",
    )
    assert by_type["datapointack"].value == "1"
    assert by_type["connectivity"].value == "Online"
    assert by_type["registration"].value == "unregistered"
    assert by_type["location"].value == "44.7695, -69.4283"
    assert store.last_seq(stream_id) == 100 + len(events) - 1
    assert store.streams()[0].last_seq == 100 + len(events) - 1
    assert store.position(stream_id) == (0, 100 + len(events) - 1)


def test_duplicates_are_counted_and_conflicts_kept(
    store: Store, stream_id: int, db_url: str, make_event: MakeEvent
) -> None:
    events = [make_event("datapoint", seq=i, value=i) for i in range(1, 51)]
    write(db_url, stream_id, events)
    # 40 byte-identical resends, seq 50 again with another value, seq 51 new
    resent = events[10:] + [make_event("datapoint", seq=50, value=-50), make_event("datapoint", seq=51, value=51)]
    again = write(db_url, stream_id, resent)
    assert again.counts(stream_id) == (1, 40, 1, 0)  # stored, duplicates, conflicts, bad
    assert (again.stored, again.duplicates, again.conflicts) == (2, 40, 1)
    assert store.count_events() == 52
    rows = list(store.iter_events())
    assert [e.seq for e in rows if e.seq is not None] == list(range(1, 52))
    # the conflict is kept whole, beside the first event of seq 50, and says so
    (conflict,) = [e for e in rows if e.seq is None]
    assert conflict.raw == resent[-2].raw and conflict.value == "-50"
    assert "conflict: seq 50" in (conflict.note or "")
    assert [e.value for e in rows if e.seq == 50] == ["50"]
    # the same conflicting event resent is a duplicate, not a second conflict
    third = write(db_url, stream_id, [resent[-2], events[49]])
    assert third.counts(stream_id) == (0, 2, 0, 0)
    assert store.count_events() == 52


def test_a_batch_can_hold_the_same_seq_twice(
    store: Store, stream_id: int, db_url: str, make_event: MakeEvent
) -> None:
    """20 distinct events that all carry seq 7 (a server reusing one seq):
    one is the seq's event, 19 are conflicts; nothing is merged."""
    events = [make_event("datapoint", seq=7, value=i) for i in range(20)]
    writer = write(db_url, stream_id, events + [events[3]])
    assert writer.counts(stream_id) == (1, 1, 19, 0)
    assert sorted(e.value or "" for e in store.iter_events()) == sorted(str(i) for i in range(20))


def test_two_writers_at_once_store_each_event_once(
    store: Store, stream_id: int, db_url: str, make_event: MakeEvent
) -> None:
    """Two machines recording the same stream into one database."""
    events = [make_event("connectivity", seq=i) for i in range(1, 3001)]
    writers = [EventWriter(db_url, commit_interval=0.005, batch_rows=200) for _ in range(2)]
    for w in writers:
        w.start()

    def feed(writer: EventWriter, part: list[Event]) -> None:
        for i in range(0, len(part), 100):
            assert writer.submit(stream_id, part[i : i + 100])

    threads = [
        threading.Thread(target=feed, args=(writers[0], events[:2000])),
        threading.Thread(target=feed, args=(writers[1], events[1000:])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers:
        assert w.flush(timeout=30), w.error
        assert w.close() is None
    assert sum(w.duplicates for w in writers) == 1000
    assert sum(w.conflicts for w in writers) == 0
    assert store.count_events() == 3000
    assert store.last_seq(stream_id) == 3000


def test_malformed_frames_are_stored(
    store: Store, stream_id: int, db_url: str, make_event: MakeEvent
) -> None:
    bad = [
        parse_frame("no bar here", 1.0),
        parse_frame("12|{not json", 2.0),
        parse_frame("x|{}", 3.0),
        parse_frame("2|[]", 4.0),
    ]
    assert all(isinstance(f, MalformedFrame) for f in bad)
    writer = write(db_url, stream_id, [make_event("datapoint", seq=1), *bad])
    assert (writer.stored, writer.malformed_stored) == (5, 4)
    stored = list(store.iter_malformed())
    assert [(m.raw, m.reason, m.received_at) for m in stored] == [
        (f.raw, f.reason, f.received_at) for f in bad
    ]
    assert {m.stream_name for m in stored} == {"test stream"}
    assert list(store.iter_malformed(stream_ids=[stream_id + 1])) == []
    assert store.count_events() == 1


def test_hostile_values_are_stored_without_loss(store: Store, stream_id: int, db_url: str) -> None:
    cases: dict[str, dict] = {}

    def add(name: str, obj: dict) -> None:
        obj["seq"] = str(len(cases) + 1)
        cases[name] = obj

    message = sample("datapoint")
    message["metadata"]["base_type"] = "message"
    message["datapoint"]["value"] = "é" * 1_000_000 + "😀"
    add("1 MB", message)
    html = sample("datapoint")
    html["metadata"]["base_type"] = "string"
    html["datapoint"]["value"] = "<script>alert('x')</script><b>bold</b> \"quoted\" \\ back"
    add("html", html)
    controls = sample("datapoint")
    controls["metadata"]["base_type"] = "string"
    controls["datapoint"]["value"] = "".join(chr(c) for c in range(32)) + "\x7f\u2028'"
    add("controls", controls)
    emoji = sample("connectivity")
    emoji["metadata"]["dsn"] = "AC😀"
    emoji["connection"]["status"] = "🟢 Online"
    add("emoji", emoji)
    long_dsn = sample("location")
    long_dsn["metadata"]["dsn"] = "D" * 100
    long_dsn["metadata"]["oem_model"] = "M" * 40
    long_dsn["location_event"]["user_uuid"] = "U" * 100
    add("long dsn", long_dsn)
    unknown = sample("connectivity")
    unknown["metadata"]["event_type"] = "firmware" * 10
    add("unknown type", unknown)
    nulls = sample("datapoint")
    nulls["metadata"]["dsn"] = None
    nulls["metadata"]["property_name"] = None
    nulls["datapoint"] = None
    add("nulls", nulls)
    missing = {"seq": "0", "metadata": {"event_type": "registration"}}  # seq set by add()
    add("missing fields", missing)

    events = {name: event_from(obj) for name, obj in cases.items()}
    surrogate_obj = sample("datapoint")
    surrogate_obj["metadata"]["base_type"] = "string"
    surrogate_obj["metadata"]["dsn"] = "lone\ud800"
    surrogate_obj["datapoint"]["value"] = "a\udfffb"
    surrogate_obj["seq"] = "100"
    escaped = encode_frame(json.dumps(surrogate_obj))  # as the wire sends it: \ud800 escapes
    text = json.dumps(surrogate_obj | {"seq": "101"}, ensure_ascii=False)
    literal = f"{len(text)}|{text}"  # a lone surrogate in the text itself
    events["escaped surrogate"] = parse_frame(escaped, 5.0)  # type: ignore[assignment]
    events["literal surrogate"] = parse_frame(literal, 6.0)  # type: ignore[assignment]

    write(db_url, stream_id, list(events.values()))
    rows = {row.id: row for row in store.iter_events()}
    assert len(rows) == len(events)
    by_raw_order = list(rows.values())
    got = dict(zip(events, by_raw_order, strict=True))

    for name in ("1 MB", "html", "controls", "emoji", "long dsn", "unknown type", "nulls", "missing fields"):
        assert got[name].raw == events[name].raw, name
    assert got["1 MB"].value == message["datapoint"]["value"]
    assert got["html"].value == html["datapoint"]["value"]
    assert got["controls"].value == controls["datapoint"]["value"]
    assert (got["emoji"].dsn, got["emoji"].value) == ("AC😀", "🟢 Online")
    assert (got["long dsn"].dsn, got["long dsn"].oem_model) == ("D" * 32, "M" * 32)
    assert got["long dsn"].user_uuid == "U" * 64
    assert got["unknown type"].event_type == ("firmware" * 10)[:32]
    assert "unknown" in (got["unknown type"].note or "")
    assert (got["nulls"].dsn, got["nulls"].property_name, got["nulls"].value) == (None, None, None)
    assert got["missing fields"].event_type == "registration"
    # Lone surrogates are escaped: the raw text still decodes to what was sent.
    for name, seq in (("escaped surrogate", 100), ("literal surrogate", 101)):
        row = got[name]
        assert json.loads(row.raw or "") == surrogate_obj | {"seq": str(seq)}, name
        assert row.dsn == "lone\\ud800" and row.value == "a\\udfffb", name


@pytest.fixture
def exportable(store: Store, stream_id: int, db_url: str, make_event: MakeEvent) -> list[Event]:
    events: list[Event] = []
    for i in range(40):
        kind = ("datapoint", "connectivity", "datapointack", "location")[i % 4]
        extra = (
            {"prop": "Blue_LED" if i % 8 == 0 else "Green_LED", "value": f"val{i}"}
            if kind == "datapoint"
            else {}
        )
        events.append(
            make_event(
                # seqs start at 1; _seqs() gives back the index i
                kind, seq=i + 1, dsn=f"DEV{i % 3}", time=f"2024-01-{1 + i // 4:02d}T00:00:{i % 60:02d}Z", **extra
            )
        )
    write(db_url, stream_id, events)
    return events


def _seqs(rows: list[StoredEvent]) -> list[int | None]:
    """The index in ``exportable`` of each row (its seq - 1)."""
    return [None if row.seq is None else row.seq - 1 for row in rows]


def test_export_filters_and_paging(store: Store, exportable: list[Event], stream_id: int) -> None:
    everything = list(store.iter_events(EventFilter(), chunk=7))
    assert _seqs(everything) == list(range(40))
    assert store.count_events() == 40

    def check(query: EventFilter, expected: list[int]) -> None:
        assert expected or query.limit == 0 or query.text or query.stream_ids
        assert _seqs(list(store.iter_events(query, chunk=3))) == expected, query
        assert store.count_events(query) == len(expected), query

    def where(pred: Callable[[Event], bool]) -> list[int]:
        return [e.seq - 1 for e in exportable if pred(e)]  # type: ignore[misc, operator]

    def value(e: Event) -> str:
        return str(getattr(e, "raw_value", ""))

    check(EventFilter(event_types=["connectivity"]), where(lambda e: e.event_type == "connectivity"))
    check(EventFilter(dsns=["DEV1"]), where(lambda e: e.dsn == "DEV1"))
    check(
        EventFilter(dsns=["DEV1", "DEV2"], event_types=["datapoint", "location"]),
        where(lambda e: e.dsn != "DEV0" and e.event_type in ("datapoint", "location")),
    )
    check(EventFilter(since=epoch_of("2024-01-03"), until=epoch_of("2024-01-05")), list(range(8, 16)))
    check(EventFilter(since=epoch_of("2024-01-10T00:00:38Z")), [38, 39])
    check(
        EventFilter(property_names=["Green_LED"]),
        where(lambda e: getattr(e, "property_name", None) == "Green_LED"),
    )
    check(EventFilter(text="val1"), where(lambda e: value(e).startswith("val1")))
    check(EventFilter(text="VAL2"), where(lambda e: value(e).startswith("val2")))  # case-insensitive
    check(EventFilter(text="dev2"), where(lambda e: e.dsn == "DEV2"))
    check(EventFilter(text="green"), where(lambda e: getattr(e, "property_name", None) == "Green_LED"))
    check(EventFilter(text="val_"), [])  # wildcards are literal
    check(EventFilter(text="%"), [])
    check(EventFilter(stream_ids=[stream_id + 1]), [])
    check(EventFilter(stream_ids=[stream_id], limit=5), [0, 1, 2, 3, 4])
    check(EventFilter(descending=True, limit=4), [39, 38, 37, 36])
    check(EventFilter(event_types=["datapoint"], descending=True), list(range(36, -1, -4)))
    assert _seqs(store.recent_events(3)) == [37, 38, 39]
    assert store.recent_events(0) == []


def test_device_states(store: Store, stream_id: int, db_url: str, make_event: MakeEvent) -> None:
    events = [
        make_event("connectivity", seq=1, dsn="A", status="Online", time="2024-01-01T00:00:00Z"),
        make_event("datapoint", seq=2, dsn="A", prop="Blue_LED", value=1, time="2024-01-01T00:00:01Z"),
        make_event("datapoint", seq=3, dsn="A", prop="Blue_LED", value=0, time="2024-01-01T00:00:02Z"),
        make_event("datapoint", seq=4, dsn="A", prop="blue_led", value=1, time="2024-01-01T00:00:03Z"),
        make_event("connectivity", seq=5, dsn="A", status="Offline", time="2024-01-01T00:00:04Z"),
        make_event("location", seq=6, dsn="A", time="2024-01-01T00:00:05Z"),
        make_event("registration", seq=7, dsn="B", time="2024-01-02T00:00:00Z"),
        make_event("datapointack", seq=8, dsn="B", prop="Red_LED", value=1, time="2024-01-02T00:00:01Z"),
    ]
    write(db_url, stream_id, events)
    a, b = store.device_states()
    assert (a.dsn, a.online, a.online_since, a.last_event_time) == (
        "A",
        False,
        epoch_of("2024-01-01T00:00:04Z"),
        "2024-01-01T00:00:05Z",
    )
    assert a.last_received_at == events[5].received_at
    assert {name: p.value for name, p in a.properties.items()} == {"Blue_LED": "0", "blue_led": "1"}
    assert a.properties["Blue_LED"].time == "2024-01-01T00:00:02Z"
    assert (a.lat, a.long, a.provider) == (44.7695, -69.4283, "ip-based")
    assert a.registered is None and a.oem_model == "ledevb"
    assert (b.dsn, b.online, b.registered, b.registration_type) == ("B", None, False, "AP-Mode")
    assert b.properties["Red_LED"].value == "1" and b.lat is None


def test_retention_deletes_in_batches(store: Store, exportable: list[Event]) -> None:
    assert store.delete_events_before("2024-01-04", batch=5) == 12
    assert _seqs(list(store.iter_events())) == list(range(12, 40))
    assert store.delete_events_before("2024-01-04", batch=5) == 0
    assert store.delete_events_before("2999", batch=1000) == 28
    assert store.count_events() == 0


def test_streams_are_keyed_on_the_fingerprint(store: Store, db_url: str) -> None:
    fingerprint = key_fingerprint(KEY)
    first = store.ensure_stream("one", f"wss://h/stream?stream_key={KEY}", fingerprint, "datapoint")
    assert KEY not in first.display_url and "0123…cdef" in first.display_url
    again = store.ensure_stream("renamed", "wss://h/stream", fingerprint, "datapoint")
    other = store.ensure_stream("two", "wss://h/stream", key_fingerprint("f" * 32), None)
    assert again.id == first.id and again.name == "renamed" and other.id != first.id
    assert [(s.id, s.name) for s in store.streams()] == [(first.id, "renamed"), (other.id, "two")]
    # Two machines registering the same new key at once get one row.
    with Store.open(db_url) as second:
        results: list[int] = []

        def register(s: Store) -> None:
            for i in range(20):
                results.append(s.ensure_stream(f"x{i}", "wss://h", key_fingerprint(str(i) * 32), None).id)

        threads = [threading.Thread(target=register, args=(s,)) for s in (store, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(set(results)) == 20 and len(store.streams()) == 22


def test_size_is_reported(store: Store, exportable: list[Event]) -> None:
    size = store.size_bytes()
    assert size is not None and size > 0


def test_a_newer_schema_is_refused(store: Store, db_url: str) -> None:
    raw = make_database(db_url)
    raw.connect()
    raw.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)")
    raw.close()
    with pytest.raises(
        DatabaseUnavailable,
        match=rf"newer Ayla Monitor \(schema 99; this version knows up to {SCHEMA_VERSION}\)",
    ):
        Store.open(db_url)


def test_an_original_events_table_is_adopted(db_url: str, backend: str, make_event: MakeEvent) -> None:
    if backend != "mysql":
        pytest.skip("events.sql is MySQL syntax")
    raw = make_database(db_url)
    raw.connect()
    for statement in (DATA / "events.sql").read_text().split(";"):
        if statement.strip():
            raw.execute_sql(statement)
    raw.close()
    with Store.open(db_url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
        write(db_url, sid, [make_event("datapoint", seq=5)])
        old, new = store.iter_events()
        assert (old.dsn, old.seq, new.seq, new.property_name) == ("AC000W000340649", None, 5, "Blue_LED")


def test_a_writer_recovers_when_its_table_comes_back(
    store: Store, stream_id: int, db_url: str, make_event: MakeEvent
) -> None:
    reports = []
    writer = EventWriter(db_url, commit_interval=0.01, notify=reports.append, retry_delays=(0.05, 0.1))
    writer.start()
    assert writer.submit(stream_id, [make_event("datapoint", seq=1)])
    assert writer.flush(timeout=10)
    raw = make_database(db_url)
    raw.connect()
    raw.execute_sql("DROP TABLE events")
    raw.close()
    # The writer's insert fails for real; it keeps the events, reconnects,
    # recreates the table and stores them.
    assert writer.submit(stream_id, [make_event("datapoint", seq=i) for i in range(2, 12)])
    assert writer.flush(timeout=20)
    assert writer.close() is None
    assert any(r.error and "kept" in r.error for r in reports), reports
    assert reports[-1].error is None and reports[-1].pending == 0
    assert [e.seq for e in store.iter_events()] == list(range(2, 12))


def test_recorders_sharing_a_database_share_one_gap_list(
    store: Store, stream_id: int, db_url: str, make_event: MakeEvent
) -> None:
    """Two recorders see the same gap: one row. A gap whose seqs another
    recorder already stored is recorded as filled; a closed gap stays closed."""
    write(db_url, stream_id, [SeqGap(0, 5, 9, 10.0)])
    write(db_url, stream_id, [SeqGap(0, 5, 9, 11.0)])
    write(db_url, stream_id, [make_event("datapoint", seq=20), SeqGap(0, 20, 20, 12.0)])
    gaps = store.gaps(stream_id)
    assert [(g.first_seq, g.last_seq, g.state, g.seen_at) for g in gaps] == [
        (5, 9, "open", 10.0),
        (20, 20, "filled", 12.0),
    ]
    assert gaps[1].closed_at == 12.0
    write(db_url, stream_id, [SeqGap(0, 5, 9, 13.0, "filled", "5 events received again")])
    write(db_url, stream_id, [SeqGap(0, 5, 9, 14.0)])  # seen open again by a late recorder
    (first, _) = store.gaps(stream_id)
    assert (first.state, first.detail, first.closed_at) == ("filled", "5 events received again", 13.0)
    assert store.gaps(stream_id, open_only=True) == []


def test_a_closed_store_refuses_queries_instead_of_reopening(store: Store) -> None:
    """A window's worker thread may ask after the store was closed: it gets a
    clear refusal, and no connection is opened that nobody would close."""
    store.close()
    with pytest.raises(DatabaseUnavailable, match="was closed"):
        store.streams()
    assert store._db.is_closed()
