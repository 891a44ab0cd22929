"""The results file's JSON Schema (results.schema.json, shipped in the package): validation
with the jsonschema library, and reports/SCHEMA.md rendered from the same file, so that the
document a reader sees and the check a file passes cannot drift apart."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_FILE = "results.schema.json"


@cache
def results_schema() -> dict[str, Any]:
    text = resources.files("conformance.report").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_errors(payload: Any, limit: int = 5) -> list[str]:
    """Why ``payload`` is not a valid results file: at most ``limit`` lines, each naming the
    place (``records/3/verdict``) and the rule it breaks; empty when it is valid."""
    validator = Draft202012Validator(results_schema())
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.path)))
    return [f"{'/'.join(map(str, error.path)) or '(top)'}: {error.message[:300]}"
            for error in errors[:limit]]


def schema_markdown() -> str:
    """reports/SCHEMA.md: the record's keys as a table, from the schema's descriptions."""
    schema = results_schema()
    record = schema["$defs"]["record"]
    version = schema["properties"]["schema_version"]["const"]
    required = set(record["required"])
    lines = [
        f"# Results schema (version {version})",
        "",
        "<!-- Generated from conformance/report/results.schema.json by "
        "`conformance schema --markdown`; do not edit by hand. -->",
        "",
        "`reports/results/<target>.json` (or the file named by `--results`):",
        "",
        "```json",
        f'{{"schema_version": {version}, "records": [RECORD, ...]}}',
        "```",
        "",
        schema["description"],
        "",
        "The JSON Schema itself ships in the package as `conformance/report/"
        f"{SCHEMA_FILE}`; `conformance report` validates every file against it.",
        "",
        "| key | type | meaning |",
        "|---|---|---|",
    ]
    for key, spec in record["properties"].items():
        optional = "" if key in required else " (optional)"
        meaning = spec.get("description", "").replace("|", "\\|")
        lines.append(f"| {key} | {_type_of(spec)}{optional} | {meaning} |")
    return "\n".join(lines) + "\n"


def _type_of(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return "str: " + ", ".join(spec["enum"])
    kind = spec.get("type", "object")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"[{_type_of(spec.get('items', {}))}]"
    return str(kind)
