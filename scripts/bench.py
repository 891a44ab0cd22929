"""Benchmark: print how long the suite's pieces take on this machine.

Figures, never assertions: server start-up to first answer per bundled target, the time
of one full check run (all checks, direct) for a few targets, split into checks, and what the
TLS and HTTP/2 checks add to each server's time in the published matrix (reports/results:
the nginx-tls path, the HTTP/2 checks and the server's TLS configuration, against the rest;
issue 11 wants at most a quarter).
Usage: python scripts/bench.py [TARGET ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.catalogue import NGINX_TLS, all_checks
from conformance.certificates import make_certificates
from conformance.servers import ServerStartError, ServerUnderTest
from conformance.targets import bundled_targets, load_target

RESULTS = Path(__file__).resolve().parent.parent / "reports" / "results"

RUN_TARGETS = ("wsgiref", "uvicorn-h11")


def startup_seconds(name: str, workdir: Path) -> str:
    target = load_target(bundled_targets()[name])
    if target.unavailable:
        return "   not run (unavailable: see its target file)"
    certificates = make_certificates(workdir / "certificates") if target.tls else None
    server = ServerUnderTest(target, workdir / name, certificates=certificates)
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


def tls_and_h2_share(results: Path = RESULTS) -> list[tuple[str, float, float]]:
    """Per plain target of the published matrix: the seconds of its other cells, and the
    seconds its TLS and HTTP/2 cells add (its nginx-tls path, its checks that need HTTP/2, and
    every cell of its "<name>-tls" configuration)."""
    h2_checks = {c.id for c in all_checks() if "h2" in c.needs}
    base: dict[str, float] = {}
    added: dict[str, float] = {}
    for path in sorted(results.glob("*.json")):
        for record in json.loads(path.read_text()).get("records", []):
            name, seconds = record["target"], float(record["duration"])
            if name.endswith("-tls"):
                added[name.removesuffix("-tls")] = added.get(name.removesuffix("-tls"), 0) + seconds
            elif record["via"] == NGINX_TLS or record["check"] in h2_checks:
                added[name] = added.get(name, 0) + seconds
            else:
                base[name] = base.get(name, 0) + seconds
    return [(name, base[name], added.get(name, 0.0)) for name in sorted(base)]


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
    shares = tls_and_h2_share()
    if shares:
        print("TLS and HTTP/2 checks in the published matrix (reports/results), seconds of "
              "check time: the rest, added, added/rest")
        for name, rest, more in shares:
            print(f"  {name:28} {rest:7.1f} {more:7.1f} {100 * more / rest:5.0f}%")


if __name__ == "__main__":
    main()
