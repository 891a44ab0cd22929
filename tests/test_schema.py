"""The results file's JSON Schema: real results validate against it, broken ones are refused
with the place named, and reports/SCHEMA.md is exactly what the schema renders to."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.cli import main
from conformance.report.results import SCHEMA_VERSION
from conformance.report.schema import results_schema, schema_errors, schema_markdown
from tests.conftest import REPO
from tests.test_report import make_record


def test_schema_version_is_the_writers() -> None:
    assert results_schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_published_results_validate() -> None:
    files = sorted((REPO / "reports" / "results").glob("*.json"))
    assert files, "reports/results is empty: run make matrix"
    for path in files:
        assert schema_errors(json.loads(path.read_text())) == [], path.name


def test_a_record_the_writer_makes_validates() -> None:
    records = [make_record("asgi-www.scope-headers", "uvicorn-h11", "nginx", "fail"),
               make_record("asgi-www.scope-headers", "uvicorn-h11", "direct")]
    assert schema_errors({"schema_version": SCHEMA_VERSION, "records": records}) == []


def test_invalid_records_are_refused_with_the_place_named(tmp_path: Path) -> None:
    bad = make_record("asgi-www.scope-headers", "uvicorn-h11", "direct", verdict="maybe")
    stale = make_record("asgi-www.scope-headers", "daphne", "direct", review={"note": "x"})
    errors = schema_errors({"schema_version": SCHEMA_VERSION, "records": [bad, stale]})
    assert any(e.startswith("records/0/verdict:") for e in errors), errors
    assert any(e.startswith("records/1:") and "review" in e for e in errors), errors
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "records": [bad]}))
    assert main(["report", str(path), "--out", str(tmp_path / "out.md")]) == 2
    assert not (tmp_path / "out.md").exists()


def test_schema_document_is_generated_from_the_schema() -> None:
    committed = (REPO / "reports" / "SCHEMA.md").read_text()
    assert committed == schema_markdown(), "run: conformance schema --markdown > reports/SCHEMA.md"
    for key in results_schema()["$defs"]["record"]["properties"]:
        assert f"| {key} |" in committed
