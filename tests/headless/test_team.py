"""Team mode from a terminal, on SQLite and MariaDB (tests/store/conftest.py):
recorders' status rows and ``ayla-monitor status``, ``tail`` following a
recorder that writes from the simulator, ``prune``; and every table with a
primary key (InnoDB on MySQL) for replicated and Galera clusters."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ayla_monitor.cli import main
from ayla_monitor.core.engine import Engine
from ayla_monitor.core.status import WriterHealth
from ayla_monitor.dss.events import Event
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.headless.team_cmd import format_status, parse_duration, tail
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store
from ayla_monitor.store.recorders import read_recorders
from tests.core.test_retention import OLD, now_iso, write

KEY = "c0ffeec0ffeec0ffeec0ffeec0ffee01"
OTHER = "c0ffeec0ffeec0ffeec0ffeec0ffee02"


def tail_args(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "type": None, "dsn": None, "property": None, "stream": None, "format": "text",
        "since": None, "poll": 0.05, "exit_after": None,
    }
    values.update(given)
    return argparse.Namespace(**values)


def dump(url: str) -> str:
    """Every row of every table, as text (to look for keys)."""
    database = make_database(url)
    database.connect()
    try:
        return "\n".join(
            repr(database.execute_sql(f"SELECT * FROM {table}").fetchall()) for table in database.get_tables()
        )
    finally:
        database.close()


def test_durations() -> None:
    assert parse_duration("30d") == 30 * 86_400
    assert parse_duration("12h") == 12 * 3600 and parse_duration("90m") == 5400
    assert parse_duration("2") == 2 * 86_400 and parse_duration("45", default_unit="s") == 45
    for bad in ("", "0d", "-3d", "soon", "3y"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_recorders_report_and_tail_follows_them(db_url: str) -> None:
    async def main_() -> None:
        config = SimulatorConfig(keys={KEY: None, OTHER: "datapoint"}, rate=200, devices=6)
        async with Simulator(config) as sim:
            async with (
                Engine(db_url, status_interval=0.3) as one,
                Engine(db_url, status_interval=0.3) as two,
            ):
                updates = one.subscribe()
                await one.add_stream(StreamDefinition.create(KEY, name="first", url=sim.url))
                await two.add_stream(StreamDefinition.create(OTHER, name="second", url=sim.url))
                async for update in updates:
                    if isinstance(update, WriterHealth) and update.stored >= 50:
                        break
                store = await asyncio.to_thread(Store.open, db_url)
                try:
                    # tail: what both recorders store from now on, each event once
                    out = io.StringIO()
                    both = lambda: "[second seq" in out.getvalue() and "[first seq" in out.getvalue()  # noqa: E731
                    await asyncio.to_thread(tail, store, tail_args(), out, stop=both)
                    printed = out.getvalue().splitlines()
                    assert "[first seq" in out.getvalue() and "[second seq" in out.getvalue()
                    jsonl = io.StringIO()
                    await asyncio.to_thread(
                        tail, store, tail_args(format="jsonl", type=["datapoint"], stream=["second"]), jsonl,
                        stop=lambda: jsonl.getvalue().count("\n") >= 20,
                    )
                    rows = [json.loads(line) for line in jsonl.getvalue().splitlines()]
                    assert {r["stream"] for r in rows} == {"second"} and {r["event_type"] for r in rows} == {"datapoint"}
                    assert all(r["event"]["seq"] == str(r["seq"]) for r in rows)
                    while True:  # until both recorders have written a status row that shows them working
                        recorders = await asyncio.to_thread(read_recorders, store)
                        if len(recorders) == 2 and all(r.events > 0 and r.rate > 0 for r in recorders):
                            break
                        await asyncio.sleep(0.05)
                finally:
                    await asyncio.to_thread(store.close)
            assert len(recorders) == 2
            by_stream = {r.streams[0].name: r for r in recorders}
            first = by_stream["first"]
            assert first.state == "live" and first.streams[0].key == "c0ff…ee01"
            assert first.events > 0 and first.last_seq is not None and first.pid > 0 and first.host
            assert first.rate > 0 and not first.stale(first.updated_at + first.interval)
            assert first.stale(first.updated_at + 3 * first.interval + 0.1)
        # each printed once, in order per stream
        seen = [line for line in printed if "[first seq" in line]
        seqs = [int(line.rsplit("seq ", 1)[1].rstrip("]")) for line in seen]
        assert seqs == sorted(set(seqs))
        with Store.open(db_url) as store:
            after = read_recorders(store)
        assert {r.state for r in after} == {"stopped"}
        text = format_status(after, "text", time.time(), "db")
        assert "stream 'first'" in text and "key c0ff…ee01" in text and "stopped" in text
        stale = format_status(recorders, "text", time.time() + 60, "db")
        assert stale.count("STALE (no update for") == 2
        assert KEY not in dump(db_url) and OTHER not in dump(db_url)

    asyncio.run(asyncio.wait_for(main_(), 90))


def test_every_table_has_a_primary_key(db_url: str) -> None:
    with Store.open(db_url) as store:
        from ayla_monitor.store.recorders import ensure_recorders_table

        store._call(ensure_recorders_table)
    database = make_database(db_url)
    database.connect()
    try:
        tables = database.get_tables()
        assert "recorders" in tables and "events" in tables
        for table in tables:
            assert database.get_primary_keys(table), f"{table} has no primary key"
        if db_url.startswith("mysql"):
            engines = dict(
                database.execute_sql(
                    "SELECT table_name, engine FROM information_schema.tables WHERE table_schema = DATABASE()"
                ).fetchall()
            )
            assert set(engines.values()) == {"InnoDB"}, engines
    finally:
        database.close()


def test_prune_and_status_commands(
    db_url: str, make_event: Callable[..., Event], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(db_url, [make_event("datapoint", seq=i, time=OLD if i <= 7 else now_iso()) for i in range(1, 11)])
    assert main(["prune", "--db", db_url, "--older-than", "30d"]) == 0
    assert "Deleted 7 events and 0 bad frames older than" in capsys.readouterr().err
    with Store.open(db_url) as store:
        assert store.count_events() == 3
    with pytest.raises(SystemExit) as refused:  # argparse: usage, the reason, exit 2
        main(["prune", "--db", db_url, "--older-than", "soon"])
    assert refused.value.code == 2
    assert "'soon' is not a duration" in capsys.readouterr().err
    assert main(["status", "--db", db_url]) == 0
    assert "No recorder has reported" in capsys.readouterr().out
    assert main(["status", "--db", db_url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["recorders"] == []
    assert main(["tail", "--db", db_url, "--since", "2000-01-01", "--exit-after", "0.5"]) == 0
    assert capsys.readouterr().out.count("\n") == 3  # what --since reaches back to, then nothing new
    assert main(["tail", "--db", db_url, "--stream", "nope", "--exit-after", "0.5"]) == 2
    assert "no stream 'nope'" in capsys.readouterr().err
    missing = tmp_path / "none" / "x.sqlite"
    assert main(["status", "--db", str(missing)]) == 4
