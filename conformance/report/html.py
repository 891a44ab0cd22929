"""The compatibility matrix as one self-contained HTML page, rendered from results records only.

No network, no build step: the styles, the summary chart (an inline SVG, one stacked bar per
server) and a few lines of script for the filters and the detail view are all in the page. Every
non-pass cell links to ``#d-...``; the detail with that id opens (on click, or when the page is
loaded with that hash) and shows the spec sentence, the bytes both ways, what the app saw and the
reproducer. Like the Markdown page, the output is a pure function of the records (and of the
editorial data joined to them, see report/editorial.py).

All markup is in templates/index.html.j2, rendered with autoescaping on: the records carry bytes
that hostile or broken servers sent, so this module only prepares plain data (strings and
numbers) and never builds HTML itself; that keeps escaping in one place that cannot be forgotten.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from conformance.report.editorial import findings_of, module_of, review_of, spec_text_of
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
    "info": "#1565c0", "hardening": "#5d4037", "error": "#6a1b9a", "skipped": "#9e9e9e",
}
CHART_ORDER = ("pass", "fail", "warn", "unsupported", "info", "hardening", "error",
               "skipped")
_MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "unsupported": "–", "info": "i",
          "hardening": "h", "error": "E", "skipped": "s"}

Data = dict[str, Any]  # what a template fragment receives: plain strings, numbers, lists, dicts
Anchors = dict[tuple[str, str, str], str]

# Chart geometry in px: bar length of the busiest server, bar pitch, room for the server names
# on the left and for the "n pass, m fail" labels right of the bars.
_CHART_WIDTH, _CHART_BAR, _CHART_LABEL, _CHART_TAIL = 420, 18, 190, 330


@cache
def _environment() -> Environment:
    # StrictUndefined: a misspelt field fails the render instead of printing nothing.
    return Environment(loader=PackageLoader("conformance.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"], default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def render_html(records: list[Record], unavailable: Iterable[Record] = ()) -> str:
    """The whole page for ``records`` (results records, see report/results.py) and the
    configurations that did not run (``unavailable``, each with its reason)."""
    records = sorted(records, key=record_key)
    anchors = anchors_of(r for r in records if r.get("verdict") != Verdict.PASS)
    return _environment().get_template("index.html.j2").render(
        legend=[{"verdict": v, "colour": COLOURS[v]} for v in CHART_ORDER],
        chart=_chart(records),
        unavailable=sorted(unavailable, key=lambda e: (e["interface"], e["target"])),
        filters=_filters(records),
        matrix=_matrix(records, columns_of(records), anchors),
        details=[_detail(r, anchors[cell_of(r)]) for r in records if cell_of(r) in anchors],
    )


def summary_counts(records: list[Record]) -> dict[str, dict[str, Any]]:
    """Per target: verdict counts (what the chart draws); used by tests and the CLI."""
    counts: dict[str, Counter[str]] = {}
    for record in records:
        counts.setdefault(record["target"], Counter())[record.get("verdict", "")] += 1
    return {k: dict(v) for k, v in counts.items()}


def _chart(records: list[Record]) -> Data:
    """One stacked horizontal bar per server (both paths together): the SVG's geometry."""
    counts = summary_counts(records)
    most = max((sum(c.values()) for c in counts.values()), default=1)
    rows = []
    for number, (target, counter) in enumerate(sorted(counts.items())):
        y = number * _CHART_BAR + 4
        x, bars = float(_CHART_LABEL), []
        for verdict in CHART_ORDER:
            if counter.get(verdict):
                width = _CHART_WIDTH * counter[verdict] / most
                bars.append({"x": x, "width": width, "colour": COLOURS[verdict],
                             "title": f"{target}: {counter[verdict]} {verdict}"})
                x += width
        summary = ", ".join(f"{counter[v]} {v}" for v in CHART_ORDER if counter.get(v))
        rows.append({"target": target, "y": y, "bars": bars, "end": x, "summary": summary})
    return {"width": _CHART_LABEL + _CHART_WIDTH + _CHART_TAIL,
            "height": _CHART_BAR * len(counts) + 30, "bar_height": _CHART_BAR - 4, "rows": rows}


def _filters(records: list[Record]) -> list[Data]:
    """The filter selects, in page order; each also offers "all"."""
    return [{"name": "area", "values": sorted({area_of(r) for r in records})},
            {"name": "interface", "values": sorted({r.get("interface", "") for r in records})},
            {"name": "level", "values": sorted({r.get("level", "") for r in records})},
            {"name": "verdict", "values": list(CHART_ORDER)}]


def _matrix(records: list[Record], columns: list[Column], anchors: Anchors) -> Data:
    """Header columns and the check rows, grouped by area (rows sorted by area, then check)."""
    by_cell = {cell_of(r): r for r in records}
    versions = {r["target"]: r.get("server", {}).get("version", "") for r in records}
    checks: dict[str, Record] = {}
    for record in records:
        checks.setdefault(record["check"], record)
    areas: list[Data] = []
    for check_id, sample in sorted(checks.items(), key=lambda kv: (area_of(kv[1]), kv[0])):
        if not areas or areas[-1]["name"] != area_of(sample):
            areas.append({"name": area_of(sample), "rows": []})
        areas[-1]["rows"].append({
            "check": check_id, "title": sample.get("title", ""), "area": area_of(sample),
            "level": sample.get("level", ""),
            "requirements": ", ".join(sample.get("requirements", [])),
            "cells": [_cell(by_cell.get((check_id, target, via)), interface, anchors)
                      for interface, target, via in columns]})
    return {"columns": [{"interface": i, "label": f"{t} {versions[t]} · {v}"}
                        for i, t, v in columns],
            "span": 3 + len(columns), "areas": areas}


def _cell(record: Record | None, interface: str, anchors: Anchors) -> Data:
    """One matrix cell; ``verdict`` "na" (no record: the check does not apply there)."""
    if record is None:
        return {"interface": interface, "verdict": "na"}
    verdict = record.get("verdict", "")
    return {"interface": interface, "verdict": verdict, "colour": COLOURS.get(verdict, "#000"),
            "mark": _MARKS.get(verdict, "?"), "anchor": anchors.get(cell_of(record)),
            "title": f"{record['check']} on {record['target']} via {record['via']}: {verdict}"}


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)


def _detail(record: Record, anchor: str) -> Data:
    """Everything one detail section shows, as text; the template escapes all of it."""
    evidence = record.get("evidence") or {}
    server = record.get("server") or {}
    observed = evidence.get("observed") or []
    fields = [("verdict", record.get("verdict", "")), ("level", record.get("level", "")),
              ("requirements", ", ".join(record.get("requirements", []))),
              ("spec section", record.get("section", "")),
              ("check source", module_of(record)),
              ("server", f"{server.get('name', '')} {server.get('version', '')}"),
              ("nginx", record.get("nginx_version") or "·"),
              ("server command", server.get("command", "")),
              ("message", record.get("message", ""))]
    return {
        "anchor": anchor, "check": record["check"], "target": record["target"],
        "via": record["via"], "title": record.get("title", ""),
        "review": review_of(record), "spec_text": spec_text_of(record),
        "findings": findings_of(record),
        "fields": [{"name": k, "value": str(v)} for k, v in fields],
        "reproducer": truncate(evidence.get("reproducer") or "", BYTES_LIMIT * 2),
        "exchanges": [{"to": exchange.get("to", "?"),
                       "sent": truncate(exchange.get("sent", ""), BYTES_LIMIT),
                       "received": truncate(exchange.get("received", ""), BYTES_LIMIT)}
                      for exchange in evidence.get("exchanges", [])],
        "observed": {"shown": min(len(observed), EVENTS_SHOWN), "total": len(observed),
                     "json": _json(observed[:EVENTS_SHOWN])},
        "details": _json(record["details"]) if record.get("details") else "",
        "log_tail": "\n".join(str(evidence.get("log_tail") or "").splitlines()[-LOG_LINES:]),
    }
