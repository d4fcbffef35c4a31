"""The connection doctor's model: steps, verdicts and the report (pure).

"Why can't I connect?" is answered one step at a time, in the order a
connection goes: the host's name, the proxy, TCP, TLS, the HTTP upgrade,
the first heartbeat, the event types against the subscription's type, and
the clock. Each step ends as a :class:`StepResult` with its time; the
first that fails names what is wrong, and the steps after it are skipped.
The I/O lives in :mod:`ayla_monitor.core.doctor`; everything here is text
in, text out, with times as parameters.

The report is plain text to paste into a support ticket: the key appears
masked only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ayla_monitor.dss.endpoints import HOSTS, base_url_for

__all__ = [
    "Outcome",
    "Step",
    "StepResult",
    "Diagnosis",
    "STEP_TITLES",
    "http_verdict",
    "event_types_verdict",
    "clock_verdict",
    "certificate_lines",
    "alternatives_for",
    "where_of",
    "CLOCK_TOLERANCE",
]

#: Event times this far from this machine's clock (either way) fail the clock step.
CLOCK_TOLERANCE = 300.0


class Outcome(enum.Enum):
    PASSED = "ok"
    FAILED = "FAILED"
    #: not needed here (TLS on ws://, a comparison without a subscription type)
    NOT_APPLICABLE = "n/a"
    #: not run: an earlier step failed
    SKIPPED = "skipped"

    @property
    def fine(self) -> bool:
        return self in (Outcome.PASSED, Outcome.NOT_APPLICABLE)


class Step(enum.Enum):
    DNS = "dns"
    PROXY = "proxy"
    TCP = "tcp"
    TLS = "tls"
    UPGRADE = "upgrade"
    HEARTBEAT = "heartbeat"
    EVENT_TYPES = "event_types"
    CLOCK = "clock"


STEP_TITLES = {
    Step.DNS: "Resolve the host",
    Step.PROXY: "Proxy",
    Step.TCP: "TCP connect",
    Step.TLS: "TLS",
    Step.UPGRADE: "HTTP upgrade",
    Step.HEARTBEAT: "First heartbeat",
    Step.EVENT_TYPES: "Event types",
    Step.CLOCK: "Clock offset",
}


@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    outcome: Outcome
    #: how long the step took (``None``: it did not run)
    seconds: float | None
    summary: str
    details: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return STEP_TITLES[self.step]


@dataclass(slots=True)
class Diagnosis:
    """The steps for one stream, and (after a rejection) where else the key works."""

    name: str
    display_url: str
    started: float
    steps: list[StepResult] = field(default_factory=list)
    #: one line per other host tried after a rejection
    alternatives: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every step passed (or did not apply)."""
        return bool(self.steps) and all(s.outcome.fine for s in self.steps)

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if s.outcome is Outcome.FAILED), None)

    def verdict(self) -> str:
        failed = self.failed
        if failed is None:
            return "Result: every step passed." if self.ok else "Result: not finished."
        return f"Result: FAILED at {failed.title}: {failed.summary}"

    def text(self, app_version: str = "") -> str:
        """The report, plain text."""
        when = datetime.fromtimestamp(self.started, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        head = f"Ayla Monitor {app_version} connection doctor, {when}".replace("  ", " ")
        lines = [head, f"Stream: {self.name}", f"URL: {self.display_url}", ""]
        for number, step in enumerate(self.steps, start=1):
            took = f"{step.seconds * 1000:,.0f} ms" if step.seconds is not None else "-"
            lines.append(f"{number}. {step.title:<17} {step.outcome.value:<8} {took:>9}  {step.summary}")
            lines.extend(f"{'':<40}{d}" for d in step.details)
        if self.alternatives:
            lines.append("")
            lines.append("Other hosts tried with this key:")
            lines.extend(f"  {line}" for line in self.alternatives)
        lines.append("")
        lines.append(self.verdict())
        return "\n".join(lines)


# -- verdicts ------------------------------------------------------------------


def http_verdict(status: int, host: str) -> str:
    """What an HTTP status at the upgrade means, in one sentence."""
    if status in (401, 403):
        return (
            f"HTTP {status}: {host} rejected the stream key (wrong key, a key of another region, "
            "deployment or client type, or a deleted subscription)"
        )
    if status == 404:
        return f"HTTP 404: wrong host or path: {host} has no stream there (check the URL, or the region and deployment)"
    if status == 400:
        return f"HTTP 400: {host} refused the request (check the URL and the replay window)"
    if status in (301, 302, 307, 308):
        return f"HTTP {status}: {host} redirects elsewhere (check the URL)"
    if 500 <= status <= 599:
        return f"HTTP {status}: {host} has a server error (try again later; Ayla's status page may say more)"
    return f"HTTP {status}: {host} answered instead of opening the stream"


def event_types_verdict(subscription_type: str | None, seen: Iterable[str]) -> tuple[Outcome, str]:
    """The event types received against the subscription's type."""
    types = sorted(set(seen))
    if not types:
        return Outcome.NOT_APPLICABLE, "no event arrived while waiting: nothing to compare"
    listed = ", ".join(types)
    if subscription_type is None:
        return (
            Outcome.NOT_APPLICABLE,
            f"received {listed}; the subscription's type is not known here (give the subscription JSON to compare)",
        )
    others = [t for t in types if t != subscription_type]
    if others:
        return (
            Outcome.FAILED,
            f"received {listed}, but the subscription is of type {subscription_type}: "
            "is this the right key?",
        )
    return Outcome.PASSED, f"received {listed}, as the subscription's type says"


def _parse_time(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def clock_verdict(event_time: str | None, received_at: float) -> tuple[Outcome, str]:
    """This machine's clock against an event's time (which also holds the
    delivery delay, so a few seconds ahead is normal)."""
    if event_time is None:
        return Outcome.NOT_APPLICABLE, "no event with a time arrived: nothing to compare"
    when = _parse_time(event_time)
    if when is None:
        return Outcome.NOT_APPLICABLE, f"the event's time {event_time[:40]!r} cannot be read"
    offset = received_at - when
    side = "ahead of" if offset >= 0 else "behind"
    sentence = f"this machine's clock is {abs(offset):,.1f} s {side} the event's time ({event_time})"
    if abs(offset) > CLOCK_TOLERANCE:
        return (
            Outcome.FAILED,
            sentence + f": more than {CLOCK_TOLERANCE / 60:.0f} minutes; check this machine's clock "
            "(or the event was an old one)",
        )
    return Outcome.PASSED, sentence


def certificate_lines(cert: dict[str, object], now: float) -> tuple[str, list[str]]:
    """(a summary, detail lines) for a peer certificate as ``ssl`` gives it."""
    subject = _flat(cert.get("subject"))
    issuer = _flat(cert.get("issuer"))
    details = [f"subject: {_text(subject)}", f"issuer: {_text(issuer)}"]
    summary = f"certificate for {subject.get('commonName', '?')}"
    expiry_text = str(cert.get("notAfter") or "")
    try:
        expires = datetime.strptime(expiry_text, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC).timestamp()
    except ValueError:
        details.append(f"expires: {expiry_text or 'unknown'}")
        return summary, details
    days = (expires - now) / 86400
    stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d")
    details.append(f"expires: {stamp}")
    expiry = f"expires {stamp} (in {days:,.0f} days)" if days >= 0 else f"EXPIRED on {stamp}"
    return f"{summary}, {expiry}", details


def _flat(value: object) -> dict[str, str]:
    """``ssl``'s ((('commonName', 'x'),), ...) as a dict."""
    out: dict[str, str] = {}
    if isinstance(value, (tuple, list)):
        for rdn in value:
            if isinstance(rdn, (tuple, list)):
                for pair in rdn:
                    if isinstance(pair, (tuple, list)) and len(pair) == 2:
                        out[str(pair[0])] = str(pair[1])
    return out


def _text(names: dict[str, str]) -> str:
    short = {"commonName": "CN", "organizationName": "O", "countryName": "C", "organizationalUnitName": "OU"}
    return ", ".join(f"{short.get(k, k)}={v}" for k, v in names.items()) or "(none)"


# -- where else to try ---------------------------------------------------------


def where_of(base_url: str) -> tuple[str, str, str] | None:
    """(client type, region, deployment) of a documented stream URL, or ``None``."""
    host = urlsplit(base_url).hostname
    for where, known in HOSTS.items():
        if known == host:
            return where
    return None


def alternatives_for(base_url: str) -> list[tuple[tuple[str, str, str], str]]:
    """The other documented hosts to try a rejected key on: ((client type,
    region, deployment), URL). None for a custom URL (a private deployment,
    a simulator): there is nowhere else to look."""
    current = where_of(base_url)
    if current is None:
        return []
    return [(where, base_url_for(*where)) for where in HOSTS if where != current]
