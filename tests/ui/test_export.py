"""Exporting from the window: file content, progress, cancel, no key; the
live log's filter as a query."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.database import Store
from ayla_monitor.ui.export_dialog import (
    ExportCancelled,
    ExportDialog,
    export_to_file,
    query_from_criteria,
    suggested_name,
)
from tests.store.test_history import DSN, KEY, OTHER, T0, device_story, write_story
from tests.ui.conftest import wait_until


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    write_story(url, device_story())
    with Store.open(url) as opened:
        yield opened


def test_csv_of_one_device_in_a_range(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    seen: list[int] = []
    count = export_to_file(store, EventFilter(dsns=(DSN,), since=T0, until=T0 + 661),
                           "csv", path, progress=seen.append, every=2)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert count == len(rows) == 10
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert {r["dsn"] for r in rows} == {DSN}
    assert rows[0]["event_type"] == "connectivity" and rows[0]["value"] == "Online"
    assert rows[-1]["value"] == "23.0" and rows[-1]["property_name"] == "temperature"
    assert rows[0]["stream"] == "history test"
    assert seen[:2] == [2, 4] and seen[-1] == 10
    text = path.read_text(encoding="utf-8")
    assert KEY not in text and "stream_key" not in text
    assert not (tmp_path / "out.csv.part").exists()


def test_json_lines_carry_the_event_as_received(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    count = export_to_file(store, EventFilter(dsns=(OTHER,)), "jsonl", path)
    (line,) = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(line)
    assert count == 1 and row["dsn"] == OTHER and row["event"]["datapoint"]["value"] == 99.0


def test_cancel_leaves_no_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExportCancelled):
        export_to_file(store, EventFilter(), "csv", path, cancel=cancel)
    assert not path.exists() and not (tmp_path / "out.csv.part").exists()


def test_the_live_log_filter_becomes_a_query() -> None:
    live = EventFilter(event_types=["datapoint"], stream_ids=[3], dsns=DSN, property_like="temp", text="21",
                       descending=True)
    query = query_from_criteria(live)
    assert query == EventFilter(stream_ids=(3,), event_types=("datapoint",), dsns=(DSN,), property_like="temp",
                                text="21", descending=False)
    assert query_from_criteria(EventFilter(property_like=" ", dsns=[])) == EventFilter()


def test_dialog_exports_with_progress(qtbot: Any, store: Store, tmp_path: Path, run: Callable[..., Any]) -> None:
    dialog = ExportDialog(store, EventFilter(dsns=(DSN,)), directory=tmp_path)
    qtbot.addWidget(dialog)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("jsonl"))
    assert dialog.path_edit.text().endswith(".jsonl")
    with qtbot.waitSignal(dialog.finished_export, timeout=30000):
        dialog.start()
    assert dialog.error is None and dialog.written == 12 and dialog.total == 12
    assert dialog.progress.value() == dialog.progress.maximum() == 12
    assert dialog.open_button.isVisibleTo(dialog)
    assert dialog.result_path is not None and len(dialog.result_path.read_text().splitlines()) == 12
    assert "Wrote 12 events" in dialog.status.text()


def test_dialog_cancel_mid_export(qtbot: Any, store: Store, tmp_path: Path, run: Callable[..., Any],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    dialog = ExportDialog(store, EventFilter(), directory=tmp_path)
    qtbot.addWidget(dialog)
    gate = threading.Event()
    import ayla_monitor.ui.export_dialog as module

    real = module.export_events

    def slow(*args: Any, **kwargs: Any) -> int:
        gate.wait(5)  # the export starts once the dialog has counted and Cancel was clicked
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "export_events", slow)

    async def go() -> None:
        dialog.start()
        await wait_until(lambda: dialog.total is not None, what="the count")
        dialog.cancel_button.click()  # cancels a running export
        gate.set()
        await wait_until(lambda: not dialog.running, what="the export to stop")

    run(go())
    assert dialog.error == "cancelled" and dialog.result_path is None
    assert "Cancelled" in dialog.status.text()
    assert list(tmp_path.glob("ayla-events*")) == []


def test_the_proposed_name_says_what_is_exported(store: Store, tmp_path: Path, qtbot: Any) -> None:
    query = EventFilter(dsns=(DSN,), since=T0, until=T0 + 3600)
    assert suggested_name(query) == f"ayla-events-{DSN}-from-2024-05-01_0000-to-2024-05-01_0100.csv"
    assert suggested_name(EventFilter(), "jsonl") == "ayla-events-all.jsonl"
    assert suggested_name(EventFilter(dsns=("../../etc/passwd",))) == "ayla-events-etc_passwd.csv"
    dialog = ExportDialog(store, query, directory=tmp_path)
    qtbot.addWidget(dialog)
    assert Path(dialog.path_edit.text()).name == suggested_name(query)


def test_an_existing_file_is_only_replaced_when_the_user_says_so(
        store: Store, tmp_path: Path, qtbot: Any) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("precious", encoding="utf-8")
    dialog = ExportDialog(store, EventFilter(dsns=(DSN,)), directory=tmp_path)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(path))
    dialog.export_button.click()
    assert not dialog.running and path.read_text(encoding="utf-8") == "precious"
    assert "exists already" in dialog.status.text() and dialog.export_button.text() == "Replace"
    dialog.path_edit.setText(str(tmp_path / "other.csv"))  # another file: asked again for the first
    dialog.path_edit.setText(str(path))
    assert dialog.export_button.text() == "Export"
    dialog.export_button.click()
    assert path.read_text(encoding="utf-8") == "precious"
    with qtbot.waitSignal(dialog.finished_export, timeout=30000):
        dialog.export_button.click()  # "Replace"
    assert dialog.written == 12 and path.read_text(encoding="utf-8") != "precious"
