"""The storage suite's backends (SQLite, and MariaDB with AYLA_TEST_MYSQL_URL) and sample events."""

from tests.store.conftest import backend, db_url, make_event

__all__ = ["backend", "db_url", "make_event"]
