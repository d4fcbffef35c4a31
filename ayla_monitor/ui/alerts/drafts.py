"""The rule editor's forms as data: a :class:`Draft` per rule holds what the
user typed (a wrong value stays as typed until fixed), and :func:`check_drafts`
runs each through the checks that read ``alerts.toml``
(:func:`~ayla_monitor.alerts.rules.rule_from_table`), so the editor refuses exactly
what the window and the recorder would refuse, with the same words; then
:func:`~ayla_monitor.alerts.rules.check_rules` says what does not fit the
fleet as known. No Qt here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ayla_monitor.alerts.rules import (
    DEFAULT_REPEAT_S,
    STREAM_CONDITIONS,
    Condition,
    DeviceFacts,
    Rule,
    check_rules,
    format_duration,
    rule_from_table,
)

__all__ = ["Draft", "Checked", "COMPARISONS", "check_drafts", "write_atomically", "DEVICE_SCOPE", "takes_property",
           "takes_threshold"]

#: how a value (or rate) rule compares: the file's keys each one writes
COMPARISONS = {
    "above": "above",
    "below": "below",
    "outside": "outside a band (below … or above …)",
    "equals": "equals",
    "changes": "changes",
}
DEVICE_SCOPE = ("dsn", "oem_model", "oem_id", "tag")


def takes_property(when: str) -> bool:
    return when in (Condition.VALUE.value, Condition.ACK_FAILED.value)


def takes_threshold(when: str) -> bool:
    return when in (Condition.VALUE.value, Condition.RATE.value)


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


@dataclass
class Draft:
    """One rule's form, as typed."""

    name: str = ""
    when: str = Condition.OFFLINE.value
    property: str = ""
    compare: str = "above"
    #: the threshold (``outside``: the band's low end, ``below``)
    value: str = ""
    #: ``outside`` only: the band's high end (``above``)
    high: str = ""
    hold: str = ""
    scope: dict[str, str] = field(default_factory=dict)
    desktop: bool = True
    exec: bool = False
    severity: str = "alert"
    #: empty: the file's default
    repeat: str = ""

    @classmethod
    def of(cls, rule: Rule, default_repeat_s: float = DEFAULT_REPEAT_S) -> Draft:
        compare, value, high = "above", "", ""
        if rule.changes:
            compare = "changes"
        elif rule.equals is not None:
            compare = "equals"
            value = ("true" if rule.equals else "false") if isinstance(rule.equals, bool) else (
                f"{rule.equals:g}" if isinstance(rule.equals, float) else rule.equals)
        elif rule.above is not None and rule.below is not None:
            compare, value, high = "outside", f"{rule.below:g}", f"{rule.above:g}"
        elif rule.below is not None:
            compare, value = "below", f"{rule.below:g}"
        elif rule.above is not None:
            value = f"{rule.above:g}"
        return cls(
            name=rule.name, when=rule.when.value, property=rule.property or "", compare=compare, value=value,
            high=high, hold=format_duration(rule.hold_s) if rule.hold_s else "", scope=dict(rule.scope.items()),
            desktop="desktop" in rule.notify, exec="exec" in rule.notify, severity=rule.severity,
            repeat="" if rule.repeat_s == default_repeat_s else format_duration(rule.repeat_s),
        )

    def table(self) -> dict[str, object]:
        """The ``[[rule]]`` table this form says (only the fields its condition takes)."""
        raw: dict[str, object] = {"name": self.name.strip(), "when": self.when}
        if takes_property(self.when) and self.property.strip():
            raw["property"] = self.property.strip()
        if takes_threshold(self.when):
            value, high = self.value.strip(), self.high.strip()
            if self.compare in ("above", "below") and value:
                raw[self.compare] = _number_or_text(value)
            elif self.compare == "outside":
                if value:
                    raw["below"] = _number_or_text(value)
                if high:
                    raw["above"] = _number_or_text(high)
            elif self.compare == "equals" and value:
                raw["equals"] = {"true": True, "false": False}.get(value.lower(), _number_or_text(value))
            elif self.compare == "changes":
                raw["changes"] = True
        if self.hold.strip():
            raw["for"] = self.hold.strip()
        keys = ("stream",) if self.when in {c.value for c in STREAM_CONDITIONS} else DEVICE_SCOPE
        for key in keys:
            glob = self.scope.get(key, "").strip()
            if glob:
                raw[key] = glob
        raw["notify"] = [n for n, on in (("desktop", self.desktop), ("exec", self.exec)) if on]
        if self.severity != "alert":
            raw["severity"] = self.severity
        if self.repeat.strip():
            raw["repeat"] = self.repeat.strip()
        return raw


@dataclass(frozen=True)
class Checked:
    """The drafts as the parser reads them."""

    #: the rule of each draft, or None where it has problems
    rules: tuple[Rule | None, ...]
    #: each draft's problems that keep it from being saved (the parser's words)
    errors: tuple[tuple[str, ...], ...]
    #: each draft's problems against the fleet as known (saving is allowed)
    warnings: tuple[tuple[str, ...], ...]

    @property
    def ok(self) -> bool:
        return not any(self.errors)

    def good_rules(self) -> list[Rule]:
        return [r for r in self.rules if r is not None]


def check_drafts(drafts: Sequence[Draft], facts: Sequence[DeviceFacts], path: str = "alerts.toml") -> Checked:
    """Every draft through the file's own checks (see the module doc)."""
    rules: list[Rule | None] = []
    errors: list[tuple[str, ...]] = []
    index: dict[str, int] = {}
    for i, draft in enumerate(drafts):
        rule, problems = rule_from_table(draft.table(), path)
        messages = [p.message for p in problems]
        if rule is not None and rule.name in index:
            messages.append(f"another rule is already named {rule.name!r} (names must differ: an alert is per rule)")
            rule = None
        if rule is not None:
            index[rule.name] = i
        rules.append(rule)
        errors.append(tuple(messages))
    warnings: list[list[str]] = [[] for _ in drafts]
    for problem in check_rules([r for r in rules if r is not None], facts, path):
        at = index.get(problem.rule or "")
        if at is not None:
            warnings[at].append(problem.message)
    return Checked(tuple(rules), tuple(errors), tuple(tuple(w) for w in warnings))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder
    and a rename: a reader (the recorder, another window) sees the old file or
    the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

