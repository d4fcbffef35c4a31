"""The fleet report as one self-contained HTML file: inline CSS and inline
SVG charts drawn here, no script, no font, no image and no link to fetch,
so it opens the same from a mail attachment on a machine without network.

Everything that came from a stream (DSNs, models, tags, stream names) is
escaped: the file shows it as text, never as markup.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape
from typing import Any

__all__ = ["render_html"]

W, H = 1100, 220
PAD_L, PAD_R, PAD_T, PAD_B = 64, 16, 14, 34
#: devices listed in the table (those with a problem first); the JSON report has all
TABLE_ROWS = 300

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1140px;
color:#1d2330;background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;
padding-bottom:4px}.sub{color:#5b6578;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #dde2ea;border-radius:6px;padding:8px 14px;
min-width:120px}.card b{display:block;font-size:20px}.card span{color:#5b6578;font-size:12px}
.card.bad b{color:#b42318}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #eef1f5;white-space:nowrap}th{background:#f5f7fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b42318;font-weight:600}
.muted{color:#5b6578}svg{display:block;margin:4px 0 8px}svg text{font:11px system-ui,sans-serif;fill:#5b6578}
.legend span{display:inline-block;margin-right:14px;font-size:12px}.sw{display:inline-block;width:10px;
height:10px;margin-right:4px;vertical-align:-1px}
"""

_COLORS = {"flaps": "#d97706", "failed": "#b42318", "missing": "#7c3aed", "line": "#2563eb", "bar": "#0f766e"}


def _t(text: Any) -> str:
    return escape("" if text is None else str(text), quote=True)


def _num(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:.1f}"


def _time_label(iso: str | None, span_s: float) -> str:
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if span_s > 2 * 86400:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M" if span_s > 600 else "%H:%M:%S")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _axes(ymax: float, xlabels: list[tuple[float, str]], title: str) -> list[str]:
    """Grid lines and labels for a chart whose y runs 0..ymax; ``xlabels`` at x fractions."""
    parts = [f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{_t(title)}">']
    plot_h = H - PAD_T - PAD_B
    for i in range(5):
        y = PAD_T + plot_h * (1 - i / 4)
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#eef1f5"/>')
        parts.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{_num(ymax * i / 4)}</text>')
    plot_w = W - PAD_L - PAD_R
    for frac, label in xlabels:
        x = PAD_L + plot_w * frac
        anchor = "start" if frac < 0.05 else "end" if frac > 0.95 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="{anchor}">{_t(label)}</text>')
    parts.append(f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" stroke="#9aa3b2"/>')
    return parts


def _time_chart(points: list[tuple[float, float]], start: float, end: float, title: str, *,
                step: bool = False, area: bool = False) -> str:
    """A line (or area, or step) chart of ``(epoch, value)`` over ``[start, end]``."""
    if not points or end <= start:
        return '<p class="muted">No data in the range.</p>'
    ymax = max(v for _, v in points)
    ymax = _nice(ymax)
    span = end - start
    labels = [(f, _time_label(_iso_of(start + span * f), span)) for f in (0, 0.25, 0.5, 0.75, 1)]
    parts = _axes(ymax, labels, title)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def xy(t: float, v: float) -> tuple[float, float]:
        return PAD_L + plot_w * (t - start) / span, PAD_T + plot_h * (1 - v / ymax)

    coords: list[tuple[float, float]] = []
    previous: float | None = None
    for t, v in points:
        t = min(max(t, start), end)
        if step and previous is not None:
            coords.append(xy(t, previous))
        coords.append(xy(t, v))
        previous = v
    if step and previous is not None:
        coords.append(xy(end, previous))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    color = _COLORS["line"]
    if area:
        base = H - PAD_B
        parts.append(f'<polygon points="{coords[0][0]:.1f},{base} {path} {coords[-1][0]:.1f},{base}" '
                     f'fill="{color}" fill-opacity="0.18" stroke="none"/>')
    parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def _iso_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nice(value: float) -> float:
    """A round number at or above ``value`` (the top of an axis)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 8, 10):  # quarters of these are round numbers
        if value <= step * power:
            return step * power
    return 10 * power


def _bars(labels: list[str], counts: list[int], title: str) -> str:
    if not any(counts):
        return '<p class="muted">No acks in the range.</p>'
    ymax = _nice(max(counts))
    n = len(counts)
    parts = _axes(ymax, [], title)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    slot = plot_w / n
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        h = plot_h * count / ymax
        x = PAD_L + i * slot + slot * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{H - PAD_B - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="{_COLORS["bar"]}"><title>{_t(label)}: {count:,}</title></rect>')
        if count:
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{H - PAD_B - h - 4:.1f}" '
                         f'text-anchor="middle">{count:,}</text>')
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{H - PAD_B + 16}" text-anchor="middle">{_t(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _worst_chart(worst: list[dict[str, Any]]) -> str:
    if not worst:
        return '<p class="muted">No device flapped, went quiet or missed an ack in the range.</p>'
    keys = (("flaps", "flaps"), ("failed_acks", "failed"), ("missing_acks", "missing"))
    top = max(sum(w[k] for k, _ in keys) for w in worst) or 1
    row_h, label_w = 22, 190
    height = row_h * len(worst) + 8
    width = W
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="worst devices">']
    bar_w = width - label_w - 260  # room for the numbers after the longest bar
    for i, w in enumerate(worst):
        y = 4 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{_t(w["dsn"])}</text>')
        x = float(label_w)
        for key, color_key in keys:
            value = w[key]
            if value:
                length = bar_w * value / top
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(length, 1.5):.1f}" height="{row_h - 8}" '
                             f'fill="{_COLORS[color_key]}"><title>{_t(key)}: {value:,}</title></rect>')
                x += length
        tail = f'{w["flaps"]} flaps, {w["failed_acks"]} failed, {w["missing_acks"]} missing'
        if w["quiet"]:
            tail += ", quiet"
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}">{_t(tail)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span><i class="sw" style="background:{_COLORS[c]}"></i>{_t(label)}</span>'
                     for label, c in (("flaps", "flaps"), ("failed acks", "failed"), ("missing acks", "missing")))
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def _card(label: str, value: Any, bad: bool = False) -> str:
    shown = f"{value:,}" if isinstance(value, int) else _t(value)
    return f'<div class="card{" bad" if bad else ""}"><b>{shown}</b><span>{_t(label)}</span></div>'


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _devices_table(devices: list[dict[str, Any]]) -> str:
    def trouble(d: dict[str, Any]) -> int:
        return int(d["flaps"] + d["failed_acks"] + d["missing_acks"] + (5 if d["quiet"] else 0))

    ranked = sorted(devices, key=lambda d: (-trouble(d), -d["events"], d["dsn"]))[:TABLE_ROWS]
    head = ("DSN", "Model", "Tags", "State", "Events", "Flaps", "Quiet", "Rhythm s", "Latency p95 ms",
            "Skew s", "Acks", "Ack p95 ms", "Failed", "Missing")
    numeric = {"Events", "Flaps", "Rhythm s", "Latency p95 ms", "Skew s", "Acks", "Ack p95 ms", "Failed", "Missing"}
    rows = ["<table><tr>" + "".join(f'<th{" class=n" if h in numeric else ""}>{h}</th>' for h in head) + "</tr>"]
    for d in ranked:
        state = {True: "online", False: "offline", None: "?"}[d["online"]]
        cells = [
            f"<td>{_t(d['dsn'])}</td>", f"<td>{_t(d['oem_model'])}</td>", f"<td>{_t(', '.join(d['tags']))}</td>",
            f"<td>{state}</td>", f'<td class="n">{d["events"]:,}</td>',
            f'<td class="n{" bad" if d["flapping"] else ""}">{d["flaps"]:,}</td>',
            f'<td class="{"bad" if d["quiet"] else ""}">{"quiet" if d["quiet"] else ""}</td>',
            f'<td class="n">{_t(d["typical_interval_s"] if d["typical_interval_s"] is not None else "")}</td>',
            f'<td class="n">{_ms(d["latency_ms"]["p95"])}</td>',
            f'<td class="n">{_t(d["clock_skew_s"] if d["clock_skew_s"] is not None else "")}</td>',
            f'<td class="n">{d["acks"]:,}</td>', f'<td class="n">{_ms(d["ack_latency_ms"]["p95"])}</td>',
            f'<td class="n{" bad" if d["failed_acks"] else ""}">{d["failed_acks"]:,}</td>',
            f'<td class="n{" bad" if d["missing_acks"] else ""}">{d["missing_acks"]:,}</td>',
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    if len(devices) > len(ranked):
        rows.append(f'<p class="muted">{len(devices) - len(ranked):,} more devices without problems: '
                    f"the JSON report lists every one.</p>")
    return "".join(rows)


def render_html(data: dict[str, Any]) -> str:
    """The report (:func:`~ayla_monitor.headless.report.report_json`'s data) as one HTML page."""
    devices = data["devices"]
    acks = data["acks"]
    since, until = data["since"], data["until"]
    start = _epoch(since) if since else 0.0
    end = _epoch(until) if until else 0.0
    quiet = sum(d["quiet"] for d in devices)
    flapping = sum(d["flapping"] for d in devices)
    out = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Ayla Monitor fleet report {_t(since)} .. {_t(until)}</title><style>{_CSS}</style></head><body>",
        "<h1>Fleet report</h1>",
        f'<p class="sub">{_t(since or "-")} .. {_t(until or "-")} (UTC) &middot; {_t(data.get("database", ""))}</p>',
        '<div class="cards">',
        _card("events", data["events"]),
        _card("devices", len(devices)),
        _card("online", sum(d["online"] is True for d in devices)),
        _card("offline", sum(d["online"] is False for d in devices)),
        _card("quiet", quiet, quiet > 0),
        _card("flapping", flapping, flapping > 0),
        _card("acks paired", acks["paired"]),
        _card("failed acks", acks["failed"], acks["failed"] > 0),
        _card("missing acks", acks["missing"], acks["missing"] > 0),
        _card("ack p95 ms", _ms(acks["latency_ms"]["p95"]) or "-"),
        _card("latency p95 ms", _ms(data["latency_ms"]["p95"]) or "-"),
        "</div>",
    ]
    width = data["charts"]["bucket_s"]
    per = "minute" if width == 60 else f"{_num(width / 60)} minutes"
    events = [(_epoch(t), float(n) * 60.0 / width) for t, n in data["charts"]["events"]]
    if events:  # each bucket holds until the next: the last one until its end
        events.append((events[-1][0] + width, events[-1][1]))
    out += [f"<h2>Events per minute <span class=muted>(averaged per {per})</span></h2>",
            _time_chart(events, start, events[-1][0] if events else end, "events per minute", step=True,
                        area=True)]
    online = [(_epoch(t), float(v)) for t, v in data["charts"]["online"]]
    out += ["<h2>Devices online</h2>", _time_chart(online, start, max(end, start + 1), "devices online", step=True)]
    edges = acks["distribution_ms"]["edges"]
    labels = []
    for low, high in zip(edges, edges[1:], strict=False):
        labels.append(f"≥ {_num(low / 1000)} s" if high is None else
                      f"< {_num(high)} ms" if high < 1000 else f"< {_num(high / 1000)} s")
    out += ["<h2>Ack latency (acked_at − created_at)</h2>",
            _bars(labels, acks["distribution_ms"]["counts"], "ack latency distribution")]
    if acks["failed_by_status"]:
        out.append('<p>Failed acks by status: ' + ", ".join(
            f"<b>{_t(k)}</b> {v:,}" for k, v in acks["failed_by_status"].items()) + "</p>")
    out += ["<h2>Worst devices</h2>", _worst_chart(data["worst"])]
    if data["spikes"]:
        out.append("<h2>Rate spikes</h2><table><tr><th>Device</th><th>Minute</th><th class=n>Events</th>"
                   "<th class=n>Usually per minute</th></tr>")
        for s in data["spikes"][-30:]:
            out.append(f"<tr><td>{_t(s['dsn'] or 'the whole fleet')}</td><td>{_t(s['minute'])}</td>"
                       f'<td class="n">{s["events"]:,}</td><td class="n">{s["usual_per_minute"]}</td></tr>')
        out.append("</table>")
    out += ["<h2>Devices</h2>", _devices_table(devices)]
    out.append("<h2>By model</h2><table><tr><th>Model</th><th class=n>Devices</th><th class=n>Online</th>"
               "<th class=n>Offline</th><th class=n>Quiet</th><th class=n>Flapping</th></tr>")
    for model, c in data["groups"]["model"].items():
        out.append(f"<tr><td>{_t(model or '?')}</td><td class=n>{c['devices']:,}</td><td class=n>{c['online']:,}</td>"
                   f"<td class=n>{c['offline']:,}</td><td class=n>{c['quiet']:,}</td>"
                   f"<td class=n>{c['flapping']:,}</td></tr>")
    out.append("</table>")
    out.append("<h2>Streams</h2><table><tr><th>Stream</th><th class=n>Events</th><th class=n>Conflicts</th>"
               "<th class=n>Latency p95 ms</th><th>Gaps (seqs, state)</th></tr>")
    for s in data["streams"]:
        gaps = ", ".join(f"{g['first']}-{g['last']} {g['state']}" for g in s["gaps"][:20])
        if len(s["gaps"]) > 20:
            gaps += f", and {len(s['gaps']) - 20} more"
        out.append(f"<tr><td>{_t(s['stream'])}</td><td class=n>{s['events']:,}</td><td class=n>{s['conflicts']:,}</td>"
                   f"<td class=n>{_ms(s['latency_ms']['p95'])}</td><td>{_t(gaps or 'none')}</td></tr>")
    out.append("</table>")
    settings = data["settings"]
    out.append(
        f'<p class="muted">Quiet: silent for more than {settings["quiet_factor"]:g}× the device\'s own typical '
        f'interval and at least {settings["quiet_min_s"]:g} s, judged at the end of the data. Flapping: '
        f'{settings["flapping_per_hour"]} or more online/offline changes in the last hour. A missing ack: no ack '
        f'within {settings["ack_timeout_s"]:g} s on a property that has been acked. Made by Ayla Monitor.</p>'
    )
    out.append("</body></html>")
    return "\n".join(out)
