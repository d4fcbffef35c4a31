"""The ``ayla-monitor-gui`` entry (``[project.gui-scripts]``): the window
without a console window on Windows (pip makes it a ``pythonw`` launcher).

A windowed program has no standard streams there (``sys.stdout`` and
``sys.stderr`` are ``None``); what the CLI would print goes nowhere instead of
failing, and the window's own log file (Help → Open the log folder) keeps the
details. On Linux and macOS it is the same as ``ayla-monitor``.
"""

from __future__ import annotations

import os
import sys

from ayla_monitor.cli import main as cli_main

__all__ = ["main"]


def main() -> int:
    """Start ``ayla-monitor`` with standard streams that can be written to."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    return cli_main()
