"""``python -m ayla_monitor`` does what the ``ayla-monitor`` command does."""

import sys

from ayla_monitor.cli import main

sys.exit(main())
