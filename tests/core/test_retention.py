"""Retention in the engine: batches by id ranges under the time bound, the
advisory lock on MySQL, and the engine pruning while a stream records.
On SQLite and MariaDB (see tests/store/conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from ayla_monitor.core.engine import Engine
from ayla_monitor.core.status import WriterHealth
from ayla_monitor.dss.events import Event
from ayla_monitor.dss.keys import key_fingerprint
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store
from ayla_monitor.store.retention import LOCK_NAME, delete_batch, id_ranges, prune
from ayla_monitor.store.writer import EventWriter

KEY = "0123456789abcdef0123456789abcdef"
OLD = "2024-01-01T00:00:00Z"


def now_iso(offset: float = 0.0) -> str:
    return datetime.fromtimestamp(time.time() + offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write(url: str, events: list[Event]) -> int:
    with Store.open(url) as store:
        stream_id = store.ensure_stream("retention", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    writer = EventWriter(url, commit_interval=0.01)
    writer.start()
    for start in range(0, len(events), 5000):
        while not writer.submit(stream_id, events[start : start + 5000]):
            time.sleep(0.01)
    assert writer.flush(timeout=60), writer.error
    assert writer.close() is None
    return stream_id


def times(url: str) -> list[str]:
    with Store.open(url) as store:
        return [e.time or "" for e in store.iter_events()]


def test_id_ranges_split_where_ids_are_far_apart() -> None:
    assert id_ranges([5, 1, 2, 3, 9], 1) == [(1, 3), (5, 5), (9, 9)]
    assert id_ranges([1, 3, 5, 1000], 10) == [(1, 5), (1000, 1000)]
    assert id_ranges([], 10) == []


def test_a_batch_deletes_by_id_range_and_keeps_newer_rows_inside_it(
    db_url: str, make_event: Callable[..., Event]
) -> None:
    # ids 1..30: old, old, new, old, ... : a range over the old ids holds new rows too.
    events = [
        make_event("datapoint", seq=i, time=now_iso() if i % 3 == 0 else OLD) for i in range(1, 31)
    ]
    write(db_url, events)
    with Store.open(db_url) as store:
        first = delete_batch(store, time.time() - 86_400, batch=8)
        assert first.events == 8
        assert prune(store, time.time() - 86_400, batch=8).events == 12
        assert prune(store, time.time() - 86_400, batch=8).total == 0
    left = times(db_url)
    assert len(left) == 10 and OLD not in left


def test_the_engine_prunes_while_a_stream_records(db_url: str, make_event: Callable[..., Event]) -> None:
    old = [make_event("datapoint", seq=i, time=OLD) for i in range(1, 3001)]
    write(db_url, old)

    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY.replace("0", "a"): None}, rate=400, devices=5)) as sim:
            async with Engine(db_url, retention_days=30) as engine:
                engine.retention.batch = 500
                engine.retention.pause = 0.01
                updates = engine.subscribe()
                await engine.add_stream(StreamDefinition.create(KEY.replace("0", "a"), name="live", url=sim.url))
                async for update in updates:
                    if isinstance(update, WriterHealth) and update.stored >= 200 and engine.retention.rounds:
                        break
                assert engine.retention.last is not None
                assert engine.retention.last.events == 3000 and engine.retention.last.batches >= 6
                # A smaller setting takes effect at once.
                engine.retention.set_days(None)
                assert engine.retention.days is None
            status = engine.statuses()[0]  # after the writer closed
            # every live event received was stored (the prune held nothing up for good)
            with Store.open(db_url) as store:
                assert store.count_events() == status.stored == status.events
            assert OLD not in times(db_url)

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.mysql
def test_one_process_prunes_at_a_time_on_mysql(make_event: Callable[..., Event]) -> None:
    from tests.store.conftest import drop_project_tables, mysql_url

    url = mysql_url()
    drop_project_tables(url)
    try:
        write(url, [make_event("datapoint", seq=i, time=OLD) for i in range(1, 11)])
        other = make_database(url)
        other.connect()
        try:
            assert other.execute_sql("SELECT GET_LOCK(%s, 0)", (LOCK_NAME,)).fetchone()[0] == 1
            with Store.open(url) as store:
                skipped = prune(store, time.time())
                assert skipped.skipped and skipped.total == 0
                assert store.count_events() == 10
                other.execute_sql("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
                done = prune(store, time.time())
                assert not done.skipped and done.events == 10
                # released again: another connection takes it at once
                assert other.execute_sql("SELECT GET_LOCK(%s, 0)", (LOCK_NAME,)).fetchone()[0] == 1
        finally:
            other.close()
    finally:
        drop_project_tables(url)
