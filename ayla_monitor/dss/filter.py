"""Which events: one filter for the live log, History and export.

:class:`EventFilter` is plain data (frozen, hashable, comparable), so the
window's log, the History search, an export from either and the
``ayla-monitor export`` flags all say the same thing the same way; the store
turns it into SQL (``ayla_monitor.store.selection``) and the live log into a
row test (:meth:`EventFilter.matcher`). Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = ["EventFilter", "FilterableRow", "iso_of", "epoch_of"]


def iso_of(epoch: float) -> str:
    """``2018-09-24T10:26:37Z``, the form event times are stored in."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(text: str | None) -> float | None:
    """An event time (ISO 8601 text) as epoch seconds; ``None`` if unreadable.
    A time without a zone is UTC, as DSS sends it."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class FilterableRow(Protocol):
    """What :meth:`EventFilter.matcher` reads from a row (the live log's rows)."""

    event_type: str
    stream_id: int | None
    dsn: str | None
    property_name: str | None
    time: str | None
    malformed: bool


def _tuple(values: Sequence[Any] | str | None) -> tuple[Any, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):  # a lone string is one value, not its characters
        values = (values,)
    kept = tuple(v for v in values if v is not None and v != "")
    return kept or None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events; ``None`` means "any" (empty lists and blank text are
    made ``None``, so two filters that select the same are equal).

    - ``stream_ids``, ``event_types``, ``dsns``, ``property_names``: any of
      these, matched exactly;
    - ``property_like``: a case-insensitive substring of the property name;
    - ``text``: a case-insensitive substring of the value, the DSN or the
      property name (the live log also looks in the type and the JSON as
      received, which it holds);
    - ``since`` (inclusive) and ``until`` (exclusive): event time, epoch
      seconds (compared with the stored ISO text at whole seconds);
    - ``malformed``: only the kept bad frames, not events (streams and
      text apply to them). Without it a query of the database reads events;
      the live log shows bad frames too, unless a criterion of events
      (type, device, property, time) leaves them out;
    - ``descending``: newest first; ``limit``: at most this many.
    """

    # Any sequence in (a lone string is one value); kept as a tuple.
    stream_ids: Sequence[int] | None = None
    event_types: Sequence[str] | None = None
    dsns: Sequence[str] | None = None
    property_names: Sequence[str] | None = None
    property_like: str | None = None
    text: str | None = None
    since: float | None = None
    until: float | None = None
    malformed: bool = False
    descending: bool = False
    limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("stream_ids", "event_types", "dsns", "property_names"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        for name in ("property_like", "text"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                object.__setattr__(self, name, None)

    @property
    def empty(self) -> bool:
        """Whether it selects every event (order and limit aside)."""
        return not (self.stream_ids or self.event_types or self.dsns or self.property_names
                    or self.property_like or self.text or self.malformed
                    or self.since is not None or self.until is not None)

    @property
    def dsn(self) -> str | None:
        """The device, when exactly one is asked for."""
        return self.dsns[0] if self.dsns and len(self.dsns) == 1 else None

    @property
    def since_iso(self) -> str | None:
        return None if self.since is None else iso_of(self.since)

    @property
    def until_iso(self) -> str | None:
        return None if self.until is None else iso_of(self.until)

    def matcher(
        self, haystack: Callable[[Any], Iterable[str | None]]
    ) -> Callable[[FilterableRow], bool]:
        """A test of one row, with the needles prepared once (the live log
        tests every row). ``haystack(row)`` gives the texts ``text`` looks in."""
        malformed = self.malformed
        streams = frozenset(self.stream_ids) if self.stream_ids else None
        types = frozenset(self.event_types) if self.event_types else None
        dsns = frozenset(self.dsns) if self.dsns else None
        names = frozenset(self.property_names) if self.property_names else None
        like = self.property_like.casefold() if self.property_like else None
        needle = self.text.casefold() if self.text else None
        low, high = self.since_iso, self.until_iso

        def accepts(row: FilterableRow) -> bool:
            if malformed and not row.malformed:
                return False
            if streams is not None and row.stream_id not in streams:
                return False
            if not malformed:
                if types is not None and row.event_type not in types:
                    return False
                if dsns is not None and row.dsn not in dsns:
                    return False
                name = row.property_name
                if names is not None and name not in names:
                    return False
                if like is not None and (name is None or like not in name.casefold()):
                    return False
                if low is not None or high is not None:
                    when = row.time
                    if when is None or (low is not None and when < low) or (high is not None and when >= high):
                        return False
            if needle is not None:
                for hay in haystack(row):
                    if hay and needle in hay.casefold():
                        return True
                return False
            return True

        return accepts
