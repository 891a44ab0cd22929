"""Nothing of the producing machine in published output: no path of the checkout, the
virtual environment, the temporary or the home directory, and no value of its environment,
in results, Markdown or HTML (report/redaction.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.report.redaction import WITHHELD, LeakError, Redactor, ensure_publishable
from conformance.report.results import write_results
from tests.conftest import REPO
from tests.test_report import make_record

MACHINE_NAME = "GATEWAY_CANARY_MACHINE"


def _redactor(tmp_path: Path) -> Redactor:
    return Redactor({str(tmp_path / "checkout"): "{checkout}", "/home/someone": "~"},
                    {"HOSTNAME_LIKE": "box-7f3a9c21", "SHORT": "yes"})


def test_paths_and_environment_values_are_replaced(tmp_path: Path) -> None:
    redactor = _redactor(tmp_path)
    text = (f"{tmp_path}/checkout/conformance/x.py line 3; /home/someone/.cache; "
            f"{tmp_path}/checkoutother; host box-7f3a9c21; yes")
    assert redactor.text(text) == (
        f"{{checkout}}/conformance/x.py line 3; ~/.cache; {tmp_path}/checkoutother; "
        "host {env:HOSTNAME_LIKE}; yes")


def test_environ_values_of_the_machine_are_withheld_and_counted(tmp_path: Path) -> None:
    redactor = Redactor({}, {"HOME": "/root", "PATH_INFO": "/x"},
                        ({"CONFORMANCE_JOURNAL": "/tmp/j"},))
    event = {"event": "request", "environ": {
        "HOME": "/root", "PATH_INFO": "/x", "CONFORMANCE_JOURNAL": "/tmp/j",
        "HTTP_X": "/root", "wsgi.url_scheme": "http"}}
    environ = redactor.value(event)["environ"]
    # Judged keys stay even when their value equals the environment's; the others go.
    assert environ == {"HOME": WITHHELD, "PATH_INFO": "/x", "CONFORMANCE_JOURNAL": WITHHELD,
                       "HTTP_X": "/root", "wsgi.url_scheme": "http"}
    assert redactor.withheld == 2


def test_a_leak_stops_publication(tmp_path: Path) -> None:
    secret = f"/srv/{uuid.uuid4().hex}"
    redactor = Redactor({secret: "{checkout}"}, {})
    with pytest.raises(LeakError) as caught:
        ensure_publishable(f"<pre>{secret}/x</pre>", "index.html", redactor)
    assert secret not in str(caught.value) and "{checkout}" in str(caught.value)
    ensure_publishable("<pre>{checkout}/x</pre>", "index.html", redactor)  # no raise


def test_results_and_report_refuse_a_record_with_this_machines_path(tmp_path: Path) -> None:
    leaky = make_record("wsgi-environ.x", "wsgiref", "direct", "fail",
                        message=f"opened {REPO}/conformance/x.py")
    with pytest.raises(LeakError):
        write_results(tmp_path / "r.json", [leaky])
    assert not (tmp_path / "r.json").exists()
    # A file written elsewhere (by hand here) is refused at render time, and nothing written.
    (tmp_path / "r.json").write_text(json.dumps({"schema_version": 2, "records": [leaky]}))
    out = tmp_path / "out" / "README.md"
    assert main(["report", str(tmp_path / "r.json"), "--out", str(out)]) == 2
    assert not out.parent.exists()


def test_canary_run_publishes_nothing_of_the_machine(tmp_path: Path) -> None:
    """wsgiref copies the whole process environment into environ, and a target that dies at
    start puts its working directory and environment into the log tail: neither may reach
    the results, the Markdown or the HTML."""
    canary = f"canary-{uuid.uuid4().hex}"
    unique = tmp_path / f"results-dir-{uuid.uuid4().hex[:12]}"
    unique.mkdir()
    dies = unique / "dies-at-start.toml"
    dies.write_text(
        'interface = "wsgi"\n'
        'command = ["{python}", "-c", "import os, sys; print(os.getcwd(), sys.executable, '
        f"os.environ['{MACHINE_NAME}'], os.environ['HOME']); sys.exit(3)\", \"{{app}}\"]\n")
    results = unique / "results.json"
    env = {**os.environ, MACHINE_NAME: canary}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN",
         f"--target=wsgiref,{dies}", "--via=direct",
         "--checks=pep3333.http-headers,pep3333.optional-cgi-keys,wsgi-environ.cgi",
         f"--results={results}"],
        cwd=unique, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads(results.read_text())["records"]
    # The run did capture what would leak: environs with withheld keys, and a log tail.
    assert any(r.get("withheld", {}).get("environ_keys", 0) > 10 for r in records), records
    tails = [r["evidence"].get("log_tail", "") for r in records if r["target"] != "wsgiref"]
    assert tails, records
    assert all("{workdir}" in t and "{python}" in t and "{env:" in t for t in tails), tails
    report = unique / "report"
    subprocess.run([sys.executable, "-m", "conformance.cli", "report", str(results),
                    "--out", str(report / "README.md"), "--html", str(report / "index.html")],
                   cwd=unique, env=env, check=True, capture_output=True)
    published = [results, *sorted(report.rglob("*.md")), report / "index.html"]
    assert len(published) >= 3
    for path in published:
        text = path.read_text()
        for secret in (canary, unique.name, str(REPO), str(Path.home()) + "/"):
            assert secret not in text, f"{secret!r} in {path.name}"
