"""Nothing lost, nothing hidden: every frame the simulator sends is accounted
for (stored, duplicate, conflict, bad frame, heartbeat), gaps are recorded and
filled, a server that restarts its sequence and an oversized frame lose
nothing. The real simulator, the real engine, a real SQLite file and a real
MariaDB (when ``AYLA_TEST_MYSQL_URL`` is set)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.core.engine import Engine
from ayla_monitor.core.status import StatusChanged, StreamState, StreamStatus
from ayla_monitor.dss.client import ClientOptions
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.events import SeqGap
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.store.database import Store
from tests.store.conftest import drop_project_tables, mysql_url

KEY = "0123456789abcdef0123456789abcdef"
#: generous: the machine may be busy; tests finish far sooner.
TIMEOUT = 120.0


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.sqlite'}"
        return
    found = mysql_url()
    drop_project_tables(found)
    yield found
    drop_project_tables(found)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def until(engine: Engine, stream_id: int, condition: Callable[[StreamStatus], bool]) -> StreamStatus:
    """Wait for a status of the stream that meets ``condition``."""
    updates = engine.subscribe()
    for status in engine.statuses():
        if status.stream_id == stream_id and condition(status):
            return status
    async for update in updates:
        if isinstance(update, StatusChanged) and update.status.stream_id == stream_id:
            if condition(update.status):
                return update.status
    raise AssertionError("unreachable")


def settled(engine: Engine) -> Callable[[StreamStatus], bool]:
    """Everything received is accounted for by the database."""
    return lambda s: s.received > 0 and s.pending == 0 and not engine.writer.pending


def test_every_frame_sent_is_accounted_for(url: str) -> None:
    """Duplicates, seqs reused for other events, non-integer and zero seqs,
    garbage frames: received = stored + duplicates + conflicts + bad frames."""
    config = SimulatorConfig(
        keys={KEY: None},
        rate=0,
        devices=5,
        dup_every=5,
        conflict_every=7,
        bad_seq_every=9,
        malformed_every=11,
    )

    async def main() -> None:
        async with Simulator(config) as sim:
            sim.prefill(300)
            async with Engine(url) as engine:
                definition = StreamDefinition.create(
                    KEY, name="sim", url=sim.url, replay=ReplayWindow(1, 300)
                )
                stream_id = await engine.add_stream(definition)
                await until(engine, stream_id, lambda s: s.state is StreamState.STOPPED)
                await asyncio.to_thread(engine.writer.flush, 60)
                status = await until(engine, stream_id, settled(engine))
            sent = sim.events_sent + sim.duplicates_sent + sim.conflicts_sent
            sent += sim.bad_seqs_sent + sim.malformed_sent
            assert sim.duplicates_sent and sim.conflicts_sent and sim.bad_seqs_sent and sim.malformed_sent
            assert status.received == sent
            assert status.stored == 300
            assert status.duplicates == sim.duplicates_sent
            assert status.conflicts == sim.conflicts_sent
            assert status.bad_stored == sim.bad_seqs_sent + sim.malformed_sent
            assert status.received == status.stored + status.duplicates + status.conflicts + status.bad_stored
            with Store.open(url) as store:
                rows = list(store.iter_events())
                bad = list(store.iter_malformed())
            assert len(rows) == 300 + sim.conflicts_sent
            assert sorted(r.seq for r in rows if r.seq is not None) == list(range(1, 301))
            conflicts = [r for r in rows if r.seq is None]
            assert all("conflict: seq" in (r.note or "") for r in conflicts)
            assert len(bad) == sim.bad_seqs_sent + sim.malformed_sent
            assert any("not a positive integer" in b.reason for b in bad)
            assert any("is not an integer" in b.reason for b in bad)

    run(main())


def test_gaps_are_recorded_and_filled_from_the_replay_buffer(url: str) -> None:
    """The server skips every 10th seq live but still holds it: the gaps are
    recorded, and asked for again; those it no longer holds are marked lost."""

    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=0, devices=5, gap_every=10)) as sim:
            sim.prefill(95)
            async with Engine(url) as engine:
                definition = StreamDefinition.create(KEY, name="sim", url=sim.url, replay=ReplayWindow(1))
                stream_id = await engine.add_stream(definition)
                status = await until(engine, stream_id, lambda s: s.last_seq == 95)
                assert (status.open_gaps, status.missing) == (9, 9)
                await asyncio.to_thread(engine.writer.flush, 60)
                with Store.open(url) as store:
                    gaps = store.gaps(stream_id)
                assert [(g.first_seq, g.last_seq, g.state) for g in gaps] == [
                    (seq, seq, "open") for seq in range(10, 100, 10)
                ]
                sentence = await engine.fill_gaps(stream_id)
                assert sentence == "filled 9 gaps (9 events)"
                await asyncio.to_thread(engine.writer.flush, 60)
                status = await until(engine, stream_id, lambda s: s.open_gaps == 0)
                assert status.missing == 0
            with Store.open(url) as store:
                assert sorted(e.seq for e in store.iter_events() if e.seq is not None) == list(range(1, 96))
                assert {g.state for g in store.gaps(stream_id)} == {"filled"}
                assert store.gaps(stream_id, open_only=True) == []

    run(main())


def test_a_gap_the_server_no_longer_holds_is_marked_lost(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    config = SimulatorConfig(keys={KEY: None}, rate=0, devices=5, gap_every=10, replay_size=25)

    async def main() -> None:
        async with Simulator(config) as sim:
            sim.prefill(25)  # 1..25 in the buffer; 10 and 20 skipped live
            async with Engine(url) as engine:
                definition = StreamDefinition.create(KEY, name="sim", url=sim.url, replay=ReplayWindow(1))
                stream_id = await engine.add_stream(definition)
                await until(engine, stream_id, lambda s: s.last_seq == 25 and s.open_gaps == 2)
                sim.prefill(10)  # the buffer now holds 11..35: seq 10 is gone, 20 is there
                await until(engine, stream_id, lambda s: s.last_seq == 35 and s.open_gaps == 3)
                sentence = await engine.fill_gaps(stream_id)
            assert sentence == "filled 2 gaps (2 events); the server no longer had seqs 10"
            with Store.open(url) as store:
                states = {g.first_seq: g.state for g in store.gaps(stream_id)}
            assert states == {10: "lost", 20: "filled", 30: "filled"}

    run(main())


def test_a_server_that_restarts_its_sequence_loses_nothing(url: str) -> None:
    """Seqs 1..50, the server restarts (1012) and numbers from 1 again: the
    client resumes at 51, sees seq 1, says so, and stores the new events as
    the stream's next epoch; the old ones stay."""
    config = SimulatorConfig(keys={KEY: None}, rate=0, devices=5, reset_after=50)

    async def main() -> None:
        async with Simulator(config) as sim:
            async with Engine(url) as engine:
                definition = StreamDefinition.create(KEY, name="sim", url=sim.url, replay=ReplayWindow(1))
                stream_id = await engine.add_stream(definition)
                await until(engine, stream_id, lambda s: s.state is StreamState.LIVE)
                sim.prefill(50)
                await until(engine, stream_id, lambda s: s.last_seq == 50)
                await until(engine, stream_id, lambda s: s.reconnects >= 1 and s.state is StreamState.LIVE)
                sim.prefill(40)
                status = await until(engine, stream_id, lambda s: s.epoch == 1 and s.last_seq == 40)
                assert "restarted its sequence at 1; previous last seq 50" in status.notice
                await asyncio.to_thread(engine.writer.flush, 60)
                status = await until(engine, stream_id, settled(engine))
                assert (status.stored, status.duplicates, status.conflicts) == (90, 0, 0)
            with Store.open(url) as store:
                assert store.position(stream_id) == (1, 40)
                assert store.count_events() == 90
                assert store.gaps(stream_id) == []

    run(main())


def test_an_oversized_frame_does_not_stall_the_stream(url: str) -> None:
    """Seq 30 is a 2 MiB frame, the client takes 1 MiB: it keeps a bad frame
    with the size, records seq 30 as a gap, and goes on from 31."""
    config = SimulatorConfig(keys={KEY: None}, rate=0, devices=5, oversize_at=30, oversize_mb=2)

    async def main() -> None:
        async with Simulator(config) as sim:
            sim.prefill(60)
            options = ClientOptions(max_frame_bytes=2**20)
            async with Engine(url, options=options) as engine:
                definition = StreamDefinition.create(KEY, name="sim", url=sim.url, replay=ReplayWindow(1))
                stream_id = await engine.add_stream(definition)
                status = await until(engine, stream_id, lambda s: s.last_seq == 60)
                assert "over the 1 MB limit" in status.notice and "--max-frame-mb" in status.notice
                await asyncio.to_thread(engine.writer.flush, 60)
            with Store.open(url) as store:
                assert sorted(e.seq for e in store.iter_events() if e.seq is not None) == [
                    *range(1, 30),
                    *range(31, 61),
                ]
                (bad,) = store.iter_malformed()
                assert "a frame of 2.0 MB" in bad.reason and "after seq 29" in bad.reason
                (gap,) = store.gaps(stream_id)
                assert (gap.first_seq, gap.last_seq, gap.state) == (30, 30, "oversized")

    run(main())


def test_a_fill_cut_short_is_asked_again_and_an_oversized_seq_is_named(tmp_path: Path) -> None:
    """A gap of 300 seqs; the server drops each connection after 100 events
    and seq 150 is 2 MiB against a 1 MiB limit: the fill asks again from the
    first seq still missing, gets the other 299, and names the big one."""
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    config = SimulatorConfig(keys={KEY: None}, rate=0, devices=5, drop_after=100, oversize_at=150, oversize_mb=2)

    async def main() -> None:
        async with Simulator(config) as sim:
            sim.prefill(300)
            async with Engine(url, options=ClientOptions(max_frame_bytes=2**20)) as engine:
                definition = StreamDefinition.create(KEY, name="sim", url=sim.url)
                stream_id = await engine.add_stream(definition, start=False)
                assert engine.writer.submit(stream_id, [SeqGap(0, 1, 300, 1.0)], 0)
                sentence = await engine.fill_gaps(stream_id)
                await asyncio.to_thread(engine.writer.flush, 60)
            assert sentence == (
                "received (299 events); 1 gap hold a frame over the size limit "
                "(raise it with --max-frame-mb or in Settings)"
            )
            with Store.open(url) as store:
                assert sorted(e.seq for e in store.iter_events() if e.seq is not None) == [
                    *range(1, 150),
                    *range(151, 301),
                ]
                (gap,) = store.gaps(stream_id)
            assert gap.state == "oversized"
            assert "a frame of 2.0 MB" in (gap.detail or "") and "after seq 149" in (gap.detail or "")
            assert sim.connections >= 4  # dropped after 100 events, asked again

    run(main())
