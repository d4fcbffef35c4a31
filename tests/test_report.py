"""``ayla-monitor report``: the JSON numbers against a count made by hand from
``ayla-monitor export`` of the same range, the HTML self-contained, bad
input refused with a reason. The database is filled by the real writer
with the simulator's scenario fleet (15 minutes of it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import Connectivity, DatapointAck, DssEvent, SeqGap
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.headless.report import TimeBuckets, build_report, event_of_row, render
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.database import Store
from ayla_monitor.store.scan import BARE_COLUMNS, SCAN_COLUMNS, bare_columns, scan_events
from ayla_monitor.store.writer import EventWriter
from tests.conftest import sqlite_file
from tests.store.conftest import drop_project_tables, mysql_url

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
MINUTES = 15
STREAM = "scenario stream"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def fill(url: str) -> tuple[str, str]:
    """15 minutes of the scenario fleet at 20 events/s, and a gap; returns the fleet's
    flapping and acks devices."""
    fleet = Fleet(20, seed=11, scenarios=True)
    frames: list[Any] = []
    seq = 0
    for i in range(MINUTES * 60 * 20):
        now = T0 + i * 0.05
        seq += 1
        if seq == 5000:
            frames.append(SeqGap(0, 5000, 5003, now))
            seq = 5004
        frame = parse_frame(wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(now)), seq), now + 0.25)
        assert isinstance(frame, DssEvent)
        frames.append(frame)
    with Store.open(url) as store:
        stream_id = store.ensure_stream(STREAM, "ws://127.0.0.1:9/stream", "f" * 64, None).id
    writer = EventWriter(url, commit_interval=0.01)
    writer.start()
    for at in range(0, len(frames), 2000):
        assert writer.submit(stream_id, frames[at : at + 2000])
    assert writer.flush(timeout=60), writer.error
    assert writer.close() is None
    return fleet.roles["flapping"].dsn, fleet.roles["acks"].dsn


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    path = tmp_path_factory.mktemp("report") / "fleet.sqlite"
    flapping, acks = fill(f"sqlite:///{path}")
    return str(path), flapping, acks


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def any_database(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    """The SQLite file, or the same fleet in MariaDB (AYLA_TEST_MYSQL_URL)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("database")
        return
    url = mysql_url()
    drop_project_tables(url)
    flapping, acks = fill(url)
    yield url, flapping, acks
    drop_project_tables(url)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ayla_monitor", *args], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))


def ok(status: int | None, message: Any) -> bool:
    return status is not None and 200 <= status <= 299 and message in (None, 0, "0")


def by_hand(lines: list[dict[str, Any]], until: float | None) -> dict[str, Any]:
    """The report's numbers, counted from export lines with the plain definitions."""
    events_by_device: Counter[str] = Counter()
    flaps: Counter[str] = Counter()
    last_status: dict[str, str] = {}
    datapoints: list[tuple[str, str, str, float]] = []  # id, dsn, property, created
    acks: dict[str, tuple[str, str, float, bool]] = {}  # id -> dsn, property, acked_at, failed
    latest = 0.0
    for line in lines:
        obj = line["event"]
        meta = obj["metadata"]
        kind = meta["event_type"]
        dsn = meta["dsn"]
        events_by_device[dsn] += 1
        if kind == "connectivity":
            status = obj["connection"]["status"]
            if dsn in last_status and last_status[dsn] != status:
                flaps[dsn] += 1
            last_status[dsn] = status
            latest = max(latest, epoch(obj["connection"]["event_time"]) or 0)
        elif kind == "datapoint":
            body = obj["datapoint"]
            created = epoch(body["created_at"])
            assert created is not None
            datapoints.append((body["id"], dsn, meta["property_name"], created))
            latest = max(latest, created)
        elif kind == "datapointack":
            body = obj["datapoint"]
            acked = epoch(body["acked_at"])
            assert acked is not None
            if body["id"] not in acks:
                acks[body["id"]] = (dsn, meta["property_name"], acked, not ok(body["ack_status"], body["ack_message"]))
            latest = max(latest, acked)
        else:
            latest = max(latest, epoch(line["time"]) or 0)
    end = min(latest, until) if until is not None else latest
    dp_ids = {d[0] for d in datapoints}
    acked_at_by_property: dict[tuple[str, str], list[float]] = defaultdict(list)
    for dsn, prop, acked, _failed in acks.values():
        acked_at_by_property[(dsn, prop)].append(acked)
    missing = 0
    for dp_id, dsn, prop, created in datapoints:
        deadline = created + 60
        if deadline > end:
            continue  # still waiting when the data ends
        ack = acks.get(dp_id)
        if ack is not None and ack[2] < deadline:
            continue
        if any(t < deadline for t in acked_at_by_property[(dsn, prop)]):
            missing += 1
    return {
        "events": len(lines),
        "devices": dict(events_by_device),
        "flaps": dict(flaps),
        "paired": len(set(acks) & dp_ids),
        "failed": sum(a[3] for a in acks.values()),
        "missing": missing,
    }


@pytest.mark.parametrize("bounds", [(), ("--since", iso(T0 + 180), "--until", iso(T0 + 660))],
                         ids=["everything", "a range"])
def test_json_numbers_match_a_count_by_hand_from_export(any_database: tuple[str, str, str],
                                                         bounds: tuple[str, ...]) -> None:
    db, flapping, acks_device = any_database
    report = cli("report", "--db", db, "--format", "json", *bounds)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    export = cli("export", "--db", db, "--format", "jsonl", *bounds)
    assert export.returncode == 0, export.stderr
    lines = [json.loads(line) for line in export.stdout.splitlines()]
    until = epoch(bounds[3]) + 1 if bounds else None  # --until names a second and includes it
    hand = by_hand(lines, until)

    assert data["events"] == hand["events"] > 5000
    devices = {d["dsn"]: d for d in data["devices"]}
    assert {dsn: d["events"] for dsn, d in devices.items()} == hand["devices"]
    assert {dsn: d["flaps"] for dsn, d in devices.items() if d["flaps"]} == hand["flaps"]
    assert devices[flapping]["flaps"] >= 30 and devices[flapping]["flapping"]
    assert (data["acks"]["paired"], data["acks"]["failed"], data["acks"]["missing"]) == (
        hand["paired"], hand["failed"], hand["missing"])
    assert devices[acks_device]["missing_acks"] >= 20 and devices[acks_device]["failed_acks"] >= 20
    assert data["acks"]["latency_ms"]["p95"] is not None
    # the shape the issue asks for
    assert set(data) >= {"since", "until", "events", "devices", "acks", "streams"}
    assert set(data["devices"][0]) >= {"dsn", "oem_model", "online", "flaps", "events", "quiet", "typical_interval_s"}
    assert set(data["acks"]["latency_ms"]) == {"p50", "p95"}
    (stream,) = data["streams"]
    assert stream["stream"] == STREAM and stream["events"] == hand["events"]
    if not bounds:
        assert data["since"] == iso(T0) and stream["gaps"] == [
            {"first": 5000, "last": 5003, "state": "open", "epoch": 0, "seen_at": stream["gaps"][0]["seen_at"]}]
    else:
        assert (data["since"], data["until"]) == (iso(T0 + 180), iso(T0 + 661))


def test_html_is_one_self_contained_file_with_its_charts(database: tuple[str, str, str], tmp_path: Path) -> None:
    db, flapping, _acks = database
    out = tmp_path / "fleet.html"
    done = cli("report", "--db", db, "--format", "html", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 4  # events per minute, online, ack latency, worst devices
    assert flapping in page
    # nothing to fetch: no script, no external reference of any kind
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "url(" not in page and "@import" not in page


def test_text_names_the_problems(database: tuple[str, str, str]) -> None:
    db, flapping, acks_device = database
    done = cli("report", "--db", db)
    assert done.returncode == 0, done.stderr
    assert "Fleet report 2026-01-01T00:00:00Z" in done.stdout
    assert f"{flapping} (" in done.stdout and f"{acks_device} (" in done.stdout
    assert "Rate spikes:" in done.stdout and "Quiet" in done.stdout


def test_bad_input_gets_a_reason_not_a_traceback(tmp_path: Path) -> None:
    missing = cli("report", "--db", str(tmp_path / "nothing.sqlite"))
    assert missing.returncode == 4 and "Traceback" not in missing.stderr
    assert "ayla-monitor report:" in missing.stderr
    bad_time = cli("report", "--db", str(tmp_path / "x.sqlite"), "--since", "last tuesday")
    assert bad_time.returncode == 2 and "is not a date or time" in bad_time.stderr
    unwritable = cli("report", "--db", str(tmp_path / "x.sqlite"), "-o", str(tmp_path / "no" / "such" / "f.html"))
    assert unwritable.returncode in (2, 4) and "Traceback" not in unwritable.stderr


def test_an_empty_database_reports_nothing_found(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    with Store.open(url) as store:
        report = build_report(store)
        for fmt in ("text", "json", "html"):
            assert render(report, fmt)
    data = json.loads(render(report, "json"))
    assert data["events"] == 0 and data["devices"] == [] and data["since"] is None


def test_a_row_without_its_json_is_rebuilt_from_its_columns(database: tuple[str, str, str], tmp_path: Path) -> None:
    db, _flapping, _acks = database
    copy = tmp_path / "copy.sqlite"
    shutil.copy(db, copy)
    with sqlite_file(copy) as connection:  # a row as another tool writes it: no JSON, the status as value
        first = connection.execute("SELECT MIN(id) FROM events WHERE event_type = 'connectivity'").fetchone()[0]
        connection.execute("UPDATE events SET raw = NULL WHERE id = ?", (first,))
    raw, value = SCAN_COLUMNS.index("raw"), len(SCAN_COLUMNS) + BARE_COLUMNS.index("value")
    with Store.open(f"sqlite:///{copy}") as store:
        rows = list(scan_events(store, EventFilter(event_types=("connectivity", "datapointack"), limit=50)))
        bare = next(r for r in rows if r[0] == first)
        assert bare[raw] is None and bare[value] in ("Online", "Offline")
        rebuilt = event_of_row(bare)
        assert isinstance(rebuilt, Connectivity) and rebuilt.status == bare[value]
        assert rebuilt.dsn == bare[len(SCAN_COLUMNS) + BARE_COLUMNS.index("dsn")]
        other = next(r for r in rows if r[0] != first and '"connectivity"' in r[raw])
        assert len(other) == len(SCAN_COLUMNS)  # the columns are read only for a row without its JSON
        # JSON that does not read: the columns are asked for
        unreadable = other[:raw] + ("{not json",)
        assert event_of_row(unreadable) is None
        asked: list[int] = []

        def columns_of(row_id: int) -> tuple[Any, ...] | None:
            asked.append(row_id)
            return bare_columns(store, [row_id]).get(row_id)

        assert isinstance(event_of_row(unreadable, columns_of), Connectivity) and asked == [other[0]]
    assert event_of_row((None,) * len(SCAN_COLUMNS)) is None
    # an ack built from its JSON says what parse_event says
    ack_row = next(r for r in rows if r[0] != first and '"datapointack"' in r[raw])
    lean = event_of_row(ack_row)
    full = parse_frame(f"1|{ack_row[raw]}", ack_row[SCAN_COLUMNS.index("received_at")])
    assert isinstance(lean, DatapointAck) and isinstance(full, DatapointAck)
    for name in ("datapoint_id", "created_at", "created_at_from_device", "acked_at", "ack_status", "ack_message",
                 "ack_id", "resource_tags", "dsn", "oem_id", "oem_model", "property_name", "time", "received_at"):
        assert getattr(lean, name) == getattr(full, name), name


def test_time_buckets_widen_to_stay_bounded() -> None:
    buckets = TimeBuckets(width=60, limit=10)
    for minute in range(100):
        buckets.count(T0 + minute * 60)
        buckets.value(T0 + minute * 60, float(minute))
    assert len(buckets.counts) <= 10 and buckets.width >= 600
    assert sum(n for _, n in buckets.series(T0, T0 + 99 * 60)) == 100
    steps = buckets.steps()
    assert steps[-1] == (T0 + 99 * 60, 99.0) and len(steps) <= 10
