"""Helpers for the suite's own tests: run the plugin in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.report.schema import schema_errors

REPO = Path(__file__).resolve().parent.parent
BROKEN = REPO / "tests" / "broken"


@dataclass
class SuiteRun:
    returncode: int
    output: str
    records: list[dict[str, Any]]

    def verdicts(self) -> dict[tuple[str, str, str], str]:
        return {(r["check"], r["target"], r["via"]): r["verdict"] for r in self.records}

    def verdict(self, check: str, target: str, via: str = "direct") -> str:
        return self.verdicts()[(check, target, via)]


def run_suite(tmp_path: Path, *args: str, timeout: float = 600) -> SuiteRun:
    """Run `pytest --target=...` in a fresh process from an empty directory. Only the
    conformance plugin is loaded (no other installed pytest plugin: xdist and hypothesis's
    own add nothing a single run uses), which saves a third of each run's start-up; the
    user's full path is tests/test_install.py's."""
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider",
         "-q", "-rN", f"--results={results}", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    payload = json.loads(results.read_text()) if results.exists() else {"records": []}
    # Every results file a test run writes must be one `conformance report` accepts.
    assert not results.exists() or schema_errors(payload) == [], schema_errors(payload)
    records = payload["records"]
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, records)


def write_target(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(body)
    return path


def broken_target(tmp_path: Path, name: str, interface: str, app: str,
                  command: str | None = None) -> Path:
    """A target TOML that runs a real server with a broken stack from tests/broken. The
    repository is on the server's path too, so the probe app it loads is this checkout's (the
    editable install points at one checkout only; a worktree's probe changes would not reach
    the server otherwise)."""
    if command is None:
        command = ('["{python}", "-m", "conformance.launchers.wsgiref_server", "--host", "{host}", '
                   '"--port", "{port}", "{app}"]' if interface == "wsgi" else
                   '["{bin}/uvicorn", "--http", "h11", "--host", "{host}", "--port", "{port}", '
                   '"--lifespan", "on", "--no-access-log", "{app}"]')
    return write_target(tmp_path, name, f"""
interface = "{interface}"
description = "deliberately broken: {app}"
command = {command}
app = "{app}"
env = {{ PYTHONPATH = "{BROKEN}{os.pathsep}{REPO}" }}
""")


@pytest.fixture
def suite(tmp_path: Path):
    def run(*args: str) -> SuiteRun:
        return run_suite(tmp_path, *args)

    return run


def expectation(value: str) -> tuple[str, list[str]]:
    """A broken-stack row's expectation for one check: ``"fail"``, or the verdict and the
    clauses (sentence refs) whose findings the check must report, ``"fail: HTTP-11.a"``."""
    verdict, _, refs = value.partition(":")
    return verdict.strip(), [ref.strip() for ref in refs.split(",") if ref.strip()]


def _assert_clauses(record: dict[str, Any], refs: list[str]) -> None:
    """Each clause's finding is in the record at its sentence's level (issue 13: the
    suite reports that clause's finding, not just any finding of the check)."""
    from conformance.requirements import level_of

    found = {(f["requirement"], f["level"]) for f in record["findings"]}
    for ref in refs:
        level = level_of(ref).value
        bare = ref.split(".")[0]
        assert (ref, level) in found or (bare, level) in found, (
            f"{record['check']}: no {level} finding on {ref}; findings: {sorted(found)}")


def _log_findings(name: str, records: list[dict[str, Any]]) -> None:
    """With CONFORMANCE_FINDINGS_LOG set, append each record's findings (a developer's aid
    for writing the clause refs of a row)."""
    log = os.environ.get("CONFORMANCE_FINDINGS_LOG")
    if not log:
        return
    with open(log, "a", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps({"stack": name, "check": record["check"],
                                  "verdict": record["verdict"],
                                  "findings": [[f["requirement"], f["level"]]
                                               for f in record["findings"]]}) + "\n")


def check_broken_stack(tmp_path: Path, name: str, interface: str, app: str,
                       command: str | None, expected: dict[str, str], *,
                       extra_toml: str = "", examples: int = 40,
                       via: str | None = None) -> None:
    """Run the checks of ``expected`` on one deliberately broken stack and assert each verdict,
    the findings of the clauses it names, its justification (message, section, bytes or log)
    and the run's exit status. Each check runs on its own path: direct where it applies, else
    through nginx; ``via`` forces one path (a row proving a sentence that only the nginx path
    of a check that runs both ways records)."""
    from conformance.catalogue import all_checks

    target = broken_target(tmp_path, name, interface, app, command)
    if extra_toml:
        target.write_text(target.read_text() + "\n" + extra_toml + "\n")
    via_of = {c.id: via or ("direct" if "direct" in c.via else c.via[0]) for c in all_checks()}
    vias = {via_of[check_id] for check_id in expected}
    run = run_suite(tmp_path, f"--target={target}",
                    f"--via={vias.pop() if len(vias) == 1 else 'all'}",
                    f"--checks={','.join(expected)}", f"--examples={examples}")
    _log_findings(name, run.records)
    verdicts = {check_id: expectation(value) for check_id, value in expected.items()}
    for check_id, (verdict, clauses) in verdicts.items():
        got = run.verdict(check_id, name, via_of[check_id])
        assert got == verdict, f"{check_id} on {name}: {got}\n{run.output[-3000:]}"
        record = next(r for r in run.records if r["check"] == check_id)
        _assert_clauses(record, clauses)
        # A verdict other than pass must carry its justification: message, section, bytes.
        assert record["message"] and record["section"]
        assert record["evidence"].get("exchanges") or record["evidence"].get("log_tail")
    failing = any(verdict == "fail" for verdict, _ in verdicts.values())
    assert run.returncode == (1 if failing else 0), run.output[-2000:]


# The longest tests (a minute or two each) go first: under xdist's load scheduling a long
# test collected last would run alone at the end and set the run's length.
SLOW_FIRST = ("tests/test_real_targets.py", "tests/test_install.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))
