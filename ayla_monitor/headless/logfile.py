"""``--log-file`` for a service: a log that rotation tools can move away.

The handler is a :class:`logging.handlers.WatchedFileHandler`: when
``logrotate`` (or anyone) renames or removes the file, the next line opens a
new one at the same path. SIGHUP reopens it at once as well (``systemctl
reload``, or logrotate's ``postrotate`` with ``copytruncate`` off), instead of
ending the process as SIGHUP does by default.
"""

from __future__ import annotations

import logging
import signal
import threading
from logging.handlers import WatchedFileHandler

__all__ = ["ReopeningFileHandler", "install_sighup"]


class ReopeningFileHandler(WatchedFileHandler):
    """A watched log file that :meth:`reopen` closes and opens again;
    :meth:`request_reopen` (safe in a signal handler) has the next line do it."""

    #: times the file was reopened on request
    reopened = 0
    _pending = False

    def request_reopen(self) -> None:
        self._pending = True

    def emit(self, record: logging.LogRecord) -> None:
        if self._pending:
            self._pending = False
            self.reopen()
        super().emit(record)

    def reopen(self) -> None:
        self.acquire()
        try:
            if self.stream is not None:
                self.stream.flush()
                self.stream.close()
            self.stream = self._open()
            self._statstream()
            self.reopened += 1
        finally:
            self.release()


def install_sighup(handler: ReopeningFileHandler) -> bool:
    """SIGHUP reopens ``handler``'s file. Only from the main thread, where
    Python delivers signals; ``False`` where that is not possible."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return False

    def on_hup(_signum: int, _frame: object) -> None:
        # Not reopened here: the signal may have come in the middle of a line.
        handler.request_reopen()

    signal.signal(signal.SIGHUP, on_hup)
    return True
