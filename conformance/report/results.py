"""Results records and files (the schema is documented in reports/SCHEMA.md).

One record per (check, target, via). A results file is a JSON object
``{"schema_version": 1, "records": [...]}``; files from several runs merge by concatenating
their record lists (DESIGN.md decision 10).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# 2: records carry ids only for editorial data (no "review", no "spec_text"; both are joined
# when the matrix is rendered), commands keep their path placeholders, and "withheld" says how
# many environ keys were withheld (report/redaction.py).
SCHEMA_VERSION = 2


def jsonable(value: Any, max_text: int | None = None) -> Any:
    """Bytes become readable escaped text; tuples become lists; anything else is kept.

    With ``max_text``, a longer text (a multi-MiB body an app journalled, say) is cut there
    and says how much was left out, so that one record cannot bloat a results file."""
    from conformance.wire import escape_bytes

    if isinstance(value, bytes | bytearray):
        value = escape_bytes(bytes(value))
    if isinstance(value, str):
        if max_text is not None and len(value) > max_text:
            return f"{value[:max_text]}... ({len(value) - max_text} more characters cut)"
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v, max_text) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v, max_text) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float):
        return value
    return repr(value)


def write_results(path: Path, records: list[dict[str, Any]],
                  unavailable: list[dict[str, str]] | None = None) -> None:
    """Write a results file; raises redaction.LeakError (and writes nothing) when a record
    still holds a path or environment value of this machine. ``unavailable``: the
    configurations that did not run, each {"target", "interface", "reason"}."""
    from conformance.report.redaction import ensure_publishable

    payload: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "records": records}
    if unavailable:
        payload["unavailable"] = unavailable
    text = json.dumps(payload, indent=1, sort_keys=True) + "\n"
    ensure_publishable(json.dumps([records, unavailable], ensure_ascii=False),
                       f"results file {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class ResultsError(Exception):
    pass


def read_results(paths: list[Path]) -> list[dict[str, Any]]:
    """All records of the given files, each file validated against results.schema.json; a
    later record for the same cell replaces an earlier."""
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    for payload in _payloads(paths):
        for record in payload["records"]:
            cells[(record["check"], record["target"], record["via"])] = record
    return list(cells.values())


def read_unavailable(paths: list[Path]) -> list[dict[str, str]]:
    """The configurations the files say did not run, by target name (a later file wins),
    leaving out any that another file has records for (it ran there)."""
    ran = {record["target"] for record in read_results(paths)}
    entries: dict[str, dict[str, str]] = {}
    for payload in _payloads(paths):
        for entry in payload.get("unavailable", []):
            entries[entry["target"]] = entry
    return [entries[name] for name in sorted(entries) if name not in ran]


def _payloads(paths: list[Path]) -> list[dict[str, Any]]:
    from conformance.report.schema import schema_errors

    payloads = []
    for path in paths:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ResultsError(f"{path}: not a readable results file: {exc}") from None
        if not isinstance(payload, dict) or payload.get("schema_version") != SCHEMA_VERSION:
            raise ResultsError(f"{path}: expected schema_version {SCHEMA_VERSION} (a file of "
                               "another version of the suite: re-run it with this one)")
        problems = schema_errors(payload)
        if problems:
            raise ResultsError(f"{path}: not a valid results file: {'; '.join(problems)}")
        payloads.append(payload)
    return payloads
