"""Redaction of captured frames: a customer's stream without the customer's secrets.

Pure code: text in, text out; the salt is a parameter (the writer draws a
random one per file and never stores it).

- ``dsn``: device serial numbers become pseudonyms of the same shape
  (digits stay digits, capitals capitals: ``AC000W000340649`` ->
  ``QX482B715093261``), the same device keeping the same pseudonym within
  a file, wherever the DSN appears in a frame;
- ``uuid``: users' UUIDs and ``ack_id``\\ s likewise (hex stays hex);
- ``location``: a location's ``lat``/``long`` rounded to 2 decimals (about a
  kilometre); ``location:N`` for N decimals, ``location:remove`` to remove them;
- ``ip``: a location's ``ip`` removed, and IPv4 addresses anywhere in a frame;
- ``values:PROP1,PROP2``: the values of those properties masked (a string
  becomes ``***``, a number 0, anything else ``***`` too).

A redacted frame stays one the parser reads as before: the same event type,
seq and fields, so a redacted capture replays like the original.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from ayla_monitor.capture.format import Redaction

__all__ = ["RedactionSpec", "parse_redaction", "Redactor", "CHOICES", "MASK"]

#: The choices, in the order the header lists them.
CHOICES = ("dsn", "uuid", "location", "ip", "values")
MASK = "***"
DEFAULT_DECIMALS = 2
_BODIES = ("connection", "datapoint", "datapointack", "location_event", "registration_event")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IP_MASK = "[ip]"
_PROPERTY = re.compile(r'"property_name"\s*:\s*"([^"]*)"')
#: What JSON text may escape: an identifier holding one of these is replaced in its field only.
_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f-\uffff]')


@dataclass(frozen=True, slots=True)
class RedactionSpec:
    """What to redact. ``decimals`` is ``None`` when locations are removed."""

    dsn: bool = False
    uuid: bool = False
    location: bool = False
    decimals: int | None = DEFAULT_DECIMALS
    ip: bool = False
    values: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return self.dsn or self.uuid or self.location or self.ip or bool(self.values)

    def describe(self) -> Redaction:
        """What the capture's header says was applied."""
        applied = [
            name
            for name, on in zip(
                CHOICES, (self.dsn, self.uuid, self.location, self.ip, bool(self.values)), strict=True
            )
            if on
        ]
        location = None
        if self.location:
            location = "remove" if self.decimals is None else f"round:{self.decimals}"
        return Redaction(tuple(applied), location, tuple(sorted(self.values)))

    def as_option(self) -> str:
        """The ``--redact`` text that gives this spec back."""
        parts = []
        if self.dsn:
            parts.append("dsn")
        if self.uuid:
            parts.append("uuid")
        if self.location:
            parts.append("location:remove" if self.decimals is None else f"location:{self.decimals}")
        if self.ip:
            parts.append("ip")
        if self.values:
            parts.append("values:" + ",".join(sorted(self.values)))
        return ",".join(parts)


def parse_redaction(text: str) -> RedactionSpec:
    """``dsn,uuid,location,ip,values:PROP1,PROP2`` as a spec; ValueError
    saying what is wrong. After ``values:``, names that are not a choice
    are property names."""
    dsn = uuid = location = ip = False
    decimals: int | None = DEFAULT_DECIMALS
    values: set[str] = set()
    in_values = False
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, arg = part.partition(":")
        name = name.strip().lower() if name.strip().lower() in CHOICES else name.strip()
        if name == "dsn" and not sep:
            dsn, in_values = True, False
        elif name == "uuid" and not sep:
            uuid, in_values = True, False
        elif name == "ip" and not sep:
            ip, in_values = True, False
        elif name == "location":
            location, in_values = True, False
            arg = arg.strip().lower()
            if arg in ("remove", "none"):
                decimals = None
            elif arg:
                if not arg.isdigit() or int(arg) > 6:
                    raise ValueError(
                        f"location:{arg} is not a choice: use location (2 decimals), location:N "
                        "(N decimals, 0 to 6) or location:remove"
                    )
                decimals = int(arg)
        elif name == "values":
            in_values = True
            if not arg.strip():
                raise ValueError("values: needs the property names to mask (values:PROP1,PROP2)")
            values.add(arg.strip())
        elif in_values and not sep:
            values.add(part)
        else:
            raise ValueError(
                f"{part!r} is not a redaction: choose from dsn, uuid, location (or location:N, "
                "location:remove), ip, values:PROP1,PROP2"
            )
    spec = RedactionSpec(dsn, uuid, location, decimals, ip, frozenset(values))
    if not spec.active:
        raise ValueError("--redact names nothing to redact (dsn, uuid, location, ip, values:PROP)")
    return spec


def _round(value: Any, decimals: int | None) -> Any:
    """A coordinate rounded (a string stays a string), or ``None`` to remove it."""
    if decimals is None or value is None:
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None  # not a coordinate: nothing of it is kept
    if number != number or number in (float("inf"), float("-inf")):
        return None
    rounded = round(number, decimals)
    return f"{rounded:.{decimals}f}" if isinstance(value, str) else rounded


def _mask(value: Any) -> Any:
    """A value masked: numbers 0 (their type kept), everything else ``***``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 0
    return MASK


class Redactor:
    """Redacts frames as :class:`RedactionSpec` says, with pseudonyms keyed by ``salt``."""

    def __init__(self, spec: RedactionSpec, salt: bytes) -> None:
        self.spec = spec
        self._salt = salt
        #: identifier -> pseudonym (DSNs, UUIDs, ack_ids), for this file.
        self._pseudonyms: dict[str, str] = {}
        #: the fields whose identifiers are replaced
        self._fields = (("dsn",) if spec.dsn else ()) + (("user_uuid", "ack_id") if spec.uuid else ())

    # -- pseudonyms ---------------------------------------------------------

    def pseudonym(self, ident: str) -> str:
        """The same-shape pseudonym of ``ident`` (stable for this redactor)."""
        found = self._pseudonyms.get(ident)
        if found is not None:
            return found
        hexish = all(c in "0123456789abcdefABCDEF-" for c in ident)
        stream = _keystream(self._salt, ident, len(ident))
        out = []
        for char, byte in zip(ident, stream, strict=False):
            if "0" <= char <= "9":
                out.append("0123456789"[byte % 10])
            elif hexish and char in "abcdef":
                out.append("abcdef"[byte % 6])
            elif hexish and char in "ABCDEF":
                out.append("ABCDEF"[byte % 6])
            elif "a" <= char <= "z":
                out.append(chr(ord("a") + byte % 26))
            elif "A" <= char <= "Z":
                out.append(chr(ord("A") + byte % 26))
            else:
                out.append(char)
        pseudonym = "".join(out)
        if pseudonym == ident and any(c.isalnum() for c in ident):  # vanishingly rare: never keep it
            pseudonym = self.pseudonym(ident + "\0")[: len(ident)]
        self._pseudonyms[ident] = pseudonym
        return pseudonym

    @property
    def known(self) -> dict[str, str]:
        """Identifiers seen so far and their pseudonyms."""
        return dict(self._pseudonyms)

    # -- frames -------------------------------------------------------------

    def frame(self, text: str) -> str:
        """One frame (``LENGTH|PAYLOAD``, or anything a server sent) redacted.
        A length prefix that was right is made right again; one that was
        wrong stays as it was."""
        if not self.spec.active:
            return text
        bar = text.find("|")
        if bar < 0:
            return self._text_only(text)
        prefix, payload = text[:bar], text[bar + 1 :]
        redacted = self.payload(payload)
        if redacted is payload:
            return text
        if prefix == str(len(payload)) or prefix == str(len(payload.encode("utf-8", "surrogatepass"))):
            prefix = str(len(redacted.encode("utf-8", "surrogatepass")))
        return f"{prefix}|{redacted}"

    def payload(self, payload: str) -> str:
        """One event's JSON text redacted (the same object back when nothing changed)."""
        fast = self._fast(payload)
        if fast is not None:
            return fast
        return self._parsed(payload)

    def _fast(self, payload: str) -> str | None:
        """The common case without decoding the JSON: only identifiers to
        replace, written compactly (``"dsn":"AC..."``). ``None``: decode it."""
        spec = self.spec
        if spec.location or spec.ip:
            if '"location_event"' in payload:
                return None
        if spec.values and '"property_name"' in payload:
            match = _PROPERTY.search(payload)
            if match is None or "\\" in match.group(1) or match.group(1) in spec.values:
                return None
        # Find every identifier first, then replace: replacing as we go would
        # find the pseudonym under a second "dsn" key and replace it again.
        found: set[str] = set()
        for name in self._fields:
            key = f'"{name}"'
            start = payload.find(key)
            while start >= 0:
                pos = start + len(key)
                if payload.startswith(':"', pos):
                    end = payload.find('"', pos + 2)
                    value = payload[pos + 2 : end]
                    if end < 0 or "\\" in value:
                        return None
                    if value:
                        if len(value) < 8 or value.isdigit() or _UNSAFE.search(value):
                            return None  # replaced in its own field only: decode it
                        found.add(value)
                elif payload.startswith(":", pos) and payload[pos + 1 : pos + 2] not in ('"', " ", "\t", "\n", "\r"):
                    pass  # null, a number, an object: nothing to replace
                else:
                    return None  # written with spaces: decode it
                start = payload.find(key, pos)
        text = payload
        for value in sorted(found, key=len, reverse=True):
            text = text.replace(value, self.pseudonym(value))
        return self._ips(text) if spec.ip else text

    def _parsed(self, payload: str) -> str:
        """:meth:`payload` by decoding the JSON (locations, masked values, odd spacing)."""
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            try:
                obj = json.loads(payload)
            except (ValueError, RecursionError):
                return self._text_only(payload)
        except RecursionError:
            return self._text_only(payload)
        if not isinstance(obj, dict):
            return self._text_only(payload)
        spec = self.spec
        idents: list[tuple[str, str]] = []
        changed = False
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        bodies = [obj[key] for key in _BODIES if isinstance(obj.get(key), dict)]
        if spec.dsn:
            changed |= self._swap(meta, "dsn", idents)
            for body in bodies:
                changed |= self._swap(body, "dsn", idents)
        if spec.uuid:
            for body in bodies:
                changed |= self._swap(body, "user_uuid", idents)
                changed |= self._swap(body, "ack_id", idents)
        location = obj.get("location_event")
        if isinstance(location, dict):
            if spec.location:
                for name in ("lat", "long"):
                    if name in location and location[name] is not None:
                        location[name] = _round(location[name], spec.decimals)
                        changed = True
            if spec.ip and location.get("ip") is not None:
                location["ip"] = None
                changed = True
        if spec.values and meta.get("property_name") in spec.values:
            for key in ("datapoint", "datapointack"):
                body = obj.get(key)
                if isinstance(body, dict) and "value" in body:
                    body["value"] = _mask(body["value"])
                    changed = True
        if not changed and not idents:
            return self._ips(payload) if spec.ip else payload
        text = _dump(obj) if changed else payload
        for original, pseudonym in sorted(idents, key=lambda pair: -len(pair[0])):
            text = text.replace(original, pseudonym)
        return self._ips(text) if spec.ip else text

    def _swap(self, body: dict[str, Any], name: str, idents: list[tuple[str, str]]) -> bool:
        """Note ``body[name]``'s pseudonym for a replacement in the text (also
        where the identifier appears elsewhere in the frame); set it in the
        object when the text may hold it escaped. True if the object changed."""
        value = body.get(name)
        if not isinstance(value, str) or not value:
            return False
        pseudonym = self.pseudonym(value)
        if _UNSAFE.search(value) or len(value) < 8 or value.isdigit():
            # Short or all-digit identifiers could be part of other text (a
            # seq, a time): replaced in their own field only.
            body[name] = pseudonym
            return True
        idents.append((value, pseudonym))
        return False

    def _ips(self, text: str) -> str:
        return _IPV4.sub(_IP_MASK, text) if "." in text else text

    def _text_only(self, text: str) -> str:
        """Text that is not a JSON object (a bad frame): the identifiers
        seen so far in this file replaced, and IPv4 addresses when asked."""
        for original in sorted(self._known_in(text), key=len, reverse=True):
            text = text.replace(original, self._pseudonyms[original])
        return self._ips(text) if self.spec.ip else text

    def _known_in(self, text: str) -> Iterable[str]:
        return [
            ident
            for ident in self._pseudonyms
            if len(ident) >= 8 and not ident.isdigit() and not _UNSAFE.search(ident) and ident in text
        ]


def _dump(obj: Any) -> str:
    try:
        return orjson.dumps(obj).decode("utf-8")
    except TypeError:  # lone surrogates, integers past 64 bits: json writes them
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _keystream(salt: bytes, ident: str, length: int) -> bytes:
    """At least ``length`` pseudo-random bytes for ``ident`` under ``salt``
    (keyed BLAKE2b: one call for identifiers up to 64 characters)."""
    data = ident.encode("utf-8", "surrogatepass")
    out = hashlib.blake2b(data, key=salt[:64], digest_size=64).digest()
    counter = 1
    while len(out) < length:
        out += hashlib.blake2b(counter.to_bytes(4, "big") + data, key=salt[:64], digest_size=64).digest()
        counter += 1
    return out
