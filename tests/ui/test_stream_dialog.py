"""The stream dialog: validation, host pickers, subscription paste, key masking,
and "Test connection" (a scripted probe for the logic, the real probe against
the real simulator for the end-to-end case)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QLineEdit

from ayla_monitor.dss.endpoints import HOSTS, ReplayWindow
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.keystore import Keystore
from ayla_monitor.ui.settings import SavedStream
from ayla_monitor.ui.stream_dialog import StreamDialog

KEY = "2f6273dcbb224c5bb303b2a7e1234567"
OTHER = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str


class ScriptedProbe:
    """An async probe that answers what it is told, when it is told."""

    def __init__(self, result: Result | Exception) -> None:
        self.result = result
        self.release = asyncio.Event()
        self.calls: list[StreamDefinition] = []

    async def __call__(self, definition: StreamDefinition) -> Result:
        self.calls.append(definition)
        await self.release.wait()
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


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


@pytest.fixture
def make_dialog(qtbot, keystore):  # type: ignore[no-untyped-def]
    def make(**kwargs: object) -> StreamDialog:
        kwargs.setdefault("keystore", keystore)
        dialog = StreamDialog(**kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(dialog)
        return dialog

    return make


def ok_button(dialog: StreamDialog):  # type: ignore[no-untyped-def]
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def all_label_text(dialog: StreamDialog) -> str:
    parts = []
    for label in dialog.findChildren(QLabel):
        parts += [label.text(), label.toolTip()]
    for edit in dialog.findChildren(QLineEdit):
        if edit is not dialog.key_edit:
            parts += [edit.text(), edit.placeholderText(), edit.toolTip()]
    parts.append(dialog.key_edit.placeholderText())
    return "\n".join(parts)


def combo_items(combo) -> list[str]:  # type: ignore[no-untyped-def]
    return [combo.itemText(i) for i in range(combo.count())]


# -- validation -------------------------------------------------------------------


def test_ok_disabled_with_a_reason_until_the_key_is_valid(make_dialog) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    assert not ok_button(dialog).isEnabled()
    assert not dialog.test_button.isEnabled()
    assert dialog.problem_label.text() == "Enter the stream key, or paste the subscription JSON."

    assert dialog.url_preview.text() == "wss://stream-field.aylanetworks.com/stream?stream_key=…"
    dialog.key_edit.setText("2f62")
    assert dialog.problem_label.text() == "The stream key has 4 characters; it needs 32 hexadecimal characters."
    assert not ok_button(dialog).isEnabled()

    dialog.key_edit.setText("zz" + KEY[2:])
    assert dialog.problem_label.text() == "The stream key may hold only 0-9 and a-f, not 'z'."
    assert not ok_button(dialog).isEnabled()

    dialog.key_edit.setText("  " + KEY.upper() + " ")  # pasted with spaces, in capitals
    assert dialog.problem_label.text() == ""
    assert ok_button(dialog).isEnabled()
    assert dialog.test_button.isEnabled()
    definition = dialog.definition()
    assert definition.key == KEY
    assert definition.base_url == "wss://stream-field.aylanetworks.com/stream"
    assert definition.name == "stream 2f62…4567"
    preview = dialog.url_preview.text()
    assert preview == "wss://stream-field.aylanetworks.com/stream?stream_key=2f62…4567"
    assert KEY not in all_label_text(dialog)


def test_only_hosts_ayla_serves_are_offered(make_dialog) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    for client in ("cloud", "mobile"):
        dialog.client_combo.setCurrentText(client)
        for region in combo_items(dialog.region_combo):
            dialog.region_combo.setCurrentText(region)
            offered = combo_items(dialog.deployment_combo)
            expected = [d for d in ("dev", "field") if (client, region, d) in HOSTS]
            assert offered == expected, (client, region)
    dialog.client_combo.setCurrentText("cloud")
    dialog.region_combo.setCurrentText("eu")
    assert combo_items(dialog.deployment_combo) == ["field"]
    dialog.key_edit.setText(KEY)
    assert dialog.definition().base_url == "wss://stream-field-eu.aylanetworks.com/stream"
    dialog.client_combo.setCurrentText("mobile")
    dialog.region_combo.setCurrentText("cn")
    dialog.deployment_combo.setCurrentText("dev")
    assert dialog.url_preview.text().startswith("wss://mstream-dev.ayla.com.cn/stream?")


def test_custom_url(make_dialog) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.key_edit.setText(KEY)
    dialog.custom_radio.setChecked(True)
    assert not dialog.client_combo.isEnabled()
    assert dialog.problem_label.text() == "Enter the custom URL (ws://… or wss://…)."
    assert not ok_button(dialog).isEnabled()
    dialog.url_edit.setText("https://example.com/stream")
    assert dialog.problem_label.text().startswith("A stream URL starts with ws:// or wss://")
    assert not ok_button(dialog).isEnabled()
    dialog.url_edit.setText("ws://127.0.0.1:8765/stream")
    assert ok_button(dialog).isEnabled()
    assert dialog.definition().base_url == "ws://127.0.0.1:8765/stream"
    assert dialog.url_preview.text() == "ws://127.0.0.1:8765/stream?stream_key=2f62…4567"


def test_url_pasted_with_its_key_moves_the_key(make_dialog, qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.show()
    dialog.custom_radio.setChecked(True)
    dialog.url_edit.setFocus()
    QGuiApplication.clipboard().setText(f"ws://127.0.0.1:9/stream?stream_key={OTHER}")
    qtbot.keyClick(dialog.url_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.url_edit.text() == "ws://127.0.0.1:9/stream"
    assert dialog.key_edit.text() == OTHER
    assert dialog.paste_label.text() == "Moved key 0123…cdef from the URL to the key field"
    assert dialog.definition().key == OTHER


def test_replay_window(make_dialog) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.key_edit.setText(KEY)
    assert not dialog.seq_start_edit.isEnabled()
    dialog.replay_check.setChecked(True)
    assert dialog.seq_start_edit.isEnabled()
    assert dialog.problem_label.text() == "Enter the first seq to replay from, or untick Replay."
    assert not ok_button(dialog).isEnabled()
    dialog.seq_start_edit.setText("10")
    dialog.seq_end_edit.setText("5")
    assert dialog.problem_label.text() == "Last seq 5 comes before first seq 10."
    dialog.seq_end_edit.setText("20")
    assert ok_button(dialog).isEnabled()
    assert dialog.definition().replay == ReplayWindow(10, 20)
    assert dialog.url_preview.text().endswith("stream_key=2f62…4567&seq_start=10&seq_end=20")
    dialog.seq_end_edit.setText("")
    assert dialog.definition().replay == ReplayWindow(10, None)
    dialog.replay_check.setChecked(False)
    assert dialog.definition().replay == ReplayWindow()


def test_show_toggle_reveals_the_key_only_while_toggled(make_dialog) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.key_edit.setText(KEY)
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
    dialog.show_key.setChecked(True)
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.show_key.text() == "Hide"
    dialog.show_key.setChecked(False)
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
    dialog.show_key.setChecked(True)
    dialog.accept()
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.show_key.isChecked()


# -- pasting a subscription -----------------------------------------------------------


def test_paste_subscription_anywhere_fills_the_form(make_dialog, qtbot, data_dir) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.show()
    dialog.name_edit.setFocus()
    QGuiApplication.clipboard().setText((data_dir / "subscription.json").read_text())
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.paste_label.text() == "Filled from subscription 141501: key 2f62…4567, mobile, connectivity"
    assert dialog.key_edit.text() == KEY
    assert dialog.name_edit.text() == "connectivity #141501"
    assert dialog.client_combo.currentText() == "mobile"
    assert dialog.type_combo.currentData() == "connectivity"
    assert ok_button(dialog).isEnabled()
    definition = dialog.definition()
    assert definition.base_url == "wss://mstream-field.aylanetworks.com/stream"
    assert definition.subscription_type == "connectivity"
    assert KEY not in all_label_text(dialog)


def test_paste_into_a_custom_url_dialog_switches_to_the_ayla_host(make_dialog, qtbot, data_dir) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.show()
    dialog.custom_radio.setChecked(True)
    dialog.client_combo.setFocus()  # paste while a combo box has focus
    QGuiApplication.clipboard().setText((data_dir / "subscription.json").read_text())
    qtbot.keyClick(dialog.client_combo, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.ayla_radio.isChecked()
    assert dialog.key_edit.text() == KEY


def test_subscription_dropped_into_the_key_field_never_stays_there(make_dialog, data_dir) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    # what the context menu's Paste or a drop does: the text lands in the field
    dialog.key_edit.setText((data_dir / "subscription.json").read_text())
    assert dialog.key_edit.text() == KEY
    assert dialog.paste_label.text().startswith("Filled from subscription 141501")


def test_bad_paste_says_why_in_one_line(make_dialog, qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.show()
    dialog.key_edit.setFocus()
    QGuiApplication.clipboard().setText('{"subscription": {"stream_key": "2f62abc", "client_type": "mobile"}}')
    qtbot.keyClick(dialog.key_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.paste_label.text() == (
        "Not a usable subscription: the pasted stream_key '…' is not 32 hexadecimal characters"
    )
    assert dialog.key_edit.text() == ""
    assert dialog.client_combo.currentText() == "cloud"

    QGuiApplication.clipboard().setText("{not json")
    qtbot.keyClick(dialog.key_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.paste_label.text().startswith("Not a usable subscription: the pasted text is not JSON")
    assert "\n" not in dialog.paste_label.text()


def test_plain_text_pastes_as_usual(make_dialog, qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.show()
    dialog.name_edit.setFocus()
    QGuiApplication.clipboard().setText("Factory <b>floor</b>")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.name_edit.text() == "Factory <b>floor</b>"
    dialog.key_edit.setText(KEY)
    assert dialog.definition().name == "Factory <b>floor</b>"


# -- editing -----------------------------------------------------------------------


def test_editing_keeps_the_remembered_key_when_the_field_is_empty(make_dialog) -> None:  # type: ignore[no-untyped-def]
    original = StreamDefinition.create(
        KEY, name="Floor 2", client_type="cloud", region="eu", deployment="field",
        subscription_type="datapoint", replay=ReplayWindow(7),
    )
    dialog = make_dialog(definition=original)
    assert dialog.windowTitle() == "Edit stream"
    assert dialog.key_edit.text() == ""
    assert "2f62…4567" in dialog.key_edit.placeholderText()
    assert dialog.region_combo.currentText() == "eu"
    assert dialog.type_combo.currentData() == "datapoint"
    assert dialog.seq_start_edit.text() == "7"
    assert ok_button(dialog).isEnabled()
    assert dialog.definition() == original
    assert KEY not in all_label_text(dialog)
    dialog.name_edit.setText("Floor 3")
    dialog.key_edit.setText(OTHER)
    changed = dialog.definition()
    assert (changed.name, changed.key) == ("Floor 3", OTHER)


def test_editing_a_saved_stream_without_its_key_asks_for_it(make_dialog) -> None:  # type: ignore[no-untyped-def]
    saved = SavedStream("Sim", "ws://127.0.0.1:9/stream", "abcd", "location")
    dialog = make_dialog(definition=saved)
    assert dialog.custom_radio.isChecked()
    assert dialog.url_edit.text() == "ws://127.0.0.1:9/stream"
    assert not ok_button(dialog).isEnabled()
    assert dialog.problem_label.text() == "Enter the stream key, or paste the subscription JSON."
    dialog.key_edit.setText(KEY)
    assert dialog.definition().subscription_type == "location"


def test_keystore_note_is_shown_only_for_the_file_fallback(make_dialog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_keystore import MemoryKeyring

    dialog = make_dialog()
    assert not dialog.keystore_label.isHidden()
    assert dialog.keystore_label.text().startswith("No system keyring found: remembered keys are kept in")
    assert dialog.remember()
    with_keyring = make_dialog(
        keystore=Keystore(fallback_path=tmp_path / "k.json", backend=MemoryKeyring()), remember=False
    )
    assert with_keyring.keystore_label.isHidden()
    assert "system keyring" in with_keyring.remember_check.text()
    assert not with_keyring.remember()


# -- test connection ---------------------------------------------------------------------


def test_test_connection_reports_success_and_failure(make_dialog, loop) -> None:  # type: ignore[no-untyped-def]
    probe = ScriptedProbe(Result(True, "Connected: first heartbeat after 0.4 s"))
    dialog = make_dialog(probe=probe)
    dialog.key_edit.setText(KEY)

    async def run() -> bool | None:
        task = dialog._test_clicked()  # what a click does: an asyncSlot task
        await asyncio.sleep(0)
        assert not dialog.test_button.isEnabled()
        assert dialog.test_button.text() == "Testing…"
        assert dialog.test_label.text() == "Connecting to stream-field.aylanetworks.com…"
        probe.release.set()
        await task
        return None

    loop.run_until_complete(run())
    assert probe.calls == [dialog.definition()]
    assert dialog.test_button.isEnabled()
    assert dialog.test_button.text() == "Test &connection"
    assert dialog.test_label.text() == "Connected: first heartbeat after 0.4 s"
    assert "2e7d32" in dialog.test_label.styleSheet()

    probe.result = Result(False, f"stream-field.aylanetworks.com rejected stream key {KEY} (HTTP 401)")
    assert loop.run_until_complete(dialog.test_connection()) is False
    assert dialog.test_label.text() == "stream-field.aylanetworks.com rejected stream key 2f62…4567 (HTTP 401)"
    assert "c62828" in dialog.test_label.styleSheet()
    # changing the stream clears the old verdict
    dialog.name_edit.setText("renamed")
    assert dialog.test_label.text() == ""


def test_a_crashing_probe_leaves_the_dialog_usable(make_dialog, loop) -> None:  # type: ignore[no-untyped-def]
    probe = ScriptedProbe(RuntimeError(f"boom with {KEY}"))
    probe.release.set()
    dialog = make_dialog(probe=probe)
    dialog.key_edit.setText(KEY)
    assert loop.run_until_complete(dialog.test_connection()) is False
    assert dialog.test_label.text() == "The test failed unexpectedly: boom with 2f62…4567"
    assert dialog.test_button.isEnabled()


def test_closing_the_dialog_cancels_a_running_test(make_dialog, loop) -> None:  # type: ignore[no-untyped-def]
    probe = ScriptedProbe(Result(True, "never shown"))
    dialog = make_dialog(probe=probe)
    dialog.key_edit.setText(KEY)

    async def run() -> None:
        task = asyncio.ensure_future(dialog.test_connection())
        await asyncio.sleep(0)
        dialog.reject()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop.run_until_complete(run())
    assert dialog.test_label.text() != "never shown"
    assert dialog.test_button.text() == "Test &connection"


def test_real_probe_against_the_simulator(make_dialog, loop) -> None:  # type: ignore[no-untyped-def]
    from ayla_monitor.simulator.server import Simulator, SimulatorConfig

    unknown = "feedfacefeedfacefeedfacefeedface"
    simulator = Simulator(SimulatorConfig(keys={KEY: "connectivity"}, heartbeat=0.1, rate=0))
    dialog = make_dialog()  # the default probe: ayla_monitor.dss.client.probe

    async def run() -> tuple[bool | None, str, bool | None, str]:
        await simulator.start(host="127.0.0.1", port=0)
        try:
            dialog.custom_radio.setChecked(True)
            dialog.url_edit.setText(simulator.url)
            dialog.key_edit.setText(KEY)
            good = await dialog.test_connection()
            good_text = dialog.test_label.text()
            dialog.key_edit.setText(unknown)
            bad = await dialog.test_connection()
            return good, good_text, bad, dialog.test_label.text()
        finally:
            await simulator.stop()

    good, good_text, bad, bad_text = loop.run_until_complete(run())
    assert good is True, good_text
    assert good_text.startswith("Connected: first heartbeat after")
    assert bad is False
    assert "rejected stream key feed…face (HTTP 401)" in bad_text
    assert unknown not in bad_text


def test_the_subscription_note_clears_when_the_key_is_edited(make_dialog, qtbot, data_dir) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog()
    dialog.apply_subscription_text((data_dir / "subscription.json").read_text())
    assert dialog.paste_label.text().startswith("Filled from subscription 141501: key 2f62…4567")
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("datapoint"))
    assert dialog.paste_label.text().startswith("Filled from")  # only the key matters to the note
    dialog.key_edit.setFocus()
    qtbot.keyClick(dialog.key_edit, Qt.Key.Key_Backspace)
    assert dialog.paste_label.text() == "Tip: paste a subscription's JSON anywhere here to fill the form."
    assert "4567" not in all_label_text(dialog)


def test_the_test_points_out_a_subscription_type_mismatch(make_dialog, loop) -> None:  # type: ignore[no-untyped-def]
    """The key serves connectivity events; the dialog says datapoint: the test says so."""
    from ayla_monitor.simulator.server import Simulator, SimulatorConfig

    simulator = Simulator(SimulatorConfig(keys={KEY: "connectivity"}, heartbeat=30, rate=50, devices=3))
    dialog = make_dialog()

    async def run() -> list[tuple[bool | None, str, str]]:
        await simulator.start(host="127.0.0.1", port=0)
        seen = []
        try:
            dialog.custom_radio.setChecked(True)
            dialog.url_edit.setText(simulator.url)
            dialog.key_edit.setText(KEY)
            for sub_type in ("datapoint", "connectivity", None):
                dialog.type_combo.setCurrentIndex(dialog.type_combo.findData(sub_type) if sub_type else 0)
                ok = await dialog.test_connection()
                seen.append((ok, dialog.test_label.text(), dialog.test_label.styleSheet()))
        finally:
            await simulator.stop()
        return seen

    (wrong_ok, wrong, wrong_style), (right_ok, right, right_style), (any_ok, any_text, _) = (
        loop.run_until_complete(run()))
    assert wrong_ok is True and wrong.startswith("Connected: first event (connectivity"), wrong
    assert "sends connectivity events, but its subscription type is set to datapoint: choose connectivity" in wrong
    assert "c62828" in wrong_style  # shown as a problem
    assert right_ok is True and "subscription type is set" not in right and "2e7d32" in right_style
    assert any_ok is True and "subscription type is set" not in any_text
