"""The latest-state table (``device_latest``): kept by the writer in the
transaction that stores the events, it must always say what a grouped scan
of the events says, on SQLite and MariaDB; a schema-2 database gets it
filled once when it is upgraded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playhouse.migrate import SchemaMigrator

from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.dss.keys import key_fingerprint
from ayla_monitor.fleet.device import VALUE_KEPT, DeviceState
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store import database
from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store
from ayla_monitor.store.schema import _v3
from ayla_monitor.store.writer import EventWriter

KEY = "0123456789abcdef0123456789abcdef"
T0 = 1_714_521_600.0  # 2024-05-01


def fleet_frames(count: int, *, first_seq: int = 1, devices: int = 40, seed: int = 3,
                 hostile: bool = False) -> list[Event | MalformedFrame]:
    fleet = Fleet(devices, seed=seed, hostile=hostile)
    frames: list[Event | MalformedFrame] = []
    for i, obj in enumerate(fleet.take(count, T0, 0.5)):
        obj = {**obj, "seq": first_seq + i}
        frames.append(parse_frame(encode_frame(obj), T0 + i * 0.5))  # type: ignore[arg-type]
    return frames


def write(url: str, stream_id: int, frames: list[Event | MalformedFrame], batch: int = 97) -> None:
    writer = EventWriter(url, commit_interval=0.01)
    writer.start()
    for at in range(0, len(frames), batch):  # many transactions, each with its own upsert
        assert writer.submit(stream_id, frames[at : at + batch])
    assert writer.flush(timeout=60), writer.error
    assert writer.close() is None


def refilled(url: str) -> list[DeviceState]:
    """The device states after the table was emptied and filled again by
    the upgrade's grouped scan of the events: the reference."""
    database = make_database(url)
    database.connect()
    try:
        database.execute_sql("DELETE FROM device_latest")
        _v3(database, SchemaMigrator.from_database(database))
    finally:
        database.close()
    with Store.open(url) as store:
        return store.device_states()


def test_the_writer_keeps_what_a_scan_of_the_events_says(db_url: str) -> None:
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("fleet", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    frames = fleet_frames(3000, hostile=True)
    write(db_url, stream_id, frames)
    # The same seqs again: half duplicates, and conflicts where the content differs.
    again = fleet_frames(300, seed=4)
    write(db_url, stream_id, again)
    with Store.open(db_url) as store:
        kept = store.device_states()
    assert len(kept) >= 40  # every device of the fleet (the hostile ones add odd DSNs)
    assert any(s.online is not None for s in kept) and any(s.properties for s in kept)
    assert kept == refilled(db_url)


def test_latest_values_follow_the_newest_event(db_url: str) -> None:
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("one", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    sample = json.loads((Path(__file__).parent.parent / "data" / "datapoint.json").read_text())

    def value(seq: int, v: int) -> Event:
        obj = {**sample, "seq": seq, "datapoint": {**sample["datapoint"], "value": v}}
        return parse_frame(encode_frame(obj), T0 + seq)  # type: ignore[return-value]

    prop = sample["metadata"]["property_name"]
    write(db_url, stream_id, [value(1, 10), value(2, 11)])
    with Store.open(db_url) as store:
        (state,) = store.device_states()
        assert state.properties[prop].value == "11"
    write(db_url, stream_id, [value(3, 12)])
    write(db_url, stream_id, [value(2, 11)])  # a duplicate changes nothing
    with Store.open(db_url) as store:
        (state,) = store.device_states()
        assert state.properties[prop].value == "12" and state.last_received_at == T0 + 3


def test_a_long_value_is_read_cut_with_its_length(db_url: str) -> None:
    """A fleet sending megabytes must not make the window's start read them all."""
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("long", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    sample = json.loads((Path(__file__).parent.parent / "data" / "datapoint.json").read_text())
    text = "é" + "x" * 49_999  # characters, not bytes, on both backends
    obj = {**sample, "seq": 1, "metadata": {**sample["metadata"], "base_type": "string"},
           "datapoint": {**sample["datapoint"], "value": text}}
    write(db_url, stream_id, [parse_frame(encode_frame(obj), T0)])  # type: ignore[list-item]
    with Store.open(db_url) as store:
        (state,) = store.device_states()
    prop = state.properties[sample["metadata"]["property_name"]]
    assert prop.value == text[:VALUE_KEPT] and prop.length == 50_000


def test_retention_drops_the_latest_rows_whose_events_it_deleted(db_url: str) -> None:
    from ayla_monitor.store.retention import delete_batch

    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("old", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    frames = fleet_frames(400, devices=10)  # half an hour apart at most: times from T0
    write(db_url, stream_id, frames)
    cut = T0 + 100  # the first 200 events (0.5 s apart) are older
    with Store.open(db_url) as store:
        before = {s.dsn: s for s in store.device_states()}
        while delete_batch(store, cut, batch=50).events >= 50:
            pass
        after = store.device_states()
    assert after == refilled(db_url)  # what the events left say, no more
    kept = {s.dsn for s in after}
    assert kept <= set(before) and kept  # the devices heard after the cut stay
    assert all(s.last_event_time is None or s.last_event_time >= "2024-05-01T00:01:40Z" for s in after)
    assert len(after) < len(before) or any(a != before[a.dsn] for a in after)  # the table did change


def test_a_schema_2_database_is_filled_when_upgraded(db_url: str) -> None:
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("fleet", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    write(db_url, stream_id, fleet_frames(800))
    with Store.open(db_url) as store:
        before = store.device_states()
    database = make_database(db_url)
    database.connect()
    try:  # back to what schema 2 had: no table, version 2
        database.execute_sql("DROP TABLE device_latest")
        database.execute_sql("DELETE FROM schema_version WHERE version > 2")
    finally:
        database.close()
    with Store.open(db_url) as store:
        assert store.device_states() == before
        assert len(before) == 40


def test_odd_keys_do_not_collide(db_url: str) -> None:
    """Events without a property, with an empty or missing type, or a DSN
    cut to the column's width all find their own latest row."""
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("odd", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    odd = [
        {"seq": 1, "metadata": {"dsn": "X" * 40, "event_type": "connectivity"},
         "connection": {"status": "Online", "event_time": "2024-05-01T00:00:00Z"}},
        {"seq": 2, "metadata": {"dsn": "X" * 40, "event_type": ""}},
        {"seq": 3, "metadata": {"dsn": "X" * 40}},
        {"seq": 4, "metadata": {"dsn": "X" * 40, "event_type": "connectivity"},
         "connection": {"status": "Offline", "event_time": "2024-05-01T00:01:00Z"}},
    ]
    write(db_url, stream_id, [parse_frame(encode_frame(o), T0) for o in odd])  # type: ignore[misc]
    with Store.open(db_url) as store:
        (state,) = store.device_states()
    assert state.dsn == "X" * 32 and state.online is False
    assert [state] == refilled(db_url)


def test_a_batch_that_fills_a_gap_leaves_newer_latest_rows_alone(db_url: str) -> None:
    """The writer picks a batch's latest rows from its seq range: a batch
    that fills a gap spans events stored long before (seq 5 here), which
    must not take the place of what came after them (seq 9)."""
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("gap", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    sample = json.loads((Path(__file__).parent.parent / "data" / "datapoint.json").read_text())

    def value(seq: int, prop: str, v: str) -> Event:
        obj = {**sample, "seq": seq, "metadata": {**sample["metadata"], "property_name": prop},
               "datapoint": {**sample["datapoint"], "value": v}}
        return parse_frame(encode_frame(obj), T0 + seq)  # type: ignore[return-value]

    write(db_url, stream_id, [value(1, "a", "a1"), value(5, "b", "b-old"), value(9, "b", "b-new")])
    write(db_url, stream_id, [value(3, "a", "a3"), value(7, "a", "a7")])  # the gap's seqs, late
    with Store.open(db_url) as store:
        (state,) = store.device_states()
    assert state.properties["b"].value == "b-new"
    assert state.properties["a"].value == "a7"
    assert [state] == refilled(db_url)


def test_schema_4_keys_the_latest_table_by_device_type_and_property(db_url: str, backend: str,
                                                                    tmp_path: Path) -> None:
    """A schema-3 table (an auto-increment id, which every MySQL upsert
    advanced) is keyed by (device, type, property) on MySQL, its rows kept;
    SQLite's is the same layout either way and is left alone, without a copy
    of the file."""
    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("fleet", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    write(db_url, stream_id, fleet_frames(400, devices=10))
    with Store.open(db_url) as store:
        before = store.device_states()
    database = make_database(db_url)
    database.connect()
    try:  # back to schema 3's table
        if backend == "mysql":
            database.execute_sql(
                "ALTER TABLE device_latest DROP PRIMARY KEY, "
                "ADD COLUMN id INT NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST, "
                "ADD UNIQUE INDEX device_latest_dsn_event_type_property_name (dsn, event_type, property_name)"
            )
        database.execute_sql("DELETE FROM schema_version WHERE version > 3")
    finally:
        database.close()
    with Store.open(db_url) as store:
        assert store.device_states() == before
    database = make_database(db_url)
    database.connect()
    try:
        assert database.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()[0] == 4
        if backend == "mysql":
            assert "id" not in {c.name for c in database.get_columns("device_latest")}
            assert database.get_primary_keys("device_latest") == ["dsn", "event_type", "property_name"]
    finally:
        database.close()
    assert not list(tmp_path.glob("*.schema-*"))  # nothing to undo: no copy
    write(db_url, stream_id, fleet_frames(100, first_seq=401, devices=10))
    assert refilled(db_url) == (store := Store.open(db_url)).device_states()
    store.close()


def test_one_transaction_of_several_batches_keeps_each_keys_newest(db_url: str) -> None:
    """The writer stores queued batches in one transaction: the latest rows
    are taken over all of them at once. Here the first batch sends a
    property's seqs out of order (60, then 20: the row stored last is 20's)
    and the second batch's seqs (50-80) span the first one's 60, and a
    second stream sends the same property earlier in the transaction."""
    from ayla_monitor.store.rows import build_rows
    from ayla_monitor.store.writer_process import RowSink

    with Store.open(db_url) as store:
        one = store.ensure_stream("one", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
        two = store.ensure_stream("two", "ws://127.0.0.1:9/other", key_fingerprint(KEY[::-1]), None).id
    sample = json.loads((Path(__file__).parent.parent / "data" / "datapoint.json").read_text())

    def value(seq: int, prop: str, v: str) -> Event:
        obj = {**sample, "seq": seq, "metadata": {**sample["metadata"], "property_name": prop},
               "datapoint": {**sample["datapoint"], "value": v}}
        return parse_frame(encode_frame(obj), T0 + seq)  # type: ignore[return-value]

    def blob(stream_id: int, frames: list[Event]) -> tuple[int, int, list[Any], list[Any], list[Any]]:
        events: list[Any] = []
        build_rows(stream_id, 0, frames, events, [], [])
        return (stream_id, 0, events, [], [])

    sink = RowSink(db_url)
    try:
        reply = sink.write(
            [blob(two, [value(5, "a", "from two")]),
             blob(one, [value(60, "a", "a-old"), value(20, "a", "a-new")]),
             blob(one, [value(50, "b", "b50"), value(80, "b", "b80")])],
            {one: (0, 80), two: (0, 5)},
        )
    finally:
        sink.close()
    assert reply[0] == "ok", reply
    with Store.open(db_url) as store:
        (state,) = store.device_states()
    assert state.properties["a"].value == "a-new" and state.properties["b"].value == "b80"
    assert [state] == refilled(db_url)


def test_the_overview_then_the_properties_make_the_device_states(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window starts from every device without its properties and reads
    those next, in DSN chunks: merged, they are what device_states says,
    the OEM of each device's latest row included."""
    from tests.store.conftest import event_from, sample

    with Store.open(db_url) as store:
        stream_id = store.ensure_stream("fleet", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    frames = fleet_frames(3000, hostile=True)
    moved: list[Event | MalformedFrame] = []  # one device changes model: its newest row says which
    for seq, (kind, model) in enumerate((("connectivity", "old"), ("location", "old"), ("datapoint", "new")), 3001):
        obj = sample(kind)
        obj["seq"] = seq
        obj["metadata"] = {**obj["metadata"], "dsn": "AC000MOVED", "oem_model": model}
        moved.append(event_from(obj, T0 + seq))
    write(db_url, stream_id, frames + moved)
    with Store.open(db_url) as store:
        whole = store.device_states()
        overview = store.device_overview()
        dsns = [state.dsn for state in overview]
        assert dsns == [state.dsn for state in whole]
        assert not any(state.properties or state.trends for state in overview)
        assert any(state.online is not None for state in overview) and any(s.lat is not None for s in overview)
        shown = {state.dsn: state for state in overview}
        for at in range(0, len(dsns), 7):
            for part in store.device_properties(dsns[at : at + 7]):
                assert part.dsn in dsns[at : at + 7] and part.properties
                assert (part.online, part.lat, part.registered, part.last_received_at) == (None, None, None, None)
                state = shown[part.dsn]
                state.properties.update(part.properties)
                state.trends.update(part.trends)
        monkeypatch.setattr(database, "_DSNS_A_READ", 3)  # one call, many statements
        at_once = store.device_properties(dsns)
    assert [(s.dsn, s.properties, s.trends) for s in at_once] == [(s.dsn, s.properties, s.trends) for s in whole
                                                                  if s.properties]
    assert shown["AC000MOVED"].oem_model == "new"
    assert overview == whole
