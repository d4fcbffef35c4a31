"""``scan_events(..., aside=True)``: on MySQL the rows are read by a process
of its own and must be exactly the rows read in place (order, chunk
boundaries, rows without their JSON, ``after`` and a selection); a consumer
that stops early leaves no process behind; a database that cannot be
reached, at the start or in the middle, is the same one clear sentence, and
so is a reader process killed; a bug in it comes back with its traceback."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from ayla_monitor.dss import wire
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.connection import make_database, open_read_only
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.scan import BARE_COLUMNS, SCAN_COLUMNS, scan_events
from ayla_monitor.store.writer import EventWriter
from tests.store.conftest import drop_project_tables, mysql_url

T0 = 1_767_225_600.0
EVENTS = 1410  # a multiple of one chunk below, not of the others; ~700 KB, ten pipe buffers
ANY_HOST = "'%%'"  # MySQL's "any host", its % doubled for PyMySQL's own formatting


def readers() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "ayla-db-reader"]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """``EVENTS`` events of the scenario fleet in MariaDB, the first connectivity row without its JSON."""
    url = mysql_url()
    drop_project_tables(url)
    fleet = Fleet(5, seed=3, scenarios=True)
    frames = [parse_frame(wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(T0 + i)), i + 1), T0 + i + 0.5)
              for i in range(EVENTS)]
    with Store.open(url) as store:
        stream_id = store.ensure_stream("scan", "ws://127.0.0.1:9/stream", "e" * 64, None).id
    writer = EventWriter(url, commit_interval=0.01)
    writer.start()
    assert writer.submit(stream_id, frames)  # type: ignore[arg-type]
    assert writer.flush(timeout=60), writer.error
    assert writer.close() is None
    database = make_database(url)
    database.connect()
    database.execute_sql("UPDATE events SET raw = NULL WHERE event_type = 'connectivity' ORDER BY id LIMIT 1")
    database.close()
    yield url
    drop_project_tables(url)


@pytest.mark.mysql
@pytest.mark.parametrize("chunk", [10, 7, 1000])
def test_read_aside_gives_the_rows_read_in_place(url: str, chunk: int) -> None:
    with Store.open(url) as store:
        here = list(scan_events(store, chunk=chunk))
        aside = list(scan_events(store, chunk=chunk, aside=True))
        assert aside == here and len(here) == EVENTS
        assert [r[0] for r in aside] == sorted(r[0] for r in aside)
        bare = [r for r in aside if r[SCAN_COLUMNS.index("raw")] is None]
        assert len(bare) == 1 and len(bare[0]) == len(SCAN_COLUMNS) + len(BARE_COLUMNS)
        assert bare[0][len(SCAN_COLUMNS) + BARE_COLUMNS.index("event_type")] == "connectivity"
        # from an id on, and a selection
        after = here[333][0]
        assert list(scan_events(store, chunk=chunk, after=after, aside=True)) == here[334:]
        acks = EventFilter(event_types=("datapointack",))
        assert list(scan_events(store, acks, chunk=chunk, aside=True)) == list(scan_events(store, acks, chunk=chunk))
    assert readers() == []


@pytest.mark.mysql
def test_stopping_early_stops_the_reader_process(url: str) -> None:
    with Store.open(url) as store:
        rows = scan_events(store, chunk=5, aside=True)
        assert len([next(rows) for _ in range(12)]) == 12
        assert readers()
        rows.close()
        assert readers() == []


def test_an_unreachable_server_is_the_same_sentence_read_aside() -> None:
    bad = "mysql://root:s3cret@127.0.0.1:1/test"
    store = Store(bad, make_database(bad))  # not connected: the scan is the first to try
    messages = []
    for aside in (False, True):
        with pytest.raises(DatabaseUnavailable) as caught:
            list(scan_events(store, aside=aside))
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == "Cannot reach the MySQL server at 127.0.0.1:1 (connection refused)."
    assert readers() == []


@pytest.mark.mysql
def test_a_database_lost_in_the_middle_of_a_scan_is_one_clear_sentence(url: str) -> None:
    parts = urlsplit(url)
    user = f"ayla_scan_{os.getpid()}"
    admin = make_database(url)
    admin.connect()
    try:
        admin.execute_sql(f"CREATE USER '{user}'@{ANY_HOST}")
        admin.execute_sql(f"GRANT SELECT ON `{parts.path.strip('/')}`.* TO '{user}'@{ANY_HOST}")
        reader_url = f"mysql://{user}@{parts.hostname}:{parts.port or 3306}{parts.path}"
        with Store(reader_url, open_read_only(reader_url)) as store:
            rows = scan_events(store, chunk=5, aside=True)
            next(rows)  # the reader is ahead by a pipe buffer at most (64 KB: ~130 rows): far from the end
            # the account locked and its connection gone: the reader's reconnection is refused
            admin.execute_sql(f"ALTER USER '{user}'@{ANY_HOST} ACCOUNT LOCK")
            for (connection,) in admin.execute_sql(
                    "SELECT id FROM information_schema.processlist WHERE user = %s", (user,)).fetchall():
                admin.execute_sql(f"KILL CONNECTION {int(connection)}")
            with pytest.raises(DatabaseUnavailable) as caught:
                list(rows)
            # as the scan in place says it (MariaDB: "... failed (Access denied, this account is locked).")
            assert str(caught.value).startswith(f"The MySQL database {store.description} failed (")
            assert "locked" in str(caught.value)
        assert readers() == []
    finally:
        admin.execute_sql(f"DROP USER IF EXISTS '{user}'@{ANY_HOST}")
        admin.close()


@pytest.mark.mysql
def test_a_cancelled_report_stops_its_reader_process(url: str) -> None:
    from ayla_monitor.headless.report import ReportCancelled, build_report

    with Store.open(url) as store:
        try:
            build_report(store, chunk=5, cancelled=lambda: True)
        except ReportCancelled:
            # the report's frame is still held here (by the traceback), its generator with it
            assert readers() == []
        else:
            pytest.fail("not cancelled")


@pytest.mark.mysql
def test_a_failure_that_is_not_the_databases_comes_back_with_its_traceback(url: str) -> None:
    admin = make_database(url)
    admin.connect()
    try:
        with Store.open(url) as store:
            rows = scan_events(store, chunk=5, aside=True)
            next(rows)  # far from the end, as above
            admin.execute_sql("RENAME TABLE events TO events_away")  # the next query names a table that is gone
            with pytest.raises(RuntimeError) as caught:
                list(rows)
            assert "The database reader process failed:\nTraceback" in str(caught.value)
            assert "events' doesn't exist" in str(caught.value)
        assert readers() == []
    finally:
        admin.execute_sql("RENAME TABLE events_away TO events")
        admin.close()


@pytest.mark.mysql
def test_a_killed_reader_process_is_one_clear_sentence(url: str) -> None:
    with Store.open(url) as store:
        rows = scan_events(store, chunk=5, aside=True)
        next(rows)  # far from the end, as above
        (reader,) = readers()
        reader.kill()
        with pytest.raises(DatabaseUnavailable) as caught:
            list(rows)
        assert str(caught.value) == f"Reading {store.description} stopped: its reader process was killed."
    assert readers() == []
