"""Errors of the storage layer, by whose fault they are::

    StoreError
    ├── BadDatabaseUrl       the user typed a --db value that names no usable database
    │                        (the message lists the accepted forms)
    ├── DatabaseUnavailable  the database cannot be opened, reached or given its schema
    │                        (server down, wrong password, folder missing, newer schema)
    └── WriteFailed          writing stopped working (disk full, server gone while writing)

Each message is one sentence for the user; it names the database with the
password masked (:func:`~ayla_monitor.store.location.describe_database`) and
never holds a stream key. Bugs are not wrapped: they reach the log with a
traceback.
"""

from __future__ import annotations

__all__ = ["StoreError", "BadDatabaseUrl", "DatabaseUnavailable", "WriteFailed"]


class StoreError(Exception):
    """Base of this layer's errors."""


class BadDatabaseUrl(StoreError, ValueError):
    """The ``--db`` value is neither a file path nor a supported URL."""


class DatabaseUnavailable(StoreError):
    """The database cannot be opened, connected to, or prepared."""


class WriteFailed(StoreError):
    """Rows could not be written (disk full, server gone while writing)."""
