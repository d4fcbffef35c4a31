"""Replaying a capture: real sockets, a real recorder, real SQLite."""

from __future__ import annotations

import io
from pathlib import Path

from ayla_monitor.capture.format import Capture as CaptureFile
from ayla_monitor.capture.format import CapturedFrame, StreamInfo, read_capture
from ayla_monitor.capture.redact import parse_redaction
from ayla_monitor.capture.writer import CaptureWriter
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.frames import encode_frame
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.headless.record import record
from ayla_monitor.simulator.replay import ReplayConfig, ReplayServer, replay_keys
from ayla_monitor.simulator.server import DEMO_KEY, Simulator, SimulatorConfig
from tests.conftest import sqlite_file
from tests.simulator.support import dial, run
from tests.simulator.support import frames as receive

KEY = "0123456789abcdef0123456789abcdef"


def rows(db: Path) -> list[tuple[int, str, str]]:
    with sqlite_file(db) as conn:
        return [tuple(r) for r in conn.execute("select seq, event_type, dsn from events order by seq")]


def _capture(count: int, offsets: list[float] | None = None) -> CaptureFile:
    frames = []
    for i in range(1, count + 1):
        payload = {"seq": str(i), "metadata": {"dsn": "AC000W000000001", "event_type": "connectivity"},
                   "connection": {"status": "Online", "event_time": "2026-11-30T08:00:00Z"}}
        offset = offsets[i - 1] if offsets else 0.0
        frames.append(CapturedFrame(offset, "main", encode_frame(payload), i + 1))
    return CaptureFile(None, frames, [])


def test_record_capture_replay_into_a_second_recorder(tmp_path: Path) -> None:
    """The issue's 'done when': record the demo with --redact dsn,uuid,location,
    replay it, record the replay: the same events, pseudonymous DSNs, no key."""
    capture = tmp_path / "c.jsonl.gz"

    async def main() -> None:
        config = SimulatorConfig(devices=5, rate=0, keys={KEY: None}, malformed_every=40)
        sim = Simulator(config)
        sim.prefill(300)
        async with sim:
            definition = StreamDefinition.create(KEY, name="demo", url=sim.url, replay=ReplayWindow(1, 300))
            info = StreamInfo("demo", definition.masked_key, None, definition.display_url)
            writer = CaptureWriter(capture, [info], redaction=parse_redaction("dsn,uuid,location"), secrets=[KEY])
            await record([definition], f"sqlite:///{tmp_path / 'a.sqlite'}", out=io.StringIO(),
                         handle_signals=False, frame_observer=writer.observe)
            writer.close()
        replayed = read_capture(capture)
        assert replayed.problems == []
        async with ReplayServer(replayed, ReplayConfig(speed=None)) as server:
            assert list(server.keys) == [DEMO_KEY]
            again = StreamDefinition.create(DEMO_KEY, name="again", url=server.url, replay=ReplayWindow(1, 300))
            await record([again], f"sqlite:///{tmp_path / 'b.sqlite'}", out=io.StringIO(), handle_signals=False)

    run(main())
    original, copy = rows(tmp_path / "a.sqlite"), rows(tmp_path / "b.sqlite")
    assert len(original) == len(copy) == 300
    assert [(s, t) for s, t, _ in original] == [(s, t) for s, t, _ in copy]
    real = {d for _, _, d in original}
    fake = {d for _, _, d in copy}
    assert len(fake) == len(real) == 5 and not fake & real
    # the same device keeps the same pseudonym
    mapping = {a[2]: b[2] for a, b in zip(original, copy, strict=True)}
    assert all(mapping[a[2]] == b[2] for a, b in zip(original, copy, strict=True))
    import gzip

    text = gzip.decompress(capture.read_bytes()).decode()
    assert KEY not in text
    assert not any(dsn in text for dsn in real)


def test_seq_start_resumes_and_seq_end_closes() -> None:
    async def main() -> None:
        async with ReplayServer(_capture(50), ReplayConfig(speed=None)) as server:
            async with dial(server.url, DEMO_KEY) as ws:
                first = await receive(ws, 50)
            assert [f.seq for f in first if isinstance(f, Event)] == list(range(1, 51))
            async with dial(server.url, DEMO_KEY, seq_start=20, seq_end=30) as ws:
                window = await receive(ws, 11)
                assert [f.seq for f in window if isinstance(f, Event)] == list(range(20, 31))
                await ws.wait_closed()

    run(main())


def test_unknown_key_is_rejected() -> None:
    async def main() -> None:
        from websockets.exceptions import InvalidStatus

        async with ReplayServer(_capture(3)) as server:
            try:
                async with dial(server.url, KEY):
                    raise AssertionError("connected with a key the replay does not serve")
            except InvalidStatus as exc:
                assert exc.response.status_code == 401
            assert server.rejected == 1

    run(main())


def test_speed_1_follows_the_capture_clock() -> None:
    now = [0.0]

    async def main() -> None:
        capture = _capture(2, offsets=[0.0, 100.0])
        async with ReplayServer(capture, ReplayConfig(speed=1.0), clock=lambda: now[0]) as server:
            async with dial(server.url, DEMO_KEY) as ws:
                first = await receive(ws, 1)
                assert server.published == 1  # the second is 100 s of capture away
                now[0] = 10.0
                server.set_speed(10.0)  # 10 s at speed 1, then 90 s at speed 10 = 9 s
                now[0] = 18.0
                assert server.played == 90.0
                now[0] = 19.0
                second = await receive(ws, 1)
        assert [f.seq for f in first + second if isinstance(f, Event)] == [1, 2]

    run(main())


def test_pause_holds_playback() -> None:
    now = [0.0]

    async def main() -> None:
        capture = _capture(2, offsets=[0.0, 10.0])
        async with ReplayServer(capture, ReplayConfig(speed=1.0), clock=lambda: now[0]) as server:
            async with dial(server.url, DEMO_KEY) as ws:
                await receive(ws, 1)
                now[0] = 2.0
                server.pause()
                now[0] = 50.0  # time passes while paused: nothing of it is played
                assert server.played == 2.0
                server.play()
                now[0] = 55.0
                assert server.played == 7.0
                now[0] = 58.0
                await receive(ws, 1)
                assert server.published == 2

    run(main())


def test_loop_continues_the_seqs() -> None:
    async def main() -> None:
        async with ReplayServer(_capture(10), ReplayConfig(speed=None, loop=True)) as server:
            async with dial(server.url, DEMO_KEY) as ws:
                frames = await receive(ws, 30)
        assert [f.seq for f in frames if isinstance(f, Event)] == list(range(1, 31))

    run(main())


def test_bad_frames_are_served_where_they_were() -> None:
    async def main() -> None:
        capture = _capture(3)
        capture.frames.insert(1, CapturedFrame(0.0, "main", "garbage", 3))
        async with ReplayServer(capture, ReplayConfig(speed=None)) as server:
            async with dial(server.url, DEMO_KEY) as ws:
                frames = await receive(ws, 4)
        assert isinstance(frames[1], MalformedFrame) and frames[1].raw == "garbage"

    run(main())


def test_several_streams_get_a_key_each() -> None:
    keys = replay_keys(["a", "b", "c"], [KEY])
    assert keys[0] == KEY and keys[1] == DEMO_KEY and len(set(keys)) == 3
