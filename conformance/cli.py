"""The ``conformance`` command: the check catalogue, and the matrix from results files.

Running the checks is pytest's job (``pytest --target ...``); this command only reads what
the checks declare and what a run wrote. Bad input ends in one line on stderr and exit
status 2, never a traceback: the command runs in CI, where a traceback hides the cause.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from conformance.report.results import ResultsError, read_results, read_unavailable

RESULTS_DIR = Path("reports") / "results"
DEFAULT_OUT = Path("reports") / "README.md"
USAGE_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``conformance`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "catalogue":
        if args.requirements:
            return requirements_catalogue(as_json=args.json)
        if args.clauses:
            return clauses_catalogue(as_json=args.json)
        return catalogue(as_json=args.json)
    if args.command == "report":
        out = Path(args.out)
        html = Path(args.html) if args.html else out.with_name("index.html")
        status = report([Path(p) for p in args.results], out, html)
        if status == 0 and args.screenshot:
            return take_screenshot(html, Path(args.screenshot))
        return status
    if args.command == "baseline":
        return baseline([Path(p) for p in args.results], Path(args.out))
    if args.command == "schema":
        return schema(as_markdown=args.markdown)
    parser.print_help(sys.stderr)
    return USAGE_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="gateway-conformance: list the checks, or render the compatibility matrix "
                    "from results files. Run the checks with: pytest --target NAME",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    cat = commands.add_parser("catalogue", help="list every check and the requirements it covers")
    cat.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    cat.add_argument("--requirements", action="store_true",
                     help="list the requirements (conformance/requirements.toml) and the "
                          "checks that enforce each, instead of the checks")
    cat.add_argument("--clauses", action="store_true",
                     help="list every clause (each way a server can break a requirement: one "
                          "server-binding sentence) and the checks and sub-cases that catch it")
    rep = commands.add_parser("report", help="render the Markdown matrix from results JSON")
    rep.add_argument("results", nargs="*", metavar="RESULTS",
                     help=f"results files (default: every {RESULTS_DIR}/*.json)")
    rep.add_argument("--out", default=str(DEFAULT_OUT), metavar="PATH",
                     help=f"where to write the Markdown (default: {DEFAULT_OUT})")
    rep.add_argument("--html", default=None, metavar="PATH",
                     help="where to write the HTML page (default: index.html beside --out)")
    rep.add_argument("--screenshot", default=None, metavar="PNG",
                     help="also take a headless-Chromium screenshot of the HTML page")
    sch = commands.add_parser("schema", help="print the results file's JSON Schema")
    sch.add_argument("--markdown", action="store_true",
                     help="print it as the Markdown table of reports/SCHEMA.md instead")
    base = commands.add_parser("baseline", help="write a baseline of known failures from "
                                                "results JSON, for pytest --baseline")
    base.add_argument("results", nargs="+", metavar="RESULTS", help="results files")
    base.add_argument("--out", required=True, metavar="PATH", help="the baseline file to write")
    return parser


# -- catalogue ----------------------------------------------------------------------------
CATALOGUE_COLUMNS = ("id", "level", "requirements", "interfaces", "via", "module", "title")


def catalogue(*, as_json: bool) -> int:
    """Print every check, as a fixed-width table or as JSON (``Check.as_json``)."""
    from conformance.catalogue import all_checks

    entries = [check.as_json() for check in all_checks()]
    if as_json:
        print(json.dumps(entries, indent=2))
        return 0
    for line in catalogue_table(entries):
        print(line)
    return 0


def catalogue_table(entries: list[dict[str, Any]]) -> list[str]:
    """Fixed-width lines: a header, a rule, one line per check, and a coverage line."""
    rows = [[_field(entry[name]) for name in CATALOGUE_COLUMNS] for entry in entries]
    header = [name.upper() for name in CATALOGUE_COLUMNS]
    # The title is last and left ragged, so a long title never widens the other columns.
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: list[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    requirements = {req for entry in entries for req in entry["requirements"]}
    return [
        line(header),
        line(["-" * w for w in widths] + ["-" * len(header[-1])]),
        *(line(row) for row in rows),
        f"{len(entries)} checks covering {len(requirements)} requirement ids",
    ]


def requirements_catalogue(*, as_json: bool) -> int:
    """Print every requirement with its levels, spec section and the checks enforcing it."""
    from dataclasses import asdict

    from conformance.catalogue import all_checks
    from conformance.requirements import all_requirements

    enforced: dict[str, list[str]] = {}
    for check in all_checks():
        for req in check.requirements:
            enforced.setdefault(req, []).append(check.id)
    entries = [{**asdict(r), "levels": list(r.levels), "checks": enforced.get(r.id, [])}
               for r in all_requirements().values()]
    if as_json:
        print(json.dumps(entries, indent=2))
        return 0
    for entry in entries:
        checks = ", ".join(entry["checks"]) or "(no check yet)"
        print(f"{entry['id']:14} {'/'.join(entry['levels']):14} {entry['spec']}, "
              f"{entry['section'] or '-'}\n    {entry['statement']}\n    checks: {checks}")
        for sentence in entry["sentences"]:
            print(f"    {entry['id']}.{sentence['key']} {sentence['level']} (binds "
                  f"{sentence['binds']}; {sentence['doc']}, {sentence['section']}): "
                  f"“{' '.join(sentence['quote'].split())}”")
        if entry["no_sentence"]:
            print(f"    no sentence: {entry['no_sentence']}")
    uncovered = sum(not e["checks"] for e in entries)
    print(f"{len(entries)} requirements, {len(entries) - uncovered} enforced by a check")
    return 0


def clauses_catalogue(*, as_json: bool) -> int:
    """Print the clause table (conformance/clauses.py): requirement, clause, level, and the
    checks and sub-cases that catch it, or "NOT CAUGHT"."""
    from conformance.clauses import clause_table

    table = clause_table()
    if as_json:
        print(json.dumps([clause.as_json() for clause in table], indent=2))
        return 0
    current = ""
    for clause in table:
        if clause.requirement != current:
            current = clause.requirement
            print(current)
        print(f"  {clause.ref:16} {clause.level.value:9} {clause.text}")
        if clause.parts:
            print(f"  {'':16} {'':9} (with {', '.join(clause.parts)}: same clause)")
        if clause.same_as:
            print(f"  {'':16} {'':9} (the same sentence as {clause.same_as}, caught there)")
        where = list(clause.cases) or list(clause.checks)
        print(f"  {'':16} {'':9} -> {'; '.join(where) if where else 'NOT CAUGHT'}")
    caught = sum(bool(clause.checks) for clause in table)
    print(f"{len(table)} clauses, {caught} caught by a check, {len(table) - caught} not yet")
    return 0


def _field(value: object) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def schema(*, as_markdown: bool) -> int:
    from conformance.report.schema import results_schema, schema_markdown

    print(schema_markdown() if as_markdown else json.dumps(results_schema(), indent=2) + "\n",
          end="")
    return 0


# -- report -------------------------------------------------------------------------------
def report(paths: list[Path], out: Path, html: Path | None = None) -> int:
    """Render ``paths`` (default: reports/results/*.json) into the Markdown matrix at ``out``
    and the HTML page at ``html``."""
    from conformance.report.html import render_html
    from conformance.report.markdown import render_markdown_pages
    from conformance.report.redaction import LeakError, ensure_publishable

    if not paths:
        paths = sorted(RESULTS_DIR.glob("*.json"))
        if not paths:
            return _error(f"no results files given and none in {RESULTS_DIR}/ "
                          "(run pytest --target NAME first, or name the files)")
    # One file at a time first, so that a bad file is named in the error.
    for path in paths:
        problem = _check_results_file(path)
        if problem:
            return _error(problem)
    records = read_results(paths)
    unavailable = read_unavailable(paths)
    if not records:
        return _error(f"no records in {', '.join(str(p) for p in paths)}: nothing to report")
    pages = {out if name == "README.md" else out.parent / name: text
             for name, text in render_markdown_pages(records, unavailable).items()}
    if html is not None:
        pages[html] = render_html(records, unavailable)
    try:
        # Every page is scanned before any is written: a leak publishes nothing.
        for page, text in pages.items():
            ensure_publishable(text, page.name)
        for page, text in pages.items():
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(text, encoding="utf-8")
    except LeakError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot write the report: {exc}")
    columns = {(r["target"], r["via"]) for r in records}
    written = f"{out} and {html}" if html is not None else str(out)
    print(f"wrote {written}: {len(records)} results for {len(columns)} target/via columns "
          f"from {len(paths)} file(s)")
    return 0


def take_screenshot(page: Path, png: Path) -> int:
    from conformance.report.browser import screenshot

    try:
        screenshot(page, png)
    except (OSError, subprocess.SubprocessError) as exc:
        return _error(f"no screenshot of {page}: {exc}")
    print(f"wrote {png}")
    return 0


def baseline(paths: list[Path], out: Path) -> int:
    """Write the non-passing cells of ``paths`` as a baseline: known failures that
    ``pytest --baseline`` expects instead of failing on."""
    from conformance.report.baseline import write_baseline

    for path in paths:
        problem = _check_results_file(path)
        if problem:
            return _error(problem)
    try:
        count = write_baseline(read_results(paths), out)
    except OSError as exc:
        return _error(f"{out}: cannot write the baseline: {exc}")
    print(f"wrote {out}: {count} known failures")
    return 0


def _check_results_file(path: Path) -> str | None:
    """Why ``path`` is not a usable results file, or None if it is."""
    try:
        records = read_results([path])
    except ResultsError as exc:
        return str(exc)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Undecodable text, or a record without check/target/via.
        return f"{path}: not a valid results file: {type(exc).__name__}: {exc}"
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict) or not all(
            isinstance(record.get(key), str) for key in ("check", "target", "via", "verdict")
        ):
            return f"{path}: record {number} lacks one of check, target, via, verdict"
    return None


def _error(message: str) -> int:
    print("conformance report: " + " ".join(message.split()), file=sys.stderr)
    return USAGE_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
