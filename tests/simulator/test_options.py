"""Building a simulator's configuration from what the CLI passes."""

from __future__ import annotations

import pytest

from ayla_monitor.simulator import DEMO_KEY, SimulatorConfig, SimulatorConfigError, parse_keys_option

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
