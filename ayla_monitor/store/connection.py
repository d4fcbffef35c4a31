"""Opening a database from its URL, and saying in one sentence why it failed.

SQLite gets WAL (readers never block the writer), ``synchronous=NORMAL``
(safe with WAL, no fsync per commit), 8 KB pages, rarer checkpoints, a 64 MB
page cache, foreign keys and a busy timeout. MySQL/MariaDB goes through PyMySQL with ``utf8mb4`` and a short
connect timeout, so an unreachable server is reported in seconds.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import peewee
from playhouse import db_url

from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.location import describe_database, is_mysql_url, sqlite_path
from ayla_monitor.store.models import SCHEMA_VERSION

log = logging.getLogger(__name__)

__all__ = ["SQLITE_PRAGMAS", "make_database", "open_read_only", "explain_failure", "mysql_errno"]

SQLITE_PRAGMAS = {
    # 8 KB pages (only takes effect on a new file, before WAL): events are
    # ~1 KB rows; measured ~1.4x faster inserts than 4 KB pages with the WAL
    # setting below.
    "page_size": 8192,
    "journal_mode": "wal",
    "synchronous": "normal",
    # Checkpoint every ~40 MB of WAL instead of 4 MB: fewer fsyncs while recording.
    "wal_autocheckpoint": 5000,
    "journal_size_limit": 64 * 1024 * 1024,
    "cache_size": -64 * 1024,  # KiB, i.e. 64 MB
    "foreign_keys": 1,
}
#: The writer process only appends: a 16 MB cache holds the index pages it
#: touches (measured: the same CPU per row as with 64 MB, and 53 MB less
#: peak memory for the writer process).
WRITER_PRAGMAS = {"cache_size": -16 * 1024}
#: Seconds a SQLite statement waits for another connection's write lock.
SQLITE_BUSY_TIMEOUT = 30
MYSQL_CONNECT_TIMEOUT = 5


#: Makes PyMySQL escape text by doubling quotes (``str.replace``) instead of a
#: per-character ``str.translate``: the writer's main client-side cost on MySQL.
_NO_BACKSLASH_ESCAPES = (
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'NO_BACKSLASH_ESCAPES')"
)


def make_database(url: str, *, shared: bool = False, bulk: bool = False) -> peewee.Database:
    """An unconnected database for ``url`` (``autoconnect`` off: open and close
    explicitly). ``shared=True`` makes one connection usable from any thread,
    for a caller that serialises its use with a lock; ``bulk=True`` tunes the
    connection for the writer."""
    if is_mysql_url(url):
        parts = urlsplit(url)
        params: dict[str, object] = {
            "charset": "utf8mb4",
            "connect_timeout": MYSQL_CONNECT_TIMEOUT,
            "autoconnect": False,
            "thread_safe": not shared,
        }
        if bulk:
            params["init_command"] = _NO_BACKSLASH_ESCAPES
        if parts.password is not None:
            # Passed by name: db_url would hand PyMySQL the deprecated "passwd".
            params["password"] = unquote(parts.password)
            user = parts.username or ""
            netloc = f"{user}@{parts.netloc.rsplit('@', 1)[1]}" if user else parts.netloc.rsplit("@", 1)[1]
            url = urlunsplit(parts._replace(netloc=netloc))
        mysql: peewee.Database = db_url.connect(url, unquote_user=True, **params)
        return mysql
    params = {
        "pragmas": {**SQLITE_PRAGMAS, **WRITER_PRAGMAS} if bulk else SQLITE_PRAGMAS,
        "timeout": SQLITE_BUSY_TIMEOUT,
        "autoconnect": False,
        "thread_safe": not shared,
    }
    if shared:
        params["check_same_thread"] = False
    sqlite: peewee.Database = db_url.connect(url, **params)
    return sqlite


#: Reading only: no journal mode change, no schema, nothing written.
READER_PRAGMAS = {"cache_size": -64 * 1024, "query_only": 1}
#: ``mapped``: pages read through a memory map (as much of the file as SQLite
#: allows: 2 GB by default) instead of a read() and a copy each: an export
#: of a million rows took 10 % less CPU (benchmarks/big_database.py). Only
#: for export: the mapped pages count in the process's resident memory (the
#: report over a 960 MB file showed 966 MB instead of 117), and a report
#: gained 0.3 s a million rows from it.
_MAPPED = {"mmap_size": 1 << 40}


def _sqlite_reader(path: Path, *, immutable: bool, mapped: bool) -> peewee.Database:
    mode = "immutable=1" if immutable else "mode=ro"
    uri = f"file:{quote(str(path))}?{mode}"
    return peewee.SqliteDatabase(
        uri,
        uri=True,
        pragmas=READER_PRAGMAS | _MAPPED if mapped else READER_PRAGMAS,
        timeout=SQLITE_BUSY_TIMEOUT,
        autoconnect=False,
        thread_safe=False,
        check_same_thread=False,
    )


def open_read_only(url: str, *, mapped: bool = False) -> peewee.Database:
    """Connect to ``url``'s database to read it, changing nothing: no file or
    folder is created, no schema is added (for ``export``). Raises
    :class:`DatabaseUnavailable` if it does not exist or cannot be read.
    ``mapped``: a SQLite file is read through a memory map (see
    :data:`_MAPPED`).

    A SQLite file opens with ``mode=ro``, which still needs its WAL index
    (``-shm``) to exist or be creatable; in a read-only folder or mount it
    cannot be, and the file opens ``immutable`` instead (nobody can write
    there through this path anyway). The connection is shareable between
    threads: the :class:`~ayla_monitor.store.database.Store` serialises it.
    """
    if is_mysql_url(url):
        database = make_database(url, shared=True)
        try:
            database.connect()
        except (peewee.DatabaseError, peewee.InterfaceError, OSError) as exc:
            raise DatabaseUnavailable(explain_failure(exc, url) + ".") from exc
        _check_tables(database, url)
        return database
    path = sqlite_path(url)
    if not path.is_file():
        why = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DatabaseUnavailable(f"The SQLite database {path} {why}.")
    if not os.access(path, os.R_OK):
        raise DatabaseUnavailable(f"Cannot open the SQLite database {path}: no permission to read it.")
    writable_folder = os.access(path.parent, os.W_OK | os.X_OK)
    database = _sqlite_reader(path, immutable=False, mapped=mapped)
    try:
        database.connect()
        database.execute_sql("SELECT count(*) FROM sqlite_master")
    except (peewee.DatabaseError, peewee.InterfaceError) as exc:
        if not database.is_closed():
            database.close()
        if writable_folder:
            raise DatabaseUnavailable(explain_failure(exc, url) + ".") from exc
        # "unable to open" (no -shm and none can be made) or "readonly" (an
        # -shm this user may not write): either way, only immutable reads work.
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            log.warning(
                "%s is in a read-only folder: the newest events, still in %s, cannot be read",
                path,
                wal.name,
            )
        database = _sqlite_reader(path, immutable=True, mapped=mapped)
        try:
            database.connect()
        except (peewee.DatabaseError, peewee.InterfaceError) as exc2:
            raise DatabaseUnavailable(explain_failure(exc2, url) + ".") from exc2
    _check_tables(database, url)
    return database


def _check_tables(database: peewee.Database, url: str) -> None:
    """Refuse a database that is not (yet) an Ayla Monitor database, or one
    written by a newer version, in one sentence."""
    try:
        tables = set(database.get_tables())
        found = None
        if "schema_version" in tables:
            cursor = database.execute_sql("SELECT MAX(version) FROM schema_version")
            found = cursor.fetchone()[0]
    except (peewee.DatabaseError, peewee.InterfaceError) as exc:
        database.close()
        raise DatabaseUnavailable(explain_failure(exc, url) + ".") from exc
    if "events" not in tables:
        database.close()
        raise DatabaseUnavailable(f"The database {describe_database(url)} holds no events table.")
    if found is not None and found > SCHEMA_VERSION:
        database.close()
        raise DatabaseUnavailable(
            f"The database {describe_database(url)} was written by a newer Ayla Monitor "
            f"(schema {found}; this version knows up to {SCHEMA_VERSION}): upgrade to use it."
        )


def mysql_errno(exc: BaseException) -> int | None:
    """The MySQL error number of a peewee/PyMySQL error, if it has one."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^)]*)")


def _mysql_reason(exc: BaseException, url: str) -> str:
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 3306}"
    name = parts.path.strip("/")
    user = unquote(parts.username) if parts.username else ""
    code = mysql_errno(exc)
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    if code == 2003:
        found = _ERRNO_TEXT.search(message)
        why = found.group(1).lower() if found else "no answer"
        if "timed out" in message.lower():
            why = "timed out"
        return f"Cannot reach the MySQL server at {where} ({why})"
    if code in (1045, 1698):  # 1698: MariaDB, a user that may not log in with a password
        return f"The MySQL server at {where} refused user {user!r} (wrong user name or password)"
    if code == 1044:
        return f"The MySQL server at {where} does not let user {user!r} use database {name!r}"
    if code == 1049:
        return f"The MySQL server at {where} has no database {name!r} (create it first)"
    if code in (1142, 1143):
        return f"The MySQL user {user!r} may not create or change tables in {name!r} at {where}"
    if code in (2006, 2013, 2055):
        return f"The MySQL server at {where} closed the connection (server gone or restarted)"
    if code in (1114, 1021):
        return (
            f"The MySQL server at {where} is out of disk space ({message}): "
            "free space on the server, or raise its table size limit"
        )
    if code in (1205, 1213):
        return f"The MySQL server at {where} timed out waiting for a lock held by another writer"
    return f"The MySQL database {describe_database(url)} failed ({message})"


def _sqlite_open_reason(path: Path) -> str:
    parent = path.parent
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if path.exists() and path.is_dir():
        return f"{path} is a folder, not a file"
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"no permission to write in {parent}"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"no permission to read and write {path}"
    return "the file cannot be opened"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, newest first."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc.args[0]) if getattr(exc, "args", None) else str(exc)
    return "disk is full" in text.lower()


def _disk_full(path: Path) -> str:
    return f"The disk holding {path.parent} is full (the SQLite database {path.name} cannot grow): free some space there"


def explain_failure(exc: BaseException, url: str) -> str:
    """One sentence (no final period) saying what went wrong with ``url``'s
    database, for :class:`DatabaseUnavailable` and :class:`WriteFailed`."""
    if is_mysql_url(url):
        if isinstance(exc, OSError):
            return f"The MySQL database {describe_database(url)} failed ({exc.strerror or exc})"
        return _mysql_reason(exc, url)
    path = sqlite_path(url)
    # A full disk makes SQLite roll back by itself; peewee's own rollback then
    # fails with "cannot rollback - no transaction is active", which hides
    # the cause: look along the chain for it.
    if any(_is_disk_full(link) for link in _chain(exc)):
        return _disk_full(path)
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):
            return f"Cannot open the SQLite database {path}: {_sqlite_open_reason(path)}"
        return f"Cannot open the SQLite database {path}: {exc.strerror or exc}"
    text = str(exc.args[0]) if getattr(exc, "args", None) else str(exc)
    low = text.lower()
    if "unable to open" in low:
        return f"Cannot open the SQLite database {path}: {_sqlite_open_reason(path)}"
    if "disk is full" in low or "database or disk is full" in low:
        return _disk_full(path)
    if "not a database" in low or "malformed" in low:
        return f"{path} is not a readable SQLite database ({text})"
    if "readonly" in low or "read-only" in low:
        return f"The SQLite database {path} is read-only"
    if "locked" in low or "busy" in low:
        return f"The SQLite database {path} stayed locked by another program"
    if "no such table" in low or "no such column" in low:
        return f"The SQLite database {path} lost part of its schema ({text})"
    if isinstance(exc, (sqlite3.Error, peewee.DatabaseError)):
        return f"The SQLite database {path} failed ({text})"
    return f"The SQLite database {path} failed ({type(exc).__name__}: {text})"
