"""Captures in the window: File -> Save capture… and File -> Open capture….

**Save capture…** writes the stored events of a time range and a device
selection as a capture file, redacted as chosen (the same choices as
``--redact``), on a worker thread. **Open capture…** plays a capture as a
stream: a replay server on a loopback port (``simulator/replay.py``) is
watched like any stream, recording into a scratch database (never the
user's), with Play/Pause and the speed in a small panel; **Back to my
database** ends it.

:class:`CaptureActions` connects the main window's two actions to a
:class:`~ayla_monitor.ui.app.Session` (passed in: this module does not
import the app).
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QDateTime, QObject, Qt, QTimer, QTimeZone
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.capture.export import ExportResult, export_store
from ayla_monitor.capture.format import Capture, describe_problems, read_capture
from ayla_monitor.capture.redact import RedactionSpec
from ayla_monitor.capture.writer import CaptureError
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.ui.dialog_parts import error_color, ok_color, plain_label
from ayla_monitor.ui.slots import async_slot

__all__ = ["SaveCaptureDialog", "PlaybackPanel", "CaptureActions", "selection_of"]

log = logging.getLogger(__name__)

#: What the speed box offers: label -> replay speed (``None``: as fast as the recorder reads).
SPEEDS: dict[str, float | None] = {"1× (as received)": 1.0, "10×": 10.0, "Max": None}


def selection_of(
    dsns: list[str] | None, since: float | None, until: float | None
) -> EventFilter:
    """The events a capture of these devices (``None``: all) and times takes."""
    return EventFilter(dsns=dsns, since=since, until=until)


class SaveCaptureDialog(QDialog):
    """Choose a time range, devices and redaction; write the capture off the UI thread."""

    def __init__(self, store: Any, parent: QWidget | None = None, *, runner: Any) -> None:
        super().__init__(parent)
        self._store = store
        self._runner = runner
        self.result_value: ExportResult | None = None
        self.setWindowTitle("Save capture")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        intro = plain_label(
            "A capture keeps the frames as received (bad frames too) to study or replay later "
            "(File → Open capture…, or ayla-monitor simulate --replay). It never holds a stream key."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        layout.addLayout(form)

        self.all_time = QCheckBox("Everything stored")
        self.all_time.setChecked(True)
        now = QDateTime.currentDateTimeUtc()
        self.since_edit = QDateTimeEdit(now.addSecs(-3600))
        self.until_edit = QDateTimeEdit(now)
        for edit in (self.since_edit, self.until_edit):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss 'UTC'")
            edit.setTimeZone(QTimeZone.utc())
            edit.setCalendarPopup(True)
        times = QHBoxLayout()
        times.addWidget(self.all_time)
        times.addWidget(plain_label("or from"))
        times.addWidget(self.since_edit)
        times.addWidget(plain_label("to"))
        times.addWidget(self.until_edit)
        form.addRow("Time range:", times)
        self.all_time.toggled.connect(self._update)

        self.all_devices = QCheckBox("All devices (and the bad frames)")
        self.all_devices.setChecked(True)
        self.devices = QListWidget()
        self.devices.setObjectName("capture_devices")
        self.devices.setMaximumHeight(150)
        devices = QVBoxLayout()
        devices.addWidget(self.all_devices)
        devices.addWidget(self.devices)
        form.addRow("Devices:", devices)
        self.all_devices.toggled.connect(self._update)

        self.redact_dsn = QCheckBox("DSNs (pseudonyms of the same shape)")
        self.redact_uuid = QCheckBox("User UUIDs and ack_ids")
        self.redact_location = QCheckBox("Locations:")
        self.location_round = QRadioButton("rounded to 2 decimals (about 1 km)")
        self.location_remove = QRadioButton("removed")
        self.location_round.setChecked(True)
        self._location_group = QButtonGroup(self)
        self._location_group.addButton(self.location_round)
        self._location_group.addButton(self.location_remove)
        self.redact_ip = QCheckBox("IP addresses")
        self.redact_values = QCheckBox("Values of the properties:")
        self.values_edit = QLineEdit()
        self.values_edit.setPlaceholderText("PROP1, PROP2")
        for box in (self.redact_dsn, self.redact_uuid, self.redact_location):
            box.setChecked(True)
        red = QVBoxLayout()
        red.addWidget(self.redact_dsn)
        red.addWidget(self.redact_uuid)
        row = QHBoxLayout()
        row.addWidget(self.redact_location)
        row.addWidget(self.location_round)
        row.addWidget(self.location_remove)
        row.addStretch(1)
        red.addLayout(row)
        red.addWidget(self.redact_ip)
        row = QHBoxLayout()
        row.addWidget(self.redact_values)
        row.addWidget(self.values_edit, 1)
        red.addLayout(row)
        form.addRow("Redact:", red)
        for box in (self.redact_location, self.redact_values):
            box.toggled.connect(self._update)

        self.path_edit = QLineEdit(str(Path.home() / "capture.jsonl.gz"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("File:", row)

        self.status = plain_label()
        self.status.setObjectName("capture_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._update()
        runner.call(self, store.device_states, self._fill_devices, self._devices_failed)

    # -- form ----------------------------------------------------------------

    def _fill_devices(self, states: Any) -> None:
        for state in sorted(states, key=lambda s: s.dsn):
            item = QListWidgetItem(state.dsn)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.devices.addItem(item)

    def _devices_failed(self, exc: BaseException) -> None:
        self._say(False, f"The devices cannot be read: {exc}")

    def _update(self) -> None:
        self.since_edit.setEnabled(not self.all_time.isChecked())
        self.until_edit.setEnabled(not self.all_time.isChecked())
        self.devices.setEnabled(not self.all_devices.isChecked())
        self.location_round.setEnabled(self.redact_location.isChecked())
        self.location_remove.setEnabled(self.redact_location.isChecked())
        self.values_edit.setEnabled(self.redact_values.isChecked())

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save capture", self.path_edit.text(), "Captures (*.jsonl.gz *.jsonl)"
        )
        if path:
            self.path_edit.setText(path)

    def redaction(self) -> RedactionSpec:
        values = frozenset(v.strip() for v in self.values_edit.text().split(",") if v.strip())
        return RedactionSpec(
            dsn=self.redact_dsn.isChecked(),
            uuid=self.redact_uuid.isChecked(),
            location=self.redact_location.isChecked(),
            decimals=None if self.location_remove.isChecked() else 2,
            ip=self.redact_ip.isChecked(),
            values=values if self.redact_values.isChecked() else frozenset(),
        )

    def selection(self) -> EventFilter:
        dsns = None
        if not self.all_devices.isChecked():
            dsns = [
                self.devices.item(i).text()
                for i in range(self.devices.count())
                if self.devices.item(i).checkState() == Qt.CheckState.Checked
            ]
        since = until = None
        if not self.all_time.isChecked():
            since = self.since_edit.dateTime().toSecsSinceEpoch()
            until = self.until_edit.dateTime().toSecsSinceEpoch()
        return selection_of(dsns, since, until)

    # -- saving --------------------------------------------------------------

    def save(self) -> None:
        path = self.path_edit.text().strip()
        selection = self.selection()
        if not path:
            self._say(False, "Choose a file to save the capture to.")
            return
        if selection.dsns is not None and not selection.dsns:
            self._say(False, "Tick at least one device, or choose all devices.")
            return
        if selection.since is not None and selection.until is not None and selection.until <= selection.since:
            self._say(False, "The end of the time range comes before its start.")
            return
        if self.redact_values.isChecked() and not self.redaction().values:
            self._say(False, "Name the properties whose values are masked (e.g. Blue_LED, temp).")
            return
        redaction = self.redaction()
        store = self._store
        self.buttons.setEnabled(False)
        self._say(None, "Saving…")
        self._runner.call(
            self,
            lambda: export_store(store, selection, path, redaction=redaction if redaction.active else None),
            lambda result: self._saved(path, result),
            self._failed,
        )

    def _saved(self, path: str, result: ExportResult) -> None:
        self.buttons.setEnabled(True)
        self.result_value = result
        if result.error:
            self._say(False, result.error)
            return
        text = f"Wrote {result.frames:,} frames to {path}."
        if result.without_json:
            text += f" {result.without_json:,} events stored without their JSON were left out."
        self._say(True, text)

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, CaptureError):
            self._say(False, str(exc))
        else:
            log.error("Saving a capture failed", exc_info=exc)
            self._say(False, f"The capture could not be saved: {exc}")

    def _say(self, ok: bool | None, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("" if ok is None else f"color: {ok_color() if ok else error_color()};")


class PlaybackPanel(QDialog):
    """Play/Pause, the speed and how far the capture has played."""

    def __init__(self, server: Any, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.server = server
        self.setWindowTitle(f"Capture: {Path(path).name}")
        self.setWindowFlag(Qt.WindowType.Tool, True)
        layout = QVBoxLayout(self)
        capture: Capture = server.capture
        header = capture.header
        about = [f"{Path(path).name}: {server.total:,} frames of {len(server.keys)} stream(s)"]
        if header is not None:
            about.append(f"recorded {header.created}, redacted: {header.redaction.describe()}")
        about.append("Playing into a scratch database, not yours.")
        self.about = plain_label("\n".join(about))
        self.about.setWordWrap(True)
        self.setMaximumWidth(520)
        layout.addWidget(self.about)
        row = QHBoxLayout()
        self.play_button = QPushButton("Pause")
        self.play_button.setObjectName("capture_play")
        self.play_button.clicked.connect(self.toggle)
        self.speed_box = QComboBox()
        self.speed_box.setObjectName("capture_speed")
        for label, speed in SPEEDS.items():
            self.speed_box.addItem(label, speed)
        self.speed_box.currentIndexChanged.connect(self._speed_changed)
        row.addWidget(self.play_button)
        row.addWidget(plain_label("Speed:"))
        row.addWidget(self.speed_box)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = plain_label()
        self.progress.setObjectName("capture_progress")
        layout.addWidget(self.progress)
        self.back_button = QPushButton("Back to my database")
        layout.addWidget(self.back_button)
        self._timer = QTimer(self)
        self._timer.setObjectName("capture_progress_timer")
        self._timer.timeout.connect(self.refresh)
        self._timer.start(250)
        self.refresh()

    def toggle(self) -> None:
        if self.server.paused:
            self.server.play()
        else:
            self.server.pause()
        self.refresh()

    def _speed_changed(self) -> None:
        self.server.set_speed(self.speed_box.currentData())

    def refresh(self) -> None:
        server = self.server
        self.play_button.setText("Play" if server.paused else "Pause")
        state = "paused" if server.paused else "finished" if server.finished.is_set() else "playing"
        played = server.published - server.rounds * server.total if server.config.loop else server.published
        self.progress.setText(f"{state}: {played:,} of {server.total:,} frames played")


class CaptureActions(QObject):
    """File → Save capture… and File → Open capture… for a session."""

    def __init__(self, session: Any) -> None:
        super().__init__(session.window)
        self.session = session
        self.panel: PlaybackPanel | None = None
        window = session.window
        window.save_capture_action.triggered.connect(lambda: self.save_capture())
        window.open_capture_action.triggered.connect(lambda: self.choose_capture())

    def save_capture(self) -> QDialog | None:
        session = self.session
        engine = session.engine
        if engine is None:
            session.window.show_error("No database is open; choose a database first.")
            return None
        dialog = SaveCaptureDialog(engine.store, session.window, runner=session.window.queries)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def choose_capture(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.session.window, "Open capture", str(Path.home()), "Captures (*.jsonl.gz *.jsonl);;All files (*)"
        )
        if path:
            self.open_capture(path)

    @async_slot(str)
    async def open_capture(self, path: str) -> bool:
        """Play ``path`` as a stream into a scratch database; False if it cannot be read."""
        session = self.session
        window = session.window
        try:
            capture = await window.queries.ask(window, lambda: read_capture(path))
        except OSError as exc:
            window.show_error(f"The capture {path} cannot be read: {exc.strerror or exc}")
            return False
        if not capture.frames:
            problems = "; ".join(describe_problems(capture.problems, 3))
            window.show_error(f"The capture {path} holds no frame{': ' + problems if problems else ''}.")
            return False
        from ayla_monitor.simulator.replay import ReplayConfig, ReplayServer

        await session.close()
        window.tiles.model.clear()
        window.log_view.model.clear()
        scratch = Path(tempfile.gettempdir()) / f"ayla-capture-{datetime.now(UTC):%Y%m%d-%H%M%S}-{time.monotonic_ns() % 10**6}.sqlite"
        if not await session.open_database(str(scratch)):
            return False
        server = ReplayServer(capture, ReplayConfig(speed=1.0))
        await server.start("127.0.0.1", 0)
        session.simulator = server  # stopped with the session, like the demo's simulator
        for key, label in server.keys.items():
            await session.add_definition(StreamDefinition(name=f"{label} (capture)", base_url=server.url, key=key))
        self._show_panel(server, path)
        skipped = describe_problems(capture.problems, 3)
        note = f" Skipped: {'; '.join(skipped)}." if skipped else ""
        window.show_info(f"Playing the capture {Path(path).name} into a scratch database.{note}",
                         "Back to my database", self.close_capture)
        return True

    def _show_panel(self, server: Any, path: str) -> None:
        if self.panel is not None and shiboken6.isValid(self.panel):
            self.panel.close()
        panel = PlaybackPanel(server, path, self.session.window)
        panel.back_button.clicked.connect(lambda: self.close_capture())
        self.panel = panel
        panel.show()

    @async_slot()
    async def close_capture(self) -> None:
        """Stop playing; the window goes back to the user's database and streams."""
        panel, self.panel = self.panel, None
        if panel is not None and shiboken6.isValid(panel):
            panel.close()
        await self.session.reopen_database()
