"""The fleet insight fed from an event's decoded JSON, without its typed event.

A datapoint or an ack (nine events in ten) is read here for the few fields
:class:`~ayla_monitor.fleet.insight.FleetInsight` reads, each as
:func:`~ayla_monitor.dss.frames.parse_event` would read it, and handed to
:meth:`~ayla_monitor.fleet.insight.FleetInsight.add_fields`: building the
typed event (typing its value, checking every field, 25 attributes) cost
as much as folding it in. Anything else (another event type, a field that
is not text) goes through ``parse_event``, whose rules stay the reference.

Fed this way: the report over stored rows (their JSON as received). Not
the recorder whose alert rules need the insight: it parses typed events
instead of its lean ones, and keeping each lean event's decoded JSON for
this measured worse (in batches of 1,000, as benchmarks/insight.py's
recorder pass runs them: 8.4 µs an event over the lean recorder's parse
and rows, against 6.3 with typed events; the dicts kept alive for a batch
cost 1.9 µs of that in the collector, and reading them here more than
the typed parse's extra).
"""

from __future__ import annotations

from typing import Any

from ayla_monitor.dss.frames import json_integer, parse_event
from ayla_monitor.fleet.insight import ACK, DATAPOINT, FleetInsight

__all__ = ["insight_fields", "add_decoded"]

#: the classes of a field the fast path takes: text, or nothing
_TEXT = frozenset((str, type(None)))


def insight_fields(obj: dict[str, Any]) -> tuple[Any, ...] | None:
    """The arguments of :meth:`FleetInsight.add_fields` after ``received``
    and ``stream`` for a decoded datapoint or ack: ``(kind, its moment's
    text, dsn, oem_id, oem_model, resource_tags, datapoint id, property,
    created_at, created_at_from_device, acked_at, ack_status,
    ack_message)``; ``None`` for another event, or one with a field that
    is not text (``parse_event`` says what it is then)."""
    meta: Any = obj.get("metadata")
    if meta.__class__ is not dict:
        return None
    event_type = meta.get("event_type")
    if event_type == "datapoint":
        kind = DATAPOINT
        body = obj.get("datapoint")
    elif event_type == "datapointack":
        kind = ACK
        body = obj.get("datapoint")
        if body.__class__ is not dict:
            body = obj.get("datapointack")
    else:
        return None
    if body.__class__ is not dict:
        return None
    oem_id, oem_model, dsn = meta.get("oem_id"), meta.get("oem_model"), meta.get("dsn")
    prop = meta.get("property_name")
    created, from_device = body.get("created_at"), body.get("created_at_from_device")
    time = from_device or created
    if oem_id.__class__ not in _TEXT or oem_model.__class__ not in _TEXT or dsn.__class__ not in _TEXT \
            or prop.__class__ not in _TEXT or time.__class__ not in _TEXT:
        return None
    tags = meta.get("resource_tags")
    if not tags or tags.__class__ is not list:
        resource_tags: tuple[str, ...] = ()
    elif len(tags) == 1 and tags[0].__class__ is str:  # the common case, without a generator
        resource_tags = (tags[0],)
    else:
        resource_tags = tuple(t for t in tags if t.__class__ is str)
    dp_id = body.get("id")
    if dp_id.__class__ is not str:
        dp_id = None
    if created.__class__ is not str:
        created = None
    if from_device.__class__ is not str:
        from_device = None
    if kind == DATAPOINT:
        return (kind, created or time, dsn, oem_id, oem_model, resource_tags, dp_id, prop, created, from_device,
                None, None, None)
    acked_at = body.get("acked_at")
    if acked_at.__class__ is not str:
        acked_at = None
    return (kind, acked_at or created or time, dsn, oem_id, oem_model, resource_tags, dp_id, prop, created,
            from_device, acked_at, json_integer(body.get("ack_status")), body.get("ack_message"))


def add_decoded(insight: FleetInsight, obj: dict[str, Any], raw: str, received: float, stream: str | None) -> None:
    """``insight.add(parse_event(obj, raw, received), stream)``, without the
    typed event for a datapoint or an ack."""
    fields = insight_fields(obj)
    if fields is None:
        insight.add(parse_event(obj, raw, received), stream)
    else:
        insight.add_fields(received, stream, *fields)
