"""A local DSS-compatible server and the simulated device fleet behind it.

Used by the desktop app's demo mode, by tests and by benchmarks. Imports
only :mod:`ayla_monitor.dss` (and websockets).
"""

from __future__ import annotations

from ayla_monitor.simulator.errors import ListenError, SimulatorConfigError, SimulatorError
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.simulator.server import (
    DEMO_KEY,
    Simulator,
    SimulatorConfig,
    parse_keys_option,
    run_simulator,
)

__all__ = [
    "DEMO_KEY",
    "Fleet",
    "ListenError",
    "Simulator",
    "SimulatorConfig",
    "SimulatorConfigError",
    "SimulatorError",
    "parse_keys_option",
    "run_simulator",
]
