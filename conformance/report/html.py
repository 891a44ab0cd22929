"""The compatibility matrix as one self-contained HTML page, rendered from results records only.

No network, no build step: the styles, the summary chart (an inline SVG, one stacked bar per
server) and a few lines of script for the filters and the detail view are all in the page. Every
non-pass cell links to ``#d-...``; the detail with that id opens (on click, or when the page is
loaded with that hash) and shows the spec sentence, the bytes both ways, what the app saw and the
reproducer. Like the Markdown page, the output is a pure function of the records.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from typing import Any

from conformance.report.grid import (
    Column,
    Record,
    anchors_of,
    area_of,
    cell_of,
    columns_of,
    record_key,
    truncate,
)
from conformance.report.markdown import BYTES_LIMIT, EVENTS_SHOWN, LOG_LINES
from conformance.verdicts import Verdict

COLOURS = {
    "pass": "#2e7d32", "fail": "#c62828", "warn": "#ef6c00", "unsupported": "#757575",
    "info": "#1565c0", "error": "#6a1b9a", "skipped": "#9e9e9e",
}
CHART_ORDER = ("pass", "fail", "warn", "unsupported", "info", "error", "skipped")

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em} table{border-collapse:collapse} th,td{border:1px solid #ccc;padding:2px 5px}
th.col{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;white-space:nowrap}
td.v{text-align:center;min-width:1.6em} td.v a{color:#fff;text-decoration:none;display:block}
td.na{background:#f4f4f4;color:#aaa;text-align:center} tr.area th{background:#eee;text-align:left}
.filters{margin:1em 0} .filters label{margin-right:1em}
.detail{display:none;border:2px solid #444;padding:1em;margin:1em 0;background:#fafafa}
.detail.open{display:block} pre{white-space:pre-wrap;word-break:break-all;background:#fff;
border:1px solid #ddd;padding:.5em;max-height:20em;overflow:auto} .hidden{display:none}
.legend span{display:inline-block;padding:0 .5em;margin-right:.3em;color:#fff}
"""

_SCRIPT = """
function openDetail(){document.querySelectorAll('.detail.open').forEach(function(d){
  d.classList.remove('open')});var id=decodeURIComponent(location.hash.slice(1));
  var d=id&&document.getElementById(id);if(d&&d.classList.contains('detail')){
  d.classList.add('open');d.scrollIntoView();}}
function applyFilters(){var f={};document.querySelectorAll('.filters select').forEach(
  function(s){f[s.name]=s.value});
  document.querySelectorAll('th.col,td.cell').forEach(function(c){
    c.classList.toggle('hidden',f.interface!=='all'&&c.dataset.interface!==f.interface)});
  document.querySelectorAll('tr.check').forEach(function(r){var show=
    (f.area==='all'||r.dataset.area===f.area)&&(f.level==='all'||r.dataset.level===f.level)&&
    (f.verdict==='all'||r.querySelector('td.cell[data-verdict="'+f.verdict+'"]:not(.hidden)'));
    r.classList.toggle('hidden',!show)});}
window.addEventListener('hashchange',openDetail);
window.addEventListener('DOMContentLoaded',function(){openDetail();
  document.querySelectorAll('.filters select').forEach(function(s){
    s.addEventListener('change',applyFilters)});});
"""


def render_html(records: list[Record]) -> str:
    """The whole page for ``records`` (results records, see report/results.py)."""
    records = sorted(records, key=record_key)
    anchors = anchors_of(r for r in records if r.get("verdict") != Verdict.PASS)
    columns = columns_of(records)
    body = ["<h1>Gateway conformance matrix</h1>", _legend(), _chart(records),
            _filters(records), _matrix(records, columns, anchors), "<h2>Details</h2>"]
    body += [_detail(r, anchors[cell_of(r)]) for r in records if cell_of(r) in anchors]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Gateway conformance matrix</title>"
            f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _legend() -> str:
    items = "".join(f'<span style="background:{COLOURS[v]}">{v}</span>' for v in CHART_ORDER)
    return (f'<p class="legend">{items} · not applicable. Click a coloured cell for its '
            "details: the spec sentence, the bytes sent and received, what the app saw, and a "
            "reproducer.</p>")


def _chart(records: list[Record]) -> str:
    """One stacked horizontal bar per server (both paths together), as inline SVG."""
    counts: dict[str, Counter[str]] = {}
    for record in records:
        counts.setdefault(record["target"], Counter())[record.get("verdict", "")] += 1
    width, bar, label = 420, 18, 190
    height = bar * len(counts) + 30
    parts = [f'<svg id="summary-chart" xmlns="http://www.w3.org/2000/svg" '
             f'width="{label + width + 330}" height="{height}" role="img" '
             'aria-label="verdict counts per server">']
    most = max((sum(c.values()) for c in counts.values()), default=1)
    for row, (target, counter) in enumerate(sorted(counts.items())):
        y = row * bar + 4
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{escape(target)}</text>')
        x = float(label)
        for verdict in CHART_ORDER:
            if counter[verdict]:
                w = width * counter[verdict] / most
                parts.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                             f'height="{bar - 4}" fill="{COLOURS[verdict]}"><title>'
                             f'{escape(target)}: {counter[verdict]} {verdict}</title></rect>')
                x += w
        summary = ", ".join(f"{counter[v]} {v}" for v in CHART_ORDER if counter[v])
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" font-size="11">{escape(summary)}</text>')
    parts.append("</svg>")
    return "<h2>Summary</h2>\n" + "".join(parts)


def _filters(records: list[Record]) -> str:
    def select(name: str, values: list[str]) -> str:
        options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
        return (f'<label>{name} <select name="{name}"><option value="all">all</option>'
                f"{options}</select></label>")

    return ('<div class="filters">'
            + select("area", sorted({area_of(r) for r in records}))
            + select("interface", sorted({r.get("interface", "") for r in records}))
            + select("level", sorted({r.get("level", "") for r in records}))
            + select("verdict", list(CHART_ORDER)) + "</div>")


def _matrix(records: list[Record], columns: list[Column],
            anchors: dict[tuple[str, str, str], str]) -> str:
    by_cell = {cell_of(r): r for r in records}
    versions = {(r["target"]): r.get("server", {}).get("version", "") for r in records}
    head = ["<th>check</th><th>level</th><th>requirements</th>"]
    head += [f'<th class="col" data-interface="{i}">{escape(t)} {escape(versions[t])} · {v}</th>'
             for i, t, v in columns]
    rows = [f'<table id="matrix"><thead><tr>{"".join(head)}</tr></thead><tbody>']
    checks: dict[str, Record] = {}
    for record in records:
        checks.setdefault(record["check"], record)
    current_area = None
    for check_id, sample in sorted(checks.items(), key=lambda kv: (area_of(kv[1]), kv[0])):
        if area_of(sample) != current_area:
            current_area = area_of(sample)
            rows.append(f'<tr class="area"><th colspan="{3 + len(columns)}">'
                        f"{escape(current_area)}</th></tr>")
        cells = [f'<td><code title="{escape(sample.get("title", ""))}">{escape(check_id)}'
                 f'</code></td><td>{escape(sample.get("level", ""))}</td>'
                 f'<td>{escape(", ".join(sample.get("requirements", [])))}</td>']
        for interface, target, via in columns:
            record = by_cell.get((check_id, target, via))
            cells.append(_matrix_cell(record, interface, anchors))
        rows.append(f'<tr class="check" data-area="{escape(area_of(sample))}" '
                    f'data-level="{escape(sample.get("level", ""))}">{"".join(cells)}</tr>')
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _matrix_cell(record: Record | None, interface: str,
                 anchors: dict[tuple[str, str, str], str]) -> str:
    if record is None:
        return f'<td class="cell na" data-interface="{interface}" data-verdict="na">·</td>'
    verdict = record.get("verdict", "")
    colour = COLOURS.get(verdict, "#000")
    mark = {"pass": "✓", "fail": "✗", "warn": "!", "unsupported": "–", "info": "i",
            "error": "E", "skipped": "s"}.get(verdict, "?")
    inner = (f'<a href="#{anchors[cell_of(record)]}">{mark}</a>' if cell_of(record) in anchors
             else mark)
    return (f'<td class="cell v" data-interface="{interface}" data-verdict="{verdict}" '
            f'style="background:{colour};color:#fff" title="{escape(record["check"])} on '
            f'{escape(record["target"])} via {record["via"]}: {verdict}">{inner}</td>')


def _pre(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def _detail(record: Record, anchor: str) -> str:
    evidence = record.get("evidence") or {}
    server = record.get("server") or {}
    rows = [("verdict", record.get("verdict", "")), ("level", record.get("level", "")),
            ("requirements", ", ".join(record.get("requirements", []))),
            ("spec section", record.get("section", "")),
            ("server", f"{server.get('name', '')} {server.get('version', '')}"),
            ("nginx", record.get("nginx_version") or "·"),
            ("server command", server.get("command", "")),
            ("message", record.get("message", ""))]
    parts = [f'<section class="detail" id="{anchor}">',
             f"<h3><code>{escape(record['check'])}</code> on {escape(record['target'])} via "
             f"{escape(record['via'])}</h3><p>{escape(record.get('title', ''))}</p>"]
    if record.get("review"):
        review = record["review"]
        parts.append(f"<p><strong>Reviewed ({escape(review.get('finding', ''))}):</strong> "
                     f"{escape(review.get('note', ''))}</p>")
    if record.get("spec_text"):
        parts.append(f"<blockquote>{escape(' '.join(str(record['spec_text']).split()))}"
                     "</blockquote>")
    parts.append("<table>" + "".join(f"<tr><th>{k}</th><td>{escape(str(v))}</td></tr>"
                                     for k, v in rows) + "</table>")
    if evidence.get("reproducer"):
        parts += ["<h4>Reproducer</h4>", _pre(truncate(evidence["reproducer"], BYTES_LIMIT * 2))]
    for number, exchange in enumerate(evidence.get("exchanges", []), 1):
        parts += [f"<h4>Connection {number} to {escape(exchange.get('to', '?'))}</h4>",
                  "<p>Sent:</p>", _pre(truncate(exchange.get("sent", ""), BYTES_LIMIT)),
                  "<p>Received:</p>",
                  _pre(truncate(exchange.get("received", ""), BYTES_LIMIT) or "(nothing)")]
    observed = evidence.get("observed") or []
    if observed:
        parts += [f"<h4>What the app observed (first {min(len(observed), EVENTS_SHOWN)} of "
                  f"{len(observed)} journal events)</h4>",
                  _pre(json.dumps(observed[:EVENTS_SHOWN], indent=1, sort_keys=True,
                                  ensure_ascii=False))]
    if record.get("details"):
        parts += ["<h4>Details</h4>", _pre(json.dumps(record["details"], indent=1,
                                                        sort_keys=True, ensure_ascii=False))]
    if evidence.get("log_tail"):
        tail = "\n".join(str(evidence["log_tail"]).splitlines()[-LOG_LINES:])
        parts += ["<h4>Server log (tail)</h4>", _pre(tail)]
    parts.append("</section>")
    return "\n".join(parts)


def summary_counts(records: list[Record]) -> dict[str, dict[str, Any]]:
    """Per target: verdict counts (what the chart draws); used by tests and the CLI."""
    counts: dict[str, dict[str, Any]] = {}
    for record in records:
        counts.setdefault(record["target"], Counter())[record.get("verdict", "")] += 1
    return {k: dict(v) for k, v in counts.items()}
