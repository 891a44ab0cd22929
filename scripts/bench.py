"""Benchmark: print how long the suite's pieces take on this machine.

Figures, never assertions: server start-up to first answer per bundled target, and the time
of one full check run (all checks, direct) for a few targets, split into checks.
Usage: python scripts/bench.py [TARGET ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.servers import ServerStartError, ServerUnderTest
from conformance.targets import bundled_targets, load_target

RUN_TARGETS = ("wsgiref", "uvicorn-h11")


def startup_seconds(name: str, workdir: Path) -> str:
    target = load_target(bundled_targets()[name])
    if target.unavailable:
        return "   not run (unavailable: see its target file)"
    server = ServerUnderTest(target, workdir / name)
    started = time.monotonic()
    try:
        server.start()
        server.wait_ready()
        return f"{time.monotonic() - started:6.2f}"
    except ServerStartError:
        return " error"
    finally:
        server.stop()


def run_seconds(name: str, workdir: Path) -> tuple[float, list[tuple[str, float]]]:
    results = workdir / f"{name}.json"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--target={name}", "--via=direct", f"--results={results}"],
                   cwd=workdir, capture_output=True, check=False)
    total = time.monotonic() - started
    records = json.loads(results.read_text())["records"] if results.exists() else []
    return total, sorted(((r["check"], r["duration"]) for r in records), key=lambda x: -x[1])


def main() -> None:
    names = sys.argv[1:] or list(bundled_targets())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("start-up to first answer (s)")
        for name in names:
            print(f"  {name:28} {startup_seconds(name, workdir)}")
        for name in [n for n in RUN_TARGETS if n in names] or names[:1]:
            total, checks = run_seconds(name, workdir)
            print(f"full direct run of {name}: {total:.2f} s; slowest checks:")
            for check_id, seconds in checks[:5]:
                print(f"  {check_id:40} {seconds:6.2f}")


if __name__ == "__main__":
    main()
