"""Rules evaluated over live events, the fleet insight and the streams.

:class:`AlertEvaluator` is fed every event (:meth:`~AlertEvaluator.add`)
and ticked about once a second (:meth:`~AlertEvaluator.evaluate`), which
returns the :class:`AlertChange` s of that moment. Pure: no clock (``now``
is a parameter; holds are measured from events' ``received_at``, which is
the same wall clock as a live caller's ``now``), no I/O.

The contract (issue 13, point 2):

- One alert per rule and subject (a DSN, or a stream's name for stream
  rules) until it clears.
- Raised once the condition has held for the rule's ``for`` (``hold_s``);
  cleared as soon as it stops.
- No storms: a subject that would raise again within ``repeat_s`` of its
  last raise is held back until then, and raised only if the condition
  still holds.

Where each condition comes from:

- ``value``, ``offline``, ``ack_failed``: the events themselves, in
  :meth:`~AlertEvaluator.add`. Rules are indexed by property, and each
  device's rules are found once (on its first relevant event) from their
  scopes, so an event costs a dictionary look-up unless a rule names its
  property; only subjects whose condition holds (or whose alert is open)
  are remembered.
- ``quiet``, ``flapping``, ``ack_missing``, ``rate``: the
  :class:`~ayla_monitor.fleet.insight.FleetInsight` passed to
  :meth:`~AlertEvaluator.evaluate`, one pass over its devices per tick
  (skipped when no rule needs it, and never more often than
  ``insight_every``).
- ``gap``, ``stream_down``: the :class:`StreamFacts` passed to
  :meth:`~AlertEvaluator.evaluate`.

``changes`` (a value rule): raised when the property's value differs from
the one before it; the alert stays open until the value has not changed
for the rule's ``for``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ayla_monitor.alerts.rules import (
    DEVICE_CONDITIONS,
    INSIGHT_CONDITIONS,
    STREAM_CONDITIONS,
    Condition,
    Rule,
    Scope,
    spoken_duration,
)
from ayla_monitor.dss.events import Connectivity, Datapoint, DatapointAck, LeanEvent, value_text
from ayla_monitor.dss.frames import loads_json
from ayla_monitor.dss.values import as_number
from ayla_monitor.fleet.insight import DeviceInsight, FleetInsight, ack_failed

__all__ = ["AlertChange", "StreamFacts", "AlertEvaluator", "value_holds", "lean_tags"]

RAISED = "raised"
CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert raised or cleared. ``subject`` is the DSN (device rules) or
    the stream's name (stream rules); ``at`` and ``raised_at`` are epoch
    seconds (for a raise they are equal); ``detail`` is one sentence for a
    person; ``notify`` and ``severity`` are the rule's."""

    kind: str
    rule: str
    condition: str
    subject: str
    dsn: str | None
    stream: str | None
    at: float
    detail: str
    notify: tuple[str, ...] = ("desktop",)
    severity: str = "alert"
    raised_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The object ``--on-alert`` commands read (see :meth:`to_json`)."""
        return {
            "kind": self.kind,
            "rule": self.rule,
            "condition": self.condition,
            "severity": self.severity,
            "subject": self.subject,
            "dsn": self.dsn,
            "stream": self.stream,
            "at": self.at,
            "at_iso": _iso(self.at),
            "raised_at": self.raised_at,
            "raised_at_iso": _iso(self.raised_at),
            "detail": self.detail,
            "notify": list(self.notify),
        }

    def to_json(self) -> str:
        """One line of JSON, given to ``--on-alert`` commands on standard input:
        ``kind`` ("raised" or "cleared"), ``rule`` (its name), ``condition``,
        ``severity``, ``subject`` (DSN or stream name), ``dsn`` and ``stream``
        (one of them null), ``at`` and ``raised_at`` (epoch seconds) with
        ``at_iso`` and ``raised_at_iso`` (ISO 8601 UTC), ``detail`` and
        ``notify``."""
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class StreamFacts:
    """One stream as :meth:`AlertEvaluator.evaluate` needs it: connected or
    not, and its open gaps (with the seqs they miss)."""

    name: str
    up: bool
    open_gaps: int = 0
    missing: int = 0


def _number(value: object) -> float | None:
    """``as_number`` with the common cases first (a threshold is compared
    on every event of its property)."""
    cls = value.__class__
    if cls is float or cls is int:
        return value  # type: ignore[return-value]
    if cls is str:
        try:
            number = float(value)  # type: ignore[arg-type]
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return as_number(value)


def value_holds(rule: Rule, value: object) -> bool:
    """Whether a value rule's threshold holds for ``value`` (typed, or text
    as stored). A value that is not a number never passes a number threshold."""
    equals = rule.equals
    if equals is not None:
        if isinstance(equals, bool):
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return (value.strip().lower() == "true") is equals
            return as_number(value) == float(equals)
        if isinstance(equals, float):
            return as_number(value) == equals
        text = value if isinstance(value, str) else value_text(value)  # type: ignore[arg-type]
        return text == equals
    number = _number(value)
    if number is None:
        return False
    above, below = rule.above, rule.below
    return (above is not None and number > above) or (below is not None and number < below)


class _Track:
    """One rule's condition on one subject, while it holds, is open, or was
    raised within its repeat interval."""

    __slots__ = ("rule", "subject", "dsn", "stream", "since", "changed_at", "value", "raised", "last_raise")

    def __init__(self, rule: Rule, subject: str, dsn: str | None, stream: str | None) -> None:
        self.rule = rule
        self.subject = subject
        self.dsn = dsn
        self.stream = stream
        #: when the condition started to hold (``None``: it does not)
        self.since: float | None = None
        #: ``changes`` rules: when the value last changed
        self.changed_at: float | None = None
        #: what the detail sentence shows (the value, a count, a status)
        self.value: Any = None
        #: the open alert's raise, or ``None``
        self.raised: AlertChange | None = None
        self.last_raise: float | None = None


class _Device:
    """A device's scope and the rules that cover it, found once."""

    __slots__ = ("model", "oem", "tags", "mask", "value_rules", "offline_rules", "ack_rules", "last_text")

    def __init__(self, model: str | None, oem: str | None, tags: tuple[str, ...]) -> None:
        self.model = model
        self.oem = oem
        self.tags = tags
        #: the scopes covering it (bits: see ``AlertEvaluator._mask``), once known
        self.mask: int | None = None
        #: property -> the value rules on it that cover this device
        self.value_rules: dict[str, tuple[Rule, ...]] = {}
        self.offline_rules: tuple[Rule, ...] | None = None
        self.ack_rules: tuple[Rule, ...] | None = None
        #: property -> its latest value as text (``changes`` rules only)
        self.last_text: dict[str, str | None] = {}


class AlertEvaluator:
    """See the module doc. ``now``: the moment of creation (the first repeat
    sweep is measured from it); ``insight_every``: the shortest time between
    two passes over the insight's devices."""

    def __init__(self, rules: Sequence[Rule], *, now: float, insight_every: float = 1.0) -> None:
        self.insight_every = insight_every
        self._tracks: dict[tuple[str, str], _Track] = {}
        #: the keys of stream rules' tracks (a tick looks for streams gone among them only)
        self._stream_keys: set[tuple[str, str]] = set()
        #: tracks that a tick must look at: holding but not raised, or raised but no longer holding
        self._pending: set[_Track] = set()
        self._last_insight = float("-inf")
        self._last_sweep = now
        self._index(tuple(rules))

    # -- rules -----------------------------------------------------------

    def _index(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._value_by_prop: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.when is Condition.VALUE and rule.property is not None:
                self._value_by_prop.setdefault(rule.property, []).append(rule)
        self._offline = [r for r in rules if r.when is Condition.OFFLINE]
        self._acks = [r for r in rules if r.when is Condition.ACK_FAILED]
        self._insight = [r for r in rules if r.when in INSIGHT_CONDITIONS]
        self._streams = [r for r in rules if r.when in STREAM_CONDITIONS]
        self._tag_scoped = any(r.scope.tag is not None for r in rules if r.when in DEVICE_CONDITIONS)
        # Scopes are matched once per device, each distinct scope once, and
        # the part without a DSN glob once per (model, OEM, tags): 10,000
        # devices of a few models cost a few hundred glob matches, not a
        # million (benchmarks/alerts.py).
        bits: dict[Scope, int] = {}
        for rule in rules:
            bits.setdefault(rule.scope, 1 << len(bits))
        self._bit = {rule.name: bits[rule.scope] for rule in rules}
        self._free_scopes = [(scope, bit) for scope, bit in bits.items() if scope.dsn is None]
        self._dsn_scopes = [(scope, bit) for scope, bit in bits.items() if scope.dsn is not None]
        self._masks: dict[tuple[str | None, str | None, tuple[str, ...]], int] = {}
        self._devices: dict[str, _Device] = {}
        #: dsn -> (model, the insight rules covering it)
        self._insight_scope: dict[str, tuple[str | None, tuple[Rule, ...]]] = {}
        #: (rule, dsn) -> (missing, acks) as last seen (``ack_missing`` rules)
        self._ack_counts: dict[tuple[str, str], tuple[int, int]] = {}

    @property
    def needs_insight(self) -> bool:
        """Whether a rule reads the fleet insight (else pass ``None``)."""
        return bool(self._insight)

    def set_rules(self, rules: Sequence[Rule], now: float) -> list[AlertChange]:
        """Take new rules (the file was edited). Alerts of rules that are
        unchanged stay as they are; those of rules removed or changed are
        cleared (returned)."""
        keep = {r.name: r for r in rules}
        cleared: list[AlertChange] = []
        for key, track in list(self._tracks.items()):
            if keep.get(track.rule.name) == track.rule:
                track.rule = keep[track.rule.name]  # equal, but its line may have moved
                continue
            if track.raised is not None:
                cleared.append(self._clear(track, now, "the rule was changed or removed"))
            self._pending.discard(track)
            del self._tracks[key]
        self._index(tuple(rules))
        return cleared

    def adopt(self, rule: str, subject: str, dsn: str | None, stream: str | None, raised_at: float,
              detail: str) -> bool:
        """Take an alert left open (in the database, by an earlier run) as
        open here: it is not raised again, and it clears as soon as its
        condition is seen not to hold. Whether its rule is known."""
        found = next((r for r in self.rules if r.name == rule), None)
        if found is None or (rule, subject) in self._tracks:
            return found is not None
        track = self._track(found, subject, dsn, stream)
        track.since = raised_at
        track.last_raise = raised_at
        track.raised = AlertChange(RAISED, rule, found.when.value, subject, dsn, stream, raised_at, detail,
                                   found.notify, found.severity, raised_at)
        return True

    # -- events ----------------------------------------------------------

    def add_many(self, events: Iterable[Any], stream: str | None = None) -> None:
        add = self.add
        for event in events:
            add(event, stream)

    def add(self, event: Any, stream: str | None = None) -> None:
        """Fold one event in: typed events and the recorder's
        :class:`~ayla_monitor.dss.events.LeanEvent` alike (anything else is
        ignored). ``stream`` is not used by today's conditions."""
        cls = event.__class__
        if cls is LeanEvent:
            columns = event.columns
            etype = columns[0]
            if etype == "datapoint":
                prop = columns[6]
                if prop in self._value_by_prop:
                    self._value(event, columns[3], columns[2], columns[1], None, prop, columns[9])
            elif etype == "connectivity":
                if self._offline and columns[9] is not None:
                    self._connectivity(event, columns[3], columns[2], columns[1], None,
                                       columns[9].lower() == "online")
            elif etype == "datapointack" and self._acks and columns[3] is not None:
                self._ack(event, columns[3], columns[2], columns[1], None, columns[6], None)
            return
        if cls is Datapoint:
            prop = event.property_name
            if prop in self._value_by_prop:
                self._value(event, event.dsn, event.oem_model, event.oem_id, event.resource_tags, prop,
                            event.value)
        elif cls is Connectivity:
            if self._offline and event.status is not None:
                self._connectivity(event, event.dsn, event.oem_model, event.oem_id, event.resource_tags,
                                   event.online)
        elif cls is DatapointAck:
            if self._acks and event.dsn is not None:
                self._ack(event, event.dsn, event.oem_model, event.oem_id, event.resource_tags, event.property_name,
                          (event.ack_status, event.ack_message))

    def _device(self, event: Any, dsn: str, model: str | None, oem: str | None,
                tags: tuple[str, ...] | None) -> _Device:
        device = self._devices.get(dsn)
        if device is None or (model is not None and model != device.model) or (
                oem is not None and oem != device.oem) or (tags and tags != device.tags):
            if tags is None:  # a lean event: tags only matter to tag-scoped rules
                tags = lean_tags(event.raw) if self._tag_scoped else ()
            if device is not None:
                model = model or device.model
                oem = oem or device.oem
            device = self._devices[dsn] = _Device(model, oem, tags)
        return device

    def _mask(self, dsn: str, model: str | None, oem: str | None, tags: tuple[str, ...]) -> int:
        """The bits of the scopes that cover this device."""
        key = (model, oem, tags)
        mask = self._masks.get(key)
        if mask is None:
            if len(self._masks) >= 10_000:  # (hostile names: bounded)
                self._masks.clear()
            mask = self._masks[key] = sum(bit for scope, bit in self._free_scopes
                                          if scope.matches(None, model, oem, tags))
        for scope, bit in self._dsn_scopes:
            if scope.matches(dsn, model, oem, tags):
                mask |= bit
        return mask

    def _covering(self, device: _Device, dsn: str, rules: Iterable[Rule]) -> tuple[Rule, ...]:
        mask = device.mask
        if mask is None:
            mask = device.mask = self._mask(dsn, device.model, device.oem, device.tags)
        bit = self._bit
        return tuple(r for r in rules if mask & bit[r.name])

    def _value(self, event: Any, dsn: str | None, model: str | None, oem: str | None,
               tags: tuple[str, ...] | None, prop: str, value: object) -> None:
        if dsn is None:
            return
        device = self._device(event, dsn, model, oem, tags)
        rules = device.value_rules.get(prop)
        if rules is None:
            rules = device.value_rules[prop] = self._covering(device, dsn, self._value_by_prop[prop])
        if not rules:
            return
        at = event.received_at
        text: str | None = None
        number: float | None | bool = False  # False: not read yet (read once, for every threshold rule)
        tracks = self._tracks
        for rule in rules:
            if rule.equals is None and not rule.changes:
                if number is False:
                    number = _number(value)
                above, below = rule.above, rule.below
                holds = number is not None and (
                    (above is not None and number > above) or (below is not None and number < below))
                if holds or (rule.name, dsn) in tracks:
                    self._set(rule, dsn, None, holds, at, value)
            elif rule.changes:
                if text is None:
                    text = value if isinstance(value, str) else value_text(value)  # type: ignore[arg-type]
                before = device.last_text.get(prop, text)
                device.last_text[prop] = text
                if before != text:
                    track = self._track(rule, dsn, dsn, None)
                    track.value = (before, text)
                    track.changed_at = at
                    if track.since is None:
                        track.since = at
                    self._pending.add(track)
            else:
                self._set(rule, dsn, None, value_holds(rule, value), at, value)

    def _connectivity(self, event: Any, dsn: str | None, model: str | None, oem: str | None,
                      tags: tuple[str, ...] | None, online: bool | None) -> None:
        if dsn is None or online is None:
            return
        device = self._device(event, dsn, model, oem, tags)
        rules = device.offline_rules
        if rules is None:
            rules = device.offline_rules = self._covering(device, dsn, self._offline)
        for rule in rules:
            self._set(rule, dsn, None, not online, event.received_at, None)

    def _ack(self, event: Any, dsn: str, model: str | None, oem: str | None, tags: tuple[str, ...] | None,
             prop: str | None, status: tuple[int | None, object] | None) -> None:
        """An ack; ``status`` (ack status and message) ``None``: a lean event's,
        read from its JSON only when a rule covers it."""
        device = self._device(event, dsn, model, oem, tags)
        rules = device.ack_rules
        if rules is None:
            rules = device.ack_rules = self._covering(device, dsn, self._acks)
        failed: bool | None = None
        for rule in rules:
            if rule.property is None or rule.property == prop:
                if status is None:
                    status = _ack_status(event.raw)
                if failed is None:
                    failed = ack_failed(status[0], status[1])  # type: ignore[arg-type]
                self._set(rule, dsn, None, failed, event.received_at, (prop, status[0], status[1]))

    # -- tracks ----------------------------------------------------------

    def _track(self, rule: Rule, subject: str, dsn: str | None, stream: str | None) -> _Track:
        key = (rule.name, subject)
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(rule, subject, dsn, stream)
            if stream is not None:
                self._stream_keys.add(key)
        return track

    def _set(self, rule: Rule, subject: str, stream: str | None, holds: bool, at: float, value: object) -> None:
        """The condition of ``rule`` on ``subject`` holds (or not) as of ``at``."""
        if holds:
            track = self._track(rule, subject, None if stream else subject, stream)
            track.value = value
            if track.since is None:
                track.since = at
                if track.raised is None:
                    self._pending.add(track)
            return
        known = self._tracks.get((rule.name, subject))
        if known is None or known.since is None:
            return
        known.since = None
        if known.raised is not None:
            known.value = value if value is not None else known.value
            self._pending.add(known)
        else:
            self._pending.discard(known)
            if known.last_raise is None:
                del self._tracks[(rule.name, subject)]

    # -- ticks -----------------------------------------------------------

    def evaluate(self, insight: FleetInsight | None, now: float,
                 streams: Iterable[StreamFacts] = ()) -> list[AlertChange]:
        """The raises and clears at ``now`` (call about once a second)."""
        if self._streams:
            self._look_at_streams(streams, now)
        if self._insight and insight is not None and now - self._last_insight >= self.insight_every:
            self._last_insight = now
            self._look_at_insight(insight, now)
        changes: list[AlertChange] = []
        done: list[_Track] = []
        for track in self._pending:
            rule = track.rule
            if rule.changes:
                if track.raised is None:
                    if track.since is not None and self._may_raise(track, now):
                        changes.append(self._raise(track, now))
                    elif track.since is None:
                        done.append(track)
                elif track.changed_at is not None and now >= track.changed_at + rule.hold_s:
                    track.since = None
                    changes.append(self._clear(track, now, None))
                    done.append(track)
                continue
            if track.since is not None:
                if track.raised is None and now >= track.since + rule.hold_s and self._may_raise(track, now):
                    changes.append(self._raise(track, now))
                    done.append(track)
                elif track.raised is not None:
                    done.append(track)
            else:
                if track.raised is not None:
                    changes.append(self._clear(track, now, None))
                done.append(track)
        for track in done:
            self._pending.discard(track)
        if now - self._last_sweep >= 60.0:
            self._sweep(now)
        return changes

    def _may_raise(self, track: _Track, now: float) -> bool:
        last = track.last_raise
        return last is None or now >= last + track.rule.repeat_s

    def _sweep(self, now: float) -> None:
        """Forget closed tracks whose repeat interval has passed."""
        self._last_sweep = now
        for key, track in list(self._tracks.items()):
            if track.raised is None and track.since is None and track not in self._pending and (
                    track.last_raise is None or now >= track.last_raise + track.rule.repeat_s):
                del self._tracks[key]

    def _raise(self, track: _Track, now: float) -> AlertChange:
        rule = track.rule
        change = AlertChange(RAISED, rule.name, rule.when.value, track.subject, track.dsn, track.stream, now,
                             _raise_detail(track, now), rule.notify, rule.severity, now)
        track.raised = change
        track.last_raise = now
        return change

    def _clear(self, track: _Track, now: float, why: str | None) -> AlertChange:
        rule = track.rule
        raised = track.raised
        raised_at = raised.raised_at if raised is not None else now
        detail = f"{_who(track)}: {why or _clear_detail(track)} (raised {spoken_duration(now - raised_at)} ago)"
        change = AlertChange(CLEARED, rule.name, rule.when.value, track.subject, track.dsn, track.stream, now,
                             detail, rule.notify, rule.severity, raised_at)
        track.raised = None
        return change

    def _look_at_streams(self, streams: Iterable[StreamFacts], now: float) -> None:
        seen: set[str] = set()
        for facts in streams:
            seen.add(facts.name)
            for rule in self._streams:
                if not rule.scope.matches_stream(facts.name):
                    continue
                if rule.when is Condition.GAP:
                    self._set(rule, facts.name, facts.name, facts.open_gaps > 0, now,
                              (facts.open_gaps, facts.missing))
                else:
                    self._set(rule, facts.name, facts.name, not facts.up, now, None)
        for key in list(self._stream_keys):
            track = self._tracks.get(key)
            if track is None:
                self._stream_keys.discard(key)
            elif key[1] not in seen and track.since is not None:
                self._set(track.rule, key[1], key[1], False, now, None)  # the stream is gone

    def _look_at_insight(self, insight: FleetInsight, now: float) -> None:
        scopes = self._insight_scope
        rules_all = self._insight
        quiet_min = insight.settings.quiet_min_s
        counts = self._ack_counts
        tracks = self._tracks
        for device in insight.devices():
            dsn = device.dsn
            cached = scopes.get(dsn)
            if cached is None or cached[0] != device.oem_model:
                mask = self._mask(dsn, device.oem_model, device.oem_id, device.tags)
                rules = tuple(r for r in rules_all if mask & self._bit[r.name])
                scopes[dsn] = cached = (device.oem_model, rules)
            for rule in cached[1]:
                when = rule.when
                key = (rule.name, dsn)
                if when is Condition.QUIET:  # (heard from within the minimum: not quiet, no rhythm to take)
                    last = device.last_heard
                    holds = last is not None and now - last > quiet_min and insight.is_quiet(device, now)
                elif when is Condition.FLAPPING:
                    holds = device.recent_flaps is not None and insight.is_flapping(device, now)
                elif when is Condition.RATE:
                    rate = device.rate.per_minute(now)
                    holds = (rule.above is not None and rate > rule.above) or (
                        rule.below is not None and rate < rule.below)
                else:  # ACK_MISSING
                    holds = _ack_missing(counts, key, device, key in tracks)
                if not holds and key not in tracks:
                    continue  # the common case: nothing to remember
                self._set(rule, dsn, None, holds, now, _insight_value(when, device, now))

    # -- reading -----------------------------------------------------------

    def open(self) -> list[AlertChange]:
        """The raises of the alerts open now, oldest first."""
        raised = [t.raised for t in self._tracks.values() if t.raised is not None]
        return sorted(raised, key=lambda c: (c.at, c.rule, c.subject))


def _ack_missing(counts: dict[tuple[str, str], tuple[int, int]], key: tuple[str, str], device: DeviceInsight,
                 holding: bool) -> bool:
    """A datapoint went unacked since the rule's last look (holds), or an
    ack came and none went missing (stops holding); else unchanged."""
    missing, acks = device.missing, device.acks
    before_missing, before_acks = counts.get(key, (0, 0))
    if missing == before_missing and acks == before_acks:
        return holding
    counts[key] = (missing, acks)
    return missing > before_missing


def _insight_value(when: Condition, device: DeviceInsight, now: float) -> object:
    """What an insight rule's detail shows."""
    if when is Condition.QUIET:
        return device.last_heard, device.typical_interval
    if when is Condition.FLAPPING:
        recent = device.recent_flaps
        return recent.last_hour(now) if recent is not None else 0
    if when is Condition.RATE:
        return device.rate.per_minute(now)
    return device.missing


def _ack_status(raw: str) -> tuple[int | None, object]:
    """A lean ack's ``ack_status`` and ``ack_message``, read from its JSON as
    :func:`~ayla_monitor.dss.frames.parse_event` reads them."""
    try:
        obj = loads_json(raw)
    except (ValueError, RecursionError):
        return None, None
    body = obj.get("datapoint") if isinstance(obj, dict) else None
    if not isinstance(body, dict):
        body = obj.get("datapointack") if isinstance(obj, dict) else None
        if not isinstance(body, dict):
            return None, None
    status = body.get("ack_status")
    if status.__class__ is not int:
        digits = status[1:] if isinstance(status, str) and status.startswith("-") else status
        status = int(str(status)) if isinstance(digits, str) and digits.isascii() and digits.isdigit() else None
    return status, body.get("ack_message")


def lean_tags(raw: str) -> tuple[str, ...]:
    """A lean event's resource tags, read from its JSON (the recorder's
    events do not keep them: read once per device, for tag scopes)."""
    try:
        obj = loads_json(raw)
    except (ValueError, RecursionError):
        return ()
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    tags = meta.get("resource_tags") if isinstance(meta, dict) else None
    return tuple(str(t) for t in tags if t is not None) if isinstance(tags, list) else ()


def _who(track: _Track) -> str:
    return f"stream {track.subject}" if track.stream is not None else track.subject


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value if len(value) <= 60 else value[:57] + "..."
    return str(value)


def _raise_detail(track: _Track, now: float) -> str:
    rule = track.rule
    who = _who(track)
    held = f" for {spoken_duration(rule.hold_s)}" if rule.hold_s else ""
    value = track.value
    when = rule.when
    if when is Condition.VALUE:
        prop = rule.property
        if rule.changes:
            before, after = value if isinstance(value, tuple) else (None, value)
            return f"{who}: {prop} changed from {_shown(before)} to {_shown(after)}"
        if rule.equals is not None:
            return f"{who}: {prop} is {_shown(value)}{held}"
        if rule.above is not None and rule.below is not None:
            band = f"outside {rule.below:g}..{rule.above:g}"
        elif rule.above is not None:
            band = f"above {rule.above:g}"
        else:
            band = f"below {rule.below:g}"
        return f"{who}: {prop} {_shown(value)} {band}{held}"
    if when is Condition.OFFLINE:
        since = track.since if track.since is not None else now
        return f"{who}: offline for {spoken_duration(now - since)}"
    if when is Condition.ACK_FAILED:
        prop, status, message = value if isinstance(value, tuple) else (None, None, None)
        return f"{who}: the ack of {prop} failed (status {status}, message {_shown(message)}){held}"
    if when is Condition.ACK_MISSING:
        return f"{who}: a datapoint got no ack in time ({value} missing so far){held}"
    if when is Condition.QUIET:
        last, rhythm = value if isinstance(value, tuple) else (None, None)
        silent = f"silent for {spoken_duration(now - last)}" if last is not None else "silent"
        usual = f", usually every {spoken_duration(rhythm)}" if rhythm is not None else ""
        return f"{who}: quiet: {silent}{usual}"
    if when is Condition.FLAPPING:
        return f"{who}: flapping: {value} online/offline changes in the last hour"
    if when is Condition.RATE:
        limit = f"above {rule.above:g}" if rule.above is not None and value > rule.above else f"below {rule.below:g}"
        return f"{who}: {_shown(value)} events per minute, {limit}{held}"
    if when is Condition.GAP:
        gaps, missing = value if isinstance(value, tuple) else (0, 0)
        return f"{who}: {gaps} open gap{'s' if gaps != 1 else ''} ({missing:,} seqs missing){held}"
    return f"{who}: down{held}"


def _clear_detail(track: _Track) -> str:
    rule = track.rule
    when = rule.when
    if when is Condition.VALUE:
        if rule.changes:
            return f"{rule.property} steady for {spoken_duration(rule.hold_s)}"
        return f"{rule.property} back to {_shown(track.value)}"
    return {
        Condition.OFFLINE: "online again",
        Condition.ACK_FAILED: "acks succeed again",
        Condition.ACK_MISSING: "acks arrive again",
        Condition.QUIET: "heard from again",
        Condition.FLAPPING: "no longer flapping",
        Condition.RATE: f"rate back to {_shown(track.value)} per minute",
        Condition.GAP: "no open gaps",
        Condition.STREAM_DOWN: "connected again",
    }[when]
