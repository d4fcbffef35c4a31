"""``python -m ayla_monitor`` does what the ``ayla-monitor`` command does.

It is also the bundle's entry point. The guard matters: the database writer
runs in a process started with ``spawn``, which imports this module again
(as ``__mp_main__``), and ``freeze_support`` lets a frozen bundle start it.
A windowed Windows or macOS bundle has no standard streams (``None``): they
go to the null device instead of failing the first message.
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    from ayla_monitor.cli import main

    sys.exit(main())
