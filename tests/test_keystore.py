"""The keystore: system keyring when it works, a private 0600 file otherwise."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked, PasswordDeleteError

from ayla_monitor.dss.keys import key_fingerprint
from ayla_monitor.keystore import Keystore, _usable_backend

KEY = "2f6273dcbb224c5bb303b2a7e1234567"
OTHER = "0123456789abcdef0123456789abcdef"
FP = key_fingerprint(KEY)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


class MemoryKeyring(KeyringBackend):
    """A real, working keyring backend that keeps passwords in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "keys.json"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_file_fallback_is_private_and_round_trips(key_file: Path) -> None:
    store = Keystore(fallback_path=key_file, use_keyring=False)
    assert store.get(FP) is None
    store.put(FP, KEY)
    assert mode_of(key_file) == 0o600
    assert mode_of(key_file.parent) == 0o700
    assert store.get(FP) == KEY
    # a second instance reads what the first wrote
    assert Keystore(fallback_path=key_file, use_keyring=False).get(FP) == KEY
    store.put(key_fingerprint(OTHER), OTHER)
    store.delete(FP)
    assert store.get(FP) is None
    assert store.get(key_fingerprint(OTHER)) == OTHER
    assert KEY not in key_file.read_text()
    assert mode_of(key_file) == 0o600
    store.delete("unknown")  # no error


def test_file_fallback_note_names_the_file(key_file: Path) -> None:
    store = Keystore(fallback_path=key_file, use_keyring=False)
    assert not store.uses_keyring
    assert store.backend_note is not None
    assert store.backend_note.startswith("No system keyring found")
    assert "keys.json" in store.backend_note
    assert "readable only by you" in store.backend_note


@posix_only
def test_world_readable_file_is_repaired_with_a_warning(
    key_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_text(json.dumps({"version": 1, "keys": {FP: KEY}}))
    os.chmod(key_file, 0o644)
    store = Keystore(fallback_path=key_file, use_keyring=False)
    with caplog.at_level(logging.WARNING, logger="ayla_monitor.keystore"):
        assert store.get(FP) == KEY
    assert mode_of(key_file) == 0o600
    assert "could be read by other users" in caplog.text
    assert KEY not in caplog.text


def test_corrupt_file_reads_as_empty(key_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_text("{not json")
    store = Keystore(fallback_path=key_file, use_keyring=False)
    with caplog.at_level(logging.WARNING, logger="ayla_monitor.keystore"):
        assert store.get(FP) is None
    assert "Cannot read remembered keys" in caplog.text


def test_invalid_key_is_refused_without_echoing_it(key_file: Path) -> None:
    store = Keystore(fallback_path=key_file, use_keyring=False)
    with pytest.raises(ValueError) as info:
        store.put("x", "not-a-key-but-a-secret-anyway")
    assert "secret" not in str(info.value)
    assert not key_file.exists()


def test_working_keyring_is_used_and_file_untouched(key_file: Path) -> None:
    backend = MemoryKeyring()
    store = Keystore(fallback_path=key_file, backend=backend)
    assert store.backend_note is None
    assert store.uses_keyring
    store.put(FP, KEY)
    assert backend.store == {("ayla-monitor", FP): KEY}
    assert store.get(FP) == KEY
    assert not key_file.exists()
    store.delete(FP)
    assert backend.store == {}
    store.delete(FP)  # PasswordDeleteError is swallowed
    assert store.get(FP) is None


def test_failing_keyring_falls_back_to_the_file(
    key_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Keystore(fallback_path=key_file, backend=LockedKeyring())
    assert store.backend_note is None
    with caplog.at_level(logging.WARNING, logger="ayla_monitor.keystore"):
        store.put(FP, KEY)
    assert store.backend_note is not None
    assert store.backend_note.startswith("The system keyring failed (the collection is locked)")
    assert not store.uses_keyring
    assert store.get(FP) == KEY
    assert key_file.exists()
    assert KEY not in caplog.text


def test_placeholder_backends_are_not_usable() -> None:
    assert not _usable_backend(fail.Keyring())
    assert not _usable_backend(null.Keyring())
    assert _usable_backend(MemoryKeyring())

    class EmptyChain(chainer.ChainerBackend):
        backends = []  # type: ignore[assignment]

    class FullChain(chainer.ChainerBackend):
        backends = [fail.Keyring(), MemoryKeyring()]  # type: ignore[assignment]

    assert not _usable_backend(EmptyChain())
    assert _usable_backend(FullChain())
    assert Keystore(backend=None, use_keyring=False).backend_note is not None


@posix_only
def test_database_passwords_are_kept_like_keys_and_never_logged(
    key_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ayla_monitor.keystore import database_secret_name

    caplog.set_level(logging.DEBUG)
    name = database_secret_name("mysql://ayla@db.example:3306/ayla")
    on_file = Keystore(fallback_path=key_file, use_keyring=False)
    on_file.put_secret(name, "hunter2 with spaces")
    assert mode_of(key_file) == 0o600
    assert Keystore(fallback_path=key_file, use_keyring=False).get(name) == "hunter2 with spaces"
    on_file.delete(name)
    assert on_file.get(name) is None
    ring = MemoryKeyring()
    in_ring = Keystore(fallback_path=key_file, backend=ring)
    in_ring.put_secret(name, "hunter2")
    assert ring.store == {("ayla-monitor", name): "hunter2"}
    assert "hunter2" not in caplog.text


def test_location_says_where_secrets_really_are(key_file: Path) -> None:
    assert Keystore(fallback_path=key_file, use_keyring=False).location == (
        f"{key_file} (a file readable only by you, mode 0600)"
    )
    assert Keystore(fallback_path=key_file, backend=MemoryKeyring()).location.startswith("the system keyring (")
    failing = Keystore(fallback_path=key_file, backend=LockedKeyring())
    failing.put(FP, KEY)  # the keyring fails: the file takes over, and the location says so
    assert str(key_file) in failing.location
