"""File -> Fleet report…: the dialog runs the report off the UI thread and
writes the file the command would write."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

import ayla_monitor.ui.report_dialog as module
from ayla_monitor.store.database import Store
from ayla_monitor.ui.report_dialog import FORMATS, ReportDialog
from tests.store.test_history import DSN, OTHER, device_story, write_story


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    write_story(url, device_story())
    with Store.open(url) as opened:
        yield opened


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the dialog asked the desktop to open (no browser under test)."""
    urls: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: urls.append(QUrl(url).toLocalFile()) or True)
    return urls


def test_the_report_is_written_and_opened(qtbot: Any, store: Store, tmp_path: Path, opened: list[str]) -> None:
    dialog = ReportDialog(store, directory=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.fmt == "html" and dialog.path_edit.text().endswith(".html")
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("json"))
    assert dialog.path_edit.text().endswith(FORMATS["json"][1])
    with qtbot.waitSignal(dialog.finished_report, timeout=30000) as signal:
        dialog.start()
    assert signal.args[0] == 13 and dialog.error is None  # 12 of the thermostat, 1 of the other
    assert dialog.result_path is not None
    data = json.loads(dialog.result_path.read_text(encoding="utf-8"))
    assert data["events"] == 13 and {d["dsn"] for d in data["devices"]} == {DSN, OTHER}
    assert opened == [str(dialog.result_path)]
    assert dialog.open_button.isVisibleTo(dialog) and "13 events" in dialog.status.text()
    assert not list(tmp_path.glob("*.part"))


def test_closing_mid_report_stops_it_and_leaves_no_file(qtbot: Any, store: Store, tmp_path: Path,
                                                         opened: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real = module.build_report

    def slow(*args: Any, **kwargs: Any) -> Any:
        gate.wait(10)  # until Cancel was clicked
        cancelled = kwargs["cancelled"]
        assert cancelled is not None and cancelled()
        raise module.ReportCancelled()

    monkeypatch.setattr(module, "build_report", slow)
    dialog = ReportDialog(store, directory=tmp_path)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.finished_report, timeout=30000) as signal:
        dialog.start()
        assert dialog.running and not dialog.run_button.isEnabled()
        dialog.cancel_button.click()
        gate.set()
    assert signal.args == [-1, "cancelled"]
    assert "no file was written" in dialog.status.text()
    assert list(tmp_path.glob("*.html")) == [] and opened == []
    assert real is not slow


def test_a_folder_that_does_not_exist_is_named(qtbot: Any, store: Store, tmp_path: Path) -> None:
    dialog = ReportDialog(store, directory=tmp_path)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(tmp_path / "nope" / "r.html"))
    dialog.start()
    assert not dialog.running and "does not exist" in dialog.status.text()


def test_the_demo_plays_its_scenarios_and_file_fleet_report_reports_them(
    tmp_path: Path, settings: Any, keystore: Any, run: Callable[..., Any], opened: list[str]
) -> None:
    """The window's demo runs the scenario fleet; File -> Fleet report… writes
    the report of what it recorded."""
    from ayla_monitor.ui.app import DemoOptions, Session
    from tests.ui.conftest import wait_until
    from tests.ui.test_app import drive

    seen: dict[str, Any] = {}

    async def user(session: Session) -> None:
        window = session.window
        await wait_until(lambda: session.simulator is not None, what="the demo's simulator")
        assert session.simulator is not None and session.simulator.config.scenarios
        seen["roles"] = {part: d.dsn for part, d in session.simulator.fleet.roles.items()}
        await wait_until(lambda: window.log_view.model.rowCount() >= 1500, timeout=60, what="demo events")
        assert window.report_action.isEnabled()
        window.report_action.trigger()
        dialog = next(d for d in session._dialogs if isinstance(d, ReportDialog))
        dialog.format_box.setCurrentIndex(dialog.format_box.findData("json"))
        dialog.path_edit.setText(str(tmp_path / "demo-report.json"))
        dialog.start()
        await wait_until(lambda: not dialog.running, timeout=60, what="the report")
        assert dialog.error is None, dialog.error
        seen["path"] = dialog.result_path

    code = run(drive(user, database=str(tmp_path / "demo.sqlite"), demo=True, settings=settings,
                     keystore=keystore, demo_options=DemoOptions(devices=8, rate=200)), timeout=120)
    assert code == 0
    data = json.loads(Path(seen["path"]).read_text(encoding="utf-8"))
    devices = {d["dsn"]: d for d in data["devices"]}
    assert len(devices) == 8 and set(seen["roles"].values()) <= set(devices)
    assert devices[seen["roles"]["acks"]]["acks"] >= 1
    assert opened == [str(seen["path"])]
