"""``ayla-monitor --version --verbose``: every version a bug report needs.

In ``ui`` because it asks the Qt library that is loaded for its version (the
PySide6 wheel's version and the Qt it runs on can differ with a distribution's
Qt). Imported lazily by the CLI; plain ``--version`` never loads Qt.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sqlite3
import sys

from ayla_monitor import __version__

__all__ = ["version_lines", "LIBRARIES"]

#: (distribution, module, its version attribute), the attribute for when the metadata is
#: missing. PyMySQL's ``__version__`` is the mysqlclient version it imitates; VERSION_STRING is its own.
LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("PySide6-Essentials", "PySide6", "__version__"),
    ("shiboken6", "shiboken6", "__version__"),
    ("qasync", "qasync", "__version__"),
    ("websockets", "websockets", "__version__"),
    ("peewee", "peewee", "__version__"),
    ("PyMySQL", "pymysql", "VERSION_STRING"),
    ("cryptography", "cryptography", "__version__"),
    ("orjson", "orjson", "__version__"),
    ("platformdirs", "platformdirs", "__version__"),
    ("keyring", "keyring", "__version__"),
)


def _distribution_version(dist: str, module: str, attribute: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        found = getattr(importlib.import_module(module), attribute, None)
    except Exception as exc:  # a missing or broken library is what the report is for
        return f"not available ({type(exc).__name__}: {exc})"
    return str(found) if found is not None else "installed (version unknown)"


def _qt_version() -> str:
    try:
        from PySide6 import QtCore
    except Exception as exc:  # e.g. a Qt library missing on a server
        return f"not available ({type(exc).__name__}: {exc})"
    return QtCore.qVersion()  # the Qt library loaded, which a distribution's PySide6 may not have bundled


def version_lines() -> list[str]:
    """``ayla-monitor X`` then one ``name: version`` line each."""
    where = "bundle" if getattr(sys, "frozen", False) else sys.prefix
    lines = [
        f"ayla-monitor {__version__}",
        f"Python: {platform.python_version()} ({platform.python_implementation()}, {where})",
        f"Platform: {platform.platform()}",
        f"Qt: {_qt_version()}",
    ]
    lines += [f"{library[0]}: {_distribution_version(*library)}" for library in LIBRARIES]
    lines.append(f"SQLite: {sqlite3.sqlite_version}")
    return lines
