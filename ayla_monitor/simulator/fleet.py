"""A simulated fleet of Ayla devices: what happens, as DSS event objects.

Pure and reproducible: one seeded :class:`random.Random`, no I/O, and the
time of each event is passed in. The server numbers the events per
subscription, so the fleet emits them without ``seq``.

A fresh fleet first reports each device Online with a first value of every
property (so a monitor fills its tiles at once), then a mix of datapoints
(numbers walk within a range so charts look real), acks for input
properties, devices going offline and online (no values while offline),
location and registration changes. ``hostile`` mixes in what a robust
client must survive: HTML, control characters, emoji, ``null``, unknown
event types, missing fields, very long text.

``scenarios`` gives five devices a part to play, so that every insight of
the monitor has something to find within a few minutes (see
:data:`SCENARIOS`): a flapping device, one that goes quiet, one whose acks
come slow, fail or never come, one whose clock is behind, and a talker
that spikes. They play on their own timetable, whatever the fleet's rate,
and the rest of the fleet never touches them.
"""

from __future__ import annotations

import heapq
import json
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ayla_monitor.dss import wire

__all__ = [
    "PropertySpec", "ModelSpec", "MODELS", "Device", "Fleet", "REGISTRATION_TYPES", "SCENARIOS", "event_route",
]

REGISTRATION_TYPES = ("AP-Mode", "Same-LAN", "Button-Push", "Display", "Dsn")
_PROVIDERS = ("ip-based", "gps")
_MODES = ("auto", "eco", "boost", "sleep", "manual")
_STRINGS = ("ok", "idle", "running", "update pending", "a|b", "pipe |Z inside", "filter ok")


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One template property. ``low``/``high``/``step`` bound numeric walks."""

    name: str
    base_type: str
    direction: str  # "input" (to the device) or "output" (from the device)
    low: float = 0.0
    high: float = 100.0
    step: float = 1.0


@dataclass(frozen=True, slots=True)
class ModelSpec:
    oem_id: str
    oem_model: str
    properties: tuple[PropertySpec, ...]


def _p(
    name: str, base_type: str, direction: str, low: float = 0, high: float = 100, step: float = 1
) -> PropertySpec:
    return PropertySpec(name, base_type, direction, float(low), float(high), float(step))


#: The property big values are sent as (``big_every``).
_BLOB = _p("blob", "string", "output")

#: The models a fleet is made of; together they cover every base type.
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "0dfc7900",
        "ledevb",
        (
            _p("Blue_LED", "boolean", "input"),
            _p("Green_LED", "boolean", "input"),
            _p("Blue_button", "boolean", "output"),
            _p("input", "integer", "input", -100, 100, 5),
            _p("output", "integer", "output", -100, 100, 5),
            _p("decimal_in", "decimal", "input", 0, 10, 0.25),
            _p("decimal_out", "decimal", "output", 0, 10, 0.25),
            _p("cmd", "string", "input"),
            _p("log", "string", "output"),
        ),
    ),
    ModelSpec(
        "0dfc7900",
        "linuxevb",
        (
            _p("Blue_LED", "boolean", "input"),
            _p("Green_LED", "boolean", "input"),
            _p("Blue_button", "boolean", "output"),
            _p("input", "integer", "input", 0, 1000, 25),
            _p("output", "integer", "output", 0, 1000, 25),
            _p("version", "string", "output"),
            _p("stream_up", "file", "output"),
            _p("cpu_temp", "float", "output", 35, 85, 0.8),
        ),
    ),
    ModelSpec(
        "4a3e9c10",
        "thermostat",
        (
            _p("power", "boolean", "input"),
            _p("temperature", "decimal", "output", 15, 30, 0.2),
            _p("setpoint", "decimal", "input", 16, 26, 0.5),
            _p("humidity", "integer", "output", 20, 80, 1),
            _p("mode", "string", "input"),
            _p("schedule", "message", "input"),
        ),
    ),
    ModelSpec(
        "8b12f0e2",
        "smartplug",
        (
            _p("power", "boolean", "input"),
            _p("watts", "float", "output", 0, 2000, 40),
            _p("energy_kwh", "decimal", "output", 0, 10000, 0.05),
            _p("firmware", "string", "output"),
            _p("fault_log", "file", "output"),
        ),
    ),
    ModelSpec(
        "8b12f0e2",
        "airpurifier",
        (
            _p("power", "boolean", "input"),
            _p("fan_speed", "integer", "input", 1, 5, 1),
            _p("pm25", "integer", "output", 0, 300, 6),
            _p("filter_life", "integer", "output", 0, 100, 1),
            _p("air_quality", "string", "output"),
            _p("config", "message", "input"),
            _p("status_report", "message", "output"),
            _p("report", "file", "output"),
            _p("temperature", "float", "output", 10, 35, 0.3),
        ),
    ),
)


@dataclass(slots=True)
class Device:
    """One device's identity and current state (mutated by :class:`Fleet`)."""

    dsn: str
    model: ModelSpec
    user_uuid: str
    resource_tags: list[str]
    ip: str
    lat: float
    long: float
    online: bool = True
    registered: bool = True
    provider: str = "ip-based"
    values: dict[str, Any] = field(default_factory=dict)


def event_route(event: dict[str, Any]) -> str | None:
    """The event type a subscription filters on (``None`` when the event has
    no readable type: only untyped subscriptions get it)."""
    meta = event.get("metadata")
    if isinstance(meta, dict):
        kind = meta.get("event_type")
        if isinstance(kind, str):
            return kind
    return None


_HOSTILE_TEXT = (
    "<b>x</b><img src=http://example.invalid/x.png onerror=alert(1)>",
    "<script>alert('dss')</script>",
    "tab\there\x00nul\x07bell\x1b[31mred\x1b[0m",
    "\u202eevil RTL override",
    "Grüße, 温度 21 °C 🔥🌡️",
    "1|Z",
    "|Z|Z|",
    "line one\nline two\r\nline three",
)


#: The scenario parts, in the order devices get them (``Fleet.roles`` says who plays which).
SCENARIOS = (
    # online/offline every 8-12 s: flapping within a minute; back online, a
    # command goes out and is acked 1-4 s later (acks are 2xx)
    "flapping",
    # a value every 2 s for 20 s, then silent for 5 minutes (quiet after 60 s of it), and again
    "quiet",
    # a command every 3 s; after three good acks, in turn: fast, slow (12-25 s), failed, never acked
    "acks",
    # a value every 3 s whose created_at_from_device is 95 s behind the cloud's created_at
    "clock skew",
    # a value every 0.75 s, and from the 6th minute on, every 5 minutes, 10 a second for a minute
    "talker",
)
#: the skewed device's clock, behind the cloud's
SKEW_S = -95.0
_ACK_PLAN = ("ok", "slow", "failed", "missing")


class Fleet:
    """N devices producing events. ``next_event(now)`` gives one event
    object (without ``seq``) dated ``now``, epoch seconds."""

    def __init__(self, devices: int = 20, *, seed: int | None = 0, hostile: bool = False,
                 hostile_value_bytes: int = 100_000, big_every: int | None = None,
                 scenarios: bool = False) -> None:
        if devices < 1:
            raise ValueError(f"a fleet needs at least one device, not {devices}")
        if hostile_value_bytes < 1:
            raise ValueError(f"a hostile value needs at least one byte, not {hostile_value_bytes}")
        if big_every is not None and big_every < 1:
            raise ValueError(f"big values come every N events, N at least 1, not {big_every}")
        self.rng = random.Random(seed)
        self.hostile = hostile
        #: the longest value hostile mode sends (``--hostile-mb``: 1 MB values
        #: froze the window for minutes, issue 10).
        self.hostile_value_bytes = hostile_value_bytes
        #: every N-th event is a datapoint whose value is ``hostile_value_bytes``
        #: long (benchmarks/gui_load.py ``--big-every``); ``None``: never.
        self.big_every = big_every
        rng = self.rng
        numbers = rng.sample(range(10**9), devices)
        self.devices: tuple[Device, ...] = tuple(
            Device(
                dsn=f"AC000W{number:09d}",
                model=MODELS[i % len(MODELS)],
                user_uuid=self._uuid(),
                resource_tags=[] if rng.random() < 0.7 else [rng.choice(("lab", "site-a", "beta"))],
                ip=".".join(
                    str(rng.randint(low, high)) for low, high in ((11, 223), (0, 255), (0, 255), (1, 254))
                ),
                lat=rng.uniform(-60, 70),
                long=rng.uniform(-179, 179),
            )
            for i, number in enumerate(numbers)
        )
        #: scenario part -> its device (the first devices play them; one is always left to the mix)
        self.roles: dict[str, Device] = (
            dict(zip(SCENARIOS, self.devices[: max(0, len(self.devices) - 1)], strict=False)) if scenarios else {}
        )
        flapping = self.roles.get("flapping")
        self._intro: deque[tuple[Device, PropertySpec | None]] = deque()
        for device in self.devices:
            self._intro.append((device, None))
            for prop in device.model.properties:
                # (the flapping device's commands all get their acks: no first value that never does)
                if device is not flapping or prop.direction != "input":
                    self._intro.append((device, prop))
        self._cast = {id(d) for d in self.roles.values()}
        #: the devices the random mix plays with
        self._free = tuple(d for d in self.devices if id(d) not in self._cast)
        self._online: list[Device] = list(self._free)
        self._offline: list[Device] = []
        #: (due time, order, action): the scenarios' next events; started after the intro
        self._timetable: list[tuple[float, int, Callable[[float], dict[str, Any] | None]]] = []
        self._timetable_order = 0
        self._scenario_start: float | None = None
        #: the due time of the scenario event being made: the next one is timed
        #: from it, so a part keeps its pace whatever the caller's tick
        self._due = 0.0
        self._ack_turn = 0
        self._acks: deque[tuple[Device, PropertySpec, dict[str, Any]]] = deque()
        self.generated = 0
        self._iso_second: int | None = None
        self._iso_text = ""

    # -- identities -------------------------------------------------------

    def _uuid(self) -> str:
        """A version-1-looking UUID, as Ayla's datapoint and user ids are."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-1{h[13:16]}-{h[16:20]}-{h[20:]}"

    def _iso(self, now: float) -> str:
        """:func:`wire.iso_time`, remembered for the current second (it is hot)."""
        second = int(now)
        if second != self._iso_second:
            self._iso_second, self._iso_text = second, wire.iso_time(second)
        return self._iso_text

    # -- values -----------------------------------------------------------

    def _first_value(self, prop: PropertySpec) -> Any:
        rng = self.rng
        kind = prop.base_type
        if kind == "boolean":
            return rng.randint(0, 1)
        if kind == "integer":
            return int(rng.uniform(prop.low, prop.high))
        if kind in ("decimal", "float"):
            return rng.uniform(prop.low, prop.high)
        return self._text_value(prop)

    def _text_value(self, prop: PropertySpec) -> str:
        rng = self.rng
        kind = prop.base_type
        if kind == "file":
            return (
                f"https://ads-field.aylanetworks.com/apiv1/devices/{rng.randint(10**6, 10**7)}"
                f"/properties/{prop.name}/datapoints/{self._uuid()}.json"
            )
        if kind == "message":
            doc: dict[str, Any] = {
                "v": rng.randint(1, 9),
                "note": rng.choice(_STRINGS),
                "slots": [
                    {"at": f"{h:02d}:00", "target": round(rng.uniform(16, 24), 1)}
                    for h in sorted(rng.sample(range(24), rng.randint(1, 6)))
                ],
            }
            if rng.random() < 0.1:  # sometimes long
                base, stride = rng.randrange(1000), rng.randrange(1, 100)
                doc["history"] = [(base + i * stride) % 1000 for i in range(rng.randint(300, 1500))]
            return json.dumps(doc, separators=(",", ":"))
        if prop.name in ("mode", "air_quality"):
            return rng.choice(_MODES if prop.name == "mode" else ("good", "fair", "poor", "very poor"))
        if prop.name in ("version", "firmware"):
            return f"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
        return rng.choice(_STRINGS)

    def _next_value(self, device: Device, prop: PropertySpec) -> Any:
        rng = self.rng
        old = device.values.get(prop.name)
        kind = prop.base_type
        if kind == "boolean":
            return 1 - old if isinstance(old, int) and rng.random() < 0.7 else rng.randint(0, 1)
        if kind in ("integer", "decimal", "float"):
            base = float(old) if isinstance(old, (int, float)) else (prop.low + prop.high) / 2
            number = min(prop.high, max(prop.low, base + rng.gauss(0, prop.step)))
            return int(round(number)) if kind == "integer" else number
        return self._text_value(prop)

    def _wire_value(self, prop: PropertySpec, value: Any) -> Any:
        """A value as the wire carries it: decimals sometimes as text."""
        if prop.base_type == "decimal":
            text = f"{value:.2f}".rstrip("0").rstrip(".")
            return text if self.rng.random() < 0.3 else float(text)
        if prop.base_type == "float":
            return round(value, 3)
        return value

    # -- events -----------------------------------------------------------

    def _connectivity(self, device: Device, now: float) -> dict[str, Any]:
        m = device.model
        return wire.connectivity_event(
            None,
            oem_id=m.oem_id,
            oem_model=m.oem_model,
            dsn=device.dsn,
            event_time=self._iso(now),
            status="Online" if device.online else "Offline",
            user_uuid=device.user_uuid,
            resource_tags=device.resource_tags,
        )

    def _datapoint(self, device: Device, prop: PropertySpec, now: float, value: Any) -> dict[str, Any]:
        device.values[prop.name] = value
        m = device.model
        when = self._iso(now)
        event = wire.datapoint_event(
            None,
            oem_id=m.oem_id,
            oem_model=m.oem_model,
            dsn=device.dsn,
            property_name=prop.name,
            base_type=prop.base_type,
            value=self._wire_value(prop, value),
            datapoint_id=self._uuid(),
            created_at=when,
            created_at_from_device=when if prop.direction == "output" and self.rng.random() < 0.5 else None,
            user_uuid=device.user_uuid,
            echo=prop.direction == "output" and self.rng.random() < 0.2,
            resource_tags=device.resource_tags,
        )
        if prop.direction == "input" and id(device) not in self._cast:  # the acks scenario acks its own
            self._acks.append((device, prop, event))
        return event

    def _ack(self, device: Device, prop: PropertySpec, sent: dict[str, Any], now: float,
             status: int | None = None) -> dict[str, Any]:
        rng = self.rng
        if status is None:
            roll = rng.random()
            status = 200 if roll < 0.9 else rng.choice((400, 404, 408, 422, 500, 503))
        body = sent["datapoint"]
        m = device.model
        return wire.datapointack_event(
            None,
            oem_id=m.oem_id,
            oem_model=m.oem_model,
            dsn=device.dsn,
            property_name=prop.name,
            base_type=prop.base_type,
            value=body["value"],
            datapoint_id=body["id"],
            created_at=body["created_at"],
            updated_at=self._iso(now),
            user_uuid=device.user_uuid,
            ack_status=status,
            ack_message=0 if status == 200 else rng.choice((1, "timeout", "device busy")),
            ack_id=self._uuid(),
            acked_at=self._iso(now),
            resource_tags=device.resource_tags,
        )

    def _location(self, device: Device, now: float) -> dict[str, Any]:
        rng = self.rng
        device.provider = rng.choice(_PROVIDERS)
        device.lat = min(85.0, max(-85.0, device.lat + rng.gauss(0, 0.01)))
        device.long = min(179.9, max(-179.9, device.long + rng.gauss(0, 0.01)))
        m = device.model
        return wire.location_event(
            None,
            oem_id=m.oem_id,
            oem_model=m.oem_model,
            dsn=device.dsn,
            ip=device.ip,
            lat=wire.format_coordinate(device.lat),
            long=wire.format_coordinate(device.long),
            provider=device.provider,
            created_at=self._iso(now),
            user_uuid=device.user_uuid,
            resource_tags=device.resource_tags,
        )

    def _registration(self, device: Device, now: float) -> dict[str, Any]:
        device.registered = not device.registered
        m = device.model
        return wire.registration_event(
            None,
            oem_id=m.oem_id,
            oem_model=m.oem_model,
            dsn=device.dsn,
            registered=device.registered,
            registration_type=self.rng.choice(REGISTRATION_TYPES),
            at=self._iso(now),
            user_uuid=device.user_uuid if device.registered else None,
            resource_tags=device.resource_tags,
        )

    def _random_event(self, now: float) -> dict[str, Any]:
        rng = self.rng
        if self._acks and rng.random() < 0.5:
            device, prop, sent = self._acks.popleft()
            if device.online:
                return self._ack(device, prop, sent, now)
        roll = rng.random()
        online, offline = self._online, self._offline
        if roll < 0.04 and self.roles and rng.random() < 0.995:
            roll = 0.04 + rng.random() * 0.96  # with scenarios only the flapping device flaps often
        if roll < 0.04 or not online:
            if offline and (not online or rng.random() < 0.7):
                device = offline.pop(rng.randrange(len(offline)))
                online.append(device)
            else:
                device = online.pop(rng.randrange(len(online)))
                offline.append(device)
            device.online = not device.online
            return self._connectivity(device, now)
        if roll < 0.055:
            return self._registration(rng.choice(self._free), now)
        device = rng.choice(online)
        if roll < 0.075:
            return self._location(device, now)
        prop = rng.choice(device.model.properties)
        return self._datapoint(device, prop, now, self._next_value(device, prop))

    # -- scenarios ----------------------------------------------------------

    def _at(self, when: float, action: Callable[[float], dict[str, Any] | None]) -> None:
        self._timetable_order += 1
        heapq.heappush(self._timetable, (when, self._timetable_order, action))

    def _start_scenarios(self, now: float) -> None:
        self._scenario_start = now
        roles = self.roles
        if "flapping" in roles:
            self._at(now + 5, self._flap)
        if "quiet" in roles:
            self._at(now + 1, self._quiet_beat)
        if "acks" in roles:
            self._at(now + 2, self._command)
        if "clock skew" in roles:
            self._at(now + 1.5, self._skewed)
        if "talker" in roles:
            self._at(now + 0.5, self._talk)

    def _output(self, device: Device) -> PropertySpec:
        return next(p for p in device.model.properties if p.direction == "output" and p.base_type != "file")

    def _flap(self, now: float) -> dict[str, Any]:
        device = self.roles["flapping"]
        device.online = not device.online
        self._at(self._due + self.rng.uniform(8, 12), self._flap)
        if device.online:
            self._at(self._due + self.rng.uniform(0.5, 1.5), self._flapper_command)
        return self._connectivity(device, now)

    def _flapper_command(self, now: float) -> dict[str, Any] | None:
        device = self.roles["flapping"]
        if not device.online:
            return None
        prop = next(p for p in device.model.properties if p.direction == "input")
        event = self._datapoint(device, prop, now, self._next_value(device, prop))

        def acked(when: float, sent: dict[str, Any] = event) -> dict[str, Any] | None:
            return self._ack(device, prop, sent, when, 200) if device.online else None

        self._at(self._due + self.rng.uniform(1, 4), acked)
        return event

    def _quiet_beat(self, now: float) -> dict[str, Any]:
        device = self.roles["quiet"]
        assert self._scenario_start is not None
        phase = (self._due - self._scenario_start) % 320.0
        # talk for 20 s of every 320, then a silence of 300 s
        self._at(self._due + (self.rng.uniform(1.8, 2.2) if phase < 20 else 320.0 - phase), self._quiet_beat)
        prop = self._output(device)
        return self._datapoint(device, prop, now, self._next_value(device, prop))

    def _command(self, now: float) -> dict[str, Any]:
        device = self.roles["acks"]
        prop = next(p for p in device.model.properties if p.direction == "input")
        event = self._datapoint(device, prop, now, self._next_value(device, prop))
        turn = self._ack_turn
        self._ack_turn += 1
        plan = "ok" if turn < 3 else _ACK_PLAN[(turn - 3) % len(_ACK_PLAN)]
        if plan != "missing":
            delay = self.rng.uniform(12, 25) if plan == "slow" else 1.0
            status = self.rng.choice((500, 503, 400)) if plan == "failed" else 200

            def acked(when: float, sent: dict[str, Any] = event, status: int = status) -> dict[str, Any]:
                return self._ack(device, prop, sent, when, status)

            self._at(self._due + delay, acked)
        self._at(self._due + 3.0, self._command)
        return event

    def _skewed(self, now: float) -> dict[str, Any]:
        device = self.roles["clock skew"]
        prop = self._output(device)
        event = self._datapoint(device, prop, now, self._next_value(device, prop))
        event["datapoint"]["created_at_from_device"] = wire.iso_time(int(now + SKEW_S))
        self._at(self._due + 3.0, self._skewed)
        return event

    def _talk(self, now: float) -> dict[str, Any]:
        device = self.roles["talker"]
        assert self._scenario_start is not None
        elapsed = self._due - self._scenario_start
        spiking = elapsed >= 300 and (elapsed - 300) % 300 < 60
        self._at(self._due + (0.1 if spiking else 0.75), self._talk)
        prop = self._output(device)
        return self._datapoint(device, prop, now, self._next_value(device, prop))

    def _scenario_event(self, now: float) -> dict[str, Any] | None:
        """The scenario event due by ``now``, if one is."""
        if self._scenario_start is None:
            self._start_scenarios(now)
        table = self._timetable
        while table and table[0][0] <= now:
            self._due, _, action = heapq.heappop(table)
            event = action(now)
            if event is not None:
                return event
        return None

    @property
    def intro_pending(self) -> int:
        """Events left of the intro (each device Online, then a first value per property)."""
        return len(self._intro)

    def next_event(self, now: float) -> dict[str, Any]:
        """The next event, dated ``now`` (epoch seconds), without ``seq``."""
        self.generated += 1
        if self._intro:
            device, prop = self._intro.popleft()
            event = (
                self._connectivity(device, now)
                if prop is None
                else self._datapoint(device, prop, now, self._first_value(prop))
            )
        else:
            scripted = self._scenario_event(now) if self.roles else None
            event = scripted if scripted is not None else self._random_event(now)
        if self.hostile and self.rng.random() < 0.15:
            event = self._spoil(event)
        if self.big_every is not None and self.generated % self.big_every == 0:
            event = self._big(now)
        return event

    def _big(self, now: float) -> dict[str, Any]:
        """A string datapoint whose value is ``hostile_value_bytes`` long (ASCII)."""
        device = self.rng.choice(self._free)
        size = self.hostile_value_bytes
        value = ("big value " * (size // 10 + 1))[:size]
        event = self._datapoint(device, _BLOB, now, value)
        device.values.pop(_BLOB.name, None)  # not kept: the simulator's memory stays small
        return event

    def take(self, count: int, now: float, interval: float = 0.0) -> list[dict[str, Any]]:
        """``count`` events, the i-th dated ``now + i * interval``."""
        return [self.next_event(now + i * interval) for i in range(count)]

    # -- hostile mode -----------------------------------------------------

    def _spoil(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event made hard to display or read (a new object)."""
        rng = self.rng
        event = json.loads(json.dumps(event))  # deep copy; events are JSON
        meta = event.get("metadata", {})
        body_key = next((k for k in event if k not in ("seq", "metadata")), None)
        body = event.get(body_key) if body_key else None
        choice = rng.randrange(8)
        if choice <= 2 and isinstance(body, dict) and "value" in body:
            body["value"] = rng.choice(_HOSTILE_TEXT)
        elif choice == 3 and isinstance(body, dict):
            key = "value" if "value" in body else rng.choice(list(body))
            body[key] = None
        elif choice == 4:
            return {
                "metadata": {**meta, "event_type": rng.choice(("ota_update", "schedule", "DATAPOINT ", ""))},
                "ota_event": {"dsn": meta.get("dsn"), "version": "9.9.9", "note": rng.choice(_HOSTILE_TEXT)},
            }
        elif choice == 5:
            victim = rng.choice(
                ("metadata.oem_model", "metadata.dsn", "metadata.resource_tags", "body", "body.user_uuid")
            )
            if victim == "body" and body_key:
                del event[body_key]
            elif victim.startswith("body.") and isinstance(body, dict):
                body.pop("user_uuid", None)
            elif victim.startswith("metadata."):
                meta.pop(victim.split(".", 1)[1], None)
        elif choice == 6 and isinstance(body, dict):
            target = "value" if "value" in body else "user_uuid"
            body[target] = "\U0001f525" * rng.randint(1, 5) + "x" * rng.choice((10, 5_000, self.hostile_value_bytes))
        else:
            # Labels that look like markup or carry control characters.
            meta["oem_model"] = rng.choice(_HOSTILE_TEXT)
            if "property_name" in meta:
                meta["display_name"] = rng.choice(_HOSTILE_TEXT)
        return event
