"""A new user's first run, exactly as they would type it (issue: "A new user's first run
works"): build the wheel, install it with no extras into a fresh virtual environment beside one
ASGI and one WSGI server, and run ``pytest --target=...`` from an empty directory.

The run must end in verdicts (exit 0 or 1, never a usage error or an internal error), write
its results where the README says, leave no process and no file anywhere else: not in the
checkout, not in the temporary directory, not in the home directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import pytest

from conformance.report.schema import schema_errors
from tests.conftest import REPO

TARGETS = ("uvicorn-h11", "waitress")
SERVERS = ("uvicorn", "waitress")  # what a user installs beside the suite: no extras
VERDICTS = {"pass", "fail", "warn", "unsupported", "info", "error", "skipped"}


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore
    assert proc.returncode == 0, f"{argv}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _listing(folder: Path, depth: int) -> set[Path]:
    """What is in ``folder``, ``depth`` levels down."""
    found: set[Path] = set()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return found
    for entry in entries:
        found.add(entry)
        if depth > 1 and entry.is_dir() and not entry.is_symlink():
            found |= _listing(entry, depth - 1)
    return found


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=REPO,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel (no extras), uvicorn and waitress: what a user has."""
    root = tmp_path_factory.mktemp("install")
    # Built from a copy of the files git would ship, so that the build leaves nothing in the
    # checkout (setuptools writes build/ and *.egg-info beside the sources).
    source = root / "source"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = root / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)])
    wheels = list(dist.glob("gateway_conformance-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
          "-c", str(REPO / "constraints.txt"), str(wheels[0]), *SERVERS])
    return env_dir


def test_wheel_ships_targets_schema_and_template(user_venv: Path) -> None:
    code = ("from conformance.targets import bundled_targets;"
            "from conformance.report.schema import results_schema;"
            "from conformance.report.html import render_html;"
            "print(len(bundled_targets()), results_schema()['properties']['schema_version'])")
    out = _run([str(user_venv / "bin" / "python"), "-c", code], cwd=tempfile.gettempdir())
    assert out.stdout.startswith(str(len(list((REPO / "targets").glob("*.toml")))))


def test_first_run_from_an_empty_directory(user_venv: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "empty"
    workdir.mkdir()
    # The run gets a temp dir and a home of its own, so that what it leaves there is its own
    # even while other tests run beside it (make test runs them in parallel).
    temp_root, home = tmp_path / "tmp", tmp_path / "home"
    temp_root.mkdir()
    home.mkdir()
    checkout_before = _git_status()
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER",
                        "PYTHONPYCACHEPREFIX")}  # make test's bytecode cache is not the user's
    env["PATH"] = f"{user_venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"  # an activated venv
    env.update(TMPDIR=str(temp_root), HOME=str(home))
    proc = subprocess.run(
        ["pytest", f"--target={','.join(TARGETS)}", "--via=direct", "--examples=5"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
    )
    output = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode in (0, 1), output  # verdicts; never 3 (internal) or 4 (usage)
    assert "INTERNALERROR" not in output and "Traceback" not in proc.stderr, output

    results = workdir / "reports" / "results"
    for name in TARGETS:
        payload = json.loads((results / f"{name}.json").read_text())
        assert schema_errors(payload) == [], name
        records = payload["records"]
        verdicts = [r["verdict"] for r in records]
        assert set(verdicts) <= VERDICTS and verdicts.count("pass") > len(verdicts) // 2, name
        assert {r["target"] for r in records} == {name}
        assert not [r["message"] for r in records if "harness error" in r["message"]], name

    # Written: the results, and pytest's own cache. Nothing else, anywhere.
    written = {p.relative_to(workdir).parts[0] for p in workdir.rglob("*")}
    assert written <= {"reports", ".pytest_cache"}, written
    assert _git_status() == checkout_before, "the run changed the checkout"
    assert _listing(temp_root, depth=1) == set(), "left behind in the temp dir"
    assert _listing(home, depth=3) == set(), "the run wrote into the home directory"
