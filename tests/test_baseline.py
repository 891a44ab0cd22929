"""CI for server authors: a baseline of known failures keeps the run green until something new
breaks, and says when a known failure is fixed."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.cli import main
from tests.conftest import broken_target, run_suite

CHECKS = "--checks=pep3333.optional-cgi-keys,pep3333.required-keys"


def test_baseline_expects_known_failures_and_reports_fixed(tmp_path: Path) -> None:
    target = broken_target(tmp_path, "noquery", "wsgi", "broken_wsgi:drop_query_string")
    first = run_suite(tmp_path, f"--target={target}", "--via=direct", CHECKS)
    assert first.returncode == 1  # the broken stack fails optional-cgi-keys
    assert first.verdict("pep3333.optional-cgi-keys", "noquery") == "fail"

    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(tmp_path / "results.json"), "--out", str(baseline)]) == 0
    known = json.loads(baseline.read_text())["known"]
    assert known == [{"check": "pep3333.optional-cgi-keys", "target": "noquery",
                      "via": "direct", "verdict": "fail"}]

    # Pretend required-keys was known broken too: now that it passes it is reported fixed.
    known.append({"check": "pep3333.required-keys", "target": "noquery", "via": "direct",
                  "verdict": "fail"})
    baseline.write_text(json.dumps({"schema_version": 1, "known": known}))
    second = run_suite(tmp_path, f"--target={target}", "--via=direct", CHECKS,
                       f"--baseline={baseline}")
    assert second.returncode == 0, second.output[-2000:]
    assert "1 xfailed" in second.output
    assert "FIXED (was in the baseline) pep3333.required-keys [noquery, direct]" in \
        second.output


def test_new_failure_still_fails(tmp_path: Path) -> None:
    target = broken_target(tmp_path, "noquery", "wsgi", "broken_wsgi:drop_query_string")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"schema_version": 1, "known": []}))
    run = run_suite(tmp_path, f"--target={target}", "--via=direct", CHECKS,
                    f"--baseline={baseline}")
    assert run.returncode == 1


def test_bad_baseline_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text("{not json")
    run = run_suite(tmp_path, "--target=wsgiref", f"--baseline={bad}")
    assert run.returncode == 4
    assert "is not a baseline file" in run.output and "Traceback" not in run.output


def test_a_baseline_written_with_old_ids_still_applies(tmp_path: Path) -> None:
    """Check ids changed once (conformance/renames.toml): a server author's baseline written
    before keeps expecting the same cell, and --checks with an old id selects the check."""
    target = broken_target(tmp_path, "noquery", "wsgi", "broken_wsgi:drop_query_string")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"schema_version": 1, "known": [
        {"check": "wsgi-environ.optional-cgi-keys", "target": "noquery", "via": "direct",
         "verdict": "fail"}]}))
    run = run_suite(tmp_path, f"--target={target}", "--via=direct",
                    "--checks=wsgi-environ.optional-cgi-keys", f"--baseline={baseline}")
    assert run.returncode == 0, run.output[-2000:]
    assert "1 xfailed" in run.output
    assert {r["check"] for r in run.records} == {"pep3333.optional-cgi-keys"}
