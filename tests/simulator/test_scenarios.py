"""The simulator's scenarios give every insight something to find: the fleet
is run for simulated minutes (no clock, no socket) and the insight must
name each part's device, and only it."""

from __future__ import annotations

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import DssEvent
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.fleet.insight import FleetInsight
from ayla_monitor.simulator.fleet import SCENARIOS, SKEW_S, Fleet

T0 = 1_767_225_600.0


def run(fleet: Fleet, seconds: float, rate: float = 20.0, tick: float = 0.05) -> tuple[FleetInsight, float]:
    """Feed ``seconds`` of the fleet at ``rate`` events/s, as the server does, into an insight."""
    insight = FleetInsight()
    per_tick = rate * tick
    owed = 0.0
    seq = 0
    now = T0
    while now < T0 + seconds:
        owed += per_tick
        while owed >= 1:
            owed -= 1
            seq += 1
            frame = parse_frame(wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(now)), seq), now + 0.2)
            assert isinstance(frame, DssEvent)
            insight.add(frame, "demo")
        now += tick
    insight.advance(now)
    return insight, now


def test_every_part_is_found_and_only_its_device() -> None:
    fleet = Fleet(20, seed=3, scenarios=True)
    assert list(fleet.roles) == list(SCENARIOS)
    dsn = {part: device.dsn for part, device in fleet.roles.items()}
    insight, now = run(fleet, 15 * 60)
    summaries = {s.dsn: s for s in insight.summaries(now)}  # the quiet device is 230 s into a silence

    assert [d for d, s in summaries.items() if s.flapping] == [dsn["flapping"]]
    flapping = summaries[dsn["flapping"]]
    assert flapping.flaps_hour >= 60
    # each return online brings a command acked 1-4 s later: an ack latency to chart
    assert flapping.acks >= 30 and flapping.failed_acks == flapping.missing_acks == 0
    assert flapping.ack_p50_ms is not None and flapping.ack_p95_ms is not None
    assert 1_000 <= flapping.ack_p50_ms <= flapping.ack_p95_ms <= 4_000

    assert summaries[dsn["quiet"]].quiet
    assert summaries[dsn["quiet"]].typical_interval_s == 2.0
    assert [d for d, s in summaries.items() if s.quiet] == [dsn["quiet"]]

    acks = summaries[dsn["acks"]]
    assert acks.failed_acks >= 60 and acks.missing_acks >= 60
    assert acks.ack_p95_ms is not None and acks.ack_p95_ms >= 12_000  # the slow ones
    assert acks.ack_p50_ms is not None and acks.ack_p50_ms <= 1_100

    skew = summaries[dsn["clock skew"]].skew_s
    assert skew is not None and abs(skew - SKEW_S) <= 2
    assert all(s.skew_s in (None, 0.0) for d, s in summaries.items() if d != dsn["clock skew"])

    talker = insight.device(dsn["talker"])
    assert talker is not None and talker.spikes >= 2
    assert {s.dsn for s in insight.spikes} <= {dsn["talker"], None}
    assert insight.top_talkers(None, 1)[0][0] == dsn["talker"]


def test_the_mix_leaves_the_players_alone() -> None:
    """During the quiet device's silence nothing at all comes from it."""
    fleet = Fleet(12, seed=4, scenarios=True)
    quiet = fleet.roles["quiet"].dsn
    intro = fleet.take(fleet.intro_pending, T0)
    assert quiet in {e["metadata"]["dsn"] for e in intro}
    silence_from = T0 + 25  # it talks for 20 s from the first scenario second
    later = [fleet.next_event(T0 + i * 0.05) for i in range(1, 6000)]  # 300 s at 20 events/s
    from_quiet = [e for e, i in zip(later, range(1, 6000), strict=True) if e["metadata"].get("dsn") == quiet
                  and T0 + i * 0.05 >= silence_from]
    assert from_quiet == []


def test_a_small_fleet_keeps_one_device_for_the_mix_and_no_scenarios_changes_nothing() -> None:
    assert list(Fleet(3, seed=1, scenarios=True).roles) == ["flapping", "quiet"]
    assert Fleet(1, seed=1, scenarios=True).roles == {}
    plain = Fleet(8, seed=42).take(400, T0, 0.1)
    assert Fleet(8, seed=42, scenarios=False).take(400, T0, 0.1) == plain


def test_simulate_scenarios_option_reaches_the_fleet() -> None:
    from ayla_monitor.cli import _simulator_config, build_parser
    from ayla_monitor.simulator.server import Simulator, SimulatorConfig

    def config(*options: str) -> SimulatorConfig:
        return _simulator_config(build_parser().parse_args(["simulate", *options]), {"0123456789abcdef" * 2: None})

    on, off = config("--scenarios"), config()
    assert on.scenarios is True and off.scenarios is False
    assert list(Simulator(on).fleet.roles) == list(SCENARIOS)
    assert Simulator(off).fleet.roles == {}
