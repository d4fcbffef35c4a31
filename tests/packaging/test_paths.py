"""One folder name for the app, and files under the old name moved at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ayla_monitor import paths


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME with its own XDG folders (platformdirs reads them at each call)."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(home / sub))
    return home


def test_every_folder_has_the_one_name(xdg: Path) -> None:
    assert paths.config_dir() == xdg / ".config" / "ayla-monitor"
    assert paths.data_dir() == xdg / ".local/share" / "ayla-monitor"
    assert paths.log_dir() == xdg / ".local/state" / "ayla-monitor" / "log"
    from ayla_monitor.keystore import default_fallback_path
    from ayla_monitor.store.location import default_database_path

    assert default_database_path().parent == paths.data_dir()
    assert default_fallback_path().parent == paths.data_dir()


def _old_files(home: Path) -> dict[str, Path]:
    files = {
        "log": home / ".local/state/Ayla Monitor/log/ayla-monitor.log",
        "rotated": home / ".local/state/Ayla Monitor/log/ayla-monitor.log.1",
        "database": home / ".local/share/Ayla Monitor/events.sqlite",
        "keys": home / ".local/share/Ayla Monitor/keys.json",
        "settings": home / ".config/Ayla Monitor/ayla-monitor.ini",
    }
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"old {name}\n")
    files["keys"].chmod(0o600)
    return files


def test_old_files_are_moved_once_and_logged(xdg: Path) -> None:
    old = _old_files(xdg)
    moves = paths.migrate_old_folders()
    assert sorted(m.source for m in moves) == sorted(old.values()) and all(m.moved for m in moves)
    new_log = paths.log_dir() / "ayla-monitor.log"
    assert (paths.data_dir() / "events.sqlite").read_text() == "old database\n"
    assert (paths.data_dir() / "keys.json").stat().st_mode & 0o777 == 0o600
    assert (paths.config_dir() / "ayla-monitor.ini").read_text() == "old settings\n"
    assert (paths.log_dir() / "ayla-monitor.log.1").read_text() == "old rotated\n"
    log_text = new_log.read_text()
    assert log_text.startswith("old log\n")  # the old log, then the moves appended to it
    assert f"Moved {old['database']} to {paths.data_dir() / 'events.sqlite'}" in log_text
    assert not (xdg / ".local/state/Ayla Monitor").exists() and not (xdg / ".config/Ayla Monitor").exists()
    assert paths.migrate_old_folders() == []


def test_a_file_already_in_the_new_folder_is_never_replaced(xdg: Path) -> None:
    old = _old_files(xdg)
    paths.data_dir().mkdir(parents=True)
    (paths.data_dir() / "events.sqlite").write_text("new database\n")
    (paths.data_dir() / "events (old).sqlite").write_text("an earlier old one\n")
    moves = paths.migrate_old_folders()
    renamed = [m for m in moves if m.renamed]
    assert [(m.source, m.target) for m in renamed] == [(old["database"], paths.data_dir() / "events (old 2).sqlite")]
    assert all(m.moved for m in moves)
    assert (paths.data_dir() / "events.sqlite").read_text() == "new database\n"
    assert (paths.data_dir() / "events (old 2).sqlite").read_text() == "old database\n"
    assert "already had a events.sqlite, which is kept" in (paths.log_dir() / "ayla-monitor.log").read_text()
    assert not (xdg / ".local/share/Ayla Monitor").exists()
    assert paths.migrate_old_folders() == []


def test_what_cannot_be_moved_is_left_and_said(xdg: Path, caplog: pytest.LogCaptureFixture) -> None:
    old = _old_files(xdg)
    paths.data_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.data_dir().write_text("a file where the data folder should be")
    moves = paths.migrate_old_folders()
    left = [m for m in moves if not m.moved]
    assert {m.source for m in left} == {old["database"], old["keys"]}
    assert all("cannot move it" in m.why for m in left)
    assert old["database"].is_file()
    assert any(r.levelname == "WARNING" and "Left" in r.getMessage() for r in caplog.records)


def test_the_command_moves_them_at_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    old = _old_files(home)
    done = subprocess.run([sys.executable, "-m", "ayla_monitor", "-v", "install-desktop", "--uninstall"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"Moved {old['keys']}" in done.stderr
    assert (home / ".local/share/ayla-monitor/keys.json").read_text() == "old keys\n"
    assert "Moved" in (home / ".local/state/ayla-monitor/log/ayla-monitor.log").read_text()
