"""Creating, adopting and versioning the schema.

:func:`ensure_schema` is idempotent and safe when several machines run it at
once against one MySQL server (a named lock serialises them). It creates
missing tables; adds missing columns and indexes to an existing table (which
adopts an original ``events`` table made by ``events.sql``); and records the
schema version, refusing a database written by a newer program.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import peewee
from peewee import SchemaManager

from ayla_monitor.store.models import MODELS, SCHEMA_VERSION, BaseModel, SchemaVersion

__all__ = ["ensure_schema", "NewerSchema", "MIGRATIONS", "MYSQL_TABLE_OPTIONS"]

log = logging.getLogger(__name__)

#: Binary collation: names compare exactly, as on SQLite (property names are case-sensitive).
MYSQL_TABLE_OPTIONS = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
_LOCK_NAME = "ayla_monitor.schema"

#: version -> step that brings a database from ``version - 1`` to ``version``.
MIGRATIONS: dict[int, Callable[[peewee.Database], None]] = {}


class NewerSchema(Exception):
    """The database was written by a newer version of this program."""

    def __init__(self, found: int) -> None:
        super().__init__(found)
        self.found = found


def _is_mysql(database: peewee.Database) -> bool:
    return isinstance(database, peewee.MySQLDatabase)


def _create_table(database: peewee.Database, model: type[BaseModel]) -> None:
    schema = SchemaManager(model, database)
    sql, params = schema._create_table(safe=True).query()
    if _is_mysql(database):
        sql += MYSQL_TABLE_OPTIONS
    database.execute_sql(sql, params)


def _add_missing_columns(database: peewee.Database, model: type[BaseModel]) -> None:
    table = model._meta.table_name
    have = {column.name for column in database.get_columns(table)}
    missing = [f for f in model._meta.sorted_fields if f.column_name not in have]
    if not missing:
        return
    for field in missing:
        # Plain nullable columns: an adopted table's old rows have no stream.
        ctx = database.get_sql_context()
        ddl_type = ctx.sql(field.ddl_datatype(ctx)).query()[0]
        database.execute_sql(
            f"ALTER TABLE {_quote(database, table)} ADD COLUMN {_quote(database, field.column_name)} {ddl_type}"
        )
        log.info("Added column %s.%s to an existing table", table, field.column_name)


def _quote(database: peewee.Database, name: str) -> str:
    return str(database.get_sql_context().sql(peewee.Entity(name)).query()[0])


def _add_missing_indexes(database: peewee.Database, model: type[BaseModel]) -> None:
    table = model._meta.table_name
    have = {index.name for index in database.get_indexes(table)}
    schema = SchemaManager(model, database)
    for index in model._meta.fields_to_index():
        if index._name not in have:
            database.execute(schema._create_index(index, safe=False))


def _record_version(database: peewee.Database) -> None:
    found = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).bind(database).scalar()
    if found is not None and found > SCHEMA_VERSION:
        raise NewerSchema(found)
    start = 1 if found is None else found + 1
    for version in range(start, SCHEMA_VERSION + 1):
        step = MIGRATIONS.get(version)
        if step is not None and found is not None:
            log.info("Migrating the database schema to version %d", version)
            step(database)
        SchemaVersion.insert(version=version, applied_at=time.time()).on_conflict_ignore().execute(database)


def ensure_schema(database: peewee.Database) -> None:
    """Create or complete the schema on a connected ``database`` and record its
    version. Raises :class:`NewerSchema`, or the driver's error."""
    mysql = _is_mysql(database)
    if mysql:
        database.execute_sql("SELECT GET_LOCK(%s, 30)", (_LOCK_NAME,))
    try:
        existing = set(database.get_tables())
        for model in MODELS:
            table = model._meta.table_name
            if table in existing:
                _add_missing_columns(database, model)
                _add_missing_indexes(database, model)
            else:
                _create_table(database, model)
                _add_missing_indexes(database, model)
        _record_version(database)
    finally:
        if mysql:
            database.execute_sql("SELECT RELEASE_LOCK(%s)", (_LOCK_NAME,))
