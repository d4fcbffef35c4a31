"""The fault options a "nothing lost" client is tested against, over real
loopback sockets: every frame is checked as raw text, independent of the
parser's verdict on it."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError

from ayla_monitor.dss import wire
from ayla_monitor.dss.frames import HEARTBEAT_FRAME, HEARTBEAT_REPLY, encode_frame, parse_frame
from ayla_monitor.simulator import DEMO_KEY, Simulator, SimulatorConfig
from ayla_monitor.simulator.server import (
    BAD_SEQS,
    RESTART_CLOSE,
    conflicting_frame,
    oversized_frame,
    reseq_frame,
)
from tests.simulator.support import dial, eventually, run, stream_url

MISSING = "<no seq>"
MIB = 2**20


def payload(message: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(message[message.index("|") + 1 :])
    return obj


def seq_of(message: str) -> Any:
    """The ``seq`` as sent: an int for a good one, else the raw value."""
    seq = payload(message).get("seq", MISSING)
    return int(seq) if isinstance(seq, str) and seq.isdigit() and seq != "0" else seq


async def raw(ws: ClientConnection, count: int) -> list[str]:
    """The next ``count`` frames that are not heartbeats (answered), as sent."""
    out: list[str] = []
    while len(out) < count:
        message = await ws.recv()
        assert isinstance(message, str)
        if message == HEARTBEAT_FRAME:
            await ws.send(HEARTBEAT_REPLY)
            continue
        out.append(message)
    return out


async def raw_until_closed(ws: ClientConnection) -> list[str]:
    """Every frame but heartbeats until the server closes (with any code)."""
    out: list[str] = []
    with contextlib.suppress(ConnectionClosedError):  # 1012 is not a normal closure
        async for message in ws:
            assert isinstance(message, str)
            if message != HEARTBEAT_FRAME:
                out.append(message)
    return out


def buffered(sim: Simulator, key: str = DEMO_KEY) -> dict[int, str]:
    return dict(sim._subs[key].buffer)


# -- dup_every, conflict_every, bad_seq_every -------------------------------


def test_dup_every_repeats_the_frame_byte_for_byte() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, dup_every=3, seed=1)) as sim:
            sim.prefill(10)
            frames = buffered(sim)
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=10) as ws:
                got = await raw_until_closed(ws)
            assert ws.close_code == 1000
            assert sim.duplicates_sent == 3 and sim.events_sent == 10
        assert [seq_of(m) for m in got] == [1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10]
        assert got == [frames[s] for s in (1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10)]

    run(main())


def test_conflict_every_reuses_the_seq_for_a_second_later_event() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, conflict_every=4, seed=2)) as sim:
            sim.prefill(8)
            frames = buffered(sim)
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=8) as ws:
                got = await raw_until_closed(ws)
            assert sim.conflicts_sent == 2 and sim.events_sent == 8
        assert [seq_of(m) for m in got] == [1, 2, 3, 4, 4, 5, 6, 7, 8, 8]
        for original, other in ((got[3], got[4]), (got[8], got[9])):
            assert other != original
            assert other == conflicting_frame(original)
            first, second = parse_frame(original, 0.0), parse_frame(other, 0.0)
            assert first.seq == second.seq  # type: ignore[union-attr]
            assert first.event_type == second.event_type  # type: ignore[union-attr]
            assert first.time is not None and second.time is not None  # type: ignore[union-attr]
            assert first.time < second.time  # type: ignore[union-attr]
        assert got[3] == frames[4] and got[8] == frames[8]

    run(main())


@pytest.mark.parametrize(
    ("event", "changed"),
    [
        (
            wire.connectivity_event(
                None, oem_id="o", oem_model="m", dsn="D", event_time="2024-12-31T23:59:59Z",
                status="Online", user_uuid=None,
            ),
            {("connection", "event_time"): "2025-01-01T00:00:00Z"},
        ),
        (
            wire.datapoint_event(
                None, oem_id="o", oem_model="m", dsn="D", property_name="p", base_type="integer", value=3,
                datapoint_id="x", created_at="2024-05-01T10:00:00Z", user_uuid=None,
            ),
            {
                ("datapoint", "created_at"): "2024-05-01T10:00:01Z",
                ("datapoint", "updated_at"): "2024-05-01T10:00:01Z",
            },
        ),
        (
            wire.location_event(
                None, oem_id="o", oem_model="m", dsn="D", ip="1.2.3.4", lat="1", long="2", provider="gps",
                created_at="2024-05-01T10:00:00Z", user_uuid=None,
            ),
            {("location_event", "created_at"): "2024-05-01T10:00:01Z"},
        ),
        (
            wire.registration_event(
                None, oem_id="o", oem_model="m", dsn="D", registered=False, registration_type="Dsn",
                at="2024-05-01T10:00:00Z", user_uuid=None,
            ),
            {("registration_event", "unregistered_at"): "2024-05-01T10:00:01Z"},
        ),
        ({"metadata": {"event_type": "nonesuch"}, "x": "not a time"}, {("conflict",): True}),
    ],
)
def test_conflicting_frame_is_predictable(event: dict[str, Any], changed: dict[tuple[str, ...], Any]) -> None:
    frame = wire.sequenced_frame(wire.unsequenced_text(event), 42)
    other = conflicting_frame(frame)
    expected = payload(frame)
    for path, value in changed.items():
        target = expected
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    assert payload(other) == expected
    assert list(payload(other)) == list(expected)  # key order kept
    assert other != frame and other.startswith(f"{len(other.partition('|')[2].encode())}|")


def test_bad_seq_every_rotates_through_bad_seqs_without_using_one() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, bad_seq_every=2, seed=3)) as sim:
            sim.prefill(14)
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=14) as ws:
                got = await raw_until_closed(ws)
            assert sim.bad_seqs_sent == 7 and sim.events_sent == 14
            assert sim.last_seq(DEMO_KEY) == 14 and len(sim._subs[DEMO_KEY].buffer) == 14
        good = got[0::3] + got[1::3]
        assert sorted(seq_of(m) for m in good) == list(range(1, 15))
        bad = got[2::3]
        assert [seq_of(m) for m in bad] == ["0", "abc", "-3", "1.5", "", MISSING, "0"]
        for index, message in enumerate(bad):
            before = payload(got[3 * index + 1])  # the event just sent, otherwise identical
            del before["seq"]
            after = payload(message)
            after.pop("seq", None)
            assert after == before
            assert message == reseq_frame(got[3 * index + 1], BAD_SEQS[index % len(BAD_SEQS)])

    run(main())


def test_extra_frames_come_in_a_fixed_order() -> None:
    config = SimulatorConfig(rate=0, dup_every=2, conflict_every=2, bad_seq_every=2, malformed_every=2, seed=4)

    async def main() -> None:
        async with Simulator(config) as sim:
            sim.prefill(4)
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=4) as ws:
                got = await raw_until_closed(ws)
            counts = (sim.duplicates_sent, sim.conflicts_sent, sim.bad_seqs_sent, sim.malformed_sent)
            assert counts == (2, 2, 2, 2)
        second, fourth = got[1], got[7]
        assert got == [
            got[0], second, second, conflicting_frame(second), reseq_frame(second, "0"), wire.MALFORMED_FRAMES[0],
            got[6], fourth, fourth, conflicting_frame(fourth), reseq_frame(fourth, "abc"), wire.MALFORMED_FRAMES[1],
        ]
        assert [seq_of(m) for m in (got[0], second, got[6], fourth)] == [1, 2, 3, 4]

    run(main())


def test_reseq_frame() -> None:
    frame = wire.sequenced_frame('{"metadata":{"event_type":"x"},"v":"é"}', 12)
    assert reseq_frame(frame, "abc") == encode_frame('{"seq":"abc","metadata":{"event_type":"x"},"v":"é"}')
    assert reseq_frame(frame, None) == encode_frame('{"metadata":{"event_type":"x"},"v":"é"}')
    assert reseq_frame(wire.sequenced_frame("{}", 5), None) == "2|{}"
    assert reseq_frame(wire.sequenced_frame("{}", 5), "") == '10|{"seq":""}'
    with pytest.raises(ValueError):
        reseq_frame(HEARTBEAT_FRAME, "1")


# -- gap_every --------------------------------------------------------------


def test_gap_every_skips_live_and_catch_up_but_a_window_fills_it() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, gap_every=5, seed=5)) as sim:
            sim.prefill(20)
            frames = buffered(sim)
            async with dial(sim.url, DEMO_KEY, seq_start=1) as ws:  # catch-up, then live
                caught_up = await raw(ws, 16)
                await eventually(lambda: sim.gaps_skipped == [5, 10, 15, 20], "the skipped seqs noted")
                sim.prefill(6)  # 21..26, live
                live = await raw(ws, 5)
                await eventually(lambda: sim.gaps_skipped[-1] == 25, "the live skip noted")
                for seq in (5, 25):
                    async with dial(sim.url, DEMO_KEY, seq_start=seq, seq_end=seq) as filler:
                        assert await raw_until_closed(filler) == [buffered(sim)[seq]]
                    assert filler.close_code == 1000
                async with dial(sim.url, DEMO_KEY, seq_start=18, seq_end=22) as filler:
                    assert [seq_of(m) for m in await raw_until_closed(filler)] == [18, 19, 20, 21, 22]
            assert sim.gaps_skipped == [5, 10, 15, 20, 25]
        assert [seq_of(m) for m in caught_up] == [s for s in range(1, 21) if s % 5]
        assert [seq_of(m) for m in live] == [21, 22, 23, 24, 26]
        assert caught_up == [frames[s] for s in range(1, 21) if s % 5]

    run(main())


def test_a_skipped_seq_out_of_a_small_buffer_is_lost() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, gap_every=5, replay_size=10, seed=6)) as sim:
            sim.prefill(30)  # the buffer keeps 21..30
            async with dial(sim.url, DEMO_KEY, seq_start=1) as ws:
                got = await raw(ws, 8)
                await eventually(lambda: sim.gaps_skipped == [25, 30], "the skipped seqs noted")
            async with dial(sim.url, DEMO_KEY, seq_start=5, seq_end=5) as filler:
                assert await raw_until_closed(filler) == []  # gone: an unfillable gap
            assert filler.close_code == 1000
            async with dial(sim.url, DEMO_KEY, seq_start=25, seq_end=25) as filler:
                assert [seq_of(m) for m in await raw_until_closed(filler)] == [25]  # still there
        assert [seq_of(m) for m in got] == [21, 22, 23, 24, 26, 27, 28, 29]

    run(main())


# -- oversize_at --------------------------------------------------------------


def test_oversized_frame_is_exactly_the_size_asked() -> None:
    text = wire.unsequenced_text({"metadata": {"event_type": "x"}, "v": "Grüße"})
    for size in (200, 999, 1000, 1001, 1005, 10_000, 3 * MIB):
        frame = oversized_frame(text, 7, size)
        assert len(frame.encode()) == size
        event = parse_frame(frame, 0.0)
        assert event.seq == 7 and "length" not in (event.note or "")  # type: ignore[union-attr]
        assert set(payload(frame)["message"]) == {"x"}
    # sizes no length prefix can hit exactly: one byte less
    assert len(oversized_frame(text, 7, 10_000_008).encode()) == 10_000_007
    # an event larger than the size asked: an empty message
    assert payload(oversized_frame(text, 7, 10))["message"] == ""
    assert oversized_frame("{}", 3, 30) == '27|{"seq":"3","message":"xxx"}'


def test_oversize_at_serves_a_frame_a_default_client_refuses_every_time() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, oversize_at=3, seed=7)) as sim:
            sim.prefill(5)
            assert len(buffered(sim)[3].encode()) == 17 * MIB
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=5) as ws:
                got = await raw_until_closed(ws)
            assert [seq_of(m) for m in got] == [1, 2, 3, 4, 5]
            assert got[2] == buffered(sim)[3] and len(got[2].encode()) == 17 * MIB
            oversized = parse_frame(got[2], 0.0)
            assert oversized.seq == 3 and oversized.note is None  # type: ignore[union-attr]
            # A client with the usual 16 MiB limit is cut off at seq 3, and again
            # when it resumes there: the stall a client must get out of.
            for _ in range(2):
                url = stream_url(sim.url, DEMO_KEY, seq_start=3)
                async with connect(url, compression=None, max_size=16 * MIB) as small:
                    with pytest.raises(ConnectionClosedError) as info:
                        await small.recv()
                assert info.value.sent is not None and info.value.sent.code == 1009  # message too big
            async with dial(sim.url, DEMO_KEY, seq_start=4, seq_end=5) as ws:
                assert [seq_of(m) for m in await raw_until_closed(ws)] == [4, 5]
            assert sim.oversized_sent == 3

    run(main())


def test_oversize_mb_sets_the_size() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, oversize_at=2, oversize_mb=1.5, seed=8)) as sim:
            sim.prefill(3)
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=3) as ws:
                got = await raw_until_closed(ws)
            assert sim.oversized_sent == 1
        assert [len(m.encode()) == 3 * MIB // 2 for m in got] == [False, True, False]
        assert parse_frame(got[1], 0.0).seq == 2  # type: ignore[union-attr]

    run(main())


# -- reset_after ---------------------------------------------------------------


def test_reset_after_closes_connections_and_restarts_at_one_once() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, reset_after=10, seed=9)) as sim:
            async with dial(sim.url, DEMO_KEY) as live, dial(sim.url, DEMO_KEY, seq_start=1) as replay:
                await sim.wait_for_connections(2)
                sim.prefill(6)
                assert [seq_of(m) for m in await raw(live, 6)] == [1, 2, 3, 4, 5, 6]
                old = buffered(sim)
                sim.prefill(4)  # the 10th event: the sequence restarts
                assert sim.resets == 1 and sim.last_seq(DEMO_KEY) == 0 and not buffered(sim)
                # each connection still gets what it had of the old sequence, then 1012
                rest = await raw_until_closed(live)
                everything = await raw_until_closed(replay)
            assert [seq_of(m) for m in rest] == [7, 8, 9, 10]
            assert everything == [old[s] for s in range(1, 7)] + rest
            for ws in (live, replay):
                assert (ws.close_code, ws.close_reason) == RESTART_CLOSE
            await eventually(lambda: sim.active_connections == 0, "the connections closed")

            # A client resuming at old last + 1 gets nothing from the buffer, then 1, 2, 3...
            async with dial(sim.url, DEMO_KEY, seq_start=11) as again:
                await sim.wait_for_connections(3)
                sim.prefill(3)
                new = await raw(again, 3)
                assert [seq_of(m) for m in new] == [1, 2, 3]
                assert new != [old[s] for s in (1, 2, 3)]  # other events under the old seqs
                # a window of old seqs beyond the new sequence: nothing, closed at once
                async with dial(sim.url, DEMO_KEY, seq_start=8, seq_end=9) as gone:
                    assert await raw_until_closed(gone) == []
                assert gone.close_code == 1000
                async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=3) as window:
                    assert await raw_until_closed(window) == new
                # once per run: past the 10th event of the new sequence, no second restart
                sim.prefill(12)
                assert [seq_of(m) for m in await raw(again, 12)] == list(range(4, 16))
                assert sim.resets == 1 and sim.last_seq(DEMO_KEY) == 15

    run(main())


def test_reset_after_during_prefill_and_per_subscription() -> None:
    a, b = "a" * 32, "b" * 32

    async def main() -> None:
        keys = {a: None, b: "datapoint"}
        async with Simulator(SimulatorConfig(rate=0, keys=keys, reset_after=20, seed=10)) as sim:
            sim.prefill(50)
            points = sim._subs[b].published
            assert sim.last_seq(a) == 30
            assert sim.last_seq(b) == (points - 20 if points >= 20 else points)
            assert sim.resets == (2 if points >= 20 else 1)
            async with dial(sim.url, a, seq_start=1, seq_end=30) as ws:
                assert [seq_of(m) for m in await raw_until_closed(ws)] == list(range(1, 31))

    run(main())


def test_since_copes_with_a_restarted_sequence() -> None:
    sim = Simulator(SimulatorConfig(rate=0, reset_after=5, replay_size=3, seed=13))
    sub = sim._subs[DEMO_KEY]
    old_run = sub.run
    sim.prefill(5)
    assert sub.run is not old_run and sub.since(1) == [] and sub.since(6) == []
    assert [seq for seq, _ in old_run.since(1)] == [3, 4, 5]  # what a connection still drains
    sim.prefill(2)
    assert [seq for seq, _ in sub.since(1)] == [1, 2]
    assert sub.since(6) == [] and sub.since(3) == [] and [s for s, _ in sub.since(2)] == [2]
    assert sim.last_seq(DEMO_KEY) == 2 and sim.resets == 1


# -- heartbeats and garbage ------------------------------------------------------


def test_no_garbage_frame_is_a_heartbeat() -> None:
    assert HEARTBEAT_FRAME == "1|Z"
    assert HEARTBEAT_FRAME not in wire.MALFORMED_FRAMES


def test_live_faults_with_a_running_fleet() -> None:
    """The options together on live generation: every frame where it belongs."""
    config = SimulatorConfig(
        rate=500, tick=0.01, dup_every=7, conflict_every=11, gap_every=13, bad_seq_every=17,
        malformed_every=19, seed=11,
    )

    async def main() -> None:
        async with Simulator(config) as sim:
            async with dial(sim.url, DEMO_KEY) as ws:
                got = await raw(ws, 400)
            await eventually(lambda: sim.active_connections == 0, "the connection closed")
        # Walk the frames: each new event is followed by exactly its extras.
        expected: list[tuple[str, str]] = []  # (kind, frame) still due
        events: list[int] = []
        garbage = 0
        for message in got:
            if expected:
                kind, frame = expected.pop(0)
                if kind == "malformed":
                    assert message == wire.MALFORMED_FRAMES[garbage % len(wire.MALFORMED_FRAMES)]
                    garbage += 1
                else:
                    assert message == frame, kind
                continue
            seq = seq_of(message)
            assert isinstance(seq, int) and (not events or seq > events[-1])
            events.append(seq)
            n = len(events)
            if n % 7 == 0:
                expected.append(("duplicate", message))
            if n % 11 == 0:
                expected.append(("conflict", conflicting_frame(message)))
            if n % 17 == 0:
                expected.append(("bad seq", reseq_frame(message, BAD_SEQS[(n // 17 - 1) % len(BAD_SEQS)])))
            if n % 19 == 0:
                expected.append(("malformed", ""))
        assert events == [s for s in range(1, events[-1] + 1) if s % 13]
        assert len(events) > 250 and garbage >= 13

    run(main())


@pytest.mark.parametrize("count", [1, 2])
def test_every_connection_counts_on_its_own(count: int) -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, dup_every=4, seed=12)) as sim:
            sim.prefill(8)
            for _ in range(count):
                async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=8) as ws:
                    assert [seq_of(m) for m in await raw_until_closed(ws)] == [1, 2, 3, 4, 4, 5, 6, 7, 8, 8]
            assert sim.duplicates_sent == 2 * count

    run(main())
