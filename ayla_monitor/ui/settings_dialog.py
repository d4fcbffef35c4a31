"""The Settings dialog: database, dead-link timeout, log window, retention, theme.

Edits a copy of the values; on OK they go back into the :class:`AppSettings`,
which is saved. The MySQL "Test" button runs the (blocking) database check in a
worker thread, so the window stays responsive.

Switching the database cannot wreck what is being watched: OK tests the new
database first; when the test fails, the dialog stays open, says why, and the
current database stays unless the user picks "Switch anyway". A MySQL
password is typed in its own masked field and kept in the keystore, never in
the settings file.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.store.errors import BadDatabaseUrl, StoreError
from ayla_monitor.store.location import (
    default_database_path,
    describe_database,
    resolve_database_url,
    sqlite_path,
)
from ayla_monitor.ui.dialog_parts import error_color, ok_color, plain_label, problem_footer
from ayla_monitor.ui.formatting import format_bytes
from ayla_monitor.ui.settings import (
    DEAD_AFTER_RANGE,
    LOG_WINDOW_RANGE,
    MAX_FRAME_MB_RANGE,
    RETENTION_RANGE,
    THEMES,
    AppSettings,
    apply_color_scheme,
    split_password,
    with_password,
)
from ayla_monitor.ui.slots import async_slot

if TYPE_CHECKING:
    from ayla_monitor.keystore import Keystore

__all__ = ["SettingsDialog", "DatabaseTest", "default_test_database"]

log = logging.getLogger(__name__)

#: ``test_database(url)``: None when the database can be opened, else one sentence.
DatabaseTest = Callable[[str], "str | None | Awaitable[str | None]"]


def default_test_database(url: str) -> str | None:
    """Open and close the database at ``url`` (blocking: run it in a thread)."""
    from ayla_monitor.store.database import Store

    try:
        store = Store.open(url)
    except StoreError as exc:
        return str(exc)
    close = getattr(store, "close", None)
    if callable(close):
        close()
    return None


class SettingsDialog(QDialog):
    """Edit ``settings``; on OK they are updated and saved.

    ``database_size`` (bytes) is shown next to the database choice when known;
    ``test_database`` checks a MySQL URL (sync functions run in a thread,
    coroutine functions are awaited).
    """

    def __init__(
        self,
        settings: AppSettings,
        parent: QWidget | None = None,
        *,
        database_size: int | None = None,
        test_database: DatabaseTest | None = None,
        keystore: Keystore | None = None,
    ) -> None:
        super().__init__(parent)
        from ayla_monitor.ui.queries import QueryRunner  # the database test runs there, not in this dialog

        self._queries = QueryRunner(self)
        self.settings = settings
        if keystore is None:
            from ayla_monitor.keystore import Keystore

            keystore = Keystore()
        self.keystore = keystore
        self._test_database: DatabaseTest = test_database or default_test_database
        self._testing = False
        self._test_task: asyncio.Task[Any] | None = None
        #: the database in use when the dialog opened (with its password).
        self._current_url = settings.database_target(keystore)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._build(database_size)
        self._load(settings)
        self._revalidate()

    # -- layout ------------------------------------------------------------------

    def _build(self, database_size: int | None) -> None:
        outer = QVBoxLayout(self)

        # database
        db_box = QGroupBox("Database")
        db = QFormLayout(db_box)
        db.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.default_radio = QRadioButton("&Default file")
        self.sqlite_radio = QRadioButton("&SQLite file")
        self.mysql_radio = QRadioButton("&MySQL")
        group = QButtonGroup(self)
        for radio in (self.default_radio, self.sqlite_radio, self.mysql_radio):
            group.addButton(radio)
            radio.toggled.connect(self._revalidate)
        self.default_path_label = plain_label(str(default_database_path()))
        self.default_path_label.setWordWrap(False)
        self.default_path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        db.addRow(self.default_radio, self.default_path_label)

        self.sqlite_edit = QLineEdit()
        self.sqlite_edit.setObjectName("sqlite_path")
        self.sqlite_edit.setPlaceholderText("path/to/events.sqlite")
        self.sqlite_edit.textChanged.connect(self._revalidate)
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.clicked.connect(self._browse)
        sqlite_row = QHBoxLayout()
        sqlite_row.addWidget(self.sqlite_edit, 1)
        sqlite_row.addWidget(self.browse_button)
        db.addRow(self.sqlite_radio, sqlite_row)

        self.mysql_edit = QLineEdit()
        self.mysql_edit.setObjectName("mysql_url")
        self.mysql_edit.setPlaceholderText("mysql://user@host:3306/database")
        self.mysql_edit.textEdited.connect(self._url_edited)
        self.mysql_edit.textChanged.connect(self._revalidate)
        self.test_button = QPushButton("&Test")
        self.test_button.clicked.connect(self._test_clicked)
        mysql_row = QHBoxLayout()
        mysql_row.addWidget(self.mysql_edit, 1)
        mysql_row.addWidget(self.test_button)
        db.addRow(self.mysql_radio, mysql_row)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("mysql_password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("none")
        self.password_edit.setToolTip("Kept in the system keyring (or a file only you can read), not in the settings")
        self.password_edit.textChanged.connect(self._revalidate)
        db.addRow("&Password:", self.password_edit)
        self.test_label = plain_label()
        self.test_label.setObjectName("test_result")
        db.addRow("", self.test_label)
        # shown when the new database failed its test: keep the current one, or switch anyway
        self.keep_button = QPushButton("&Keep the current database")
        self.keep_button.setObjectName("keep_database")
        self.keep_button.clicked.connect(lambda: self._finish(self._current_url))
        self.switch_button = QPushButton("Switch &anyway")
        self.switch_button.setObjectName("switch_anyway")
        self.switch_button.setToolTip("Use the new database although it could not be opened just now")
        self.switch_button.clicked.connect(self._switch_anyway)
        failed_row = QHBoxLayout()
        failed_row.addWidget(self.keep_button)
        failed_row.addWidget(self.switch_button)
        failed_row.addStretch(1)
        db.addRow("", failed_row)
        self._show_switch_choice(False)
        size = (
            f"The database in use holds {format_bytes(database_size)}."
            if database_size is not None
            else ""
        )
        self.size_label = plain_label(size)
        self.size_label.setVisible(bool(size))
        db.addRow("", self.size_label)
        outer.addWidget(db_box)

        # streams and display
        general_box = QGroupBox("Streams and display")
        general = QFormLayout(general_box)
        general.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.dead_after_spin = QSpinBox()
        self.dead_after_spin.setRange(int(DEAD_AFTER_RANGE[0]), int(DEAD_AFTER_RANGE[1]))
        self.dead_after_spin.setSuffix(" s")
        self.dead_after_spin.setToolTip(
            "A stream that sends nothing (not even a heartbeat) for this long is "
            "reconnected. DSS sends a heartbeat about every 30 s."
        )
        general.addRow("Dead-link &timeout:", self.dead_after_spin)
        self.max_frame_spin = QSpinBox()
        self.max_frame_spin.setRange(*MAX_FRAME_MB_RANGE)
        self.max_frame_spin.setSuffix(" MB")
        self.max_frame_spin.setToolTip(
            "A frame larger than this is not read: it is kept as a bad frame with its size, its seq "
            "is recorded as a gap, and the stream goes on after it. Takes effect when a stream connects."
        )
        general.addRow("Largest &frame:", self.max_frame_spin)
        self.log_window_spin = QSpinBox()
        self.log_window_spin.setRange(LOG_WINDOW_RANGE[0], LOG_WINDOW_RANGE[1])
        self.log_window_spin.setSingleStep(10_000)
        self.log_window_spin.setGroupSeparatorShown(True)
        self.log_window_spin.setSuffix(" events")
        self.log_window_spin.setToolTip("How many recent events the event log keeps in memory.")
        general.addRow("&Log window:", self.log_window_spin)
        self.theme_combo = QComboBox()
        for value, text in THEMES.items():
            self.theme_combo.addItem(text, value)
        general.addRow("&Appearance:", self.theme_combo)
        outer.addWidget(general_box)

        # retention
        retention_box = QGroupBox("Retention")
        retention = QHBoxLayout(retention_box)
        self.retention_check = QCheckBox("Delete &events older than")
        self.retention_spin = QSpinBox()
        self.retention_spin.setRange(RETENTION_RANGE[0], RETENTION_RANGE[1])
        self.retention_spin.setSuffix(" days")
        self.retention_spin.setValue(90)
        self.retention_check.toggled.connect(self.retention_spin.setEnabled)
        self.retention_spin.setEnabled(False)
        retention.addWidget(self.retention_check)
        retention.addWidget(self.retention_spin)
        retention.addStretch(1)
        outer.addWidget(retention_box)

        self.problem_label, self.buttons, bottom = problem_footer(self)
        outer.addStretch(1)
        outer.addLayout(bottom)

    def _load(self, settings: AppSettings) -> None:
        url = settings.database_url
        if not url:
            self.default_radio.setChecked(True)
        elif url.startswith("mysql://"):
            self.mysql_radio.setChecked(True)
            bare, password = split_password(self._current_url or url)
            self.mysql_edit.setText(bare)
            self.password_edit.setText(password or "")
        else:
            self.sqlite_radio.setChecked(True)
            self.sqlite_edit.setText(str(sqlite_path(url)) if url.startswith("sqlite:///") else url)
        self.dead_after_spin.setValue(round(settings.dead_after))
        self.max_frame_spin.setValue(settings.max_frame_mb)
        self.log_window_spin.setValue(settings.log_window)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(settings.theme)))
        self.retention_check.setChecked(settings.retention_days is not None)
        if settings.retention_days is not None:
            self.retention_spin.setValue(settings.retention_days)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "SQLite database file",
            self.sqlite_edit.text() or str(default_database_path()),
            "SQLite databases (*.sqlite *.db);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.sqlite_edit.setText(path)

    # -- validation ----------------------------------------------------------------

    def database_url(self) -> str | None:
        """The database as chosen (None: the default file); raises
        :class:`~ayla_monitor.store.errors.BadDatabaseUrl` when unusable."""
        if self.default_radio.isChecked():
            return None
        if self.sqlite_radio.isChecked():
            text = self.sqlite_edit.text().strip()
            if not text:
                raise BadDatabaseUrl("Enter the SQLite file's path, or choose the default file.")
            if text.startswith("mysql://"):
                raise BadDatabaseUrl("This is a MySQL URL: choose MySQL for it.")
            return resolve_database_url(text)
        text = self.mysql_edit.text().strip()
        if not text.startswith("mysql://"):
            what = "Enter" if not text else "A MySQL database is given as"
            raise BadDatabaseUrl(f"{what} a URL like mysql://USER@HOST:PORT/DATABASE (the password below).")
        bare, typed = split_password(text)
        return resolve_database_url(with_password(bare, self.password_edit.text() or typed))

    def _url_edited(self, text: str) -> None:
        """A URL typed or pasted with its password: the password moves to its
        masked field, the URL field keeps the rest."""
        bare, password = split_password(text.strip())
        if password is not None:
            self.mysql_edit.setText(bare)
            self.password_edit.setText(password)

    def _show_switch_choice(self, shown: bool) -> None:
        self.keep_button.setVisible(shown)
        self.switch_button.setVisible(shown)

    def _revalidate(self) -> None:
        self.sqlite_edit.setEnabled(self.sqlite_radio.isChecked())
        self.browse_button.setEnabled(self.sqlite_radio.isChecked())
        self.mysql_edit.setEnabled(self.mysql_radio.isChecked())
        self.password_edit.setEnabled(self.mysql_radio.isChecked())
        self._show_switch_choice(False)
        problem = None
        try:
            self.database_url()
        except StoreError as exc:
            problem = str(exc)
        self.problem_label.setText(problem or "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
        self.test_button.setEnabled(
            self.mysql_radio.isChecked() and problem is None and not self._testing
        )
        if not self._testing:
            self._show_test_result(None)

    # -- MySQL test ---------------------------------------------------------------

    @async_slot()
    async def _test_clicked(self) -> None:
        await self.test_connection()

    async def test_connection(self) -> str | None:
        """Check the MySQL URL as entered; show and return the error sentence
        (None when the database opened)."""
        try:
            url = self.database_url()
        except StoreError as exc:
            return str(exc)
        if url is None or self._testing:
            return None
        self._testing = True
        self._test_task = asyncio.current_task()
        self.test_button.setEnabled(False)
        self.test_button.setText("Testing…")
        self._show_test_result(None, f"Connecting to {describe_database(url)}…")
        error: str | None
        try:
            if inspect.iscoroutinefunction(self._test_database):
                error = await self._test_database(url)
            else:
                answer: Any = await self._queries.ask(self, lambda: self._test_database(url))
                error = await answer if inspect.isawaitable(answer) else answer
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("The database test of %s failed", describe_database(url))
            error = f"The test failed unexpectedly: {exc or type(exc).__name__}"
        finally:
            self._testing = False
            self._test_task = None
            if shiboken6.isValid(self):
                self.test_button.setText("&Test")
        if not shiboken6.isValid(self):
            return error
        self._revalidate()
        if error is None:
            self._show_test_result(True, f"Connected to {describe_database(url)}.")
        else:
            self._show_test_result(False, error)
        return error

    def _show_test_result(self, ok: bool | None, message: str = "") -> None:
        self.test_label.setText(message)
        self.test_label.setVisible(bool(message))
        self.test_label.setStyleSheet(
            "" if ok is None else f"color: {ok_color() if ok else error_color()};"
        )
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Make room for a sentence that wraps (a form layout does not grow the
        dialog by itself, and the lines then overlap the fields around them)."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else -1
        needed = max(needed, layout.sizeHint().height())
        if needed > self.height():
            self.resize(self.width(), needed)

    # -- OK / Cancel ---------------------------------------------------------------

    def accept(self) -> None:
        """OK: a new database is tested first (the dialog stays open meanwhile);
        the rest is saved at once with it."""
        try:
            url = self.database_url()
        except StoreError as exc:
            self.problem_label.setText(str(exc))
            return
        if url == self._current_url:
            self._finish(url)
            return
        self._test_then_finish()

    @async_slot()
    async def _test_then_finish(self) -> None:
        error = await self.test_connection()
        if not shiboken6.isValid(self) or self._testing:
            return
        try:
            url = self.database_url()
        except StoreError:
            return
        if error is None:
            self._finish(url)
            return
        self._show_switch_choice(True)
        self._show_test_result(
            False, f"{error} The current database stays in use unless you switch anyway."
        )

    def _switch_anyway(self) -> None:
        try:
            url = self.database_url()
        except StoreError as exc:
            self.problem_label.setText(str(exc))
            return
        self._finish(url)

    def _finish(self, url: str | None) -> None:
        """Copy the values into the settings (``url`` as the database), save
        them, apply the theme and close."""
        s = self.settings
        try:
            s.set_database(url, self.keystore)
        except OSError as exc:  # neither the keyring nor the private file could take the password
            log.warning("Could not keep the database password: %s", exc)
            self.problem_label.setText(
                f"The password cannot be kept ({exc.strerror or exc}); nothing was changed."
            )
            return
        s.dead_after = float(self.dead_after_spin.value())
        s.max_frame_mb = self.max_frame_spin.value()
        s.log_window = self.log_window_spin.value()
        s.retention_days = self.retention_spin.value() if self.retention_check.isChecked() else None
        s.theme = str(self.theme_combo.currentData())
        s.save()
        apply_color_scheme(s.theme)
        super().accept()

    def done(self, result: int) -> None:
        if self._test_task is not None and not self._test_task.done():
            self._test_task.cancel()
        super().done(result)
