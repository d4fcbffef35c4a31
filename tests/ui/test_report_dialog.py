"""File -> Fleet report…: the dialog runs the report off the UI thread and
writes the file the command would write."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
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
