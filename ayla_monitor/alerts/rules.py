"""Alert rules: what ``alerts.toml`` says, read, checked and written back.

The file (documented field by field in the README's "Alerts" section)::

    [defaults]                # optional
    repeat = "10m"            # a subject re-raises at most once per this

    [[rule]]
    name = "freezer too warm"
    when = "value"            # a :class:`Condition`
    property = "temperature"
    above = -15.0             # or below, equals, changes
    for = "5m"                # the condition must hold this long
    oem_model = "freezer*"    # scope: dsn, oem_model, oem_id, tag (globs); stream for stream rules
    notify = ["desktop"]      # desktop, exec
    severity = "alert"        # or "warning"

Reading never raises on what the user wrote: :func:`parse_rules` returns a
:class:`RuleSet` with the rules that are good and one :class:`RuleProblem`
(file, line, rule, reason) per thing that is not; a bad rule is left out,
the others still run. :func:`check_rules` then compares good rules with what
is known of the fleet (issue 13, point 5) and :func:`matching` says which
devices a rule covers now (the rule editor's preview).

:func:`format_rules` writes TOML by hand: the standard library reads TOML
(``tomllib``) but does not write it, and the subset written here (strings,
numbers, booleans, arrays of strings) is small enough not to need a
dependency. What it writes reads back to equal rules (a test holds that).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ayla_monitor.fleet.device import NUMERIC_TYPES, DeviceState
from ayla_monitor.fleet.insight import FleetInsight

__all__ = [
    "Condition",
    "DESCRIPTIONS",
    "DEVICE_CONDITIONS",
    "STREAM_CONDITIONS",
    "INSIGHT_CONDITIONS",
    "Scope",
    "Rule",
    "RuleProblem",
    "RuleSet",
    "DeviceFacts",
    "DEFAULT_REPEAT_S",
    "NOTIFIERS",
    "SEVERITIES",
    "parse_duration",
    "format_duration",
    "parse_rules",
    "rule_from_table",
    "load_rules",
    "format_rules",
    "check_rules",
    "matching",
    "facts_of",
]


class Condition(StrEnum):
    """What a rule watches (``when = ...``)."""

    #: the device has been offline for ``for``
    OFFLINE = "offline"
    #: the insight finds the device quiet (silent much longer than its own rhythm)
    QUIET = "quiet"
    #: the insight finds the device flapping (online/offline changes in the last hour)
    FLAPPING = "flapping"
    #: the device's latest ack (of ``property``, if given) failed
    ACK_FAILED = "ack_failed"
    #: a datapoint of the device got no ack within the insight's ack timeout
    ACK_MISSING = "ack_missing"
    #: the stream has open gaps in its seqs
    GAP = "gap"
    #: the stream is not connected
    STREAM_DOWN = "stream_down"
    #: ``property``'s value is above/below/equals a threshold, or changes
    VALUE = "value"
    #: the device's events per minute are above/below a threshold
    RATE = "rate"


#: one line per condition, for menus and tooltips
DESCRIPTIONS: dict[Condition, str] = {
    Condition.OFFLINE: "The device has been offline for the rule's 'for'",
    Condition.QUIET: "The device is silent much longer than its own rhythm",
    Condition.FLAPPING: "The device goes online and offline too often (in the last hour)",
    Condition.ACK_FAILED: "The device's latest ack (of 'property', if given) failed",
    Condition.ACK_MISSING: "A datapoint sent to the device got no ack in time",
    Condition.GAP: "The stream has open gaps in its sequence numbers",
    Condition.STREAM_DOWN: "The stream is not connected",
    Condition.VALUE: "A property's value is above, below or equal to a threshold, or changes",
    Condition.RATE: "The device sends more (or fewer) events per minute than a threshold",
}

#: conditions about one stream (the subject is the stream's name)
STREAM_CONDITIONS = frozenset({Condition.GAP, Condition.STREAM_DOWN})
#: conditions about one device (the subject is its DSN)
DEVICE_CONDITIONS = frozenset(set(Condition) - STREAM_CONDITIONS)
#: conditions read from a :class:`~ayla_monitor.fleet.insight.FleetInsight`
INSIGHT_CONDITIONS = frozenset({Condition.QUIET, Condition.FLAPPING, Condition.ACK_MISSING, Condition.RATE})

#: the no-storm interval when neither the rule nor ``[defaults]`` sets one
DEFAULT_REPEAT_S = 600.0
NOTIFIERS = ("desktop", "exec")
SEVERITIES = ("warning", "alert")

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*")


def parse_duration(value: object) -> float | None:
    """Seconds from ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"``, ``"45"`` or a
    bare number of seconds; ``None`` when it is none of these (or negative)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    total, at = 0.0, 0
    while at < len(text):
        match = _DURATION.match(text, at)
        if match is None or match.end() == at:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        at = match.end()
    return total


def format_duration(seconds: float) -> str:
    """The shortest of ``"2d"``, ``"5m"``, ``"1h30m"``, ``"90s"`` that reads
    back (:func:`parse_duration`) to ``seconds``."""
    if seconds <= 0:
        return "0s"
    if seconds != int(seconds):
        return f"{seconds!r}s"
    left = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            count, left = divmod(left, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)


def spoken_duration(seconds: float) -> str:
    """``"5 min"``, ``"1 h 30 min"``, ``"45 s"``: for alert details."""
    left = round(seconds)
    if left < 60:
        return f"{left} s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if left >= size:
            count, left = divmod(left, size)
            parts.append(f"{count} {unit}")
    return " ".join(parts[:2])


@dataclass(frozen=True, slots=True)
class Scope:
    """Which devices (or streams) a rule covers: each field a glob
    (``fnmatch``, case-sensitive as DSS names are) or ``None`` for any. A
    device matches when every given field matches; ``tag`` matches when any
    of its resource tags does. ``stream`` is for stream rules only."""

    dsn: str | None = None
    oem_model: str | None = None
    oem_id: str | None = None
    tag: str | None = None
    stream: str | None = None

    def matches(self, dsn: str | None, oem_model: str | None, oem_id: str | None,
                tags: Iterable[str] = ()) -> bool:
        """Whether a device is in scope (``dsn`` ``None``: the DSN is not
        looked at, for the evaluator's cache of model/OEM/tag matches)."""
        if self.dsn is not None and dsn is not None and not _glob_match(self.dsn)(dsn):
            return False
        if self.oem_model is not None and (oem_model is None or not _glob_match(self.oem_model)(oem_model)):
            return False
        if self.oem_id is not None and (oem_id is None or not _glob_match(self.oem_id)(oem_id)):
            return False
        if self.tag is None:
            return True
        match = _glob_match(self.tag)
        return any(match(tag) for tag in tags)

    def matches_stream(self, name: str) -> bool:
        return self.stream is None or _glob_match(self.stream)(name) is not None

    @property
    def on_devices(self) -> bool:
        """Whether any device field is set (a device rule with none covers every device)."""
        return any(v is not None for v in (self.dsn, self.oem_model, self.oem_id, self.tag))

    def items(self) -> list[tuple[str, str]]:
        """The given fields as ``(key, glob)``, in file order."""
        return [(k, v) for k, v in (("dsn", self.dsn), ("oem_model", self.oem_model), ("oem_id", self.oem_id),
                                    ("tag", self.tag), ("stream", self.stream)) if v is not None]


Threshold = float | str | bool


@functools.lru_cache(maxsize=1024)
def _glob_match(glob: str) -> Callable[[str], re.Match[str] | None]:
    """A compiled glob's ``match`` (what ``fnmatchcase`` does, without its
    calls on every device)."""
    return re.compile(fnmatch.translate(glob)).match


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``[[rule]]``. ``hold_s`` is the file's ``for`` (for ``offline``:
    how long offline). For ``value``: ``above``/``below`` (numbers; both
    given: outside that band), ``equals`` (a number, text or true/false) or
    ``changes``. For ``rate``: ``above``/``below`` in events per minute.
    ``repeat_s``: a subject that re-raises within this of its last raise is
    held back until it has passed. ``line``: where the rule starts in its
    file (not compared: a rule moved in the file is the same rule)."""

    # (before the field named ``property``, which hides the builtin below it)
    @property
    def on_stream(self) -> bool:
        """A rule about streams (the subject is a stream's name)."""
        return self.when in STREAM_CONDITIONS

    name: str
    when: Condition
    property: str | None = None
    above: float | None = None
    below: float | None = None
    equals: Threshold | None = None
    changes: bool = False
    hold_s: float = 0.0
    scope: Scope = field(default_factory=Scope)
    notify: tuple[str, ...] = ("desktop",)
    repeat_s: float = DEFAULT_REPEAT_S
    severity: str = "alert"
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """Something wrong with the rules file or one rule, said so that the user
    can find and fix it."""

    path: str
    line: int | None
    rule: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.rule is not None:
            return f"{where}: rule {self.rule!r}: {self.message}"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The good rules of a file, in file order, and its problems."""

    rules: tuple[Rule, ...] = ()
    problems: tuple[RuleProblem, ...] = ()
    path: str = "alerts.toml"

    def __bool__(self) -> bool:
        return bool(self.rules)


_RULE_KEYS = {
    "name", "when", "property", "above", "below", "equals", "changes", "for", "dsn", "oem_model",
    "oem_id", "tag", "stream", "notify", "repeat", "severity",
}
_DEFAULT_KEYS = {"repeat", "notify", "severity"}
_TOP_KEYS = {"rule", "defaults"}
_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")
_TOML_LINE = re.compile(r"at line (\d+)")


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "a list"
    return str(value)


class _Lines:
    """Where each ``[[rule]]`` and each of its keys starts in the text (tomllib
    gives values, not positions)."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[int, dict[str, int]]] = []
        self.defaults: dict[str, int] = {}
        current: dict[str, int] | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if _HEADER.match(line):
                current = {}
                self.rules.append((number, current))
                continue
            if line.lstrip().startswith("["):
                current = self.defaults if line.strip().startswith("[defaults") else None
                continue
            match = _KEY.match(line)
            if match is not None and current is not None:
                current.setdefault(match.group(1).strip('"'), number)

    def rule(self, index: int) -> tuple[int | None, dict[str, int]]:
        if index < len(self.rules):
            return self.rules[index]
        return None, {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _glob(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_rules(text: str, path: str = "alerts.toml", *, default_repeat_s: float = DEFAULT_REPEAT_S) -> RuleSet:
    """The rules in ``text`` (see the module doc). Never raises on its content."""
    problems: list[RuleProblem] = []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        message = _TOML_LINE.sub("", str(exc)).replace("(, column", "(column").strip()
        message = re.sub(r"\s*\(\s*column \d+\)", "", message).strip() or "not valid TOML"
        return RuleSet((), (RuleProblem(path, int(match.group(1)) if match else None, None,
                                        f"not valid TOML: {message}"),), path)
    lines = _Lines(text)
    for key in doc:
        if key not in _TOP_KEYS:
            problems.append(RuleProblem(path, None, None, f"unknown key {key!r} (expected [[rule]] or [defaults])"))
    defaults: dict[str, Any] = {"repeat_s": default_repeat_s, "notify": ("desktop",), "severity": "alert"}
    raw_defaults = doc.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        problems.append(RuleProblem(path, None, None, "'defaults' must be a table ([defaults])"))
        raw_defaults = {}
    for key, value in raw_defaults.items():
        line = lines.defaults.get(key)
        if key not in _DEFAULT_KEYS:
            problems.append(RuleProblem(path, line, None, f"unknown key {key!r} in [defaults] "
                                        f"(known: {', '.join(sorted(_DEFAULT_KEYS))})"))
            continue
        try:
            defaults.update(_field(key, value))
        except _Bad as exc:
            problems.append(RuleProblem(path, line, None, f"[defaults]: {exc}"))
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        problems.append(RuleProblem(path, None, None, "'rule' must be an array of tables ([[rule]])"))
        raw_rules = []
    rules: list[Rule] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_rules):
        start, key_lines = lines.rule(index)
        if not isinstance(raw, dict):
            problems.append(RuleProblem(path, start, None, "each rule must be a table ([[rule]])"))
            continue
        name = raw.get("name")
        label = name if isinstance(name, str) and name.strip() else None
        found: list[RuleProblem] = []

        def bad(message: str, key: str | None = None, *, _found: list[RuleProblem] = found,
                _label: str | None = label, _start: int | None = start,
                _keys: dict[str, int] = key_lines) -> None:
            _found.append(RuleProblem(path, _keys.get(key, _start) if key else _start, _label, message))

        rule = _rule(raw, defaults, bad, start or 0)
        if rule is not None and rule.name in names:
            bad(f"another rule is already named {rule.name!r} (names must differ: an alert is per rule)", "name")
            rule = None
        if rule is not None and not found:
            names.add(rule.name)
            rules.append(rule)
        problems.extend(found)
    return RuleSet(tuple(rules), tuple(problems), path)


def rule_from_table(raw: Mapping[str, object], path: str = "alerts.toml", line: int | None = None, *,
                    default_repeat_s: float = DEFAULT_REPEAT_S) -> tuple[Rule | None, list[RuleProblem]]:
    """One rule from a table of raw values (as TOML would give them: the
    rule editor's form), with its problems; ``None`` when it has any."""
    found: list[RuleProblem] = []
    name = raw.get("name")
    label = name if isinstance(name, str) and name.strip() else None

    def bad(message: str, key: str | None = None) -> None:
        found.append(RuleProblem(path, line, label, message))

    defaults: dict[str, Any] = {"repeat_s": default_repeat_s, "notify": ("desktop",), "severity": "alert"}
    rule = _rule(dict(raw), defaults, bad, line or 0)
    return (rule if not found else None), found


class _Bad(Exception):
    """One field's problem (internal to parsing)."""


def _field(key: str, value: object) -> dict[str, Any]:
    """A ``[defaults]`` or rule field shared by both, checked."""
    if key == "repeat":
        seconds = parse_duration(value)
        if seconds is None:
            raise _Bad(f"'repeat' needs a duration like \"10m\", \"90s\" or a number of seconds, got {_shown(value)}")
        return {"repeat_s": seconds}
    if key == "notify":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise _Bad(f"'notify' needs a list of {', '.join(NOTIFIERS)}, got {_shown(value)}")
        unknown = [v for v in items if v not in NOTIFIERS]
        if unknown:
            raise _Bad(f"'notify' knows {', '.join(NOTIFIERS)}, not {', '.join(map(repr, unknown))}")
        return {"notify": tuple(dict.fromkeys(items))}
    if key == "severity":
        if value not in SEVERITIES:
            raise _Bad(f"'severity' is one of {', '.join(SEVERITIES)}, got {_shown(value)}")
        return {"severity": value}
    raise _Bad(f"unknown key {key!r}")


def _rule(raw: dict[str, Any], defaults: dict[str, Any], bad: Any, line: int) -> Rule | None:
    """One rule from its table, or ``None`` after telling ``bad`` why not."""
    ok = True
    for key in raw:
        if key not in _RULE_KEYS:
            bad(f"unknown key {key!r} (known: {', '.join(sorted(_RULE_KEYS))})", key)
            ok = False
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        bad("needs a 'name' (text)", "name")
        return None
    when_text = raw.get("when")
    try:
        when = Condition(when_text if isinstance(when_text, str) else "")
    except ValueError:
        bad(f"'when' is one of {', '.join(c.value for c in Condition)}, got {_shown(when_text)}", "when")
        return None
    values: dict[str, Any] = dict(defaults)
    for key in ("repeat", "notify", "severity"):
        if key in raw:
            try:
                values.update(_field(key, raw[key]))
            except _Bad as exc:
                bad(str(exc), key)
                ok = False
    hold = 0.0
    if "for" in raw:
        seconds = parse_duration(raw["for"])
        if seconds is None:
            bad(f"'for' needs a duration like \"5m\", \"30s\" or a number of seconds, got {_shown(raw['for'])}", "for")
            ok = False
        else:
            hold = seconds
    globs: dict[str, str | None] = {}
    for key in ("dsn", "oem_model", "oem_id", "tag", "stream"):
        if key in raw:
            glob = _glob(raw[key])
            if glob is None:
                bad(f"'{key}' needs a name or a glob like \"AC000W*\", got {_shown(raw[key])}", key)
                ok = False
            globs[key] = glob
    scope = Scope(**globs)
    on_stream = when in STREAM_CONDITIONS
    if on_stream and scope.on_devices:
        given = [k for k in ("dsn", "oem_model", "oem_id", "tag") if k in raw]
        bad(f"a {when.value} rule is about streams: scope it with 'stream', not {', '.join(map(repr, given))}",
            given[0])
        ok = False
    if not on_stream and scope.stream is not None:
        bad(f"'stream' scopes gap and stream_down rules only; a {when.value} rule is about devices", "stream")
        ok = False
    prop = raw.get("property")
    if "property" in raw and (not isinstance(prop, str) or not prop):
        bad(f"'property' needs a property name, got {_shown(prop)}", "property")
        return None
    above = below = None
    for key in ("above", "below"):
        if key in raw:
            number = _number(raw[key])
            if number is None:
                bad(f"'{key}' needs a number, got {_shown(raw[key])}", key)
                ok = False
            elif key == "above":
                above = number
            else:
                below = number
    equals: Threshold | None = None
    if "equals" in raw:
        value = raw["equals"]
        if isinstance(value, bool) or isinstance(value, str):
            equals = value
        elif _number(value) is not None:
            equals = float(value)
        else:
            bad(f"'equals' needs a number, text or true/false, got {_shown(value)}", "equals")
            ok = False
    changes = raw.get("changes", False)
    if not isinstance(changes, bool):
        bad(f"'changes' is true or false, got {_shown(changes)}", "changes")
        ok = False
        changes = False
    thresholds = [k for k in ("above", "below", "equals", "changes") if k in raw and raw[k] is not False]
    if when is Condition.VALUE:
        if prop is None:
            bad("a value rule needs a 'property'", None)
            ok = False
        if not thresholds:
            bad("a value rule needs 'above', 'below', 'equals' or 'changes = true'", None)
            ok = False
        elif ("equals" in thresholds or "changes" in thresholds) and len(thresholds) > 1:
            bad(f"give one of 'above'/'below', 'equals' or 'changes', not {' and '.join(thresholds)}",
                thresholds[1])
            ok = False
        if above is not None and below is not None and below >= above:
            # both: outside the band below..above, which needs below < above
            bad(f"with both, 'below' ({below:g}) must be less than 'above' ({above:g}): the alert is for a value "
                "outside that band", "below")
            ok = False
    elif when is Condition.RATE:
        if not ({"above", "below"} & set(thresholds)):
            bad("a rate rule needs 'above' or 'below' (events per minute)", None)
            ok = False
        for key in ("equals", "changes"):
            if key in thresholds:
                bad(f"'{key}' is for value rules; a rate rule takes 'above' or 'below'", key)
                ok = False
    else:
        for key in thresholds:
            bad(f"'{key}' is for value and rate rules, not {when.value}", key)
            ok = False
    if prop is not None and when not in (Condition.VALUE, Condition.ACK_FAILED):
        bad(f"'property' is for value and ack_failed rules, not {when.value}", "property")
        ok = False
    if not ok:
        return None
    return Rule(
        name=name.strip(), when=when, property=prop, above=above, below=below, equals=equals, changes=changes,
        hold_s=hold, scope=scope, notify=values["notify"], repeat_s=values["repeat_s"],
        severity=values["severity"], line=line,
    )


def load_rules(path: Path | str, *, default_repeat_s: float = DEFAULT_REPEAT_S) -> RuleSet:
    """The rules of the file at ``path``: a missing file has no rules and no
    problem; one that cannot be read or decoded is one problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RuleSet((), (), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return RuleSet((), (RuleProblem(str(path), None, None, f"cannot be read: {reason}"),), str(path))
    return parse_rules(text, str(path), default_repeat_s=default_repeat_s)


# -- writing ---------------------------------------------------------------

def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Threshold | float | tuple[str, ...]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_string(v) for v in value) + "]"
    return repr(float(value))


def format_rules(rules: Sequence[Rule], *, default_repeat_s: float = DEFAULT_REPEAT_S) -> str:
    """TOML that :func:`parse_rules` reads back to ``rules`` (every field
    written where it differs from what the parser would assume)."""
    out = [
        "# Ayla Monitor alert rules: every field is described in the README's \"Alerts\" section.",
        "",
    ]
    for rule in rules:
        out.append("[[rule]]")
        out.append(f"name = {_toml_string(rule.name)}")
        out.append(f"when = {_toml_string(rule.when.value)}")
        if rule.property is not None:
            out.append(f"property = {_toml_string(rule.property)}")
        for key in ("above", "below", "equals"):
            value = getattr(rule, key)
            if value is not None:
                out.append(f"{key} = {_toml_value(value)}")
        if rule.changes:
            out.append("changes = true")
        if rule.hold_s:
            out.append(f"for = {_toml_string(format_duration(rule.hold_s))}")
        for key, glob in rule.scope.items():
            out.append(f"{key} = {_toml_string(glob)}")
        out.append(f"notify = {_toml_value(rule.notify)}")
        if rule.repeat_s != default_repeat_s:
            out.append(f"repeat = {_toml_string(format_duration(rule.repeat_s))}")
        if rule.severity != "alert":
            out.append(f"severity = {_toml_string(rule.severity)}")
        out.append("")
    return "\n".join(out)


# -- against the fleet -------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What is known of one device, for :func:`check_rules` and
    :func:`matching`: ``properties`` maps each property seen to its base type."""

    dsn: str
    oem_model: str | None = None
    oem_id: str | None = None
    tags: tuple[str, ...] = ()
    properties: Mapping[str, str | None] = field(default_factory=dict)


def facts_of(devices: Iterable[DeviceState], insight: FleetInsight | None = None) -> list[DeviceFacts]:
    """Facts from the one device model (properties and their base types) and
    the insight (resource tags, which the device model does not keep; devices
    only the insight knows come with no properties)."""
    found: dict[str, DeviceFacts] = {}
    for device in devices:
        tags: tuple[str, ...] = ()
        if insight is not None:
            known = insight.device(device.dsn)
            tags = known.tags if known is not None else ()
        found[device.dsn] = DeviceFacts(
            device.dsn, device.oem_model, device.oem_id, tags,
            {name: state.base_type for name, state in device.properties.items()},
        )
    if insight is not None:
        for known in insight.devices():
            if known.dsn not in found:
                found[known.dsn] = DeviceFacts(known.dsn, known.oem_model, known.oem_id, known.tags, {})
    return [found[dsn] for dsn in sorted(found)]


def _in_scope(rule: Rule, facts: Iterable[DeviceFacts]) -> list[DeviceFacts]:
    scope = rule.scope
    return [f for f in facts if scope.matches(f.dsn, f.oem_model, f.oem_id, f.tags)]


def matching(rule: Rule, facts: Iterable[DeviceFacts]) -> list[str]:
    """The DSNs ``rule`` covers now, sorted: the devices in its scope (for a
    rule on a property, those that have sent it). Stream rules cover no device."""
    if rule.on_stream:
        return []
    covered = _in_scope(rule, facts)
    if rule.property is not None:
        covered = [f for f in covered if rule.property in f.properties]
    return sorted(f.dsn for f in covered)


def check_rules(rules: Iterable[Rule], facts: Sequence[DeviceFacts], path: str = "alerts.toml") -> list[RuleProblem]:
    """Rules that cannot do what they say against the fleet as known
    (issue 13, point 5): a scope glob that matches no known device, a
    property no device in scope has sent, a number threshold on a property
    that is not numeric. Nothing is said while no device is known."""
    if not facts:
        return []
    # Facts from the database have no resource tags (the device model does
    # not keep them): with no tag known at all, tag scopes are not judged.
    tags_known = any(f.tags for f in facts)
    problems: list[RuleProblem] = []
    for rule in rules:
        if rule.on_stream:
            continue
        if not tags_known and rule.scope.tag is not None:
            rule = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, tag=None))

        def say(message: str, _rule: Rule = rule) -> None:
            problems.append(RuleProblem(path, _rule.line or None, _rule.name, message))

        dead = False
        for key, glob in rule.scope.items():
            if key == "tag":
                hit = any(fnmatchcase(t, glob) for f in facts for t in f.tags)
            else:
                hit = any((v := getattr(f, key)) is not None and fnmatchcase(v, glob) for f in facts)
            if not hit:
                say(f"{key} {glob!r} matches none of the {len(facts):,} known devices")
                dead = True
        if dead:
            continue
        scoped = _in_scope(rule, facts)
        if not scoped:
            say(f"its scope ({', '.join(f'{k} {g!r}' for k, g in rule.scope.items())}) matches no known device")
            continue
        prop = rule.property
        if prop is None:
            continue
        types = {f.properties[prop] for f in scoped if prop in f.properties}
        if not types:
            elsewhere = sum(1 for f in facts if prop in f.properties)
            tail = f" ({elsewhere:,} devices outside its scope have)" if elsewhere else ""
            say(f"no device in its scope has a property {prop!r}{tail}")
            continue
        if rule.above is not None or rule.below is not None or isinstance(rule.equals, float):
            other = sorted(t or "unknown" for t in types if t not in NUMERIC_TYPES and t != "boolean")
            if other:
                key = "above" if rule.above is not None else "below" if rule.below is not None else "equals"
                say(f"'{key}' needs a number but {prop!r} is a {' / '.join(other)} property")
    return problems
