"""``ayla-monitor --version [--verbose]``: one line, or every version a bug report needs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from ayla_monitor import __version__


def test_verbose_version_names_every_part() -> None:
    done = subprocess.run([sys.executable, "-m", "ayla_monitor", "--version", "--verbose"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"ayla-monitor {__version__}"
    fields = dict(line.split(": ", 1) for line in lines[1:])
    for name in ("Python", "Qt", "PySide6-Essentials", "websockets", "peewee", "PyMySQL", "SQLite"):
        assert name in fields and "not available" not in fields[name], (name, fields)
    assert fields["SQLite"] == sqlite3.sqlite_version
    assert fields["Python"].startswith(sys.version.split()[0])


def test_plain_version_is_one_line_and_loads_no_qt() -> None:
    code = ("import sys; from ayla_monitor.cli import main; code = main(['--version']); "
            "sys.stderr.write(str('PySide6' in sys.modules)); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == f"ayla-monitor {__version__}\n" and done.stderr == "False"
