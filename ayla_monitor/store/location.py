"""Where the database lives: the default file, ``--db`` values, safe descriptions.

SQLite in the platform's user data folder is the default. ``--db`` accepts a
file path, ``sqlite:///PATH`` or ``mysql://user:password@host:port/database``.
Passwords only ever leave this module masked (:func:`describe_database`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ayla_monitor.paths import data_dir
from ayla_monitor.store.errors import BadDatabaseUrl

__all__ = [
    "DATABASE_FILE",
    "ACCEPTED_FORMS",
    "default_database_path",
    "resolve_database_url",
    "with_password",
    "PASSWORD_ENV",
    "describe_database",
    "is_mysql_url",
    "sqlite_path",
]

DATABASE_FILE = "events.sqlite"
#: The environment variable that gives the MySQL password (not visible in ``ps``).
PASSWORD_ENV = "AYLA_DB_PASSWORD"
ACCEPTED_FORMS = "a file path, sqlite:///PATH or mysql://USER:PASSWORD@HOST:PORT/DATABASE"


def default_database_path() -> Path:
    """``events.sqlite`` in the user data folder of the app (:func:`ayla_monitor.paths.data_dir`)."""
    return data_dir() / DATABASE_FILE


def _bad(arg: str, why: str) -> BadDatabaseUrl:
    shown = describe_database(arg) if "://" in arg else arg
    return BadDatabaseUrl(f"The database {shown!r} {why}; use {ACCEPTED_FORMS}.")


def resolve_database_url(arg: str | None) -> str:
    """A peewee database URL for a ``--db`` value.

    ``None`` gives the default file; a plain path becomes ``sqlite:///ABSOLUTE``;
    ``sqlite:///`` and ``mysql://`` URLs pass through. Anything else raises
    :class:`~ayla_monitor.store.errors.BadDatabaseUrl` saying what is accepted.
    """
    if arg is None:
        return f"sqlite:///{default_database_path()}"
    text = arg.strip()
    if not text:
        raise _bad(arg, "is empty")
    if text.startswith("sqlite:///"):
        path = text[len("sqlite:///") :].split("?", 1)[0]
        if not path or path == ":memory:":
            raise _bad(text, "is not a file (the recorder and the window each open it, so it must be one)")
        return text
    if text.startswith("mysql://"):
        parts = urlsplit(text)
        if not parts.hostname:
            raise _bad(text, "names no server")
        if not parts.path.strip("/"):
            raise _bad(text, "names no database after the server")
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError:
            raise _bad(text, "has a port that is not a number") from None
        return text
    if "://" in text:
        raise _bad(text, f"uses {text.split('://', 1)[0]!r}, which is not supported")
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def with_password(url: str, password: str, *, source: str) -> str:
    """``url`` (a resolved ``mysql://`` URL) with ``password`` put in, in
    memory only, so that it never has to be on a command line. ``source``
    names where the password came from, for the error when ``url`` cannot
    take one (SQLite) or already has one."""
    if not is_mysql_url(url):
        raise BadDatabaseUrl(f"{source} gives a password, but a SQLite database has none; leave it out.")
    parts = urlsplit(url)
    if parts.password is not None:
        raise BadDatabaseUrl(
            f"The password is given twice: in the --db URL and by {source}; keep only {source}."
        )
    user = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    if not user:
        raise BadDatabaseUrl(
            f"{source} gives a password, but the --db URL names no user (mysql://USER@HOST/DB)."
        )
    where = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{user}:{quote(password, safe='')}@{where}"
    return urlunsplit(parts._replace(netloc=netloc))


def is_mysql_url(url: str) -> bool:
    return url.startswith("mysql://")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` URL."""
    return Path(unquote(url[len("sqlite:///") :].split("?", 1)[0]))


def describe_database(url: str) -> str:
    """The database for messages and the UI: the SQLite file's path, or the
    MySQL URL with its password masked (``mysql://user:***@host:3306/db``)."""
    if url.startswith("sqlite:///"):
        return str(sqlite_path(url))
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    user = unquote(parts.username) if parts.username else ""
    auth = f"{user}:***@" if parts.password is not None else (f"{user}@" if user else "")
    where = f"{host}:{port}" if port else host
    return f"{parts.scheme}://{auth}{where}{parts.path}"
