"""AppSettings in an ini file of the test's own, and the Settings dialog."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.keystore import Keystore
from ayla_monitor.store.location import default_database_path
from ayla_monitor.ui.settings import AppSettings, SavedStream, apply_color_scheme
from ayla_monitor.ui.settings_dialog import SettingsDialog

KEY = "2f6273dcbb224c5bb303b2a7e1234567"
OTHER = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


def qsettings(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    return Keystore(fallback_path=tmp_path / "keys.json", use_keyring=False)


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    """Poll ``predicate`` on the loop until true (a generous deadline, no fixed sleep)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


# -- AppSettings ----------------------------------------------------------------------


def test_defaults_from_an_empty_file(ini: Path) -> None:
    settings = AppSettings.load(qsettings(ini))
    assert settings == AppSettings()
    assert settings.database_url is None
    assert settings.dead_after == 75.0
    assert settings.log_window == 100_000
    assert settings.retention_days is None
    assert settings.theme == "system"
    assert settings.streams == []


def test_round_trip_through_the_ini_file(ini: Path) -> None:
    settings = AppSettings.load(qsettings(ini))
    settings.database_url = "mysql://ayla:pw@db.example:3306/ayla"
    settings.dead_after = 120.0
    settings.max_frame_mb = 64
    settings.log_window = 5_000
    settings.retention_days = 30
    settings.theme = "dark"
    settings.streams = [
        SavedStream("Floor 2", "wss://stream-field.aylanetworks.com/stream", "aa11", "datapoint", 7, 9),
        SavedStream("Sim", "ws://127.0.0.1:9/stream", "bb22", None, disconnected=True),
    ]
    settings.save()
    settings.save_state("main", b"\x00\x01geometry")
    del settings
    # a fresh QSettings object on the same file: what the next run reads
    again = AppSettings.load(qsettings(ini))
    # never a password in the settings file (issue 9): it belongs in the keystore
    assert again.database_url == "mysql://ayla@db.example:3306/ayla"
    assert ":pw@" not in ini.read_text()
    assert (again.dead_after, again.log_window, again.retention_days, again.theme) == (120.0, 5_000, 30, "dark")
    assert again.max_frame_mb == 64
    assert again.streams == [
        SavedStream("Floor 2", "wss://stream-field.aylanetworks.com/stream", "aa11", "datapoint", 7, 9),
        SavedStream("Sim", "ws://127.0.0.1:9/stream", "bb22", None, disconnected=True),
    ]
    assert again.set_disconnected("aa11", True) and not again.set_disconnected("zz99", True)
    assert AppSettings.load(qsettings(ini)).streams[0].disconnected
    assert again.state("main") == b"\x00\x01geometry"
    assert again.state("missing") is None
    # a shorter list replaces a longer one completely
    again.streams = again.streams[1:]
    again.retention_days = None
    again.save()
    third = AppSettings.load(qsettings(ini))
    assert [s.name for s in third.streams] == ["Sim"]
    assert third.retention_days is None


def test_garbage_in_the_file_falls_back_to_defaults(ini: Path) -> None:
    ini.write_text(
        "[connection]\ndead_after=soon\nmax_frame_mb=99999\n[log]\nwindow=-5\n[appearance]\ntheme=purple\n"
        "[database]\nretention_days=0\n"
        "[streams]\nsize=2\n1\\name=ok\n1\\base_url=ws://h/stream\n1\\fingerprint=ff\n"
        "1\\seq_start=9\n1\\seq_end=3\n2\\name=no fingerprint\n2\\base_url=ws://h/stream\n"
    )
    settings = AppSettings.load(qsettings(ini))
    assert settings.dead_after == 75.0
    assert settings.max_frame_mb == 1024  # clamped to what can be held in memory
    assert settings.log_window == 1_000  # clamped to the smallest allowed
    assert settings.theme == "system"
    assert settings.retention_days is None
    assert settings.streams == [SavedStream("ok", "ws://h/stream", "ff", None)]  # bad window dropped


def test_keys_stay_out_of_the_settings_file(ini: Path, keystore: Keystore) -> None:
    settings = AppSettings.load(qsettings(ini))
    floor = StreamDefinition.create(KEY, name="Floor", subscription_type="datapoint", replay=ReplayWindow(5))
    # a custom URL typed with its key in it must not carry the key into the file
    sneaky = StreamDefinition(name="Sim", base_url=f"ws://127.0.0.1:9/stream?stream_key={OTHER}", key=OTHER)
    settings.remember_stream(floor, keystore)
    settings.remember_stream(sneaky, keystore)
    text = ini.read_text()
    assert KEY not in text and OTHER not in text
    assert floor.fingerprint in text
    assert keystore.get(floor.fingerprint) == KEY
    assert keystore.get(sneaky.fingerprint) == OTHER

    restored = AppSettings.load(qsettings(ini)).restore_streams(keystore)
    assert [d for _, d in restored] == [floor, StreamDefinition("Sim", "ws://127.0.0.1:9/stream", OTHER)]

    # an edit that changes the key replaces the entry in place and forgets the old key
    edited = StreamDefinition.create(OTHER, name="Floor (new key)", subscription_type="datapoint")
    settings.remember_stream(edited, keystore, replacing=floor.fingerprint)
    assert [s.name for s in settings.streams] == ["Floor (new key)"]
    assert keystore.get(floor.fingerprint) is None

    settings.forget_stream(edited.fingerprint, keystore)
    assert settings.streams == []
    assert keystore.get(edited.fingerprint) is None
    assert AppSettings.load(qsettings(ini)).streams == []


def test_a_forgotten_key_restores_as_none(ini: Path, keystore: Keystore) -> None:
    settings = AppSettings.load(qsettings(ini))
    settings.streams = [SavedStream("Lost", "wss://stream.aylanetworks.com/stream", "0000", None)]
    [(saved, definition)] = settings.restore_streams(keystore)
    assert saved.name == "Lost"
    assert definition is None


def test_apply_color_scheme(qapp: QApplication) -> None:
    def window_lightness() -> int:
        return qapp.palette().color(QPalette.ColorRole.Window).lightness()

    try:
        apply_color_scheme("dark")
        assert window_lightness() < 100
        apply_color_scheme("light")
        assert window_lightness() > 180
    finally:
        apply_color_scheme("system")
    assert qapp.palette() == QPalette()


def test_theme_switch_reaches_widgets_under_a_style_sheet(qtbot, qapp: QApplication) -> None:  # type: ignore[no-untyped-def]
    """Issue 10: with a style sheet on the main window (the demo badge's), its
    children kept the palette they were polished with: dark text on dark."""
    from PySide6.QtWidgets import QLabel, QMainWindow, QTableView

    window = QMainWindow()
    qtbot.addWidget(window)
    window.setStyleSheet("QLabel#badge { color: white; }")
    label = QLabel("Devices", window)
    table = QTableView(window)
    window.setCentralWidget(table)
    window.show()
    qtbot.waitExposed(window)

    def lightness(widget: Any, role: QPalette.ColorRole) -> int:
        return int(widget.palette().color(role).lightness())

    try:
        apply_color_scheme("light")
        assert lightness(label, QPalette.ColorRole.WindowText) < 100
        apply_color_scheme("dark")
        assert lightness(label, QPalette.ColorRole.WindowText) > 180
        assert lightness(table, QPalette.ColorRole.Base) < 100
        apply_color_scheme("light")
        assert lightness(label, QPalette.ColorRole.WindowText) < 100
        assert lightness(table, QPalette.ColorRole.Base) > 180
    finally:
        apply_color_scheme("system")


# -- the dialog ---------------------------------------------------------------------------


def ok_enabled(dialog: SettingsDialog) -> bool:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_dialog_shows_and_saves_the_settings(qtbot, ini: Path, tmp_path: Path, keystore: Keystore,  # type: ignore[no-untyped-def]
                                            loop: asyncio.AbstractEventLoop) -> None:
    settings = AppSettings.load(qsettings(ini))
    dialog = SettingsDialog(settings, database_size=3 * 1024 * 1024, keystore=keystore)
    qtbot.addWidget(dialog)
    assert dialog.default_radio.isChecked()
    assert dialog.default_path_label.text() == str(default_database_path())
    assert dialog.size_label.text() == "The database in use holds 3.0 MB."
    assert dialog.dead_after_spin.value() == 75
    assert not dialog.retention_check.isChecked()
    assert not dialog.retention_spin.isEnabled()
    assert ok_enabled(dialog)

    dialog.sqlite_radio.setChecked(True)
    assert not ok_enabled(dialog)
    assert dialog.problem_label.text() == "Enter the SQLite file's path, or choose the default file."
    path = tmp_path / "mine.sqlite"
    dialog.sqlite_edit.setText(str(path))
    assert ok_enabled(dialog)
    dialog.dead_after_spin.setValue(90)
    assert dialog.max_frame_spin.value() == 16
    dialog.max_frame_spin.setValue(40)
    dialog.log_window_spin.setValue(20_000)
    dialog.retention_check.setChecked(True)
    assert dialog.retention_spin.isEnabled()
    dialog.retention_spin.setValue(14)
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("light"))
    try:
        dialog.accept()  # a new database: tested first (a real SQLite file), then saved
        loop.run_until_complete(wait_for(lambda: dialog.result() == QDialog.DialogCode.Accepted))
    finally:
        apply_color_scheme("system")
    assert path.exists()
    assert settings.database_url == f"sqlite:///{path}"
    assert (settings.dead_after, settings.log_window, settings.retention_days, settings.theme) == (
        90.0, 20_000, 14, "light",
    )
    again = AppSettings.load(qsettings(ini))
    assert again.database_url == f"sqlite:///{path}"
    assert again.retention_days == 14
    assert again.max_frame_mb == 40

    reopened = SettingsDialog(again, keystore=keystore)
    qtbot.addWidget(reopened)
    assert reopened.sqlite_radio.isChecked()
    assert reopened.sqlite_edit.text() == str(path)
    assert reopened.retention_spin.value() == 14
    assert reopened.theme_combo.currentData() == "light"


def test_cancel_changes_nothing(qtbot, ini: Path, keystore: Keystore) -> None:  # type: ignore[no-untyped-def]
    settings = AppSettings.load(qsettings(ini))
    dialog = SettingsDialog(settings, keystore=keystore)
    qtbot.addWidget(dialog)
    dialog.dead_after_spin.setValue(300)
    dialog.reject()
    assert settings.dead_after == 75.0
    assert not ini.exists() or "dead_after" not in ini.read_text()


def test_mysql_url_validation(qtbot, ini: Path, keystore: Keystore) -> None:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(AppSettings.load(qsettings(ini)), keystore=keystore)
    qtbot.addWidget(dialog)
    dialog.mysql_radio.setChecked(True)
    assert not ok_enabled(dialog)
    assert not dialog.test_button.isEnabled()
    assert dialog.problem_label.text() == "Enter a URL like mysql://USER@HOST:PORT/DATABASE (the password below)."
    dialog.mysql_edit.setText("postgres://x@y/z")
    assert dialog.problem_label.text().startswith("A MySQL database is given as")
    dialog.mysql_edit.setText("mysql://ayla:secret@db.example:3306/")
    assert "names no database" in dialog.problem_label.text()
    assert "secret" not in dialog.problem_label.text()
    dialog.mysql_edit.setText("mysql://ayla:secret@db.example:3306/ayla")
    assert ok_enabled(dialog)
    assert dialog.test_button.isEnabled()


def test_mysql_test_button_runs_off_the_gui_thread(qtbot, ini: Path, loop, keystore: Keystore) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, bool]] = []
    answer: list[str | None] = ["The database server db.example:3306 refused user ayla (wrong password?)."]

    def test_database(url: str) -> str | None:
        seen.append((url, threading.current_thread() is threading.main_thread()))
        return answer[0]

    dialog = SettingsDialog(AppSettings.load(qsettings(ini)), test_database=test_database, keystore=keystore)
    qtbot.addWidget(dialog)
    dialog.mysql_radio.setChecked(True)
    dialog.mysql_edit.setText("mysql://ayla:secret@db.example:3306/ayla")

    async def run() -> str | None:
        task = dialog._test_clicked()
        await asyncio.sleep(0)
        assert dialog.test_button.text() == "Testing…"
        assert not dialog.test_button.isEnabled()
        assert dialog.test_label.text() == "Connecting to mysql://ayla:***@db.example:3306/ayla…"
        await task
        return None

    loop.run_until_complete(run())
    assert seen == [("mysql://ayla:secret@db.example:3306/ayla", False)]
    assert dialog.test_label.text() == answer[0]
    assert "c62828" in dialog.test_label.styleSheet()
    assert dialog.test_button.isEnabled()

    answer[0] = None
    assert loop.run_until_complete(dialog.test_connection()) is None
    assert dialog.test_label.text() == "Connected to mysql://ayla:***@db.example:3306/ayla."
    assert "2e7d32" in dialog.test_label.styleSheet()


def test_default_database_test_uses_the_real_store(tmp_path: Path) -> None:
    import socket

    from ayla_monitor.ui.settings_dialog import default_test_database

    assert default_test_database(f"sqlite:///{tmp_path / 'ok.sqlite'}") is None
    assert (tmp_path / "ok.sqlite").exists()
    with socket.socket() as probe:  # a port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = default_test_database(f"mysql://ayla:secret@127.0.0.1:{port}/ayla")
    assert error is not None
    assert "secret" not in error
    assert "\n" not in error


# -- switching the database safely, and its password ------------------------------------

CLOSED_PORT = "mysql://root@127.0.0.1:1/x"  # a closed loopback port: the test fails at once


def test_a_database_that_fails_its_test_is_not_switched_to(qtbot, ini: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           keystore: Keystore, loop: asyncio.AbstractEventLoop) -> None:
    settings = AppSettings.load(qsettings(ini))
    settings.database_url = f"sqlite:///{tmp_path / 'current.sqlite'}"
    settings.save()
    dialog = SettingsDialog(settings, keystore=keystore)  # the real test: Store.open on the URL
    qtbot.addWidget(dialog)
    dialog.mysql_radio.setChecked(True)
    dialog.mysql_edit.setText(CLOSED_PORT)
    dialog.dead_after_spin.setValue(120)
    dialog.accept()
    loop.run_until_complete(wait_for(lambda: dialog.switch_button.isVisibleTo(dialog)))
    # still open, nothing changed, and the user is told why and what stays
    assert dialog.result() == 0
    assert settings.database_url == f"sqlite:///{tmp_path / 'current.sqlite'}"
    assert settings.dead_after == 75.0
    assert "current database stays in use" in dialog.test_label.text()
    assert dialog.keep_button.isVisibleTo(dialog)
    # keep the current database: the other settings are saved, the database is not switched
    dialog.keep_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert settings.database_url == f"sqlite:///{tmp_path / 'current.sqlite'}"
    assert settings.dead_after == 120.0
    assert AppSettings.load(qsettings(ini)).database_url == settings.database_url


def test_switch_anyway_is_an_explicit_second_choice(qtbot, ini: Path, keystore: Keystore,  # type: ignore[no-untyped-def]
                                                   loop: asyncio.AbstractEventLoop) -> None:
    settings = AppSettings.load(qsettings(ini))
    dialog = SettingsDialog(settings, keystore=keystore)
    qtbot.addWidget(dialog)
    dialog.mysql_radio.setChecked(True)
    dialog.mysql_edit.setText(CLOSED_PORT)
    dialog.accept()
    loop.run_until_complete(wait_for(lambda: dialog.switch_button.isVisibleTo(dialog)))
    assert settings.database_url is None
    dialog.switch_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert settings.database_url == CLOSED_PORT


def test_the_database_password_goes_to_the_keystore_not_the_ini(qtbot, ini: Path, keystore: Keystore,  # type: ignore[no-untyped-def]
                                                                 loop: asyncio.AbstractEventLoop) -> None:
    tested: list[str] = []

    def test_database(url: str) -> str | None:
        tested.append(url)
        return None

    settings = AppSettings.load(qsettings(ini))
    dialog = SettingsDialog(settings, keystore=keystore, test_database=test_database)
    qtbot.addWidget(dialog)
    dialog.mysql_radio.setChecked(True)
    # typed (or pasted) with the password: it moves to the masked field
    dialog.mysql_edit.setText("")
    qtbot.keyClicks(dialog.mysql_edit, "mysql://ayla:s3cr%40t@db.example:3306/ayla")
    assert dialog.mysql_edit.text() == "mysql://ayla@db.example:3306/ayla"
    assert dialog.password_edit.text() == "s3cr@t"
    assert dialog.password_edit.echoMode() == dialog.password_edit.EchoMode.Password
    dialog.accept()
    loop.run_until_complete(wait_for(lambda: dialog.result() == QDialog.DialogCode.Accepted))
    assert tested == ["mysql://ayla:s3cr%40t@db.example:3306/ayla"]
    text = ini.read_text()
    assert "s3cr" not in text and "mysql://ayla@db.example:3306/ayla" in text
    assert settings.database_url == "mysql://ayla@db.example:3306/ayla"
    again = AppSettings.load(qsettings(ini))
    assert again.database_target(keystore) == "mysql://ayla:s3cr%40t@db.example:3306/ayla"
    assert oct((ini.parent / "keys.json").stat().st_mode & 0o777) == "0o600"
    # the dialog shows it masked next time
    reopened = SettingsDialog(again, keystore=keystore)
    qtbot.addWidget(reopened)
    assert reopened.mysql_edit.text() == "mysql://ayla@db.example:3306/ayla"
    assert reopened.password_edit.text() == "s3cr@t"
    assert reopened.password_edit.echoMode() == reopened.password_edit.EchoMode.Password


def test_a_password_left_in_an_old_ini_moves_to_the_keystore(ini: Path, keystore: Keystore) -> None:
    old = qsettings(ini)
    old.setValue("database/url", "mysql://ayla:hunter2@db.example/ayla")
    old.sync()
    settings = AppSettings.load(qsettings(ini))
    assert settings.secure_database_password(keystore)
    assert "hunter2" not in ini.read_text()
    assert AppSettings.load(qsettings(ini)).database_target(keystore) == "mysql://ayla:hunter2@db.example/ayla"
    assert not settings.secure_database_password(keystore)  # once


def test_a_password_that_cannot_be_kept_changes_nothing(qtbot, ini: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       loop: asyncio.AbstractEventLoop) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("where the keys folder should be")
    keystore = Keystore(fallback_path=blocker / "keys.json", use_keyring=False)  # cannot be written
    settings = AppSettings.load(qsettings(ini))
    dialog = SettingsDialog(settings, keystore=keystore, test_database=lambda url: None)
    qtbot.addWidget(dialog)
    dialog.mysql_radio.setChecked(True)
    dialog.mysql_edit.setText("mysql://ayla@db.example/ayla")
    dialog.password_edit.setText("hunter2")
    dialog.accept()
    loop.run_until_complete(wait_for(lambda: "cannot be kept" in dialog.problem_label.text()))
    assert dialog.result() == 0 and settings.database_url is None
    assert "hunter2" not in dialog.problem_label.text()
