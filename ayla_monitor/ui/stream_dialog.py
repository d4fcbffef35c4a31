"""The "Add stream…" / "Edit stream…" dialog.

Builds a :class:`~ayla_monitor.dss.subscription.StreamDefinition` from a name,
a host choice (client type, region, deployment) or a custom URL, the stream key
and an optional replay window. Pasting a subscription's JSON anywhere in the
dialog fills it in. "Test connection" runs the async probe without blocking the
window. The key is shown only in its own field, masked unless "Show" is held
down; every label shows it masked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import (
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QRegularExpressionValidator,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.dss.endpoints import (
    CLIENT_TYPES,
    DEPLOYMENTS,
    HOSTS,
    REGIONS,
    ReplayWindow,
    base_url_for,
    display_url,
    stream_url,
)
from ayla_monitor.dss.errors import ConfigError
from ayla_monitor.dss.keys import is_valid_key, mask_key, normalize_key, redact
from ayla_monitor.dss.subscription import SUBSCRIPTION_TYPES, StreamDefinition, parse_subscription
from ayla_monitor.ui.dialog_parts import error_color, ok_color, plain_label, problem_footer
from ayla_monitor.ui.settings import SavedStream
from ayla_monitor.ui.slots import async_slot

if TYPE_CHECKING:
    from ayla_monitor.keystore import Keystore

__all__ = ["StreamDialog", "ProbeFunction"]

log = logging.getLogger(__name__)


class _Result(Protocol):
    """What a probe answers (``ayla_monitor.dss.client.ProbeResult``)."""

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...


#: what "Test connection" calls: ``ayla_monitor.dss.client.probe`` or the like.
ProbeFunction = Callable[[StreamDefinition], Awaitable[_Result]]

_ANY_TYPE = "any"
_HEX = "0123456789abcdef"
_TIP = "Tip: paste a subscription's JSON anywhere here to fill the form."
#: the probe's "Connected: first event (datapoint, seq 5) after 0.2 s".
_FIRST_EVENT = re.compile(r"first event \((?P<type>[a-z_]+),")


def arrived_type(result: object) -> str | None:
    """The event type the probe saw first (its ``event_type`` if it has one,
    else read from its sentence); None for a heartbeat or a failure."""
    event_type = getattr(result, "event_type", None)
    if isinstance(event_type, str) and event_type:
        return event_type
    match = _FIRST_EVENT.search(str(getattr(result, "message", "")))
    return match.group("type") if match else None


def type_mismatch(chosen: str | None, arrived: str | None) -> str | None:
    """One sentence when what arrives is not what the subscription type says."""
    if chosen is None or arrived is None or arrived in ("unknown", chosen):
        return None
    return (
        f"This stream sends {arrived} events, but its subscription type is set to {chosen}: "
        f"choose {arrived} (or check that the key is the right subscription's)."
    )


def _sentence(text: str) -> str:
    """``text`` with a capital first letter (ConfigError messages start lower case)."""
    return text[:1].upper() + text[1:] if text else text


async def _default_probe(definition: StreamDefinition) -> _Result:
    from ayla_monitor.dss.client import probe  # websockets only when a test is asked for

    return await probe(definition)


def _key_problem(key: str) -> str | None:
    """Why ``key`` (already normalized) is not a stream key, in one sentence."""
    if is_valid_key(key):
        return None
    bad = sorted({c for c in key if c not in _HEX})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return f"The stream key may hold only 0-9 and a-f, not {shown}."
    return f"The stream key has {len(key)} characters; it needs 32 hexadecimal characters."


def _subscription_id(text: str) -> Any:
    """The ``id`` of a pasted subscription (for the "Filled from…" line), or None."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("subscription"), dict):
        obj = obj["subscription"]
    return obj.get("id") if isinstance(obj, dict) else None


def _ayla_choice(base_url: str) -> tuple[str, str, str] | None:
    """(client type, region, deployment) when ``base_url`` is exactly a documented host."""
    parts = urlsplit(base_url)
    if parts.scheme != "wss" or parts.port or parts.query or parts.path not in ("", "/stream"):
        return None
    return next((choice for choice, host in HOSTS.items() if host == parts.hostname), None)


class StreamDialog(QDialog):
    """Add or edit one stream. After ``exec() == Accepted``: :meth:`definition`
    and :meth:`remember`.

    ``definition`` prefills the dialog for editing: a :class:`StreamDefinition`
    (its key is kept when the key field is left empty) or a :class:`SavedStream`
    whose key is no longer remembered (the key must then be typed). ``probe`` is
    what "Test connection" awaits; ``diagnose`` what "Step by step…" runs (the
    connection doctor, :mod:`ayla_monitor.ui.doctor_dialog`). ``keystore`` tells where remembered keys go,
    so the dialog can say so when that is a file and not the system keyring.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        definition: StreamDefinition | SavedStream | None = None,
        probe: ProbeFunction | None = None,
        diagnose: Any = None,
        keystore: Keystore | None = None,
        remember: bool = True,
    ) -> None:
        super().__init__(parent)
        from ayla_monitor.ui.queries import QueryRunner  # the probe runs there, not in this dialog

        self._queries = QueryRunner(self)
        self._probe: ProbeFunction = probe or _default_probe
        #: what "Step by step…" runs (``None``: the connection doctor)
        self._diagnose = diagnose
        self._existing_key: str | None = None
        self._testing = False
        self._test_task: asyncio.Task[Any] | None = None
        self._current: StreamDefinition | None = None
        self._filling = False
        #: the key the paste note speaks of ("Filled from … key 2f62…4567"): cleared when the key changes.
        self._noted_key: str | None = None
        editing = definition is not None
        self.setWindowTitle("Edit stream" if editing else "Add stream")
        self.setMinimumWidth(620)
        self._build(remember)
        self._set_keystore_note(keystore)
        if definition is not None:
            self._prefill(definition)
        self._revalidate()
        for child in self.findChildren(QWidget):
            child.installEventFilter(self)
        self.installEventFilter(self)
        (self.name_edit if editing else self.key_edit).setFocus()

    # -- layout ------------------------------------------------------------------

    def _build(self, remember: bool) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("name")
        self.name_edit.textChanged.connect(self._revalidate)
        form.addRow("&Name:", self.name_edit)

        # where: a documented Ayla host, or any URL
        self.ayla_radio = QRadioButton("&Ayla:")
        self.custom_radio = QRadioButton("C&ustom URL:")
        group = QButtonGroup(self)
        group.addButton(self.ayla_radio)
        group.addButton(self.custom_radio)
        self.ayla_radio.setChecked(True)
        self.client_combo = QComboBox()
        self.client_combo.addItems(CLIENT_TYPES)
        self.client_combo.setToolTip("cloud or mobile, as in the subscription's client_type")
        self.region_combo = QComboBox()
        self.deployment_combo = QComboBox()
        for combo in (self.client_combo, self.region_combo, self.deployment_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.client_combo.currentTextChanged.connect(self._client_changed)
        self.region_combo.currentTextChanged.connect(self._region_changed)
        self.deployment_combo.currentTextChanged.connect(self._revalidate)
        hosts = QHBoxLayout()
        hosts.addWidget(self.client_combo)
        hosts.addWidget(QLabel("region"))
        hosts.addWidget(self.region_combo)
        hosts.addWidget(QLabel("deployment"))
        hosts.addWidget(self.deployment_combo)
        hosts.addStretch(1)
        form.addRow(self.ayla_radio, hosts)
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("url")
        self.url_edit.setPlaceholderText("wss://host/stream, or ws://127.0.0.1:PORT/stream for a simulator")
        self.url_edit.textEdited.connect(self._url_edited)
        self.url_edit.textChanged.connect(self._revalidate)
        form.addRow(self.custom_radio, self.url_edit)
        self.ayla_radio.toggled.connect(self._server_kind_changed)
        self._fill_regions()

        # the key: masked, with a show toggle
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("key")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("32 hexadecimal characters, or paste the subscription JSON")
        self.key_edit.textChanged.connect(self._key_changed)
        self.show_key = QToolButton()
        self.show_key.setText("Show")
        self.show_key.setCheckable(True)
        self.show_key.setToolTip("Show the key while this is pressed in")
        self.show_key.toggled.connect(self._show_key_toggled)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key)
        key_label = QLabel("Stream &key:")
        key_label.setBuddy(self.key_edit)
        form.addRow(key_label, key_row)

        self.type_combo = QComboBox()
        self.type_combo.addItem("any (not known)", None)
        for sub_type in SUBSCRIPTION_TYPES:
            self.type_combo.addItem(sub_type, sub_type)
        self.type_combo.currentIndexChanged.connect(self._revalidate)
        form.addRow("Subscription &type:", self.type_combo)

        # the optional replay window
        digits = QRegularExpressionValidator(r"\d{0,18}", self)
        self.replay_check = QCheckBox("&Replay from seq")
        self.seq_start_edit = QLineEdit()
        self.seq_start_edit.setObjectName("seq_start")
        self.seq_start_edit.setValidator(digits)
        self.seq_start_edit.setPlaceholderText("first seq")
        self.seq_end_edit = QLineEdit()
        self.seq_end_edit.setObjectName("seq_end")
        self.seq_end_edit.setValidator(digits)
        self.seq_end_edit.setPlaceholderText("last seq (optional)")
        for edit in (self.seq_start_edit, self.seq_end_edit):
            edit.textChanged.connect(self._revalidate)
            edit.setEnabled(False)
        self.replay_check.toggled.connect(self._replay_toggled)
        replay_row = QHBoxLayout()
        replay_row.addWidget(self.seq_start_edit)
        replay_row.addWidget(QLabel("to"))
        replay_row.addWidget(self.seq_end_edit)
        form.addRow(self.replay_check, replay_row)

        self.url_preview = plain_label(selectable=True)
        self.url_preview.setWordWrap(False)
        self.url_preview.setObjectName("url_preview")
        form.addRow("Connects to:", self.url_preview)

        self.paste_label = plain_label()
        self.paste_label.setObjectName("paste_feedback")
        self._show_tip()
        form.addRow("", self.paste_label)

        self.test_button = QPushButton("Test &connection")
        self.test_button.clicked.connect(self._test_clicked)
        self.test_label = plain_label()
        self.test_label.setObjectName("test_result")
        self.test_label.setMinimumWidth(360)  # wrapped labels otherwise reserve extra lines
        self.steps_button = QPushButton("Step by step…")
        self.steps_button.setObjectName("doctor_button")
        self.steps_button.setToolTip(
            "Each step of the connection with its time (name, proxy, TCP, TLS, key, heartbeat, types, "
            "clock), as a report to paste into a support ticket"
        )
        self.steps_button.clicked.connect(self.open_doctor)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.steps_button, 0, Qt.AlignmentFlag.AlignTop)
        test_row.addWidget(self.test_label, 1)
        form.addRow("", test_row)

        self.remember_check = QCheckBox("Re&member this stream (its key goes to the system keyring)")
        self.remember_check.setChecked(remember)
        self.keystore_label = plain_label()
        self.keystore_label.setObjectName("keystore_note")
        self.keystore_label.setMinimumWidth(440)
        self.keystore_label.hide()
        remember_box = QVBoxLayout()
        remember_box.setSpacing(2)
        remember_box.addWidget(self.remember_check)
        remember_box.addWidget(self.keystore_label)
        form.addRow("", remember_box)

        self.problem_label, self.buttons, bottom = problem_footer(self)

        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addStretch(1)
        outer.addLayout(bottom)

    def _set_keystore_note(self, keystore: Keystore | None) -> None:
        if keystore is None:
            from ayla_monitor.keystore import Keystore

            keystore = Keystore()
        note = keystore.backend_note
        if note:
            self.remember_check.setText("Re&member this stream")
            self.keystore_label.setText(note + ".")
            self.keystore_label.show()

    # -- prefilling for an edit --------------------------------------------------

    def _prefill(self, source: StreamDefinition | SavedStream) -> None:
        self._filling = True
        try:
            self.name_edit.setText(source.name)
            choice = _ayla_choice(source.base_url)
            if choice is not None:
                self._select_host(*choice)
            else:
                self.custom_radio.setChecked(True)
                self.url_edit.setText(source.base_url)
            self._select_type(source.subscription_type)
            replay = source.replay
            if replay.seq_start is not None:
                self.replay_check.setChecked(True)
                self.seq_start_edit.setText(str(replay.seq_start))
                if replay.seq_end is not None:
                    self.seq_end_edit.setText(str(replay.seq_end))
            if isinstance(source, StreamDefinition):
                self._existing_key = source.key
                self.key_edit.setPlaceholderText(
                    f"leave empty to keep key {source.masked_key}, or type a new key"
                )
        finally:
            self._filling = False

    def _select_host(self, client_type: str, region: str | None = None, deployment: str | None = None) -> None:
        self.ayla_radio.setChecked(True)
        self.client_combo.setCurrentText(client_type)
        if region is not None:
            self.region_combo.setCurrentText(region)
        if deployment is not None:
            self.deployment_combo.setCurrentText(deployment)

    def _select_type(self, sub_type: str | None) -> None:
        index = self.type_combo.findData(sub_type) if sub_type else 0
        self.type_combo.setCurrentIndex(max(0, index))

    # -- host pickers: only what Ayla serves ------------------------------------------

    def _fill_regions(self) -> None:
        client = self.client_combo.currentText()
        current = self.region_combo.currentText()
        offered = [r for r in REGIONS if any((client, r, d) in HOSTS for d in DEPLOYMENTS)]
        self.region_combo.blockSignals(True)
        self.region_combo.clear()
        self.region_combo.addItems(offered)
        self.region_combo.setCurrentText(current if current in offered else offered[0])
        self.region_combo.blockSignals(False)
        self._fill_deployments()

    def _fill_deployments(self) -> None:
        client, region = self.client_combo.currentText(), self.region_combo.currentText()
        current = self.deployment_combo.currentText() or "field"
        offered = [d for d in DEPLOYMENTS if (client, region, d) in HOSTS]
        self.deployment_combo.blockSignals(True)
        self.deployment_combo.clear()
        self.deployment_combo.addItems(offered)
        if offered:
            self.deployment_combo.setCurrentText(current if current in offered else offered[-1])
        self.deployment_combo.blockSignals(False)

    def _client_changed(self) -> None:
        self._fill_regions()
        self._revalidate()

    def _region_changed(self) -> None:
        self._fill_deployments()
        self._revalidate()

    def _server_kind_changed(self) -> None:
        ayla = self.ayla_radio.isChecked()
        for combo in (self.client_combo, self.region_combo, self.deployment_combo):
            combo.setEnabled(ayla)
        self.url_edit.setEnabled(not ayla)
        if not ayla and not self._filling:
            self.url_edit.setFocus()
        self._revalidate()

    def _url_edited(self, text: str) -> None:
        """A URL pasted with its key: move the key to the key field, keep the URL without it."""
        if "stream_key=" in text:
            parts = urlsplit(text.strip())
            query = parse_qsl(parts.query)
            keys = [v for k, v in query if k == "stream_key"]
            rest = [(k, v) for k, v in query if k != "stream_key"]
            self.url_edit.setText(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), "")))
            if keys and is_valid_key(normalize_key(keys[-1])):
                self.key_edit.setText(normalize_key(keys[-1]))
                self._say_paste(
                    True, f"Moved key {mask_key(normalize_key(keys[-1]))} from the URL to the key field"
                )

    def _replay_toggled(self, on: bool) -> None:
        self.seq_start_edit.setEnabled(on)
        self.seq_end_edit.setEnabled(on)
        if on and not self._filling:
            self.seq_start_edit.setFocus()
        self._revalidate()

    # -- the key -----------------------------------------------------------------

    def _key_changed(self, text: str) -> None:
        if "{" in text and not self._filling:
            # a subscription pasted by the context menu or dropped: never keep it in the field
            self.key_edit.blockSignals(True)
            self.key_edit.clear()
            self.key_edit.blockSignals(False)
            self.apply_subscription_text(text)
            return
        if not self._filling and self._noted_key is not None and normalize_key(text) != self._noted_key:
            self._show_tip()  # the note spoke of another key
        self._revalidate()

    def _show_key_toggled(self, on: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        self.show_key.setText("Hide" if on else "Show")

    # -- pasting a subscription ----------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+V (or the platform's paste) anywhere in the dialog: a subscription
        JSON on the clipboard fills the form; any other text pastes as usual."""
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.matches(QKeySequence.StandardKey.Paste):
                text = QGuiApplication.clipboard().text()
                if text.lstrip().startswith("{"):
                    self.apply_subscription_text(text)
                    return True
        return super().eventFilter(watched, event)

    def apply_subscription_text(self, text: str) -> bool:
        """Fill key, client type, subscription type and name from a pasted
        subscription; say what was filled, or in one line why nothing was."""
        try:
            fields = parse_subscription(text)
        except ConfigError as exc:
            self._say_paste(False, f"Not a usable subscription: {exc}")
            return False
        self._filling = True
        try:
            self.key_edit.setText(fields["key"])
            self._select_host(fields["client_type"])
            self._select_type(fields["subscription_type"])
            if fields["name"]:
                self.name_edit.setText(fields["name"])
        finally:
            self._filling = False
        ident = _subscription_id(text)
        what = ", ".join(
            str(part) for part in (fields["client_type"], fields["subscription_type"]) if part
        )
        source = f"subscription {ident}" if ident is not None else "the subscription"
        self._say_paste(True, f"Filled from {source}: key {mask_key(fields['key'])}, {what}")
        self._revalidate()
        return True

    def _say_paste(self, ok: bool, message: str) -> None:
        self.paste_label.setText(message)
        self.paste_label.setStyleSheet(f"color: {ok_color() if ok else error_color()};")
        self._noted_key = normalize_key(self.key_edit.text())

    def _show_tip(self) -> None:
        self.paste_label.setText(_TIP)
        self.paste_label.setStyleSheet("color: palette(placeholder-text);")
        self._noted_key = None

    # -- validation ----------------------------------------------------------------

    def _key(self) -> str:
        typed = normalize_key(self.key_edit.text())
        return typed if typed or self._existing_key is None else self._existing_key

    def _replay(self) -> ReplayWindow:
        if not self.replay_check.isChecked():
            return ReplayWindow()
        start, end = self.seq_start_edit.text().strip(), self.seq_end_edit.text().strip()
        if not start:
            raise ConfigError("enter the first seq to replay from, or untick Replay")
        return ReplayWindow(int(start), int(end) if end else None)

    def _base_url(self) -> str:
        if self.ayla_radio.isChecked():
            return base_url_for(
                self.client_combo.currentText(),
                self.region_combo.currentText(),
                self.deployment_combo.currentText(),
            )
        url = self.url_edit.text().strip()
        if not url:
            raise ConfigError("enter the custom URL (ws://… or wss://…)")
        return url

    def _validate(self) -> tuple[StreamDefinition | None, str | None, str]:
        """(definition or None, why not, preview URL with the key masked)."""
        key = self._key()
        try:
            base = self._base_url()
            replay = self._replay()
            # an incomplete key shows as "…" (display_url masks whatever stands there)
            preview = display_url(stream_url(base, key if is_valid_key(key) else "KEY", replay))
        except ConfigError as exc:
            return None, _sentence(str(exc)) + ".", ""
        if not key:
            return None, "Enter the stream key, or paste the subscription JSON.", preview
        problem = _key_problem(key)
        if problem:
            return None, problem, preview
        try:
            definition = StreamDefinition.create(
                key,
                name=self.name_edit.text().strip() or None,
                url=base,
                subscription_type=self.type_combo.currentData(),
                replay=replay,
            )
        except ConfigError as exc:
            return None, _sentence(str(exc)) + ".", preview
        return definition, None, definition.display_url

    def _revalidate(self) -> None:
        if self._filling:
            return
        definition, problem, preview = self._validate()
        if definition != self._current or definition is None:
            self._show_test_result(None)
        self._current = definition
        self.url_preview.setText(redact(preview) or "—")
        self.problem_label.setText(redact(problem or ""))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(definition is not None)
        self.test_button.setEnabled(definition is not None and not self._testing)
        self.steps_button.setEnabled(definition is not None)
        default_name = (
            f"{self.type_combo.currentData() or 'stream'} {mask_key(self._key())}"
            if is_valid_key(self._key())
            else "a name for this stream"
        )
        self.name_edit.setPlaceholderText(default_name)

    # -- test connection ---------------------------------------------------------------

    @async_slot()
    async def _test_clicked(self) -> None:
        await self.test_connection()

    async def test_connection(self) -> bool | None:
        """Probe the stream as currently entered; show the one-sentence result.
        Returns whether it worked (None when the form is not valid yet)."""
        definition = self._current
        if definition is None or self._testing:
            return None
        self._testing = True
        self._test_task = asyncio.current_task()
        self.test_button.setEnabled(False)
        self.test_button.setText("Testing…")
        host = urlsplit(definition.base_url).hostname or definition.base_url
        self._show_test_result(None, f"Connecting to {host}…")
        try:
            result = await self._queries.ask_async(self, lambda: self._probe(definition))
            ok, message = bool(result.ok), str(result.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("The connection test of %s failed", definition.display_url)
            ok, message = False, f"The test failed unexpectedly: {redact(str(exc)) or type(exc).__name__}"
        finally:
            self._testing = False
            self._test_task = None
            if shiboken6.isValid(self):
                self.test_button.setText("Test &connection")
                self.test_button.setEnabled(self._current is not None)
        if shiboken6.isValid(self) and definition == self._current:
            mismatch = type_mismatch(definition.subscription_type, arrived_type(result)) if ok else None
            if mismatch is not None:
                self._show_test_result(False, redact(f"{message}. {mismatch}"))
            else:
                self._show_test_result(ok, redact(message))
        return ok

    def open_doctor(self) -> QDialog | None:
        """The connection doctor on the stream as entered, in a window of its own."""
        definition = self._current
        if definition is None:
            return None
        from ayla_monitor.ui.doctor_dialog import DoctorDialog

        dialog = DoctorDialog(definition, self, diagnose=self._diagnose)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _show_test_result(self, ok: bool | None, message: str = "") -> None:
        self.test_label.setText(message)
        if ok is None:
            self.test_label.setStyleSheet("")
        else:
            self.test_label.setStyleSheet(f"color: {ok_color() if ok else error_color()};")

    # -- results --------------------------------------------------------------------

    def definition(self) -> StreamDefinition:
        """The stream as entered (call after the dialog was accepted)."""
        definition, problem, _ = self._validate()
        if definition is None:
            raise ConfigError(problem or "the stream is not complete")
        return definition

    def remember(self) -> bool:
        """Whether the user wants the stream (and its key) kept for next time."""
        return self.remember_check.isChecked()

    def done(self, result: int) -> None:
        """Closing hides the key again and stops a running test."""
        if self._test_task is not None and not self._test_task.done():
            self._test_task.cancel()
        self.show_key.setChecked(False)
        super().done(result)
