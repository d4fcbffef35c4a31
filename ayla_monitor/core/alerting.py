"""Alerts at work: the piece the recorder and the window share.

:class:`Alerting` holds the :class:`~ayla_monitor.alerts.evaluate.AlertEvaluator`
(and a :class:`~ayla_monitor.fleet.insight.FleetInsight` of its own when a
rule needs one and the caller has none), and splits a tick in three so
that the window never runs SQL on its GUI thread:

1. :meth:`Alerting.add` per batch of events (cheap; on the loop);
2. :meth:`Alerting.tick` about once a second: the raises and clears of that
   moment (pure, fast; on the loop);
3. :meth:`Alerting.record` stores them (blocking: a worker thread); only
   the changes this process recorded come back (another recorder into the
   same database may have recorded them first), and
   :meth:`Alerting.notify` hands those to the notifiers.

The headless recorder runs all three with :meth:`Alerting.run`.

Notifiers are callables ``(change, record)``, each registered for the
``notify`` channels it serves (``desktop``, ``exec``); a rule with
``notify = []`` is recorded and shown, never notified. A notifier that
raises is logged and the others still run.

What the fleet shows of the rules (issue 13, point 5): :meth:`Alerting.run`
reads, once the first devices are known, the devices and their properties
from the database (never per event), and warns once about the rules that
cannot match them (:func:`~ayla_monitor.alerts.rules.check_rules`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ayla_monitor.alerts.evaluate import AlertChange, AlertEvaluator, StreamFacts
from ayla_monitor.alerts.rules import DeviceFacts, RuleProblem, RuleSet, check_rules, facts_of
from ayla_monitor.core.status import StreamState, StreamStatus
from ayla_monitor.dss.events import DssEvent
from ayla_monitor.dss.keys import redact
from ayla_monitor.fleet.insight import FleetInsight
from ayla_monitor.store.alerts import AlertRecord
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import DatabaseUnavailable

__all__ = ["Alerting", "Notifier", "RecordedChange", "stream_facts"]

log = logging.getLogger(__name__)

#: ``(change, its stored record)``: called for each change this process recorded
Notifier = Callable[[AlertChange, AlertRecord], None]


@dataclass(frozen=True, slots=True)
class RecordedChange:
    """A change and the stored alert it made (the record has the alert's id)."""

    change: AlertChange
    record: AlertRecord


def stream_facts(statuses: Iterable[StreamStatus]) -> list[StreamFacts]:
    """The streams as stream rules see them: up when live, with their open gaps."""
    return [StreamFacts(s.name, s.state is StreamState.LIVE, s.open_gaps, s.missing) for s in statuses]


class Alerting:
    """Rules evaluated over what arrives; changes recorded, then notified.

    ``insight``: the caller's fleet insight, fed by the caller (the window
    has one); without it, one is kept here and fed by :meth:`add` when a
    rule needs it (events must then be typed: :attr:`needs_typed_events`).
    ``store``: where alerts are recorded (``None``: nothing is recorded and
    every change counts as this process's, for tests and previews)."""

    def __init__(self, ruleset: RuleSet, *, now: float, store: Store | None = None,
                 insight: FleetInsight | None = None) -> None:
        self.ruleset = ruleset
        self.store = store
        self.evaluator = AlertEvaluator(ruleset.rules, now=now)
        self._given_insight = insight
        self._own_insight: FleetInsight | None = None
        self._notifiers: list[tuple[frozenset[str], Notifier]] = []
        #: changes this process recorded
        self.raised = 0
        self.cleared = 0
        self._adopt_insight()

    def _adopt_insight(self) -> None:
        if self._given_insight is None and self.evaluator.needs_insight and self._own_insight is None:
            self._own_insight = FleetInsight()

    @property
    def insight(self) -> FleetInsight | None:
        return self._given_insight or self._own_insight

    @property
    def needs_typed_events(self) -> bool:
        """Whether :meth:`add` must get typed events (the insight kept here
        cannot read the recorder's lean ones)."""
        return self._own_insight is not None

    def add_notifier(self, notifier: Notifier, channels: Iterable[str] = ("desktop",)) -> None:
        """Call ``notifier`` for changes of rules that notify on any of ``channels``."""
        self._notifiers.append((frozenset(channels), notifier))

    def set_rules(self, ruleset: RuleSet, now: float) -> list[AlertChange]:
        """New rules (the file changed): the open alerts of rules kept as they
        were stay open; the others are cleared (returned: record them)."""
        self.ruleset = ruleset
        cleared = self.evaluator.set_rules(ruleset.rules, now)
        self._adopt_insight()
        return cleared

    def adopt(self, records: Iterable[AlertRecord]) -> int:
        """Alerts open in the database (a recorder's start): kept open, not
        raised again, cleared when their condition is seen to stop. How many
        belong to the current rules."""
        return sum(self.evaluator.adopt(r.rule, r.subject, r.dsn, r.stream, r.raised_at, r.detail)
                   for r in records if r.open)

    # -- 1. events ---------------------------------------------------------

    def add(self, events: Sequence[object], stream: str | None = None) -> None:
        """A batch of events (typed or lean; bad frames are skipped)."""
        self.evaluator.add_many(events, stream)
        insight = self._own_insight
        if insight is not None:
            for event in events:
                if isinstance(event, DssEvent):
                    insight.add(event, stream)

    # -- 2. the tick -------------------------------------------------------

    def tick(self, now: float, streams: Iterable[StreamFacts] = ()) -> list[AlertChange]:
        """The raises and clears at ``now`` (no I/O)."""
        return self.evaluator.evaluate(self.insight, now, streams)

    def problems(self, facts: Sequence[DeviceFacts]) -> list[RuleProblem]:
        """The rules that cannot match the devices known
        (:func:`~ayla_monitor.alerts.rules.check_rules`)."""
        return check_rules(self.ruleset.rules, facts, self.ruleset.path)

    # -- 3. recording and notifying ------------------------------------------

    def record(self, changes: Sequence[AlertChange]) -> list[RecordedChange]:
        """Store ``changes`` (blocking: call from a worker thread); the ones
        this process recorded. A database that fails is logged: the changes
        are lost for the database, the evaluation goes on."""
        store = self.store
        recorded: list[RecordedChange] = []
        if store is None:
            found: list[AlertRecord | None] = [_unstored(change) for change in changes]
        else:
            try:
                found = store.record_changes(changes)
            except DatabaseUnavailable as exc:
                log.error("%s alert change%s could not be recorded: %s", len(changes),
                          "" if len(changes) == 1 else "s", exc)
                return []
        for change, record in zip(changes, found, strict=True):
            if record is None:
                log.debug("Alert %r %s on %s: recorded by another recorder", change.rule, change.kind,
                          redact(change.subject))
                continue
            recorded.append(RecordedChange(change, record))
            if change.kind == "raised":
                self.raised += 1
            else:
                self.cleared += 1
        return recorded

    def notify(self, recorded: Iterable[RecordedChange]) -> None:
        """Hand each recorded change to the notifiers of its rule's channels."""
        for item in recorded:
            channels = set(item.change.notify)
            for served, notifier in self._notifiers:
                if served & channels:
                    try:
                        notifier(item.change, item.record)
                    except Exception:  # a notifier's bug: the others and the recording go on
                        log.exception("An alert notifier failed")

    async def run(self, streams: Callable[[], Iterable[StreamFacts]], *, every: float = 0.25,
                  clock: Callable[[], float] = time.time, warn: Callable[[str], None] | None = None,
                  check_after: float | None = 60.0) -> None:
        """Tick every ``every`` seconds until cancelled: evaluate, record in a
        thread, notify. (A quarter second: issue 13 wants the notification
        within 1 s of the moment a condition has held for its ``for``; a
        tick without changes costs a few ms, the insight's pass is made at
        most once a second.) ``check_after`` seconds after the start (or
        later, when no device is stored by then), the rules are checked
        against the devices in the store, once; what cannot match is said
        (``warn``, else the log)."""
        started = clock()
        checked = check_after is None or self.store is None
        while True:
            await asyncio.sleep(every)
            now = clock()
            changes = self.tick(now, streams())
            if changes:
                recorded = await asyncio.to_thread(self.record, changes)
                self.notify(recorded)
            if not checked and now - started >= check_after:  # type: ignore[operator]
                started = now  # (no device stored yet: looked at again after as long)
                store = self.store
                assert store is not None
                try:
                    devices = await asyncio.to_thread(store.device_states)
                except DatabaseUnavailable as exc:
                    log.info("The rules were not checked against the devices: %s", exc)
                    continue
                checked = bool(devices)
                for problem in self.problems(facts_of(devices, self.insight)):
                    (warn or log.warning)(f"Alert rules: {problem}")


def _unstored(change: AlertChange) -> AlertRecord:
    return AlertRecord(0, change.rule, change.condition, change.subject, change.dsn, change.stream,
                       change.raised_at, change.at if change.kind == "cleared" else None, change.detail, None, None,
                       change.severity, change.detail if change.kind == "cleared" else None)
