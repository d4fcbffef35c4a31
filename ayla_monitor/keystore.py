"""Remembered stream keys and database passwords: the system keyring, or a
private file where there is none.

Keys are looked up by their fingerprint (:func:`~ayla_monitor.dss.keys.key_fingerprint`),
which is what settings files hold; a database password by a name made from
the database's URL without it (:func:`database_secret_name`). The system keyring (``keyring``) is used when
it has a real backend; otherwise, or when it fails, keys go to a JSON file that
only the user can read (mode 0600), and :attr:`Keystore.backend_note` says so in
one sentence for the stream dialog. No key ever reaches a log line.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from ayla_monitor.dss.keys import is_valid_key, mask_key
from ayla_monitor.paths import data_dir

__all__ = ["Keystore", "default_fallback_path", "database_secret_name"]

log = logging.getLogger(__name__)

_PRIVATE = 0o600


def default_fallback_path() -> Path:
    """``~/.local/share/ayla-monitor/keys.json`` (or the platform's equivalent)."""
    return data_dir() / "keys.json"


def database_secret_name(url_without_password: str) -> str:
    """The name a database password is kept under: ``database:`` and the URL
    without the password (``database:mysql://ayla@db:3306/ayla``)."""
    return f"database:{url_without_password}"


def _usable_backend(backend: KeyringBackend) -> bool:
    """False for keyring's placeholders: the failing and null backends, and a
    chainer with nothing to chain."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_usable_backend(b) for b in backend.backends)
    return True


def _system_backend() -> KeyringBackend | None:
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend plugin must not stop the program
        log.warning("The system keyring could not be loaded: %s", exc)
        return None
    return backend if _usable_backend(backend) else None


def _tilde(path: Path) -> str:
    """``path`` with the home directory written as ``~`` (shorter to read)."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


class Keystore:
    """Stores and finds stream keys by fingerprint.

    ``backend`` replaces the system keyring (for tests, or a caller with its own);
    ``use_keyring=False`` forces the private file.
    """

    def __init__(
        self,
        service: str = "ayla-monitor",
        fallback_path: str | os.PathLike[str] | None = None,
        use_keyring: bool = True,
        *,
        backend: KeyringBackend | None = None,
    ) -> None:
        self.service = service
        self.fallback_path = Path(fallback_path) if fallback_path else default_fallback_path()
        self._backend: KeyringBackend | None = None
        self._note: str | None = None
        if use_keyring:
            self._backend = backend if backend is not None else _system_backend()
        if self._backend is None:
            self._note = (
                "No system keyring found: remembered keys are kept in "
                f"{_tilde(self.fallback_path)}, readable only by you"
            )

    # -- public API ------------------------------------------------------------

    @property
    def backend_note(self) -> str | None:
        """None while the system keyring works; else one sentence saying where keys go."""
        return self._note

    @property
    def uses_keyring(self) -> bool:
        return self._backend is not None

    @property
    def location(self) -> str:
        """Where secrets go, for the About box: the keyring by name, or the file."""
        if self._backend is not None:
            name = getattr(self._backend, "name", None) or type(self._backend).__name__
            return f"the system keyring ({name})"
        return f"{self.fallback_path} (a file readable only by you, mode 0600)"

    def get(self, fingerprint: str) -> str | None:
        """The key remembered under ``fingerprint``, or None."""
        if self._backend is not None:
            try:
                key = self._backend.get_password(self.service, fingerprint)
            except Exception as exc:
                self._keyring_failed(exc)
            else:
                if key is not None:
                    return key
        return self._read_file().get(fingerprint)

    def put(self, fingerprint: str, key: str) -> None:
        """Remember ``key`` under ``fingerprint`` (replacing an older one)."""
        if not is_valid_key(key):
            raise ValueError(f"refusing to remember {mask_key(key)!r}: not a stream key")
        self._put(fingerprint, key, f"key {mask_key(key)}")

    def put_secret(self, name: str, secret: str) -> None:
        """Remember any other secret (a database password) under ``name``; the
        log names it, never shows it."""
        self._put(name, secret, f"the secret {name}")

    def _put(self, name: str, secret: str, what: str) -> None:
        if self._backend is not None:
            try:
                self._backend.set_password(self.service, name, secret)
            except Exception as exc:
                self._keyring_failed(exc)
            else:
                log.info("Remembered %s in the system keyring", what)
                return
        keys = self._read_file()
        keys[name] = secret
        self._write_file(keys)
        log.info("Remembered %s in %s", what, self.fallback_path)

    def delete(self, fingerprint: str) -> None:
        """Forget the key under ``fingerprint``, wherever it is; no error if unknown."""
        if self._backend is not None:
            try:
                self._backend.delete_password(self.service, fingerprint)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored there
            except Exception as exc:
                self._keyring_failed(exc)
        if self.fallback_path.exists():
            keys = self._read_file()
            if keys.pop(fingerprint, None) is not None:
                self._write_file(keys)

    # -- internals -------------------------------------------------------------

    def _keyring_failed(self, exc: Exception) -> None:
        """Switch to the private file for the rest of this run."""
        reason = str(exc).split("\n", 1)[0] or type(exc).__name__
        log.warning("The system keyring failed (%s); using %s instead", reason, self.fallback_path)
        self._backend = None
        self._note = (
            f"The system keyring failed ({reason}): remembered keys are kept in "
            f"{_tilde(self.fallback_path)}, readable only by you"
        )

    def _read_file(self) -> dict[str, str]:
        path = self.fallback_path
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return {}
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "%s could be read by other users (mode %o); restricting it to you",
                path,
                stat.S_IMODE(mode),
            )
            os.chmod(path, _PRIVATE)
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Cannot read remembered keys from %s: %s", path, exc)
            return {}
        keys = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(keys, dict):
            log.warning("%s holds no remembered keys in the expected form", path)
            return {}
        return {str(k): v for k, v in keys.items() if isinstance(v, str)}

    def _write_file(self, keys: dict[str, str]) -> None:
        """Replace the file atomically; the new file is created 0600 from the start."""
        path = self.fallback_path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "keys": keys}, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
