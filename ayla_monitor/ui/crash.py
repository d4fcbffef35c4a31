"""Unhandled exceptions in the window: a dialog, a log file, and the app keeps running.

:func:`install` points :data:`sys.excepthook` (where PySide6 and qasync's
``asyncSlot`` send an exception nobody caught) at a :class:`CrashReporter`
and adds a log file in the user's log folder (:func:`ayla_monitor.paths.log_dir`)
to the root logger, so the traceback of the bug, and every warning before it,
is on disk. The reporter shows one short dialog naming that file; more errors
while it is open only update its count, so a bug in a timer cannot bury the
screen in dialogs.

With ``AYLA_MONITOR_REPORT_STARTUP=1`` it also prints, on stderr, how long
after the process started the first window was exposed (``packaging/selfcheck.py``
reads that line).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QWindow
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ayla_monitor import APP_NAME
from ayla_monitor.paths import LOG_FILE_NAME, log_dir

__all__ = [
    "CrashReporter",
    "install",
    "default_log_dir",
    "LOG_FILE_NAME",
    "STARTUP_ENV",
    "STARTUP_MARKER",
    "seconds_since_process_start",
]

log = logging.getLogger(__name__)

#: Set to 1 to print when the first window appears.
STARTUP_ENV = "AYLA_MONITOR_REPORT_STARTUP"
#: The start of that line on stderr; the seconds follow.
STARTUP_MARKER = "ayla-monitor: first window shown after"

_IMPORTED_AT = time.monotonic()

def default_log_dir() -> Path:
    """The user's log folder for the app (e.g. ~/.local/state/ayla-monitor/log)."""
    return log_dir()


def seconds_since_process_start() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since this module was imported)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, in ticks since boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED_AT


def _open_log_file(log_dir: Path) -> logging.handlers.RotatingFileHandler:
    """A rotating log file in ``log_dir``, or in the temporary folder when that cannot be written."""
    for folder in (log_dir, Path(tempfile.gettempdir()) / "ayla-monitor-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                folder / LOG_FILE_NAME, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=False
            )
        except OSError as exc:
            log.warning("Cannot write the log file in %s: %s", folder, exc.strerror)
            continue
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        return handler
    raise OSError("no folder for the log file can be written")


class CrashReporter(QObject):
    """Writes an unhandled exception's traceback to the log and shows a short dialog about it."""

    def __init__(self, window: QWidget | None, handler: logging.Handler, log_file: Path,
                 previous_hook: Callable[..., Any]) -> None:
        super().__init__(window)
        self.window = window
        self.handler = handler
        self.log_file = log_file
        self.previous_hook = previous_hook
        self.dialog: QMessageBox | None = None
        self.errors = 0
        self._startup_filter: _FirstExpose | None = None

    def excepthook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        """``sys.excepthook``: log the traceback, tell the user, carry on."""
        if issubclass(kind, KeyboardInterrupt):
            self.previous_hook(kind, exc, tb)
            return
        log.error("Unexpected error (%s)", kind.__name__, exc_info=(kind, exc, tb))
        self.handler.flush()
        try:
            self.show(kind)
        except Exception:  # the dialog itself failed: the traceback is in the log already
            log.exception("Could not show the error dialog")
            self.previous_hook(kind, exc, tb)

    def show(self, kind: type[BaseException]) -> QMessageBox:
        """Open the dialog (or count one more error in the open one)."""
        self.errors += 1
        dialog = self.dialog
        if dialog is None or not dialog.isVisible():
            parent = self.window if self.window is not None and self.window.isVisible() else None
            dialog = QMessageBox(parent)
            dialog.setObjectName("crash-dialog")
            dialog.setIcon(QMessageBox.Icon.Critical)
            dialog.setWindowTitle(f"{APP_NAME}: unexpected error")
            dialog.setTextFormat(Qt.TextFormat.PlainText)
            dialog.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            dialog.setStandardButtons(QMessageBox.StandardButton.Close)
            folder = dialog.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole)
            folder.clicked.connect(self.open_log_folder)
            dialog.setWindowModality(Qt.WindowModality.NonModal)
            dialog.finished.connect(self._closed)
            self.dialog = dialog
            self.errors = 1
        dialog.setText(
            f"Something went wrong inside {APP_NAME} ({kind.__name__}). It keeps running, "
            "but what you just did may not have finished."
            + (f" ({self.errors} errors so far.)" if self.errors > 1 else "")
        )
        dialog.setInformativeText(f"The details are in the log file:\n{self.log_file}")
        dialog.show()
        dialog.raise_()
        return dialog

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_file.parent)))

    def _closed(self, _result: int) -> None:
        self.errors = 0

    def report_startup(self, out: Any = None) -> None:
        """Print on ``out`` (stderr) when the first window is exposed."""
        app = QApplication.instance()
        if app is None or self._startup_filter is not None:
            return
        self._startup_filter = _FirstExpose(out if out is not None else sys.stderr, self)
        app.installEventFilter(self._startup_filter)

    def uninstall(self) -> None:
        """Give back sys.excepthook and close the log file (the window is going away)."""
        if sys.excepthook == self.excepthook:
            sys.excepthook = self.previous_hook
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()
        app = QApplication.instance()
        if self._startup_filter is not None and app is not None:
            app.removeEventFilter(self._startup_filter)
            self._startup_filter = None


class _FirstExpose(QObject):
    """Prints one line when the first top-level window becomes visible on screen."""

    def __init__(self, out: Any, parent: QObject) -> None:
        super().__init__(parent)
        self.out = out
        self.done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (not self.done and event.type() == QEvent.Type.Expose and isinstance(watched, QWindow)
                and watched.isExposed()):
            self.done = True
            self.out.write(f"{STARTUP_MARKER} {seconds_since_process_start():.3f} s\n")
            self.out.flush()
        return False


def install(window: QWidget | None = None, *, log_dir: Path | None = None,
            environ: Mapping[str, str] | None = None) -> CrashReporter:
    """Report unhandled exceptions with a dialog and a log file; returns the reporter
    (call its :meth:`~CrashReporter.uninstall` when the window closes)."""
    environ = os.environ if environ is None else environ
    handler = _open_log_file(log_dir if log_dir is not None else default_log_dir())
    log_file = Path(handler.baseFilename)
    logging.getLogger().addHandler(handler)
    reporter = CrashReporter(window, handler, log_file, sys.excepthook)
    sys.excepthook = reporter.excepthook
    if environ.get(STARTUP_ENV) == "1":
        reporter.report_startup()
    return reporter
