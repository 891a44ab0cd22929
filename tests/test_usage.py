"""What a user sees when something is wrong: one clear message, no traceback, no hang, no
leftover process, and the rest of the run goes on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_suite, write_target


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "--target=nosuch")
    assert proc.returncode == 4  # pytest's usage-error status
    assert "unknown target 'nosuch'" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_malformed_toml_is_a_usage_error(tmp_path: Path) -> None:
    path = write_target(tmp_path, "broken", 'interface = "asgi"\ncommand = [')
    proc = _pytest(tmp_path, f"--target={path}")
    assert proc.returncode == 4
    assert f"{path} is not valid TOML" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_server_that_exits_at_once_gives_errors_and_the_run_continues(tmp_path: Path) -> None:
    dead = write_target(tmp_path, "dead", """
interface = "wsgi"
command = ["{python}", "-c", "import sys; print('boom: no such option'); sys.exit(3)", "{app}"]
""")
    run = run_suite(tmp_path, f"--target={dead},wsgiref", "--via=direct",
                    "--checks=pep3333.required-keys,pep3333.server-protocol")
    verdicts = run.verdicts()
    assert verdicts[("pep3333.required-keys", "dead", "direct")] == "error"
    assert verdicts[("pep3333.server-protocol", "dead", "direct")] == "error"
    assert verdicts[("pep3333.required-keys", "wsgiref", "direct")] == "pass"
    error = next(r for r in run.records if r["target"] == "dead")
    assert "exited with status 3" in error["message"]
    assert "boom: no such option" in error["message"]
    assert run.returncode == 1
    assert "Traceback" not in run.output


def test_server_that_never_answers_is_stopped(tmp_path: Path) -> None:
    silent = write_target(tmp_path, "silent", """
interface = "wsgi"
startup_timeout = 2
command = ["{python}", "-c", "import time; time.sleep(60)", "{app}"]
""")
    run = run_suite(tmp_path, f"--target={silent}", "--via=direct",
                    "--checks=pep3333.required-keys")
    assert run.verdict("pep3333.required-keys", "silent") == "error"
    assert "did not answer" in run.records[0]["message"]
    leftover = subprocess.run(["pgrep", "-f", "time.sleep\\(60\\)"], capture_output=True)
    assert leftover.returncode == 1, "the silent server outlived the run"


def test_catalogue_command_lists_the_checks() -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "catalogue", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert '"requirements"' in proc.stdout


def test_unavailable_configuration_is_reported_with_its_reason(tmp_path: Path) -> None:
    """A configuration that cannot run (its TOML says why) runs no check and starts nothing;
    the results file and the summary carry the reason; the other targets run as usual."""
    gone = write_target(tmp_path, "gone", """
interface = "wsgi"
unavailable = "the pinned release no longer ships this worker"
command = ["{python}", "-c", "raise SystemExit('must never start')", "{app}"]
""")
    run = run_suite(tmp_path, f"--target={gone},wsgiref", "--via=direct",
                    "--checks=pep3333.required-keys")
    assert {r["target"] for r in run.records} == {"wsgiref"}
    assert "gone                         not run: the pinned release no longer ships" in run.output
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["unavailable"] == [{"target": "gone", "interface": "wsgi",
                                       "reason": "the pinned release no longer ships this worker"}]
    assert "Traceback" not in run.output and "must never start" not in run.output
