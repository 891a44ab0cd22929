"""The compatibility matrix as GitHub Markdown, rendered from results records only.

DESIGN.md decision 10: nothing here imports the checks, so a matrix can be rebuilt on any
machine from concatenated results files. The page has three parts: a summary (one row per
target and path), the matrix (checks as rows grouped by area, target x path as columns), and
the details of every non-pass cell, each with the bytes and reproducer that back it
(decision 7). The output is a pure function of the records: same results, same file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from conformance.report.editorial import findings_of, module_of, review_of, spec_text_of
from conformance.report.grid import (
    Record,
    anchors_of,
    area_of,
    cell_of,
    column_of,
    columns_of,
    record_key,
    truncate,
)
from conformance.verdicts import Verdict

SYMBOLS: dict[str, str] = {
    Verdict.PASS: "✅",
    Verdict.FAIL: "❌",
    Verdict.WARN: "⚠️",
    Verdict.UNSUPPORTED: "➖",
    Verdict.INFO: "ℹ️",
    Verdict.HARDENING: "🛡️",
    Verdict.ERROR: "💥",
    Verdict.SKIPPED: "⏭️",
}
UNKNOWN_SYMBOL = "❓"
NOT_APPLICABLE = "·"
BYTES_LIMIT = 2000  # characters of escaped bytes shown per direction per connection
JSON_LIMIT = 3000
EVENTS_SHOWN = 5
LOG_LINES = 40

LEGEND = (
    "Each cell is the verdict of one check against one server, reached either directly or "
    "through nginx. ✅ pass: the server did what the spec demands; ❌ fail: a MUST was broken; "
    "⚠️ warn: a SHOULD was broken; ➖ unsupported: an optional feature is absent; ℹ️ info: "
    "observed behaviour where the specs leave the choice open; 🛡️ hardening: a defence no spec "
    "sentence demands is absent (never a spec fail or warn); 💥 error: the suite could not "
    "complete the check (the server did not start, died or hung); ⏭️ skipped: this machine lacked "
    "something the check needs (nginx), which says nothing about the server; "
    f"{NOT_APPLICABLE} the check does not apply. Every cell other than a pass links to its "
    "details: the requirement and spec section, the exact bytes sent and received, what the "
    "application observed, and a one-line reproducer."
)


def render_markdown(records: list[Record], unavailable: Iterable[Record] = ()) -> str:
    """The whole matrix page for ``records`` (results records, see report/results.py) and
    the configurations that did not run (``unavailable``, with their reasons)."""
    records = sorted(records, key=record_key)
    anchors = anchors_of(r for r in records if r.get("verdict") != Verdict.PASS)
    parts = ["# Gateway conformance matrix", "", LEGEND, ""]
    parts += _provenance(records)
    parts += ["## Summary", ""] + _summary(records, list(unavailable)) + [""]
    parts += ["## Matrix", ""] + _matrix(records, anchors)
    parts += ["## Details", ""]
    if anchors:
        for record in records:
            if record.get("verdict") != Verdict.PASS:
                parts += _detail(record, anchors[cell_of(record)])
    else:
        parts += ["Every check passed on every server.", ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def render_markdown_pages(records: list[Record],
                          unavailable: Iterable[Record] = ()) -> dict[str, str]:
    """The matrix split for a code host that will not render one huge file: README.md with
    the summary and the matrix, and details/<area>.md with the details of that area's cells
    (the matrix links into them). Keys are paths relative to the README's folder."""
    records = sorted(records, key=record_key)
    anchors = anchors_of(r for r in records if r.get("verdict") != Verdict.PASS)
    parts = ["# Gateway conformance matrix", "", LEGEND, ""]
    parts += _provenance(records)
    parts += ["## Summary", ""] + _summary(records, list(unavailable)) + [""]
    parts += ["## Matrix", ""]
    parts += _matrix(records, anchors, page=lambda area: f"details/{area}.md")
    pages = {"README.md": "\n".join(parts).rstrip("\n") + "\n"}
    for area in sorted({area_of(r) for r in records}):
        details = [f"# {area}: details of the non-passing cells", "",
                   "[Back to the matrix](../README.md)", ""]
        for record in records:
            if area_of(record) == area and record.get("verdict") != Verdict.PASS:
                details += _detail(record, anchors[cell_of(record)])
        pages[f"details/{area}.md"] = "\n".join(details).rstrip("\n") + "\n"
    return pages


# -- parts of the page ---------------------------------------------------------------------
def _provenance(records: list[Record]) -> list[str]:
    suites = _distinct(r.get("suite_version") for r in records)
    pythons = _distinct(r.get("python_version") for r in records)
    return [f"{len(records)} results; suite version {suites or 'unknown'}; "
            f"Python {pythons or 'unknown'}.", ""]


def _summary(records: list[Record], unavailable: list[Record]) -> list[str]:
    """One row per target and path; then one row per configuration that did not run, its
    reason in the version column and no counts (it has no cells)."""
    verdicts = [v.value for v in Verdict]
    header = ["target", "interface", "via", "server version", "nginx"]
    header += [f"{SYMBOLS[v]} {v}" for v in verdicts] + ["total"]
    rows = [_row(header), _row(["---"] * len(header))]
    for column in columns_of(records):
        interface, target, via = column
        mine = [r for r in records if column_of(r) == column]
        counts = Counter(r.get("verdict") for r in mine)
        versions = _distinct(r.get("server", {}).get("version") for r in mine)
        nginx = _distinct(r.get("nginx_version") for r in mine) if via != "direct" else ""
        cells = [target, interface, via, versions or "unknown", nginx or NOT_APPLICABLE]
        rows.append(_row([_cell_text(c) for c in cells]
                         + [str(counts[v]) for v in verdicts] + [str(len(mine))]))
    for entry in sorted(unavailable, key=lambda e: (e["interface"], e["target"])):
        cells = [entry["target"], entry["interface"], "not run",
                 f"not run: {entry['reason']}", NOT_APPLICABLE]
        rows.append(_row([_cell_text(c) for c in cells]
                         + [NOT_APPLICABLE] * len(verdicts) + ["0"]))
    return rows


def _matrix(records: list[Record], anchors: dict[tuple[str, str, str], str],
            page: Callable[[str], str] = lambda area: "") -> list[str]:
    """One table per area; its columns are the targets of the interfaces the area covers.
    ``page(area)`` is the file the area's details are in ("" for this page)."""
    lines: list[str] = []
    all_columns = columns_of(records)
    for area in sorted({area_of(r) for r in records}):
        mine = [r for r in records if area_of(r) == area]
        interfaces = {r.get("interface", "") for r in mine}
        columns = [c for c in all_columns if c[0] in interfaces]
        by_cell = {cell_of(r): r for r in mine}
        lines += [f"### {_cell_text(area)}", ""]
        header = ["check", "level", "requirements"]
        header += [f"{_cell_text(target)}<br>{via}" for _, target, via in columns]
        lines += [_row(header), _row(["---"] * len(header))]
        for check in sorted({r["check"] for r in mine}):
            first = next(r for r in mine if r["check"] == check)
            cells = [f"`{_cell_text(check)}`", _cell_text(first.get("level", "")),
                     _cell_text(", ".join(first.get("requirements", [])))]
            for _, target, via in columns:
                record = by_cell.get((check, target, via))
                cells.append(_matrix_cell(record, anchors, page(area)))
            lines.append(_row(cells))
        lines.append("")
    return lines


def _matrix_cell(record: Record | None, anchors: dict[tuple[str, str, str], str],
                 page: str = "") -> str:
    if record is None:
        return NOT_APPLICABLE
    symbol = SYMBOLS.get(record.get("verdict", ""), UNKNOWN_SYMBOL)
    anchor = anchors.get(cell_of(record))
    return f"[{symbol}]({page}#{anchor})" if anchor else symbol


def _detail(record: Record, anchor: str) -> list[str]:
    verdict = record.get("verdict", "")
    server = record.get("server", {})
    evidence = record.get("evidence", {}) or {}
    fields = [
        ("verdict", f"{SYMBOLS.get(verdict, UNKNOWN_SYMBOL)} {verdict}"),
        ("target", f"{record['target']} ({record.get('interface', '')}) via {record['via']}"),
        ("server version", server.get("version") or "unknown"),
        ("nginx version", record.get("nginx_version") or NOT_APPLICABLE),
        ("level", record.get("level", "")),
        ("requirements", ", ".join(record.get("requirements", []))),
        ("spec section", record.get("section", "")),
        ("check source", module_of(record) or "(a check this version does not have)"),
        ("message", record.get("message") or "(none)"),
    ]
    where = f"{_inline(record['target'])} via {_inline(record['via'])}"
    lines = [f'<a id="{anchor}"></a>', "", f"### `{record['check']}` on {where}", "",
             _inline(record.get("title", "")), "",
             _row(["", ""]), _row(["---", "---"])]
    lines += [_row([f"**{name}**", _cell_text(str(value))]) for name, value in fields]
    lines.append(_row(["**server command**", _code_span(server.get("command", ""))]))
    lines.append("")
    findings = findings_of(record)
    if findings:
        lines += ["Findings, worst first:", ""]
        lines += [f"- **{_inline(f['level'])}** {_inline(f['requirement'])}"
                  f"{' (' + _inline(f['case']) + ')' if f['case'] else ''}: "
                  f"{_inline(f['message'])}  \n  _rests on:_ {_inline(f['rests_on'])}"
                  for f in findings]
        lines.append("")
    review = review_of(record)
    if review:
        lines += [f"**Reviewed ({_inline(review.get('finding', ''))}):** "
                  f"{_inline(review.get('note', ''))}", ""]
    spec_text = spec_text_of(record)
    if spec_text:
        # The check's docstring: the spec sentence it enforces and how it is judged.
        lines += ["> " + _inline(spec_text), ""]
    if evidence.get("reproducer"):
        lines += ["Reproducer (with the server running as above):", ""]
        lines += _fenced(truncate(evidence["reproducer"], BYTES_LIMIT * 2), "sh")
    for number, exchange in enumerate(evidence.get("exchanges", []), 1):
        notes = [note for key, note in (("server_closed", "the server closed the connection"),
                                        ("truncated", "truncated by the suite"))
                 if exchange.get(key)]
        suffix = f" ({'; '.join(notes)})" if notes else ""
        lines += [f"Connection {number} to `{exchange.get('to', '?')}`{suffix}. Sent:", ""]
        lines += _fenced(_bytes_text(exchange.get("sent", "")), "text")
        lines += ["Received:", ""]
        lines += _fenced(_bytes_text(exchange.get("received", "")) or "(nothing)", "text")
    observed = evidence.get("observed") or []
    if observed:
        shown = min(len(observed), EVENTS_SHOWN)
        lines += [f"Observed by the application (journal events, first {shown} of "
                  f"{len(observed)}):", ""]
        lines += _fenced(_json_text(observed[:EVENTS_SHOWN]), "json")
    if evidence.get("evidence_error"):
        lines += [f"Evidence could not be collected: {_inline(evidence['evidence_error'])}", ""]
    details = dict(record.get("details") or {})
    traceback = details.pop("traceback", None)
    if details:
        lines += ["Details:", ""] + _fenced(_json_text(details), "json")
    if traceback:
        lines += ["Traceback:", ""] + _fenced(str(traceback), "text")
    if evidence.get("log_tail"):
        tail = str(evidence["log_tail"]).splitlines()[-LOG_LINES:]
        lines += ["Server log tail:", ""] + _fenced("\n".join(tail), "text")
    return lines


# -- keys, columns and anchors --------------------------------------------------------------
# -- text helpers ---------------------------------------------------------------------------
def _distinct(values: Iterable[Any]) -> str:
    return ", ".join(sorted({str(v) for v in values if v}))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _inline(text: str) -> str:
    """Text safe inside a line of Markdown: no HTML, no line breaks."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "\r", "").replace("\n", " ")


def _cell_text(text: str) -> str:
    """Text safe inside a table cell: pipes escaped, line breaks as <br>."""
    lines = str(text).replace("\r\n", "\n").split("\n")
    return "<br>".join(_inline(line).replace("|", "\\|") for line in lines)


def _code_span(text: str) -> str:
    """Inline code inside a table cell (GFM unescapes ``\\|`` there too)."""
    text = str(text).replace("\n", " ").replace("|", "\\|")
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks} {text} {ticks}" if ticks != "`" else f"`{text}`"


def _bytes_text(escaped: str) -> str:
    """Escaped wire bytes (``\\r\\n`` literal) broken into lines after each escaped ``\\n``."""
    text = truncate(str(escaped), BYTES_LIMIT)
    # An escaped newline is \n preceded by an even number of backslashes (\\n is a backslash).
    return re.sub(r"(?<!\\)((?:\\\\)*\\n)(?!$)", "\\1\n", text)


def _json_text(value: Any) -> str:
    return truncate(json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False),
                     JSON_LIMIT)


def _fenced(text: str, language: str) -> list[str]:
    """A fenced code block longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text, fence, ""]
