"""The no-display check that runs before Qt is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ayla_monitor.cli import ExitCode
from ayla_monitor.display import XCB_LIBRARIES, display_problem, qt_platforms


def everything(name: str) -> bool:
    return True


def nothing(name: str) -> bool:
    return False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("xcb", ["xcb"]),
        ("offscreen", ["offscreen"]),
        ("wayland;xcb", ["wayland", "xcb"]),
        ("vnc:size=800x600", ["vnc"]),
        (" ; minimal", ["minimal"]),
    ],
)
def test_qt_platforms(value: str, expected: list[str]) -> None:
    assert qt_platforms({"QT_QPA_PLATFORM": value}) == expected


def test_no_display_at_all_is_one_sentence() -> None:
    problem = display_problem({}, "linux", everything)
    assert problem is not None
    assert "no display" in problem and "DISPLAY" in problem and "record" in problem
    assert "\n" not in problem


@pytest.mark.parametrize("choice", ["offscreen", "minimal", "vnc", "eglfs", "linuxfb", "wayland", "vnc:size=640x480"])
def test_an_explicit_platform_is_a_display_choice(choice: str) -> None:
    assert display_problem({"QT_QPA_PLATFORM": choice}, "linux", nothing) is None


def test_x11_with_the_libraries_is_fine() -> None:
    assert display_problem({"DISPLAY": ":0"}, "linux", everything) is None


def test_wayland_needs_no_xcb_libraries() -> None:
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux", nothing) is None


def test_missing_xcb_cursor_names_the_package() -> None:
    problem = display_problem({"DISPLAY": ":0"}, "linux", lambda name: name != "libxcb-cursor.so.0")
    assert problem is not None
    assert "libxcb-cursor.so.0" in problem
    assert "apt install libxcb-cursor0" in problem
    assert "dnf install xcb-util-cursor" in problem
    assert "libxcb-icccm" not in problem


def test_every_missing_library_is_named() -> None:
    problem = display_problem({"DISPLAY": ":0"}, "linux", nothing)
    assert problem is not None
    for name, (debian, _) in XCB_LIBRARIES.items():
        assert name in problem and debian in problem


def test_xcb_asked_for_without_display() -> None:
    problem = display_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", everything)
    assert problem is not None and "DISPLAY is not set" in problem


def test_xcb_first_in_a_list_is_checked() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "xcb;offscreen", "DISPLAY": ":1"}, "linux", nothing) is not None


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_other_systems_are_not_checked(platform: str) -> None:
    assert display_problem({}, platform, nothing) is None


def test_the_real_loader_finds_libc() -> None:
    from ayla_monitor.display import _loadable

    assert _loadable("libc.so.6") if sys.platform.startswith("linux") else True
    assert not _loadable("libdoes-not-exist-ayla.so.0")


def test_the_display_module_does_not_import_qt() -> None:
    code = "import sys, ayla_monitor.display; sys.exit(any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_the_window_command_exits_with_no_display(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ayla_monitor import cli

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cli.main([]) == ExitCode.NO_DISPLAY
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ayla-monitor: no display")
