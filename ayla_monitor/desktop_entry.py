"""``ayla-monitor install-desktop [--uninstall]``: the Linux menu entry and icons.

Puts, for the current user, the ``.desktop`` entry, the icon in every size and
the AppStream metainfo under ``$XDG_DATA_HOME`` (``~/.local/share``), with an
``Exec=`` that starts the copy of the app that ran the command: the bundle's
binary, the ``ayla-monitor`` script of a pip/pipx install, or
``python -m ayla_monitor``. ``--uninstall`` removes exactly those files. The
``.deb`` build (``packaging/build.py --deb``) lays out the same files under
``/usr/share`` with :func:`install_files`.

``Exec=`` is written as the Desktop Entry Specification says: an argument with
a reserved character is quoted, ``"`$\\`` escaped inside the quotes, then the
string-value escapes applied (a literal backslash becomes four), and ``%``
doubled (it would start a field code).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from ayla_monitor.paths import shipped_resources

__all__ = [
    "DESKTOP_FILE",
    "METAINFO_FILE",
    "ICON_NAME",
    "PNG_SIZES",
    "DesktopEntryError",
    "launcher_argv",
    "quote_exec_argument",
    "exec_value",
    "render_desktop_entry",
    "data_home",
    "installed_paths",
    "install_files",
    "uninstall_files",
    "add_parser",
    "run",
]

DESKTOP_FILE = "ayla-monitor.desktop"
#: The metainfo's installed name: its AppStream component id.
METAINFO_FILE = "io.github.aylamonitor.AylaMonitor.metainfo.xml"
ICON_NAME = "ayla-monitor"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

_RESERVED = set(" \t\n\"'\\><~|&;$*?#`()")
_ESCAPED_IN_QUOTES = set('"`$\\')


class DesktopEntryError(Exception):
    """The entry cannot be written as asked; the message says why and whose fault."""


def launcher_argv(*, frozen: bool, executable: str, argv0: str) -> list[str]:
    """The command that starts this copy of the app.

    The bundle's binary when frozen; the ``ayla-monitor`` script that is
    running (a pip or pipx install; kept as given, not resolved, so pipx's
    ``~/.local/bin`` link survives an upgrade); otherwise this Python with
    ``-m ayla_monitor`` (``python -m ayla_monitor install-desktop``)."""
    if frozen:
        return [str(Path(executable).absolute())]
    script = Path(argv0)
    if script.name in ("ayla-monitor", "ayla-monitor-gui") and script.is_file():
        return [str(script.absolute())]
    return [str(Path(executable).absolute()), "-m", "ayla_monitor"]


def quote_exec_argument(argument: str) -> str:
    """One argument as the Exec key's quoting rules want it (before the string escapes)."""
    if argument and not (_RESERVED & set(argument)):
        return argument
    return '"' + "".join("\\" + c if c in _ESCAPED_IN_QUOTES else c for c in argument) + '"'


def _escape_string(text: str) -> str:
    """The escapes of a desktop entry string value."""
    return (text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r"))


def exec_value(argv: Sequence[str]) -> str:
    """The value of ``Exec=`` for ``argv``, quoted and escaped.

    Raises DesktopEntryError for what the file cannot hold (an empty command,
    a path that is not valid UTF-8)."""
    if not argv:
        raise DesktopEntryError("no command to put in Exec=")
    for argument in argv:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            raise DesktopEntryError(
                f"the path {argument!r} is not valid UTF-8, which a .desktop file cannot hold; "
                "install the app under a path with a UTF-8 name"
            ) from None
    quoted = " ".join(quote_exec_argument(a) for a in argv)
    return _escape_string(quoted).replace("%", "%%")


def render_desktop_entry(template: str, argv: Sequence[str]) -> str:
    """The shipped entry with ``Exec=`` (and ``TryExec=``: the program itself) set for ``argv``."""
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = "Exec=" + exec_value(argv)
        elif line.startswith("TryExec="):
            line = "TryExec=" + _escape_string(argv[0])
        lines.append(line)
    return "\n".join(lines) + "\n"


def data_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` when set to an absolute path, else ``~/.local/share``."""
    environ = os.environ if environ is None else environ
    value = environ.get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(environ.get("HOME") or Path.home()) / ".local" / "share"


def installed_paths(share: Path) -> list[Path]:
    """Every file :func:`install_files` writes under ``share`` (``~/.local/share`` or ``/usr/share``)."""
    icons = share / "icons" / "hicolor"
    return [
        share / "applications" / DESKTOP_FILE,
        *(icons / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png" for size in PNG_SIZES),
        icons / "scalable" / "apps" / f"{ICON_NAME}.svg",
        share / "metainfo" / METAINFO_FILE,
    ]


def install_files(share: Path, argv: Sequence[str]) -> list[Path]:
    """Write the entry (for ``argv``), the icons and the metainfo under ``share``; the files written."""
    resources = shipped_resources()
    entry = render_desktop_entry(resources.joinpath(DESKTOP_FILE).read_text(encoding="utf-8"), argv)
    icons = resources.joinpath("icons")
    sources = [
        (entry.encode("utf-8"), installed_paths(share)[0]),
        *((icons.joinpath(f"{ICON_NAME}-{size}.png").read_bytes(), path)
          for size, path in zip(PNG_SIZES, installed_paths(share)[1:], strict=False)),
        (icons.joinpath(f"{ICON_NAME}.svg").read_bytes(), installed_paths(share)[-2]),
        (resources.joinpath("ayla-monitor.metainfo.xml").read_bytes(), installed_paths(share)[-1]),
    ]
    written = []
    for data, path in sources:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        temporary.chmod(0o644)
        temporary.replace(path)
        written.append(path)
    return written


def uninstall_files(share: Path) -> list[Path]:
    """Remove what :func:`install_files` wrote under ``share``; the files removed."""
    removed = []
    for path in installed_paths(share):
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


def _refresh_caches(share: Path) -> None:
    """Tell the desktop (menu database, icon cache) when its tools are there; never fails."""
    for command in (["update-desktop-database", "-q", str(share / "applications")],
                    ["gtk-update-icon-cache", "-q", "-t", "-f", str(share / "icons" / "hicolor")]):
        if shutil.which(command[0]):
            try:
                subprocess.run(command, capture_output=True, timeout=30, check=False)
            except (OSError, subprocess.SubprocessError):
                pass


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """The ``install-desktop`` command."""
    parser = commands.add_parser(
        "install-desktop",
        help="add Ayla Monitor to your Linux application menu (or --uninstall)",
        description="Add Ayla Monitor to the application menu of your Linux desktop, for you only: "
        "the menu entry, its icon in every size and the AppStream metainfo under $XDG_DATA_HOME "
        "(~/.local/share). The entry starts the copy of the app that ran this command.",
    )
    parser.add_argument("--uninstall", action="store_true", help="remove the entry, the icons and the metainfo")
    return parser


def run(args: argparse.Namespace, out: TextIO, err: TextIO, *, environ: Mapping[str, str] | None = None,
        platform: str = sys.platform) -> int:
    """Carry out ``install-desktop``; returns 0, or 2 when it cannot be done here (said on ``err``)."""
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        err.write("ayla-monitor: install-desktop adds a menu entry on Linux (freedesktop.org) desktops; "
                  "on Windows and macOS the installer or the .app does that\n")
        return 2
    share = data_home(environ)
    try:
        if args.uninstall:
            removed = uninstall_files(share)
            _refresh_caches(share)
            if removed:
                out.write(f"Removed {len(removed)} files: the menu entry {share / 'applications' / DESKTOP_FILE}, "
                          f"its icons and metainfo\n")
            else:
                out.write(f"Nothing to remove: no menu entry of Ayla Monitor under {share}\n")
            return 0
        argv = launcher_argv(frozen=bool(getattr(sys, "frozen", False)), executable=sys.executable,
                             argv0=sys.argv[0])
        written = install_files(share, argv)
        _refresh_caches(share)
    except DesktopEntryError as exc:
        err.write(f"ayla-monitor: {exc}\n")
        return 2
    except OSError as exc:
        err.write(f"ayla-monitor: cannot write under {share}: {exc.strerror or exc} "
                  f"({exc.filename or share}); check that folder's owner and permissions\n")
        return 2
    out.write(f"Installed the menu entry {written[0]}\n  Exec={exec_value(argv)}\n"
              f"  icon in {len(PNG_SIZES)} sizes and SVG under {share / 'icons' / 'hicolor'}\n"
              f"Remove it with: ayla-monitor install-desktop --uninstall\n")
    return 0
