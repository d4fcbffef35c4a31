"""PyInstaller runtime hook: with AYLA_MONITOR_BUNDLE_CHECK=1 the bundle imports
everything it needs, exercises the MySQL 8 authentication path, and exits.

``packaging/build.py`` runs the fresh bundle this way so that a missing module
fails the build instead of the first user's start. Without the variable this
hook does nothing.
"""

import os
import sys


def _bundle_check() -> int:
    import importlib
    import pkgutil
    import traceback

    failures: list[str] = []
    modules = [
        "PySide6.QtCore",
        "PySide6.QtGui",
        "PySide6.QtWidgets",
        "shiboken6",
        "qasync",
        "websockets.asyncio.client",
        "websockets.asyncio.server",
        "peewee",
        "playhouse.db_url",
        "pymysql",
        "pymysql._auth",
        "cryptography.hazmat.primitives.asymmetric.rsa",
        "orjson",
        "platformdirs",
        "keyring",
        "sqlite3",
        "ssl",
    ]
    import ayla_monitor

    ours: set[str] = set()
    try:  # what PyInstaller's archive holds
        import pyimod02_importers  # type: ignore[import-not-found]

        ours.update(n for n in pyimod02_importers.pyz_archive.toc if n.startswith("ayla_monitor."))
    except (ImportError, AttributeError):
        for info in pkgutil.walk_packages(ayla_monitor.__path__, "ayla_monitor."):
            ours.add(info.name)
    ours.discard("ayla_monitor.__main__")
    if len(ours) < 10:
        failures.append(f"ayla_monitor: only {len(ours)} modules in the bundle")
    modules.extend(sorted(ours))
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            failures.append(f"{name}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}")
    # MySQL 8's caching_sha2_password sends the password RSA-encrypted with the
    # server's key: the one place PyMySQL needs cryptography.
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from pymysql import _auth

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if len(_auth.sha2_rsa_encrypt(b"secret", b"x" * 20, pem)) != 256:
            failures.append("pymysql sha2_rsa_encrypt returned a wrong length")
    except Exception:
        failures.append("MySQL 8 authentication: " + traceback.format_exc(limit=1).strip().splitlines()[-1])
    try:
        import keyring

        keyring.get_keyring()
    except Exception:
        failures.append("keyring backend: " + traceback.format_exc(limit=1).strip().splitlines()[-1])
    for line in failures:
        print(f"bundle check: MISSING {line}", file=sys.stderr)
    print(f"bundle check: {len(modules) - len(failures)} modules imported, {len(failures)} failures", file=sys.stderr)
    return 1 if failures else 0


if os.environ.get("AYLA_MONITOR_BUNDLE_CHECK") == "1":
    sys.exit(_bundle_check())
