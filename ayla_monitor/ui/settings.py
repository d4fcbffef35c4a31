"""The window's settings, kept in QSettings: database, timeouts, theme, saved streams.

Saved streams hold a key *fingerprint*, never the key: the key itself lives in
the :class:`~ayla_monitor.keystore.Keystore`. Likewise the database URL is
kept without its password, which goes to the keystore (the settings file is
an ordinary file that other users may read). Window geometry and dock state
are kept here too, as opaque bytes by name.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.errors import ConfigError
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.paths import APP_DIR_NAME

__all__ = [
    "AppSettings",
    "SavedStream",
    "THEMES",
    "DEAD_AFTER_RANGE",
    "MAX_FRAME_MB_RANGE",
    "LOG_WINDOW_RANGE",
    "RETENTION_RANGE",
    "default_qsettings",
    "apply_color_scheme",
    "repolish_all",
    "split_password",
    "with_password",
]

log = logging.getLogger(__name__)

#: theme setting -> what it means; "system" follows the desktop's light/dark choice.
THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
#: allowed ranges (inclusive) of the numeric settings.
DEAD_AFTER_RANGE = (35.0, 3600.0)  # DSS heartbeats come every ~30 s
MAX_FRAME_MB_RANGE = (1, 1024)  # a frame is held whole in memory while it is read
LOG_WINDOW_RANGE = (1_000, 2_000_000)
RETENTION_RANGE = (1, 36_500)

_STREAM_KEYS = ("stream_key", "seq_start", "seq_end")


class _KeyStore(Protocol):
    def get(self, fingerprint: str) -> str | None: ...
    def put(self, fingerprint: str, key: str) -> None: ...
    def delete(self, fingerprint: str) -> None: ...


class _SecretStore(_KeyStore, Protocol):
    def put_secret(self, name: str, secret: str) -> None: ...


def split_password(url: str) -> tuple[str, str | None]:
    """``mysql://user:pw@host/db`` -> (``mysql://user@host/db``, ``pw``); other
    URLs (and one without a password) come back as they are, with None."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url, None
    if password is None or "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(password)


def with_password(url: str, password: str | None) -> str:
    """``url`` (without a password) with ``password`` put back in."""
    if not password:
        return url
    parts = urlsplit(url)
    if "@" in parts.netloc:
        user, host = parts.netloc.rsplit("@", 1)
    else:
        user, host = "", parts.netloc
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _database_secret_name(url: str) -> str:
    from ayla_monitor.keystore import database_secret_name

    return database_secret_name(url)


def default_qsettings() -> QSettings:
    """The user's settings file (an ini file in the platform's config folder)."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, APP_DIR_NAME, APP_DIR_NAME
    )


def _without_key(url: str) -> str:
    """``url`` without a stream key or replay window in its query (belt and braces:
    a custom URL pasted with its key must not be written to a settings file)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _STREAM_KEYS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


@dataclass(frozen=True, slots=True)
class SavedStream:
    """A stream to reopen next time, minus its key (found by ``fingerprint``)."""

    name: str
    base_url: str
    fingerprint: str
    subscription_type: str | None
    seq_start: int | None = None
    seq_end: int | None = None
    #: the user disconnected it: it comes back disconnected until connected again.
    disconnected: bool = False

    @classmethod
    def from_definition(cls, definition: StreamDefinition, *, disconnected: bool = False) -> SavedStream:
        return cls(
            name=definition.name,
            base_url=_without_key(definition.base_url),
            fingerprint=definition.fingerprint,
            subscription_type=definition.subscription_type,
            seq_start=definition.replay.seq_start,
            seq_end=definition.replay.seq_end,
            disconnected=disconnected,
        )

    @property
    def replay(self) -> ReplayWindow:
        return ReplayWindow(self.seq_start, self.seq_end)

    def definition(self, key: str) -> StreamDefinition:
        """The full definition, given the remembered key (raises ConfigError if unusable)."""
        return StreamDefinition(
            name=self.name,
            base_url=self.base_url,
            key=key,
            subscription_type=self.subscription_type,
            replay=self.replay,
        )


def _as_int(value: Any, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        log.warning("Ignoring setting value %r: not a whole number", value)
        return default


def _as_float(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        log.warning("Ignoring setting value %r: not a number", value)
        return default
    return result if math.isfinite(result) else default


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


@dataclass
class AppSettings:
    """Everything the window remembers between runs. :meth:`load` reads it,
    :meth:`save` writes it back to the same QSettings."""

    database_url: str | None = None  # None: the default SQLite file
    dead_after: float = 75.0
    #: the largest frame a stream takes; a larger one is kept as a bad frame and skipped
    max_frame_mb: int = 16
    log_window: int = 100_000
    retention_days: int | None = None  # None: keep events for ever
    theme: str = "system"
    #: the devices shown as "tiles" or as a "table" (the fleet table)
    devices_view: str = "tiles"
    #: tile cards "normal" or "compact" (smaller, more per screen)
    tile_density: str = "normal"
    #: a device offline longer than this (minutes) is listed in Problems
    offline_problem_min: int = 10
    #: closing the window hides it in the tray; streams, recording and alerts go on (issue 13)
    keep_in_tray: bool = False
    streams: list[SavedStream] = field(default_factory=list)
    _qsettings: QSettings | None = field(default=None, repr=False, compare=False)

    # -- reading and writing ---------------------------------------------------

    @classmethod
    def load(cls, qsettings: QSettings | None = None) -> AppSettings:
        """Read from ``qsettings`` (the user's settings file by default); values
        that are missing or unusable fall back to their defaults."""
        qs = qsettings if qsettings is not None else default_qsettings()
        defaults = cls()
        url = qs.value("database/url")
        dead_after = _as_float(qs.value("connection/dead_after"), defaults.dead_after)
        max_frame_mb = _as_int(qs.value("connection/max_frame_mb"), defaults.max_frame_mb) or defaults.max_frame_mb
        log_window = _as_int(qs.value("log/window"), defaults.log_window) or defaults.log_window
        retention = _as_int(qs.value("database/retention_days"), None)
        theme = str(qs.value("appearance/theme") or "system")
        settings = cls(
            database_url=str(url) if url else None,
            dead_after=_clamp(dead_after, DEAD_AFTER_RANGE),
            max_frame_mb=int(_clamp(max_frame_mb, MAX_FRAME_MB_RANGE)),
            log_window=int(_clamp(log_window, LOG_WINDOW_RANGE)),
            retention_days=(
                int(_clamp(retention, RETENTION_RANGE)) if retention is not None and retention > 0 else None
            ),
            theme=theme if theme in THEMES else "system",
            devices_view="table" if str(qs.value("devices/view") or "") == "table" else "tiles",
            tile_density="compact" if str(qs.value("devices/density") or "") == "compact" else "normal",
            offline_problem_min=int(_clamp(_as_int(qs.value("problems/offline_min"), 10) or 10, (1, 10_080))),
            keep_in_tray=str(qs.value("alerts/keep_in_tray") or "").lower() in ("true", "1"),
            streams=cls._load_streams(qs),
            _qsettings=qs,
        )
        return settings

    @staticmethod
    def _load_streams(qs: QSettings) -> list[SavedStream]:
        streams: list[SavedStream] = []
        count = qs.beginReadArray("streams")
        try:
            for i in range(count):
                qs.setArrayIndex(i)
                name = str(qs.value("name") or "")
                base_url = str(qs.value("base_url") or "")
                fingerprint = str(qs.value("fingerprint") or "")
                sub_type = qs.value("subscription_type")
                saved = SavedStream(
                    name=name,
                    base_url=base_url,
                    fingerprint=fingerprint,
                    subscription_type=str(sub_type) if sub_type else None,
                    seq_start=_as_int(qs.value("seq_start"), None),
                    seq_end=_as_int(qs.value("seq_end"), None),
                    disconnected=str(qs.value("disconnected") or "").lower() in ("true", "1"),
                )
                try:
                    saved.replay  # noqa: B018 - validates the window
                except ConfigError as exc:
                    log.warning("Saved stream %r: dropping its replay window (%s)", name, exc)
                    saved = replace(saved, seq_start=None, seq_end=None)
                if not (name and base_url and fingerprint):
                    log.warning("Skipping saved stream %d: name, URL or key fingerprint missing", i)
                    continue
                streams.append(saved)
        finally:
            qs.endArray()
        return streams

    @property
    def qsettings(self) -> QSettings:
        if self._qsettings is None:
            self._qsettings = default_qsettings()
        return self._qsettings

    def save(self) -> None:
        """Write every setting and flush the file; a failure is logged in one sentence."""
        qs = self.qsettings
        url = self.database_url or None
        if url is not None and split_password(url)[1] is not None:  # never a password in this file
            log.warning("Not writing the database password to the settings file; it must be entered again")
            url = split_password(url)[0]
        self._set_or_remove(qs, "database/url", url)
        self._set_or_remove(qs, "database/retention_days", self.retention_days)
        qs.setValue("connection/dead_after", float(self.dead_after))
        qs.setValue("connection/max_frame_mb", int(self.max_frame_mb))
        qs.setValue("log/window", int(self.log_window))
        qs.setValue("appearance/theme", self.theme)
        qs.setValue("devices/view", self.devices_view)
        qs.setValue("devices/density", self.tile_density)
        qs.setValue("problems/offline_min", int(self.offline_problem_min))
        qs.setValue("alerts/keep_in_tray", "true" if self.keep_in_tray else "false")
        qs.remove("streams")  # the old array, which may have been longer
        qs.beginWriteArray("streams", len(self.streams))
        try:
            for i, s in enumerate(self.streams):
                qs.setArrayIndex(i)
                qs.setValue("name", s.name)
                qs.setValue("base_url", _without_key(s.base_url))
                qs.setValue("fingerprint", s.fingerprint)
                qs.setValue("subscription_type", s.subscription_type or "")
                qs.setValue("seq_start", "" if s.seq_start is None else s.seq_start)
                qs.setValue("seq_end", "" if s.seq_end is None else s.seq_end)
                qs.setValue("disconnected", "true" if s.disconnected else "false")
        finally:
            qs.endArray()
        qs.sync()
        if qs.status() != QSettings.Status.NoError:
            log.warning("Cannot write the settings file %s (%s)", qs.fileName(), qs.status().name)

    @staticmethod
    def _set_or_remove(qs: QSettings, name: str, value: object) -> None:
        if value is None:
            qs.remove(name)
        else:
            qs.setValue(name, value)

    # -- the database and its password ---------------------------------------------

    def database_target(self, keystore: _KeyStore) -> str | None:
        """The database URL to open: the saved URL with its password from
        ``keystore`` (None: the default file)."""
        url = self.database_url
        if not url:
            return None
        return with_password(url, keystore.get(_database_secret_name(url)))

    def set_database(self, url: str | None, keystore: _SecretStore) -> None:
        """Use ``url`` from now on (a password in it goes to ``keystore``; the
        settings keep the URL without it). Does not save: :meth:`save` does."""
        if url is None:
            self.database_url = None
            return
        bare, password = split_password(url)
        name = _database_secret_name(bare)
        if password:
            keystore.put_secret(name, password)
        else:
            keystore.delete(name)
        self.database_url = bare

    def secure_database_password(self, keystore: _SecretStore) -> bool:
        """Move a password found in the saved URL (written by an older version)
        to ``keystore`` and save; True if there was one."""
        url = self.database_url
        if not url or split_password(url)[1] is None:
            return False
        self.set_database(url, keystore)
        self.save()
        log.info("Moved the database password from the settings file to the keystore")
        return True

    # -- window state for the main window ---------------------------------------

    def save_state(self, name: str, data: bytes | bytearray | memoryview | QByteArray) -> None:
        """Keep opaque window state (``saveGeometry()``, ``saveState()``) under ``name``."""
        raw = bytes(data.data()) if isinstance(data, QByteArray) else bytes(data)
        self.qsettings.setValue(f"window/{name}", QByteArray(raw))

    def state(self, name: str) -> bytes | None:
        """What :meth:`save_state` kept under ``name``, or None."""
        value = self.qsettings.value(f"window/{name}")
        if isinstance(value, QByteArray):
            return bytes(value.data())
        if isinstance(value, bytes):
            return value
        return None

    # -- saved streams -----------------------------------------------------------

    def saved_stream(self, fingerprint: str) -> SavedStream | None:
        return next((s for s in self.streams if s.fingerprint == fingerprint), None)

    def remember_stream(
        self,
        definition: StreamDefinition,
        keystore: _KeyStore,
        *,
        replacing: str | None = None,
    ) -> SavedStream:
        """Save ``definition`` (its key into ``keystore``, the rest here) and write
        the settings. ``replacing`` is the fingerprint of the stream it replaces
        after an edit; it keeps its place in the list."""
        saved = SavedStream.from_definition(definition)  # an edit connects it again
        keystore.put(saved.fingerprint, definition.key)
        old = replacing or saved.fingerprint
        for i, s in enumerate(self.streams):
            if s.fingerprint in (old, saved.fingerprint):
                self.streams[i] = saved
                break
        else:
            self.streams.append(saved)
        # an edit that changed the key leaves a duplicate behind: drop it
        unique: dict[str, SavedStream] = {}
        for s in self.streams:
            unique.setdefault(s.fingerprint, s)
        self.streams = list(unique.values())
        if replacing and replacing != saved.fingerprint:
            keystore.delete(replacing)
        self.save()
        return saved

    def set_disconnected(self, fingerprint: str, disconnected: bool) -> bool:
        """Remember that the user disconnected (or connected again) a saved
        stream; False when no saved stream has that fingerprint."""
        for i, s in enumerate(self.streams):
            if s.fingerprint == fingerprint:
                if s.disconnected != disconnected:
                    self.streams[i] = replace(s, disconnected=disconnected)
                    self.save()
                return True
        return False

    def forget_stream(self, fingerprint: str, keystore: _KeyStore | None = None) -> None:
        """Remove a saved stream (and its key from ``keystore``, when given)."""
        self.streams = [s for s in self.streams if s.fingerprint != fingerprint]
        if keystore is not None:
            keystore.delete(fingerprint)
        self.save()

    def restore_streams(
        self, keystore: _KeyStore
    ) -> list[tuple[SavedStream, StreamDefinition | None]]:
        """Each saved stream with its definition, or None where its key is no
        longer in ``keystore`` (the window then asks for it with the stream dialog)."""
        result: list[tuple[SavedStream, StreamDefinition | None]] = []
        for saved in self.streams:
            key = keystore.get(saved.fingerprint)
            definition = None
            if key is not None:
                try:
                    definition = saved.definition(key)
                except ConfigError as exc:
                    log.warning("Saved stream %r cannot be used: %s", saved.name, exc)
            else:
                log.warning("The key of saved stream %r is no longer remembered", saved.name)
            result.append((saved, definition))
        return result


def _dark_palette() -> QPalette:
    """A plain dark palette for platforms whose theme cannot switch to dark itself."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.ToolTipBase: "#333333",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8c8c8c",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Light: "#505050",
        QPalette.ColorRole.Midlight: "#404040",
        QPalette.ColorRole.Mid: "#303030",
        QPalette.ColorRole.Dark: "#1a1a1a",
        QPalette.ColorRole.Shadow: "#000000",
        QPalette.ColorRole.Link: "#6cb4ff",
        QPalette.ColorRole.LinkVisited: "#b69cff",
        QPalette.ColorRole.Highlight: "#2f65ca",
        QPalette.ColorRole.HighlightedText: "#ffffff",
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return palette


def apply_color_scheme(theme: str) -> None:
    """Light, dark, or (``"system"``) whatever the desktop prefers, live.

    Asks the platform theme first (Qt 6.8+); where it cannot switch (plain X11,
    offscreen), sets a palette instead.
    """
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    hints = QGuiApplication.styleHints()
    wanted = {
        "light": Qt.ColorScheme.Light,
        "dark": Qt.ColorScheme.Dark,
    }.get(theme, Qt.ColorScheme.Unknown)  # Unknown = follow the system again
    hints.setColorScheme(wanted)
    if wanted == Qt.ColorScheme.Unknown or hints.colorScheme() == wanted:
        app.setPalette(QPalette())  # the platform's own palette
    elif wanted == Qt.ColorScheme.Dark:
        app.setPalette(_dark_palette())
    else:
        app.setPalette(app.style().standardPalette())
    repolish_all(app)


def repolish_all(app: QApplication) -> None:
    """Make every open widget take the new palette now.

    A widget under a style sheet (the main window has one, for the demo
    badge) keeps the palette it was polished with: the dock title, the
    device summary and the status bar stayed dark-on-dark until a restart.
    Setting each style sheet again polishes the widget and its children anew;
    widgets that keep colours of their own hear ``PaletteChange``/``StyleChange``.
    """
    sheet = app.styleSheet()
    if sheet:
        app.setStyleSheet("")
        app.setStyleSheet(sheet)
    for widget in app.allWidgets():
        own = widget.styleSheet()
        if own:
            widget.setStyleSheet("")
            widget.setStyleSheet(own)
    for widget in app.topLevelWidgets():
        widget.update()
