"""One device's state, folded in one place: from live events
(:meth:`DeviceState.apply`) and from the stored latest rows
(:meth:`DeviceState.load_latest`, :func:`fold_latest`).

What the tiles, the fleet table, the device view and the report show about
a device: online or offline and since when, when it was last heard from,
the latest value of each property and when it was set (with a short trend of
the numeric ones), its location and registration. Pure: no Qt, no I/O, no
clock (times come with the events).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

from ayla_monitor.dss.events import Connectivity, Datapoint, Location, Registration
from ayla_monitor.dss.filter import epoch_of
from ayla_monitor.dss.frames import device_facts, loads_json
from ayla_monitor.dss.values import as_number

__all__ = [
    "PropertyState",
    "DeviceState",
    "LatestRow",
    "fold_latest",
    "push_trend",
    "TREND_POINTS",
    "VALUE_KEPT",
    "NUMERIC_TYPES",
]

#: A text value longer than this is kept cut (with its whole length): a
#: device that sends megabytes keeps kilobytes in memory.
VALUE_KEPT = 2000
#: Values kept per numeric property for its trend (a sparkline's points).
TREND_POINTS = 48
NUMERIC_TYPES = frozenset({"integer", "decimal", "float"})

#: A ``device_latest`` row as the store reads it: event type, DSN, OEM id,
#: OEM model, event time, received at, property name, base type, display
#: name, value (at most :data:`VALUE_KEPT` characters of it), raw JSON (kept
#: for location and registration), the value's whole length. A column the
#: read does not need may be ``None``; event type ``''``: a row that tells
#: only the OEM, the event time and when last heard (the overview's one per device).
LatestRow = tuple[Any, ...]


def push_trend(trends: dict[str, array[float]], name: str, value: float) -> None:
    """Append ``value`` to ``name``'s trend, keeping the last :data:`TREND_POINTS`."""
    values = trends.get(name)
    if values is None:
        values = trends[name] = array("d")
    values.append(value)
    if len(values) > 2 * TREND_POINTS:
        del values[: len(values) - TREND_POINTS]


class PropertyState:
    """The latest value of one property of one device (a long text value is
    kept cut, with its whole ``length``)."""

    __slots__ = ("base_type", "display_name", "value", "time", "length")

    def __init__(self, base_type: str | None, display_name: str | None, value: Any, time: str | None,
                 length: int | None = None) -> None:
        self.base_type = base_type
        self.display_name = display_name
        #: the whole value's length, when it was cut (``length``: the stored
        #: value's, when the store sent only its start)
        self.length = length if length is not None and length > VALUE_KEPT else None
        if value.__class__ is str and len(value) > VALUE_KEPT:
            self.length = len(value)
            value = value[:VALUE_KEPT]
        self.value = value
        self.time = time

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PropertyState):
            return NotImplemented
        return (self.base_type, self.display_name, self.value, self.time, self.length) == (
            other.base_type, other.display_name, other.value, other.time, other.length)

    def __repr__(self) -> str:
        return f"PropertyState({self.base_type!r}, {self.display_name!r}, {self.value!r}, {self.time!r})"


class DeviceState:
    """What is known about one device (mutable; its owner folds into it)."""

    __slots__ = ("dsn", "oem_id", "oem_model", "online", "online_since", "last_event_time",
                 "last_received_at", "properties", "lat", "long", "provider", "ip", "registered",
                 "registration_type", "sorted_names", "trends")

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.oem_id: str | None = None
        self.oem_model: str | None = None
        #: ``None`` until a connectivity event was seen
        self.online: bool | None = None
        #: epoch seconds of the latest change of ``online`` (its event time)
        self.online_since: float | None = None
        self.last_event_time: str | None = None
        self.last_received_at: float | None = None
        self.properties: dict[str, PropertyState] = {}
        self.lat: float | None = None
        self.long: float | None = None
        self.provider: str | None = None
        self.ip: str | None = None
        self.registered: bool | None = None
        self.registration_type: str | None = None
        self.sorted_names: list[str] | None = None
        #: recent values of each numeric property, for its trend.
        self.trends: dict[str, array[float]] = {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeviceState):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name)
                   for name in DeviceState.__slots__ if name != "sorted_names")

    def __repr__(self) -> str:
        return f"DeviceState({self.dsn!r}, online={self.online!r}, properties={len(self.properties)})"

    # -- from live events
    def apply(self, event: Any) -> None:
        """Fold one event in."""
        if event.oem_id:
            self.oem_id = event.oem_id
        if event.oem_model:
            self.oem_model = event.oem_model
        received = event.received_at
        if self.last_received_at is None or received > self.last_received_at:
            self.last_received_at = received
        when = event.time
        if when and (self.last_event_time is None or when > self.last_event_time):
            self.last_event_time = when
        if isinstance(event, Connectivity):
            online = event.online
            if online is not None:
                if online != self.online or self.online_since is None:
                    self.online_since = epoch_of(when) or received
                self.online = online
        elif isinstance(event, Datapoint):  # DatapointAck included: it carries the acked value
            name = event.property_name
            if name is not None:
                if name not in self.properties:
                    self.sorted_names = None
                self.properties[name] = PropertyState(event.base_type, event.display_name, event.value, when)
                if event.base_type in NUMERIC_TYPES and event.__class__ is Datapoint:
                    number = as_number(event.raw_value)
                    if number is not None:
                        push_trend(self.trends, name, number)
        elif isinstance(event, Location):
            self.lat, self.long, self.provider, self.ip = event.lat, event.long, event.provider, event.ip
        elif isinstance(event, Registration):
            if event.registered is not None:
                self.registered = event.registered
            if event.registration_type:
                self.registration_type = event.registration_type

    # -- from the database
    def load_latest(self, row: LatestRow) -> None:
        """Fold one stored latest row in (rows of one device in any order: a
        datapoint's value wins over its acknowledgement's; a property only
        ever acknowledged shows the acknowledged value)."""
        etype, _dsn, oem_id, oem_model, etime, received, prop, btype, dname, value, raw, length = row
        latest = self.last_received_at
        if received is not None and (latest is None or received >= latest):
            self.last_received_at = received
            self.oem_id = oem_id or self.oem_id
            self.oem_model = oem_model or self.oem_model
        else:
            self.oem_id = self.oem_id or oem_id
            self.oem_model = self.oem_model or oem_model
        if etime is not None and (self.last_event_time is None or etime > self.last_event_time):
            self.last_event_time = etime
        if etype == "datapoint" or etype == "datapointack":
            if not prop or (etype == "datapointack" and prop in self.properties):
                return
            self.properties[prop] = PropertyState(btype, dname, value, etime, length)
            self.sorted_names = None
            if etype == "datapoint" and btype in NUMERIC_TYPES:
                number = as_number(value)
                if number is not None:
                    push_trend(self.trends, prop, number)
        elif etype == "connectivity":
            # The value column holds the status as sent; no body to decode.
            self.online = None if value is None else value.lower() == "online"
            self.online_since = epoch_of(etime) if self.online is not None else None
        elif etype == "location" or etype == "registration":
            facts = _facts_of(raw)
            if facts is None:
                return
            kind, told = facts
            if kind == "location":
                self.ip, self.lat, self.long, self.provider = told
            else:
                self.registered, self.registration_type = told

    # -- views of it
    def property_names(self) -> list[str]:
        """Property names, case-insensitively sorted (kept until one is added)."""
        if self.sorted_names is None:
            self.sorted_names = sorted(self.properties, key=str.casefold)
        return self.sorted_names


def fold_latest(rows: Iterable[LatestRow], make: type[DeviceState] = DeviceState) -> list[DeviceState]:
    """Devices from stored latest rows (see :data:`LatestRow`), by DSN."""
    devices: dict[str, DeviceState] = {}
    for row in rows:
        dsn = row[1]
        device = devices.get(dsn)
        if device is None:
            device = devices[dsn] = make(dsn)
        device.load_latest(row)
    return [devices[dsn] for dsn in sorted(devices)]


def _facts_of(raw: str | None) -> tuple[str, tuple[Any, ...]] | None:
    if raw is None:
        return None
    try:
        obj = loads_json(raw)
    except (ValueError, RecursionError):
        return None
    return device_facts(obj) if isinstance(obj, dict) else None

