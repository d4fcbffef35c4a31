"""``--log-file`` for a service: a rotated file is followed by a new one at
the same path, and SIGHUP reopens it (instead of ending the process)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest

from ayla_monitor.headless.logfile import ReopeningFileHandler, install_sighup


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this system")
def test_rotation_and_sighup(tmp_path: Path) -> None:
    path = tmp_path / "recorder.log"
    handler = ReopeningFileHandler(str(path), encoding="utf-8")
    logger = logging.getLogger("tests.logfile")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    previous = signal.getsignal(signal.SIGHUP)
    try:
        logger.info("first")
        path.rename(tmp_path / "recorder.log.1")  # what logrotate does
        logger.info("second")
        assert (tmp_path / "recorder.log.1").read_text().strip() == "first"
        assert path.read_text().strip() == "second"
        # copytruncate-free rotation plus a HUP: the next line reopens
        assert install_sighup(handler)
        path.rename(tmp_path / "recorder.log.2")
        os.kill(os.getpid(), signal.SIGHUP)  # the process lives on
        logger.info("third")
        assert handler.reopened == 1
        assert path.read_text().strip() == "third"
        assert (tmp_path / "recorder.log.2").read_text().strip() == "second"
    finally:
        signal.signal(signal.SIGHUP, previous)
        logger.removeHandler(handler)
        handler.close()


def test_the_cli_logs_to_a_reopening_file(tmp_path: Path) -> None:
    from ayla_monitor.cli import main

    log = tmp_path / "svc.log"
    previous = signal.getsignal(signal.SIGHUP) if hasattr(signal, "SIGHUP") else None
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        assert main(["--log-file", str(log), "status", "--db", str(tmp_path / "none" / "x.sqlite")]) == 4
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and isinstance(added[0], ReopeningFileHandler)
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
        if previous is not None:
            signal.signal(signal.SIGHUP, previous)
