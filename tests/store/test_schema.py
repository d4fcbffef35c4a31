"""A database written by release 1 (schema 1) is upgraded in place, on
SQLite (after a copy of the file) and on MariaDB, and nothing in it is lost."""

from __future__ import annotations

import json
from pathlib import Path

from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store
from ayla_monitor.store.models import SCHEMA_VERSION
from ayla_monitor.store.writer import EventWriter
from tests.conftest import sqlite_file

DATA = Path(__file__).resolve().parent.parent / "data"


def make_v1(url: str, backend: str) -> None:
    """A schema-1 database with one stream and events seq 1..3."""
    database = make_database(url)
    database.connect()
    try:
        script = (DATA / f"schema_v1.{backend}.sql").read_text()
        for statement in script.split(";"):
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            if body:
                database.execute_sql(body)
        database.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (1, 0)")
        mark = "%s" if backend == "mysql" else "?"
        database.execute_sql(
            "INSERT INTO streams (id, name, display_url, fingerprint, last_seq) VALUES (1, 's', 'wss://h', "
            "'f', 3)"
        )
        for seq in (1, 2, 3):
            database.execute_sql(
                f"INSERT INTO events (stream_id, seq, event_type, raw) VALUES (1, {mark}, 'connectivity', {mark})",
                (seq, json.dumps({"seq": str(seq)})),
            )
    finally:
        database.close()


def event(seq: int, status: str) -> object:
    obj = json.loads((DATA / "connectivity.json").read_text())
    obj["seq"] = str(seq)
    obj["connection"]["status"] = status
    return parse_frame(encode_frame(obj), 1.0)


def test_a_release_1_database_is_upgraded_in_place(db_url: str, backend: str) -> None:
    make_v1(db_url, backend)
    with Store.open(db_url) as store:
        assert store.position(1) == (0, 3)
        assert [e.seq for e in store.iter_events()] == [1, 2, 3]
        assert store.gaps() == []
    database = make_database(db_url)
    database.connect()
    try:
        assert database.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        unique = {tuple(i.columns) for i in database.get_indexes("events") if i.unique}
        assert ("stream_id", "epoch", "seq") in unique and ("stream_id", "seq") not in unique
    finally:
        database.close()
    # The old unique key is gone: epoch 1 takes seq 2 again, epoch 0's seq 2
    # with other content is a conflict kept apart.
    writer = EventWriter(db_url, commit_interval=0.01)
    writer.start()
    assert writer.submit(1, [event(2, "Online")], 1)
    assert writer.submit(1, [event(2, "Offline")], 0)
    assert writer.flush(timeout=60), writer.error
    assert writer.close() is None
    assert writer.counts(1) == (1, 0, 1, 0)
    with Store.open(db_url) as store:
        assert store.position(1) == (1, 2)
        assert store.count_events() == 5


def test_a_sqlite_file_is_copied_before_its_first_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    make_v1(f"sqlite:///{path}", "sqlite")
    with Store.open(f"sqlite:///{path}"):
        pass
    (backup,) = tmp_path.glob("events.schema-1-backup-*.sqlite")
    with sqlite_file(backup) as old:
        assert old.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
        assert old.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 3
        assert "epoch" not in [row[1] for row in old.execute("PRAGMA table_info(events)")]
    # opened again: nothing more to do, no second copy
    with Store.open(f"sqlite:///{path}"):
        pass
    assert len(list(tmp_path.glob("events.schema-*"))) == 1
