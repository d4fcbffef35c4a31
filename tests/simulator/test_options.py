"""Building a simulator's configuration from what the CLI passes."""

from __future__ import annotations

import pytest

from ayla_monitor.simulator import DEMO_KEY, SimulatorConfig, SimulatorConfigError, parse_keys_option
from ayla_monitor.simulator.server import Simulator

A = "0123456789abcdef0123456789abcdef"
B = "fedcba9876543210fedcba9876543210"


def test_demo_key_is_key_shaped_and_the_default() -> None:
    assert len(DEMO_KEY) == 32 and int(DEMO_KEY, 16) >= 0 and DEMO_KEY == DEMO_KEY.lower()
    assert dict(SimulatorConfig().keys) == {DEMO_KEY: None}


def test_keys_option() -> None:
    assert parse_keys_option(A) == {A: None}
    assert parse_keys_option(f" {A.upper()} , {B}:datapoint,") == {A: None, B: "datapoint"}
    assert parse_keys_option(f"{A}:registration,{B}:connectivity") == {A: "registration", B: "connectivity"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no stream key"),
        (" , ", "no stream key"),
        ("abc", "32 hexadecimal"),
        (A + "0", "32 hexadecimal"),
        ("g" * 32, "32 hexadecimal"),
        (f"{A}:datapoints", "'datapoints' .* unknown"),
        (f"{A}:", "'' .* unknown"),
        (f"{A},{A}:location", "twice"),
    ],
)
def test_bad_keys_option(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_keys_option(text)
    assert isinstance(info.value, SimulatorConfigError)
    assert A not in str(info.value)  # keys are masked in messages


@pytest.mark.parametrize(
    "options",
    [
        {"devices": 0},
        {"rate": -1.0},
        {"heartbeat": 0.0},
        {"replay_size": 0},
        {"keys": {}},
        {"keys": {"short": None}},
        {"keys": {A: "nope"}},
        {"drop_after": -1},
        {"malformed_every": 0},
        {"stall_after": -3},
        {"reject_status": 200},
    ],
)
def test_config_refuses_what_cannot_work(options: dict[str, object]) -> None:
    with pytest.raises(SimulatorConfigError):
        SimulatorConfig(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"reset_after": 0}, "reset after must be 1 or more, not 0"),
        ({"dup_every": 0}, "dup every must be 1 or more, not 0"),
        ({"conflict_every": -2}, "conflict every must be 1 or more, not -2"),
        ({"bad_seq_every": 0}, "bad seq every must be 1 or more, not 0"),
        ({"oversize_at": 0}, "oversize at must be 1 or more, not 0"),
        ({"gap_every": 1}, r"gap every must be 2 or more \(1 would leave out every event\), not 1"),
        ({"oversize_mb": 0}, "more than 0 and at most 1024 MiB, not 0"),
        ({"oversize_mb": 4096}, "at most 1024 MiB, not 4096"),
    ],
)
def test_fault_options_refuse_what_cannot_work(options: dict[str, object], message: str) -> None:
    with pytest.raises(SimulatorConfigError, match=message):
        SimulatorConfig(**options)  # type: ignore[arg-type]


def test_fault_options_are_off_by_default() -> None:
    config = SimulatorConfig()
    off = (
        config.reset_after, config.dup_every, config.conflict_every, config.gap_every,
        config.oversize_at, config.bad_seq_every,
    )
    assert off == (None,) * 6
    assert config.oversize_mb == 17  # above a client's usual 16 MiB limit


def test_simulate_command_line_reaches_the_config() -> None:
    from ayla_monitor.cli import _simulator_config, build_parser

    def config(*options: str) -> SimulatorConfig:
        return _simulator_config(build_parser().parse_args(["simulate", *options]), {A: None})

    got = config(
        "--reset-after", "100", "--dup-every", "7", "--conflict-every", "11", "--gap-every", "13",
        "--oversize-at", "50", "--oversize-mb", "1.5", "--bad-seq-every", "17", "--replay-size", "500",
        "--drop-after", "3", "--malformed-every", "19", "--stall-after", "9", "--prefill", "20",
    )
    assert (got.reset_after, got.dup_every, got.conflict_every, got.gap_every) == (100, 7, 11, 13)
    assert (got.oversize_at, got.oversize_mb, got.bad_seq_every, got.replay_size) == (50, 1.5, 17, 500)
    assert (got.drop_after, got.malformed_every, got.stall_after, got.prefill) == (3, 19, 9, 20)
    assert dict(got.keys) == {A: None}
    plain = config()
    assert plain == SimulatorConfig(keys={A: None}, seed=None)  # no fault unless asked
    assert config("--oversize-at", "5").oversize_mb == 17
    hostile = config("--hostile", "--hostile-mb", "1", "--big-every", "9")
    assert (hostile.hostile, hostile.hostile_value_bytes, hostile.big_every) == (True, 1_000_000, 9)
    with pytest.raises(SimulatorConfigError, match="--oversize-mb needs --oversize-at"):
        config("--oversize-mb", "2")
    with pytest.raises(SimulatorConfigError, match="gap every must be 2 or more"):
        config("--gap-every", "1")


def test_hostile_big_values_reach_the_wire() -> None:
    """``--hostile --hostile-mb 1 --big-every 9``: every 9th event holds a 1 MB value."""
    from tests.simulator.support import dial, frames, run

    async def main() -> None:
        config = SimulatorConfig(
            keys={A: None}, rate=0, hostile=True, hostile_value_bytes=1_000_000, big_every=9, seed=1
        )
        async with Simulator(config) as sim:
            sim.prefill(27)
            async with dial(sim.url, A, seq_start=1) as ws:
                got = await frames(ws, 27)
        big = {getattr(f, "seq", None) for f in got if len(getattr(f, "raw", "")) >= 1_000_000}
        assert {9, 18, 27} <= big  # hostile mode may send a few more at random

    run(main())
