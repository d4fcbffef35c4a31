"""Hand-built events for the insight tests: every field named, times as text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ayla_monitor.dss.events import Connectivity, Datapoint, DatapointAck, Location

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _common(dsn: str, at: float, received: float | None, model: str, tags: tuple[str, ...]) -> dict[str, Any]:
    return {
        "seq": None,
        "oem_id": "0dfc7900",
        "oem_model": model,
        "dsn": dsn,
        "resource_tags": tags,
        "user_uuid": None,
        "time": iso(at),
        "received_at": at if received is None else received,
        "raw": "{}",
        "note": None,
    }


def conn(dsn: str, at: float, online: bool, *, received: float | None = None, model: str = "ledevb",
         tags: tuple[str, ...] = ()) -> Connectivity:
    return Connectivity(event_type="connectivity", status="Online" if online else "Offline",
                        **_common(dsn, at, received, model, tags))


def dp(dsn: str, at: float, prop: str = "Blue_LED", *, dp_id: str | None = None, received: float | None = None,
       from_device: float | None = None, model: str = "ledevb", tags: tuple[str, ...] = ()) -> Datapoint:
    return Datapoint(
        event_type="datapoint", property_name=prop, display_name=prop, base_type="boolean", value=1,
        raw_value=1, datapoint_id=dp_id, echo=False, created_at=iso(at),
        created_at_from_device=None if from_device is None else iso(from_device), updated_at=iso(at),
        **_common(dsn, at, received, model, tags),
    )


def ack(dsn: str, created: float, acked: float, prop: str = "Blue_LED", *, dp_id: str | None = None,
        status: int | None = 200, message: Any = 0, model: str = "ledevb") -> DatapointAck:
    return DatapointAck(
        event_type="datapointack", property_name=prop, display_name=prop, base_type="boolean", value=1,
        raw_value=1, datapoint_id=dp_id, echo=False, created_at=iso(created), created_at_from_device=None,
        updated_at=iso(acked), ack_status=status, ack_message=message, ack_id="a-" + str(dp_id),
        acked_at=iso(acked), **_common(dsn, acked, None, model, ()),
    )


def loc(dsn: str, at: float) -> Location:
    return Location(event_type="location", ip="10.0.0.1", lat=1.0, long=2.0, provider="gps",
                    **_common(dsn, at, None, "ledevb", ()))
