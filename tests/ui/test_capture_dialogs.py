"""File → Save capture… and File → Open capture…, in the running app on the demo."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ayla_monitor.capture.format import read_capture
from ayla_monitor.dss.events import Event
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.simulator.server import DEMO_KEY
from ayla_monitor.ui.app import DemoOptions, Session
from ayla_monitor.ui.capture_dialogs import PlaybackPanel, SaveCaptureDialog
from ayla_monitor.ui.settings import AppSettings
from tests.conftest import sqlite_file

from .conftest import wait_until
from .test_app import drive


def stored_dsns(path: Path) -> set[str]:
    with sqlite_file(path) as db:
        return {row[0] for row in db.execute("select distinct dsn from events where dsn is not null")}


def test_save_a_redacted_capture_then_play_it(tmp_path: Path, settings: AppSettings, keystore: Any,
                                             run: Callable[..., Any]) -> None:
    db = tmp_path / "demo.sqlite"
    capture = tmp_path / "c.jsonl.gz"
    seen: dict[str, Any] = {}

    async def user(session: Session) -> None:
        window = session.window
        await wait_until(lambda: window.log_view.model.rowCount() >= 40, what="demo events in the log")
        await wait_until(lambda: window.writer_label.text().startswith("Stored"), what="stored events")
        dialog = session.captures.save_capture()
        assert isinstance(dialog, SaveCaptureDialog)
        await wait_until(lambda: dialog.devices.count() >= 4, what="the device list")
        dialog.path_edit.setText(str(capture))
        assert dialog.redaction().as_option() == "dsn,uuid,location:2"
        dialog.save()
        await wait_until(lambda: dialog.result_value is not None, what="the capture written")
        seen["status"] = dialog.status.text()
        dialog.close()
        session.demo_mode = False  # play it as a user would: the demo's own database is left
        ok = await session.captures.open_capture(str(capture))
        assert ok
        panel = session.captures.panel
        assert isinstance(panel, PlaybackPanel)
        panel.speed_box.setCurrentIndex(panel.speed_box.count() - 1)  # max
        await wait_until(lambda: panel.server.finished.is_set(), what="the whole capture played")
        captured = {e.dsn for e in (parse_frame(f.frame, 0.0) for f in read_capture(capture).frames)
                    if isinstance(e, Event) and e.dsn}
        seen["captured"] = captured
        await wait_until(lambda: {window.tiles.model.index(r, 0).data()
                                  for r in range(window.tiles.model.rowCount())} == captured,
                         what="a tile per device of the capture")
        panel.refresh()
        seen["progress"] = panel.progress.text()
        seen["scratch"] = session.database_url
        seen["tiles"] = {window.tiles.model.index(r, 0).data() for r in range(window.tiles.model.rowCount())}
        panel.play_button.click()
        assert panel.server.paused and panel.play_button.text() == "Play"
        await session.captures.close_capture()
        assert session.simulator is None

    code = run(drive(user, database=str(db), demo=True, settings=settings, keystore=keystore,
                     demo_options=DemoOptions(devices=4, rate=200)), timeout=120)
    assert code == 0
    assert seen["status"].startswith("Wrote ") and str(capture) in seen["status"]
    text = gzip.decompress(capture.read_bytes()).decode()
    real = stored_dsns(db)
    assert len(real) >= 4 and not any(dsn in text for dsn in real)
    assert DEMO_KEY not in text
    header = read_capture(capture).header
    assert header is not None and header.redaction.applied == ("dsn", "uuid", "location")
    assert seen["progress"].startswith("finished: ")
    assert "ayla-capture-" in seen["scratch"] and str(db) not in seen["scratch"]
    assert seen["tiles"] == seen["captured"] and seen["tiles"].isdisjoint(real)
