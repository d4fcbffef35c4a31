"""The insight fed from decoded JSON (the report) says what the insight fed
typed events says, event for event."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import DssEvent
from ayla_monitor.dss.frames import encode_frame, loads_json, parse_frame
from ayla_monitor.fleet.decoded import add_decoded, insight_fields
from ayla_monitor.fleet.insight import FleetInsight
from ayla_monitor.simulator.fleet import Fleet
from tests.fleet.support import T0


def figures(insight: FleetInsight, now: float) -> dict[str, Any]:
    insight.advance(now)
    return {
        "summaries": [dataclasses.asdict(s) for s in insight.summaries(now)],
        "acks": dataclasses.asdict(insight.ack_totals()),
        "spikes": list(insight.spikes),
        "streams": [(s.name, s.events, s.latency.quantile(0.95)) for s in insight.streams()],
        "groups": insight.group_counts(now),
        "events": (insight.events, insight.earliest, insight.latest, insight.online_count, insight.untracked),
    }


def frames(hostile: bool, count: int = 6000) -> list[str]:
    fleet = Fleet(40, seed=3, scenarios=not hostile, hostile=hostile, hostile_value_bytes=200)
    return [wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(T0 + i / 5)), i + 1) for i in range(count)]


@pytest.mark.parametrize("hostile", [False, True], ids=["scenarios", "hostile"])
def test_decoded_json_and_typed_events_give_the_same_figures(hostile: bool) -> None:
    typed, decoded = FleetInsight(), FleetInsight()
    kept = 0
    for i, text in enumerate(frames(hostile)):
        received = T0 + i / 5 + 0.4
        event = parse_frame(text, received)
        if isinstance(event, DssEvent):
            typed.add(event, f"s{i % 2}")
            payload = text.split("|", 1)[1]
            add_decoded(decoded, loads_json(payload), payload, received, f"s{i % 2}")
            kept += 1
    assert kept > 5000 and len(typed) == len(decoded) > 10
    assert figures(decoded, typed.latest or T0) == figures(typed, typed.latest or T0)


def test_fields_that_are_not_text_go_the_typed_way() -> None:
    base = {"seq": 1, "metadata": {"event_type": "datapoint", "dsn": "D1", "property_name": "p"},
            "datapoint": {"id": "x", "created_at": "2026-01-01T00:00:00Z", "value": 1}}
    assert insight_fields(base) is not None
    odd = {**base, "metadata": {**base["metadata"], "dsn": 12345}}  # type: ignore[dict-item]
    assert insight_fields(odd) is None
    insight = FleetInsight()
    add_decoded(insight, odd, encode_frame(odd), T0, None)
    assert insight.device("12345") is not None  # parse_event's rule: a number as its text
    assert insight_fields({**base, "metadata": {"event_type": "connectivity"}}) is None


@pytest.mark.parametrize("status", [200, "200", " 200", "²", "-5", "2xx", 2.0, True, None])
def test_an_ack_status_is_read_as_parse_event_reads_it(status: Any) -> None:
    ack = {"seq": 1, "metadata": {"event_type": "datapointack", "dsn": "D1", "property_name": "p"},
           "datapoint": {"id": "x", "created_at": "2026-01-01T00:00:00Z", "acked_at": "2026-01-01T00:00:01Z",
                         "ack_status": status, "ack_message": 0}}
    typed = parse_frame(encode_frame(ack), T0)
    fields = insight_fields(ack)
    assert fields is not None
    assert fields[11] == typed.ack_status  # type: ignore[union-attr]
