"""Errors of the simulator, by whose fault they are::

    SimulatorError           the simulator cannot run
    ├── SimulatorConfigError the options cannot work (bad key, unknown
    │                        subscription type, negative rate); also a ValueError
    └── ListenError          the machine refused the listening socket
                             (port in use, no permission)

Every message is one sentence for the user and never holds a stream key
unmasked.
"""

from __future__ import annotations

__all__ = ["SimulatorError", "SimulatorConfigError", "ListenError"]


class SimulatorError(Exception):
    """Base of the simulator's errors."""


class SimulatorConfigError(SimulatorError, ValueError):
    """The simulator's options cannot work; nothing was started."""


class ListenError(SimulatorError, OSError):
    """The simulator could not listen on the requested address."""
