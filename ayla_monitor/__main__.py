"""``python -m ayla_monitor`` does what the ``ayla-monitor`` command does.

It is also the bundle's entry point. The guard matters: the database writer
runs in a process started with ``spawn``, which imports this module again
(as ``__mp_main__``), and ``freeze_support`` lets a frozen bundle start it.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from ayla_monitor.cli import main

    sys.exit(main())
