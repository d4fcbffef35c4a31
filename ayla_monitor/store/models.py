"""The schema, as peewee models (they never leave ``ayla_monitor.store``).

``events`` keeps the original columns first, with their original types
(``id``, then ``varchar(32)``/``varchar(64)`` as in the original
``events.sql``), so queries written against it keep working; the monitor's
columns follow. Long text (``value``, ``raw``, ``note``) is ``LONGTEXT`` on
MySQL (``TEXT`` stops at 64 KB) and plain text on SQLite.

Models are bound to :data:`db`, a :class:`peewee.DatabaseProxy`, as peewee's
docs recommend. The proxy is deliberately left uninitialised: the store and
the writer process hold their own :class:`peewee.Database` and every query
names it (``query.bind(database)``), so two databases (or a reader and a
writer) in one process never share a connection by accident, and a
query that forgets its database fails loudly instead of writing elsewhere.
"""

from __future__ import annotations

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

__all__ = [
    "SCHEMA_VERSION",
    "db",
    "BaseModel",
    "LongTextField",
    "Stream",
    "Event",
    "MalformedFrame",
    "Gap",
    "DeviceLatest",
    "SchemaVersion",
    "Alert",
    "MODELS",
    "WIDTHS",
]

#: Bumped with every schema change; each step gets a migration in ``schema.py``.
SCHEMA_VERSION = 4

db = DatabaseProxy()


class LongTextField(TextField):
    """Text of any length: ``LONGTEXT`` on MySQL (4 GB), TEXT affinity on SQLite."""

    field_type = "LONGTEXT"


def _epoch_field() -> IntegerField:
    # NOT NULL with a default in the DDL itself: adding it to a big table is
    # then instant (SQLite and MariaDB write no row), and rows inserted by
    # other tools (the original events.sql design) get epoch 0.
    return IntegerField(default=0, constraints=[SQL("DEFAULT 0")])


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Stream(BaseModel):
    """A stream this database has recorded. Never the key: only its fingerprint."""

    id = AutoField()
    name = CharField(max_length=255)
    display_url = TextField()
    fingerprint = CharField(max_length=64, unique=True)
    subscription_type = CharField(max_length=32, null=True)
    #: the last seq stored in the stream's current sequence epoch
    last_seq = BigIntegerField(null=True)
    #: 0, then +1 each time the server's sequence started again
    epoch = _epoch_field()

    class Meta:
        table_name = "streams"


class Event(BaseModel):
    """One DSS event. Unique on (stream, epoch, seq): the writer tells a
    duplicate (same seq, same content: not stored again) from a conflict
    (same seq, other content), which is kept in a row of its own with
    ``seq`` empty and the seq it claimed in ``conflict_seq``."""

    # The original columns, in the original order and types.
    id = AutoField()
    event_type = CharField(max_length=32, null=True)
    oem_id = CharField(max_length=32, null=True)
    oem_model = CharField(max_length=32, null=True)
    dsn = CharField(max_length=32, null=True)
    time = CharField(max_length=32, null=True)
    user_uuid = CharField(max_length=64, null=True)
    # What a monitor needs. Nullable, so that an original table can be adopted.
    stream = ForeignKeyField(Stream, column_name="stream_id", null=True, index=False, on_delete="CASCADE")
    seq = BigIntegerField(null=True)
    property_name = CharField(max_length=255, null=True)
    base_type = CharField(max_length=32, null=True)
    display_name = CharField(max_length=255, null=True)
    value = LongTextField(null=True)
    raw = LongTextField(null=True)
    received_at = DoubleField(null=True)
    note = LongTextField(null=True)
    epoch = _epoch_field()
    conflict_seq = BigIntegerField(null=True)

    class Meta:
        table_name = "events"
        # Every secondary index costs the writer 3-6 us per row (measured with
        # executemany on 150k simulator rows: 146k rows/s with none, 32k with
        # six), so there are only the ones the window's queries need.
        indexes = (
            (("stream", "epoch", "seq"), True),
            # By device: one device's history, connectivity timeline, locations
            # and property charts (a device's week is a few thousand rows to
            # sort at most); and the upgrade to schema 3's one grouped max(id)
            # per (device, type, property), which it covers (the id rides along
            # in every SQLite and InnoDB index).
            (("dsn", "event_type", "property_name", "time"), False),
            # By type and time: the history browser's type filter.
            (("event_type", "time"), False),
            # The history browser's "everything, newest first", time ranges and
            # retention's "older than" walk this index instead of the table.
            # (Property and text filters are substring matches: no index helps.)
            (("time",), False),
        )


class MalformedFrame(BaseModel):
    """A frame that was not a DSS event: data, not a loss."""

    id = AutoField()
    stream = ForeignKeyField(Stream, column_name="stream_id", null=True, on_delete="CASCADE")
    received_at = DoubleField()
    reason = LongTextField()
    raw = LongTextField()

    class Meta:
        table_name = "malformed_frames"


class Gap(BaseModel):
    """Seqs ``first_seq``..``last_seq`` of a stream's epoch that did not
    arrive. One row per gap, whoever saw it first (several recorders into
    one database share the list). ``state``: ``open``, ``filled``, ``lost``
    (the server no longer had them), ``partial`` or ``oversized``."""

    id = AutoField()
    stream = ForeignKeyField(Stream, column_name="stream_id", on_delete="CASCADE", index=False)
    epoch = _epoch_field()
    first_seq = BigIntegerField()
    last_seq = BigIntegerField()
    seen_at = DoubleField()
    state = CharField(max_length=16, default="open")
    detail = LongTextField(null=True)
    closed_at = DoubleField(null=True)

    class Meta:
        table_name = "gaps"
        indexes = ((("stream", "epoch", "first_seq"), True),)


class DeviceLatest(BaseModel):
    """The latest stored event of each (device, event type, property): what
    the window starts from (tiles, device list), so that opening a database
    costs its number of devices, not of events.

    Kept by the writer in the same transaction as the events, so it is never
    behind them; a row is the last one stored for its key (the same as the
    highest event id). ``event_type`` and ``property_name`` are ``''`` rather
    than empty, because a unique key treats empty values as all different.
    ``raw`` is kept only for the types in
    :data:`~ayla_monitor.store.rows.LATEST_RAW_TYPES`.

    The key is the primary key (every table has one: replication, Galera).
    It was an auto-increment ``id`` until schema 4: on MySQL each upsert
    took a new id even when it updated a row (0.4 an event), which would
    have run a 32-bit id out within days of recording at 10,000 events/s,
    and each upsert went through a secondary index to the row.
    """

    dsn = CharField(max_length=32)
    event_type = CharField(max_length=32)
    property_name = CharField(max_length=255)
    oem_id = CharField(max_length=32, null=True)
    oem_model = CharField(max_length=32, null=True)
    time = CharField(max_length=32, null=True)
    received_at = DoubleField(null=True)
    base_type = CharField(max_length=32, null=True)
    display_name = CharField(max_length=255, null=True)
    value = LongTextField(null=True)
    raw = LongTextField(null=True)
    stream_id = IntegerField(null=True)
    seq = BigIntegerField(null=True)

    class Meta:
        table_name = "device_latest"
        primary_key = CompositeKey("dsn", "event_type", "property_name")


class SchemaVersion(BaseModel):
    """One row per schema version applied; the highest is the current one."""

    version = IntegerField(primary_key=True)
    applied_at = DoubleField()

    class Meta:
        table_name = "schema_version"


class Alert(BaseModel):
    """An alert raised by a rule on a subject (a device's DSN or a stream's
    name), and its clearing and acknowledgement (schema 4, issue 13).

    ``open_key`` (a hash of rule and subject) is set while the alert is open
    and NULL once cleared; being unique, it lets several recorders writing
    into one database raise each alert once: the first insert wins, the
    others are ignored (a unique index admits any number of NULLs)."""

    id = AutoField()
    rule = CharField(max_length=255)
    condition = CharField(max_length=32)
    severity = CharField(max_length=16, default="alert")
    subject = CharField(max_length=255)
    dsn = CharField(max_length=32, null=True)
    stream = CharField(max_length=255, null=True)
    raised_at = DoubleField()
    cleared_at = DoubleField(null=True)
    detail = LongTextField()
    clear_detail = LongTextField(null=True)
    acknowledged_by = CharField(max_length=255, null=True)
    acknowledged_at = DoubleField(null=True)
    open_key = CharField(max_length=64, null=True)

    class Meta:
        table_name = "alerts"
        indexes = (
            (("open_key",), True),
            # the Alerts panel's history: newest first
            (("raised_at",), False),
        )


MODELS: tuple[type[BaseModel], ...] = (Stream, Event, MalformedFrame, Gap, DeviceLatest, SchemaVersion, Alert)

#: Column widths that the row builder enforces (hostile input may be longer;
#: ``raw`` keeps everything).
WIDTHS = {
    name: field.max_length for name, field in Event._meta.fields.items() if isinstance(field, CharField)
}
