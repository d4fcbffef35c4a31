"""The exporter against a slow reference, byte for byte, on SQLite and
MariaDB: events written by the real writer (a hostile simulated fleet, a
frame with whitespace and line breaks, a row of the original design), every
order and a filter, paging by small chunks; receive times to the millisecond;
the progress line on a real terminal and nowhere else."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import random
import re
import select
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ayla_monitor.dss import wire
from ayla_monitor.dss.filter import EventFilter, epoch_of
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.headless.export import Progress
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.database import Store
from ayla_monitor.store.export import export_events, export_malformed, iso_received, time_order
from ayla_monitor.store.models import Event
from ayla_monitor.store.records import EXPORT_COLUMNS, STORED_COLUMNS, StoredEvent
from ayla_monitor.store.writer import EventWriter

KEY = "0123456789abcdef0123456789abcdef"
T0 = 1_714_521_600.0  # 2024-05-01T00:00:00Z
#: A frame as a server might format it: spaces, a line break, non-ASCII text.
LOOSE = ('{ "seq": "%d",\n  "metadata": {"oem_id": "0dfc7900", "oem_model": "ledevb", "dsn": "LOOSE01",'
         ' "event_type": "datapoint", "property_name": "note", "display_name": "Note", "base_type": "string"},'
         '\r\n  "datapoint": {"value": "caf\u00e9 \u2014 \U0001f600", "created_at": "2024-05-01T00:00:09Z",'
         ' "updated_at": "2024-05-01T00:00:09Z", "echo": false, "metadata": {}}}')


def _frames() -> list[Any]:
    fleet = Fleet(12, seed=3, hostile=True, hostile_value_bytes=3_000)
    frames = []
    for seq in range(1, 301):
        now = T0 + seq * 0.731
        text = wire.unsequenced_text(fleet.next_event(now))
        frames.append(parse_frame(wire.sequenced_frame(text, seq), now))
    loose = LOOSE % 301
    frames.append(parse_frame(f"{len(loose.encode())}|{loose}", T0 + 400.0005))
    frames.append(parse_frame("17|this is not JSON", T0 + 401))
    return frames


@pytest.fixture
def store(db_url: str) -> Any:
    with Store.open(db_url) as opened:
        stream_id = opened.ensure_stream("export test", "ws://127.0.0.1:9/stream", KEY[:16], None).id
        writer = EventWriter(db_url, commit_interval=0.01)
        writer.start()
        assert writer.submit(stream_id, _frames())
        assert writer.flush(timeout=30), writer.error
        assert writer.close() is None
        # A row of the original design: only the original columns.
        database = opened._db
        Event.insert(event_type="datapoint", oem_id="o", oem_model="m", dsn="OLD0001",
                     time="2024-05-01T00:00:05Z", user_uuid="u").execute(database)
        yield opened


# -- the slow reference -----------------------------------------------------------


def _received(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(event: StoredEvent) -> dict[str, Any]:
    values = {c.name: getattr(event, c.name if c.name != "stream" else "stream_name") for c in STORED_COLUMNS}
    values["received_at"] = _received(event.received_at)
    return {name: values[name] for name in EXPORT_COLUMNS}


def reference(events: list[StoredEvent], fmt: str) -> bytes:
    """What an export must be, written the obvious way (StoredEvent objects,
    json.loads and json.dumps of every event)."""
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for event in events:
            writer.writerow(_fields(event))
        return text.getvalue().encode("utf-8")
    lines = []
    for event in events:
        row = _fields(event)
        try:
            row["event"] = None if event.raw is None else json.loads(event.raw)
        except ValueError:
            row["event"] = event.raw
        lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")
    return "".join(lines).encode("utf-8")


def exported(store: Store, selected: EventFilter, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    count = export_events(store, selected, fmt, out, **options)
    data = out.getvalue()
    if fmt == "csv":
        assert count == len(list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))) - 1
    else:
        assert count == data.count(b"\n")
    return data


def _by_time(events: list[StoredEvent], descending: bool) -> list[StoredEvent]:
    timed = [e for e in events if e.time is not None]
    return sorted(timed, key=lambda e: (e.time or "", e.id), reverse=descending)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_is_the_reference_byte_for_byte(store: Store, fmt: str) -> None:
    everything = list(store.iter_events())
    assert len(everything) == 302 and store.count_events() == 302
    assert exported(store, EventFilter(), fmt, chunk=7) == reference(everything, fmt)
    newest = list(reversed(everything))
    assert exported(store, EventFilter(descending=True), fmt, chunk=50) == reference(newest, fmt)
    assert exported(store, EventFilter(), fmt, by_time=True, chunk=11) == reference(_by_time(everything, False), fmt)
    assert exported(store, EventFilter(descending=True), fmt, by_time=True, chunk=4) == reference(
        _by_time(everything, True), fmt)
    datapoints = EventFilter(event_types=("datapoint",), since=epoch_of("2024-05-01T00:00:30Z"), limit=40)
    chosen = [e for e in everything if e.event_type == "datapoint" and (e.time or "") >= "2024-05-01T00:00:30Z"]
    assert exported(store, datapoints, fmt, by_time=False, chunk=9) == reference(chosen[:40], fmt)
    # A type or a time range is read in event-time order unless told (an index serves it so).
    assert time_order(datapoints) and not time_order(EventFilter(dsns=("X",), text="y"))
    assert exported(store, datapoints, fmt, chunk=9) == reference(_by_time(chosen, False)[:40], fmt)
    # ... keeping the events without a time (first, by id): a type alone does not exclude them.
    kinds = EventFilter(event_types=("datapoint", "connectivity", "bogus"))
    typed = [e for e in everything if e.event_type in kinds.event_types]  # type: ignore[operator]
    untimed = [e for e in typed if e.time is None]
    assert untimed, "the hostile fleet sends events without a time"
    assert exported(store, kinds, fmt, chunk=6) == reference(untimed + _by_time(typed, False), fmt)
    newest = EventFilter(event_types=kinds.event_types, descending=True)
    assert exported(store, newest, fmt, chunk=6) == reference(_by_time(typed, True) + untimed[::-1], fmt)


def test_json_lines_splice_the_event_as_received(store: Store) -> None:
    lines = exported(store, EventFilter(), "jsonl").decode("utf-8").split("\n")
    assert lines[-1] == ""
    rows = [orjson.loads(line) for line in lines[:-1]]  # strict JSON, one event per line
    raws = {e.id: e.raw for e in store.iter_events()}
    for line, row in zip(lines, rows, strict=False):
        raw = raws[row["id"]]
        if raw is not None and "\n" not in raw and "\r" not in raw:
            assert line.endswith(',"event":' + raw + "}")  # the stored text, untouched
        assert row["event"] == (None if raw is None else json.loads(raw))
    (loose,) = [r for r in rows if r["dsn"] == "LOOSE01"]
    assert loose["event"]["datapoint"]["value"] == "caf\u00e9 \u2014 \U0001f600"
    assert loose["received_at"] == "2024-05-01T00:06:40.000Z"
    (old,) = [r for r in rows if r["dsn"] == "OLD0001"]
    assert old["event"] is None and old["received_at"] is None and old["stream"] is None
    assert KEY not in "\n".join(lines) and KEY[:16] not in "\n".join(lines)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bad_frames_export(store: Store, fmt: str) -> None:
    out = io.BytesIO()
    assert export_malformed(store, EventFilter(malformed=True), fmt, out) == 1
    text = out.getvalue().decode("utf-8")
    if fmt == "csv":
        (row,) = csv.DictReader(io.StringIO(text))
    else:
        row = json.loads(text)
    assert row["raw"] == "17|this is not JSON" and row["stream"] == "export test"
    assert row["received_at"] == "2024-05-01T00:06:41.000Z" and row["reason"]


def _python_lines(store: Store, ids: list[int]) -> bytes:
    """The Python writer's JSON lines (what MySQL exports take, and SQLite's odd rows)."""
    from ayla_monitor.store import export

    names = {s.id: s.name for s in store.streams()}
    rows = store._db.execute_sql(f"SELECT {', '.join(c.db for c in STORED_COLUMNS)} FROM events WHERE id IN "
                                 f"({', '.join(map(str, ids))}) ORDER BY id").fetchall()
    return b"".join(export._json_line(r, names) for r in rows)


ODD_ROWS = [  # (column, value): what SQLite's lines leave to the Python writer, or must escape as it does
    ("seq", 2.5), ("received_at", -1.5), ("received_at", float("inf")), ("value", "a\rb"), ("note", "x\ry"),
    ("note", 'a "quoted", note\nover two lines'), ("value", ",,"), ("display_name", '"'), ("raw", "[1, 2]"),
    ("raw", '{"a":\r1}'), ("raw", '{"a":\n1}'), ("raw", "{not json}"), ("user_uuid", "caf\u00e9 \U0001f600\x00"),
    ("raw", '{"a":"\x00"}'), ("note", "\x00"), ("dsn", 5), ("time", 1.5),
    ("display_name", "".join(map(chr, range(1, 128))) + "\u2028\u00e9"),  # json_quote escapes as orjson does
]


def test_sqlite_json_lines_are_the_python_writers_lines(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'odd.sqlite'}") as store:
        stream = store.ensure_stream("odd, \"named\"", "ws://127.0.0.1:9/stream", KEY[:16], None).id
        plain = {"event_type": "datapoint", "dsn": "D1", "time": "2024-05-01T00:00:05Z", "stream": stream,
                 "seq": 1, "received_at": T0 + 0.25, "raw": '{"x":1}', "value": "1"}
        ids = []
        for n, (column, value) in enumerate([("seq", 1), *ODD_ROWS]):
            row = {**plain, "stream_id": stream, "seq": n + 1, column: value}
            del row["stream"]
            # as the driver takes them: the field types would make 2.5 an integer
            cursor = store._db.execute_sql(f"INSERT INTO events ({', '.join(row)}) VALUES "
                                           f"({', '.join('?' * len(row))})", tuple(row.values()))
            ids.append(cursor.lastrowid)
        for chunk in (1, 3, 5000):
            assert exported(store, EventFilter(), "jsonl", chunk=chunk) == _python_lines(store, ids)


def test_csv_lines_by_hand_are_the_csv_modules(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'odd.sqlite'}") as store:
        stream = store.ensure_stream("odd", "ws://127.0.0.1:9/stream", KEY[:16], None).id
        other = store.ensure_stream("odd, \"named\"", "ws://127.0.0.1:9/stream", "fedcba9876543210", None).id
        odd = [("seq", 1), *ODD_ROWS, ("note", None), ("stream_id", None), ("stream_id", other)]
        for n, (column, value) in enumerate(odd):
            row = {"event_type": "datapoint", "time": "2024-05-01T00:00:05Z", "stream_id": stream, "seq": n + 1,
                   "received_at": T0 + 0.25, "raw": '{"x":1}', column: value}
            store._db.execute_sql(f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                  tuple(row.values()))
        rows = store._db.execute_sql(f"SELECT {', '.join(c.db for c in STORED_COLUMNS if c.exported)} FROM events"
                                     " ORDER BY id").fetchall()
        names = {s.id: s.name for s in store.streams()}
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows((r[0], names.get(r[1]), *r[2:13], iso_received(r[13]), r[14]) for r in rows)
        for chunk in (1, 4, 5000):
            out = io.BytesIO()
            # (not exported(): a "\r" the csv module leaves unquoted before 3.13 ends a row for its reader)
            assert export_events(store, EventFilter(), "csv", out, chunk=chunk) == len(rows)
            assert out.getvalue() == text.getvalue().encode("utf-8")


def test_sqlite_receive_times_are_iso_received(tmp_path: Path) -> None:
    """SQLite's receive times, to the millisecond, on the edges of rounding
    (half a microsecond before a millisecond and a second) and at random."""
    rng = random.Random(11)
    epochs = [0.0, 0.0005, 0.9995, 0.9999995, 1_700_000_000.0004995, 1_700_000_000.9999999, 1_700_000_000.9995,
              253_402_300_798.9999999, 253_402_300_798.0]
    for _ in range(3000):
        second = rng.choice([rng.randrange(0, 4_102_444_800), rng.randrange(0, 100), rng.randrange(2**31, 2**32)])
        epochs.append(second + (rng.randrange(1, 1001) * 1000 - 0.5 + rng.choice([-1e-3, 0, 1e-3])) / 1e6)
        epochs.append(rng.uniform(0, 4_102_444_800))
    with Store.open(f"sqlite:///{tmp_path / 'times.sqlite'}") as store:
        with store._db.atomic():
            for start in range(0, len(epochs), 500):
                Event.insert_many([{"received_at": e} for e in epochs[start:start + 500]]).execute(store._db)
        rows = list(csv.DictReader(io.StringIO(exported(store, EventFilter(), "csv").decode())))
    assert [r["received_at"] for r in rows] == [iso_received(e) for e in epochs]


def test_the_columns_are_defined_once() -> None:
    # StoredEvent: id, stream_id, stream_name, then the rest in the same order.
    fields = list(StoredEvent.__dataclass_fields__)
    assert [c.name for c in STORED_COLUMNS] == ["id", "stream", *fields[3:]]
    assert tuple(c.name for c in STORED_COLUMNS if c.name != "raw") == EXPORT_COLUMNS


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_receive_times_as_datetime_writes_them(epoch: float) -> None:
    assert iso_received(epoch) == _received(epoch)


def test_receive_times_at_the_edges() -> None:
    for epoch in (0.0, 0.9995, 0.9999995, 1_700_000_000.0004995, 1_700_000_000.9999999, -1.5):
        assert iso_received(epoch) == _received(epoch)
    assert iso_received(None) is None and iso_received(float("nan")) is None


# -- the progress line --------------------------------------------------------------


def test_progress_is_silent_off_a_terminal() -> None:
    err = io.StringIO()
    progress = Progress(err)
    progress(5000)
    progress.done()
    assert err.getvalue() == ""


def test_progress_stays_off_the_terminal_that_shows_the_export() -> None:
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as tty:
            assert Progress(tty).enabled and Progress(tty, output=io.StringIO()).enabled
            assert not Progress(tty, output=tty).enabled  # the rows go to that terminal
            assert not Progress(io.StringIO(), output=tty).enabled
    finally:
        os.close(slave)
        os.close(master)


def _terminal_output(command: list[str], env: dict[str, str], out: Path) -> tuple[int, bytes, bytes]:
    """Run ``command`` with its stderr on a real terminal (a pty) and its
    stdout into ``out``; (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    try:
        with out.open("wb") as stdout:
            process = subprocess.Popen(command, stdout=stdout, stderr=slave, env=env)
        os.close(slave)
        seen = b""
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        return process.wait(30), out.read_bytes(), seen
    finally:
        os.close(master)


def test_the_command_shows_progress_on_a_terminal_only(store: Store, db_url: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    command = [sys.executable, "-m", "ayla_monitor", "export", "--db", db_url, "--format", "csv"]
    code, out, terminal = _terminal_output(command, env, tmp_path / "out.csv")
    assert code == 0, terminal
    assert re.search(rb"\r(200|302) events, [\d,]+/s", terminal), terminal  # drawn after the first read
    assert re.search(rb"\r +\r$", terminal), terminal  # and cleared at the end
    assert len(list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))) == 303
    piped = subprocess.run(command, capture_output=True, env=env, timeout=60)
    assert piped.returncode == 0 and piped.stderr == b"" and piped.stdout == out

