"""Helpers for the suite's own tests: run the plugin in a subprocess, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
    """Run `pytest --target=...` in a fresh process from an empty directory."""
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN",
         f"--results={results}", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
    )
    records = json.loads(results.read_text())["records"] if results.exists() else []
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, records)


def write_target(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(body)
    return path


def broken_target(tmp_path: Path, name: str, interface: str, app: str,
                  command: str | None = None) -> Path:
    """A target TOML that runs a real server with a broken stack from tests/broken."""
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
env = {{ PYTHONPATH = "{BROKEN}" }}
""")


@pytest.fixture
def suite(tmp_path: Path):
    def run(*args: str) -> SuiteRun:
        return run_suite(tmp_path, *args)

    return run
