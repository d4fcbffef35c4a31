"""``ayla-monitor install-desktop``: a valid entry whose Exec= starts this copy
of the app, wherever it is installed, and an uninstall that removes it all."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ayla_monitor import __version__
from ayla_monitor.desktop_entry import (
    DESKTOP_FILE,
    DesktopEntryError,
    exec_value,
    installed_paths,
    launcher_argv,
    render_desktop_entry,
    run,
)

SCRIPT = Path(sys.executable).parent / "ayla-monitor"


def parse_exec(value: str) -> list[str]:
    """An Exec= value back into argv, as a desktop environment reads it
    (Desktop Entry Specification: string escapes, then quoting, then %%)."""
    unescaped, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            unescaped.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(value[i + 1], "\\" + value[i + 1]))
            i += 2
        else:
            unescaped.append(c)
            i += 1
    text = "".join(unescaped)
    args: list[str] = []
    current: list[str] | None = None
    i = 0
    while i < len(text):
        c = text[i]
        if c == " ":
            if current is not None:
                args.append("".join(current))
                current = None
            i += 1
        elif c == '"':
            current = current if current is not None else []
            i += 1
            while text[i] != '"':
                if text[i] == "\\" and text[i + 1] in '"`$\\':
                    i += 1
                current.append(text[i])
                i += 1
            i += 1
        else:
            current = current if current is not None else []
            current.append(c)
            i += 1
    if current is not None:
        args.append("".join(current))
    return [a.replace("%%", "%") for a in args]


def test_a_plain_path_is_written_as_it_is() -> None:
    assert exec_value(["/opt/ayla-monitor/ayla-monitor"]) == "/opt/ayla-monitor/ayla-monitor"


def test_reserved_characters_are_quoted_and_escaped() -> None:
    value = exec_value(['/home/a b/$x "q" 50% `c`\\d/ayla-monitor'])
    assert value == '"/home/a b/\\\\$x \\\\"q\\\\" 50%% \\\\`c\\\\`\\\\\\\\d/ayla-monitor"'
    assert parse_exec(value) == ['/home/a b/$x "q" 50% `c`\\d/ayla-monitor']


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\\\"$`%"),
                        min_size=1), min_size=1, max_size=4))
def test_any_argv_survives_the_round_trip(argv: list[str]) -> None:
    assert parse_exec(exec_value(argv)) == argv


def test_a_path_that_is_not_utf8_is_refused_with_a_reason() -> None:
    with pytest.raises(DesktopEntryError, match="not valid UTF-8"):
        exec_value(["/home/x/\udcff/ayla-monitor"])


def test_the_launcher_is_the_copy_that_runs(tmp_path: Path) -> None:
    assert launcher_argv(frozen=True, executable="/opt/ayla-monitor/ayla-monitor", argv0="x") == [
        "/opt/ayla-monitor/ayla-monitor"]
    script = tmp_path / "bin" / "ayla-monitor"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    assert launcher_argv(frozen=False, executable="/usr/bin/python3", argv0=str(script)) == [str(script)]
    assert launcher_argv(frozen=False, executable="/usr/bin/python3", argv0="/x/ayla_monitor/__main__.py") == [
        "/usr/bin/python3", "-m", "ayla_monitor"]


def test_render_sets_exec_and_tryexec_only() -> None:
    template = "[Desktop Entry]\nName=Ayla Monitor\nExec=ayla-monitor\nTryExec=ayla-monitor\nIcon=ayla-monitor\n"
    text = render_desktop_entry(template, ["/a b/ayla-monitor"])
    assert text.splitlines() == ["[Desktop Entry]", "Name=Ayla Monitor", 'Exec="/a b/ayla-monitor"',
                                 "TryExec=/a b/ayla-monitor", "Icon=ayla-monitor"]


def _installed_exec(share: Path) -> list[str]:
    lines = (share / "applications" / DESKTOP_FILE).read_text(encoding="utf-8").splitlines()
    return parse_exec(next(line for line in lines if line.startswith("Exec="))[len("Exec="):])


@pytest.mark.skipif(not SCRIPT.is_file(), reason=f"no ayla-monitor script next to {sys.executable}")
def test_install_from_an_awkward_path_validates_and_starts_the_app(tmp_path: Path) -> None:
    # the installed script, reached through a folder whose name needs quoting
    folder = tmp_path / "my apps $HOME 100% \"x\""
    folder.mkdir()
    (folder / "ayla-monitor").symlink_to(SCRIPT)
    share = tmp_path / "share"
    env = dict(os.environ, XDG_DATA_HOME=str(share), HOME=str(tmp_path / "home"))
    done = subprocess.run([str(folder / "ayla-monitor"), "install-desktop"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Installed the menu entry" in done.stdout
    assert all(path.is_file() for path in installed_paths(share))
    argv = _installed_exec(share)
    assert argv == [str(folder / "ayla-monitor")]
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(["desktop-file-validate", str(share / "applications" / DESKTOP_FILE)],
                                 capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout
    started = subprocess.run([*argv, "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert started.stdout.strip() == f"ayla-monitor {__version__}"

    done = subprocess.run([str(folder / "ayla-monitor"), "install-desktop", "--uninstall"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Removed 11 files" in done.stdout
    assert not any(path.exists() for path in installed_paths(share))
    again = subprocess.run([str(folder / "ayla-monitor"), "install-desktop", "--uninstall"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "Nothing to remove" in again.stdout


def test_python_m_installs_an_entry_that_runs_this_python(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "share"), HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "ayla_monitor", "install-desktop"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    argv = _installed_exec(tmp_path / "share")
    assert argv == [str(Path(sys.executable).absolute()), "-m", "ayla_monitor"]
    started = subprocess.run([*argv, "--version"], env=env, capture_output=True, text=True, timeout=60,
                             cwd=tmp_path)
    assert started.stdout.strip() == f"ayla-monitor {__version__}"


def test_not_on_linux_it_says_what_to_use_instead() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(argparse.Namespace(uninstall=False), out, err, platform="win32") == 2
    assert "Linux" in err.getvalue() and "Windows" in err.getvalue() and not out.getvalue()


def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "share"
    blocker.write_text("a file where the data folder should be")
    out, err = io.StringIO(), io.StringIO()
    code = run(argparse.Namespace(uninstall=False), out, err, environ={"XDG_DATA_HOME": str(blocker)})
    assert code == 2 and str(blocker) in err.getvalue() and "Traceback" not in err.getvalue()
