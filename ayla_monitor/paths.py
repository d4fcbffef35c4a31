"""The app's folders, under one name (``ayla-monitor``), and the move of files
left under an older name.

Settings, database, stream keys and logs live in the platform's user folders
(platformdirs; on Linux the XDG ones), each in a folder called
:data:`APP_DIR_NAME`:

- settings: ``~/.config/ayla-monitor/ayla-monitor.ini``
- database and key file: ``~/.local/share/ayla-monitor/``
- log: ``~/.local/state/ayla-monitor/log/ayla-monitor.log``

Earlier versions wrote the log under ``Ayla Monitor`` (the display name).
:func:`migrate_old_folders`, called at every start, moves whatever it finds
under an old name into the new folder (never over a file that is already
there), and logs each move, also in the log file, so the user can find out
where a file went.
"""

from __future__ import annotations

import importlib.resources
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import platformdirs

__all__ = [
    "APP_DIR_NAME",
    "OLD_DIR_NAMES",
    "LOG_FILE_NAME",
    "config_dir",
    "data_dir",
    "state_dir",
    "log_dir",
    "Move",
    "migrate_old_folders",
    "shipped_resources",
]

log = logging.getLogger(__name__)

#: The one folder name of the app, in every user folder.
APP_DIR_NAME = "ayla-monitor"
#: Names earlier versions used for some of those folders.
OLD_DIR_NAMES: tuple[str, ...] = ("Ayla Monitor",)
#: The log file in :func:`log_dir`.
LOG_FILE_NAME = "ayla-monitor.log"


def config_dir(name: str = APP_DIR_NAME) -> Path:
    """Settings (``~/.config/ayla-monitor`` on Linux)."""
    return Path(platformdirs.user_config_dir(name, appauthor=False))


def data_dir(name: str = APP_DIR_NAME) -> Path:
    """The default database and the key file (``~/.local/share/ayla-monitor`` on Linux)."""
    return Path(platformdirs.user_data_dir(name, appauthor=False))


def state_dir(name: str = APP_DIR_NAME) -> Path:
    """State kept between runs (``~/.local/state/ayla-monitor`` on Linux)."""
    return Path(platformdirs.user_state_dir(name, appauthor=False))


def log_dir(name: str = APP_DIR_NAME) -> Path:
    """The log file's folder (``~/.local/state/ayla-monitor/log`` on Linux)."""
    return Path(platformdirs.user_log_dir(name, appauthor=False))


def shipped_resources() -> Traversable:
    """The files shipped inside the package (``ayla_monitor/resources``: icons,
    the ``.desktop`` entry, the AppStream metainfo), found the same way in a
    wheel, an editable install and the PyInstaller bundle."""
    return importlib.resources.files("ayla_monitor").joinpath("resources")


#: Each kind of folder, the log first: on some platforms it lies inside another.
FOLDER_KINDS: tuple[tuple[str, Callable[[str], Path]], ...] = (
    ("log", log_dir),
    ("settings", config_dir),
    ("data", data_dir),
    ("state", state_dir),
)


@dataclass(frozen=True)
class Move:
    """One file or folder found under an old name: moved (``renamed`` when the
    new folder already held one of that name, which is kept), or left where it
    was because it could not be moved (``why`` says so)."""

    source: Path
    target: Path
    moved: bool
    why: str = ""
    renamed: bool = False

    def describe(self) -> str:
        if not self.moved:
            return f"Left {self.source} where it is: {self.why}"
        text = f"Moved {self.source} to {self.target} (the app's folders are now all named {APP_DIR_NAME!r})"
        if self.renamed:
            text += f"; renamed, since {self.target.parent} already had a {self.source.name}, which is kept"
        return text


def _free_name(destination: Path) -> Path:
    """``events (old).sqlite``, ``events (old 2).sqlite``...: a name beside ``destination`` not yet taken."""
    for n in range(1, 1000):
        label = "old" if n == 1 else f"old {n}"
        candidate = destination.with_name(f"{destination.stem} ({label}){destination.suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise FileExistsError(f"no free name beside {destination}")


def _move_tree(source: Path, target: Path, moves: list[Move]) -> None:
    """Move each entry of ``source`` into ``target``, merging folders and
    never replacing what ``target`` holds (the old file is renamed instead);
    ``source`` is removed once empty."""
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        try:
            if entry.is_dir() and not entry.is_symlink() and destination.is_dir():
                _move_tree(entry, destination, moves)
                continue
            renamed = destination.exists() or destination.is_symlink()
            if renamed:
                destination = _free_name(destination)
            target.mkdir(parents=True, exist_ok=True)
            shutil.move(str(entry), str(destination))
            moves.append(Move(entry, destination, True, renamed=renamed))
        except OSError as exc:
            moves.append(Move(entry, destination, False, f"cannot move it: {exc.strerror or exc}"))
    try:
        source.rmdir()
    except OSError:
        pass  # not empty: something was left, and said so


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def migrate_old_folders(old_names: Sequence[str] = OLD_DIR_NAMES) -> list[Move]:
    """Move files found in folders under an old name into the app's folders.

    Returns what was found (nothing, once done). Each move is logged at INFO
    (the console shows it with ``-v``) and each file that could not be moved at
    WARNING; all are also appended to the log file in :func:`log_dir`, where a
    window started from the menu keeps its log. Never raises for a file it
    cannot move: it says so and goes on."""
    moves: list[Move] = []
    for old_name in old_names:
        for _kind, folder in FOLDER_KINDS:
            old, new = folder(old_name), folder(APP_DIR_NAME)
            try:
                if not old.is_dir() or _same(old, new):
                    continue
                _move_tree(old, new, moves)
            except OSError as exc:  # e.g. another user's folder (HOME kept by sudo or setpriv)
                moves.append(Move(old, new, False, f"cannot read it: {exc.strerror or exc}"))
    if moves:
        _log_moves(moves)
    return moves


def _log_moves(moves: Sequence[Move]) -> None:
    """Each move to the usual loggers (the console shows INFO with ``-v``) and,
    whatever the console's level, to the app's log file."""
    handler: logging.Handler | None = None
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(folder / LOG_FILE_NAME, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    except OSError as exc:
        log.warning("Cannot write the log file in %s: %s", log_dir(), exc.strerror or exc)
    try:
        for move in moves:
            level = logging.INFO if move.moved else logging.WARNING
            log.log(level, "%s", move.describe())
            if handler is not None:
                handler.handle(log.makeRecord(log.name, level, __file__, 0, "%s", (move.describe(),), None))
    finally:
        if handler is not None:
            handler.close()
