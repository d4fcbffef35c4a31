"""An :class:`~ayla_monitor.dss.filter.EventFilter` as SQL conditions on
``events`` (and on ``malformed_frames``): the one translation that History,
counts, ``Store.iter_events`` and export share.

Times compare as text: ``time`` holds ISO 8601 text, which sorts as time
does, so a range is a range on the ``(time)`` and ``(event_type, time)``
indexes. Property and text filters are substring matches: no index helps.
"""

from __future__ import annotations

import peewee
from peewee import fn

from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.models import Event, MalformedFrame

__all__ = ["event_conditions", "malformed_conditions"]

#: Event types that carry a property.
_WITH_PROPERTY = ["datapoint", "datapointack"]


def event_conditions(selected: EventFilter) -> list[peewee.Expression]:
    """The filter's conditions on ``events`` (none: every event). A filter of
    bad frames selects no event."""
    where: list[peewee.Expression] = []
    if selected.malformed:
        return [Event.id.is_null()]  # never: every row has an id
    if selected.since is not None:
        where.append(Event.time >= selected.since_iso)
    if selected.until is not None:
        where.append(Event.time < selected.until_iso)
    if selected.stream_ids:
        where.append(Event.stream.in_(list(selected.stream_ids)))
    if selected.event_types:
        where.append(Event.event_type.in_(list(selected.event_types)))
    elif selected.property_names or selected.property_like:
        # Only datapoints carry a property: saying so lets MariaDB walk the
        # (dsn, event_type, property_name, time) index instead of the
        # time index (512 ms -> a few ms for a device's property on 1M rows).
        where.append(Event.event_type.in_(_WITH_PROPERTY))
    if selected.dsns:
        dsns = list(selected.dsns)
        where.append(Event.dsn == dsns[0] if len(dsns) == 1 else Event.dsn.in_(dsns))
    if selected.property_names:
        names = list(selected.property_names)
        where.append(Event.property_name == names[0] if len(names) == 1 else Event.property_name.in_(names))
    if selected.property_like:
        where.append(fn.LOWER(Event.property_name).contains(selected.property_like.lower()))
    if selected.text:
        needle = selected.text.lower()
        where.append(
            fn.LOWER(Event.value).contains(needle)
            | fn.LOWER(Event.dsn).contains(needle)
            | fn.LOWER(Event.property_name).contains(needle)
        )
    return where


def malformed_conditions(selected: EventFilter) -> list[peewee.Expression]:
    """The filter's conditions on ``malformed_frames``: its streams, and its
    text in the reason or the frame (the rest describes events)."""
    where: list[peewee.Expression] = []
    if selected.stream_ids:
        where.append(MalformedFrame.stream.in_(list(selected.stream_ids)))
    if selected.text:
        needle = selected.text.lower()
        where.append(fn.LOWER(MalformedFrame.reason).contains(needle) | fn.LOWER(MalformedFrame.raw).contains(needle))
    return where
