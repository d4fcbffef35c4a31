"""Creating, adopting and versioning the schema.

:func:`ensure_schema` is idempotent and safe when several machines run it at
once against one MySQL server (a named lock serialises them). It creates
missing tables (``create_tables``); brings existing ones up to date with
:mod:`playhouse.migrate` (missing columns and indexes, which also adopts an
original ``events`` table made by ``events.sql``, then one step per schema
version); and records the schema version, refusing a database written by a
newer program. A SQLite file is copied (``VACUUM INTO``), next to it, before
a change to its existing tables, so that a failed or unwanted upgrade can
be undone (a new table alone needs no copy: copying ten million events
takes minutes).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from ayla_monitor.store.latest import latest_upsert_sql
from ayla_monitor.store.models import (
    MODELS,
    SCHEMA_VERSION,
    BaseModel,
    DeviceLatest,
    Event,
    SchemaVersion,
)

__all__ = ["ensure_schema", "NewerSchema", "MIGRATIONS", "MYSQL_CHARSET"]

log = logging.getLogger(__name__)

#: Binary collation: names compare exactly, as on SQLite (property names are case-sensitive).
MYSQL_CHARSET = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
_LOCK_NAME = "ayla_monitor.schema"


class NewerSchema(Exception):
    """The database was written by a newer version of this program."""

    def __init__(self, found: int) -> None:
        super().__init__(found)
        self.found = found


def _is_mysql(database: peewee.Database) -> bool:
    return isinstance(database, peewee.MySQLDatabase)


def _v2(database: peewee.Database, migrator: SchemaMigrator) -> None:
    """Sequence epochs: events are unique on (stream, epoch, seq), no longer
    on (stream, seq), so that a server whose sequence restarted loses
    nothing. (The new columns and index were added by the generic pass.)"""
    for index in database.get_indexes(Event._meta.table_name):
        if index.unique and list(index.columns) == ["stream_id", "seq"]:
            migrate(migrator.drop_index(Event._meta.table_name, index.name))


def _v3(database: peewee.Database, migrator: SchemaMigrator) -> None:
    """The latest-state table, filled once from the events (one grouped scan,
    the last one this database needs: the writer keeps it current after)."""
    started = time.monotonic()
    database.execute_sql(latest_upsert_sql(_is_mysql(database)))
    log.info("Filled the latest-state table in %.1f s", time.monotonic() - started)


def _v4(database: peewee.Database, migrator: SchemaMigrator) -> None:
    """``device_latest`` keyed by (device, type, property) instead of an
    auto-increment id (models.DeviceLatest says why). MySQL only: on SQLite
    the two layouts are the same (a rowid table with a unique index on the
    key) and an upsert takes no new id, so the table stays as it is."""
    if not _is_mysql(database):
        return
    table = DeviceLatest._meta.table_name
    if "id" not in {column.name for column in database.get_columns(table)}:
        return  # made by this version
    unique = [i.name for i in database.get_indexes(table) if i.unique and i.columns[:1] == ["dsn"]]
    database.execute_sql(
        f"ALTER TABLE `{table}` DROP PRIMARY KEY, DROP COLUMN `id`, "
        + "".join(f"DROP INDEX `{name}`, " for name in unique)
        + "ADD PRIMARY KEY (`dsn`, `event_type`, `property_name`)"
    )


#: version -> step that brings a database from ``version - 1`` to ``version``,
#: after missing tables, columns and indexes were added. (Version 4 also
#: added the ``alerts`` table: creating it is all it needs.)
MIGRATIONS: dict[int, Callable[[peewee.Database, SchemaMigrator], None]] = {2: _v2, 3: _v3, 4: _v4}
#: steps that leave a SQLite file's existing tables as they are (no copy first)
_SQLITE_UNCHANGED = {4}


def _create_tables(database: peewee.Database, models: list[type[BaseModel]]) -> None:
    # Models are bound to an uninitialised proxy (models.py says why): bind them here.
    with database.bind_ctx(models, bind_refs=False, bind_backrefs=False):
        database.create_tables(models, safe=True)
    if _is_mysql(database):
        for model in models:  # new and empty: converting costs nothing
            database.execute_sql(f"ALTER TABLE `{model._meta.table_name}` CONVERT TO {MYSQL_CHARSET}")


def _lacking(
    database: peewee.Database, model: type[BaseModel]
) -> tuple[list[peewee.Field], list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The model's columns, indexes and unique indexes that its existing table lacks."""
    table = model._meta.table_name
    have = {column.name for column in database.get_columns(table)}
    columns = [f for f in model._meta.sorted_fields if f.column_name not in have]
    indexes = {(tuple(i.columns), i.unique) for i in database.get_indexes(table)}
    plain: list[tuple[str, ...]] = []
    unique: list[tuple[str, ...]] = []
    for index in model._meta.fields_to_index():
        names = tuple(f.column_name for f in index._expressions if isinstance(f, peewee.Field))
        if names and (names, index._unique) not in indexes:
            (unique if index._unique else plain).append(names)
    return columns, plain, unique


def _complete(database: peewee.Database, migrator: SchemaMigrator, model: type[BaseModel]) -> None:
    """Add the model's columns and indexes that an existing table lacks."""
    table = model._meta.table_name
    columns, plain, unique = _lacking(database, model)
    for field in columns:
        # Columns with a DEFAULT in their DDL go in NOT NULL at once; the
        # others nullable: an adopted table's old rows have no stream.
        not_null = any("DEFAULT" in str(getattr(c, "sql", "")) for c in field.constraints or ())
        if not not_null:
            field = field.clone()
            field.null = True
        migrate(migrator.add_column(table, field.column_name, field, allow_not_null=not_null))
        log.info("Added column %s.%s", table, field.column_name)
    for names, is_unique in [(n, False) for n in plain] + [(n, True) for n in unique]:
        migrate(migrator.add_index(table, names, is_unique))
        log.info("Added index %s(%s)", table, ", ".join(names))


def _changes_existing(database: peewee.Database, existing: list[type[BaseModel]], found: int | None) -> bool:
    """Whether bringing the schema up to date changes a table that exists
    (new tables alone change nothing that a copy would need to undo)."""
    existing = [model for model in existing if model is not SchemaVersion]
    if not existing:
        return False
    steps = range(1 if found is None else found + 1, SCHEMA_VERSION + 1)
    if any(v in MIGRATIONS and v not in _SQLITE_UNCHANGED for v in steps):
        return True
    return any(any(_lacking(database, model)) for model in existing)


def _version(database: peewee.Database, tables: set[str]) -> int | None:
    if SchemaVersion._meta.table_name not in tables:
        return None
    found: int | None = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).bind(database).scalar()
    return found


def _backup(database: peewee.Database, found: int | None) -> Path | None:
    """Copy a SQLite file before its schema changes; the copy's path."""
    if _is_mysql(database) or database.database in ("", ":memory:"):
        return None
    source = Path(database.database)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = source.with_name(f"{source.stem}.schema-{found or 0}-backup-{stamp}{source.suffix}")
    database.execute_sql("VACUUM INTO ?", (str(target),))
    log.warning("Upgrading the database schema of %s; its previous state is saved in %s", source, target)
    return target


def ensure_schema(database: peewee.Database) -> None:
    """Create or complete the schema on a connected ``database`` and record its
    version. Raises :class:`NewerSchema`, or the driver's error."""
    mysql = _is_mysql(database)
    if mysql:
        database.execute_sql("SELECT GET_LOCK(%s, 30)", (_LOCK_NAME,))
    try:
        tables = set(database.get_tables())
        found = _version(database, tables)
        if found is not None and found > SCHEMA_VERSION:
            raise NewerSchema(found)
        if found == SCHEMA_VERSION and all(m._meta.table_name in tables for m in MODELS):
            return
        existing = [m for m in MODELS if m._meta.table_name in tables]
        if not mysql and _changes_existing(database, existing, found):
            _backup(database, found)
        migrator = SchemaMigrator.from_database(database)
        # MySQL commits each DDL statement on its own: no transaction to open.
        with contextlib.nullcontext() if mysql else database.atomic():
            _create_tables(database, [m for m in MODELS if m not in existing])
            for model in existing:
                _complete(database, migrator, model)
            start = 1 if found is None else found + 1
            for version in range(start, SCHEMA_VERSION + 1):
                step = MIGRATIONS.get(version)
                if step is not None and existing:
                    log.info("Migrating the database schema to version %d", version)
                    step(database, migrator)
                SchemaVersion.insert(version=version, applied_at=time.time()).on_conflict_ignore().execute(
                    database
                )
    finally:
        if mysql:
            database.execute_sql("SELECT RELEASE_LOCK(%s)", (_LOCK_NAME,))
