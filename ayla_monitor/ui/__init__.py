"""The desktop window (PySide6 + qasync). Imported lazily by the CLI, so that
the headless recorder never needs Qt.

Import PySide6 before qasync: qasync picks its Qt binding from what is loaded.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")

__all__: list[str] = []
