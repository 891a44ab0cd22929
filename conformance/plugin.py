"""The pytest plugin: options, collection of (check x target x via) items, verdict mapping.

Only hooks live here; they call plain functions in harness, targets and report. Without
``--target`` the plugin does nothing and pytest collects the project's own tests as usual.
With it, collection is replaced: one item per applicable (target, check, via), grouped by
target so that one server per target runs at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import ALL_VIAS, NGINX_TLS, VIAS, Check, all_checks, renames
from conformance.harness import Harness
from conformance.report.baseline import BaselineError, read_baseline
from conformance.report.redaction import LeakError
from conformance.report.results import write_results
from conformance.servers import stop_all
from conformance.targets import Target, TargetError, resolve_targets
from conformance.verdicts import Verdict

RUN = pytest.StashKey["ConformanceRun"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "gateway-conformance: check a WSGI/ASGI server")
    group.addoption("--target", default=None,
                    help="server(s) to check: a bundled name, a family prefix (uvicorn), a comma "
                         "list, 'all', or the path of your own target TOML")
    group.addoption("--via", default="all", choices=("direct", "nginx", NGINX_TLS, "both",
                                                     "all"),
                    help="send requests straight to the server, through nginx, through nginx "
                         "terminating TLS and HTTP/2 (nginx-tls: only the checks of that "
                         "path), direct and nginx (both), or all three (all, the default)")
    group.addoption("--results", default=None, metavar="PATH",
                    help="write the results JSON here (default: reports/results/<target>.json)")
    group.addoption("--baseline", default=None, metavar="FILE",
                    help="known failures (from `conformance baseline`): expected, not failing; "
                         "a new failure still fails, a known one that passes is reported fixed")
    group.addoption("--checks", default=None, metavar="PREFIXES",
                    help="only checks whose id starts with one of these comma-separated prefixes")
    group.addoption("--examples", type=int, default=None, metavar="N",
                    help="Hypothesis examples per generated-request check (default 60; CI 25)")


def _selected_checks(config: pytest.Config) -> list[Check]:
    checks = all_checks()
    prefixes = config.getoption("checks")
    if prefixes:
        wanted = [p.strip() for p in prefixes.split(",") if p.strip()]
        # An id or prefix from before a rename (renames.toml) still selects its checks.
        names: dict[str, list[str]] = {c.id: [c.id] for c in checks}
        for old, new in renames().items():
            names.setdefault(new, []).append(old)
        checks = [c for c in checks
                  if any(n.startswith(p) for n in names[c.id] for p in wanted)]
    return checks


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("target", None)
    if not spec:
        return
    try:
        targets = resolve_targets(spec)
    except TargetError as exc:
        raise pytest.UsageError(f"gateway-conformance: {exc}") from None
    baseline_path = config.getoption("baseline", None)
    try:
        known = read_baseline(Path(baseline_path)) if baseline_path else {}
    except BaselineError as exc:
        raise pytest.UsageError(f"gateway-conformance: {exc}") from None
    run = ConformanceRun(config, targets)
    run.baseline = known
    config.stash[RUN] = run
    config.pluginmanager.register(run, "conformance-run")
    config.addinivalue_line("markers", "conformance: a conformance check item")
    with contextlib.suppress(ValueError):  # not in the main thread (embedded pytest)
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: object) -> None:
    stop_all()
    raise KeyboardInterrupt


class TargetNode(pytest.Collector):
    """The checks of one target; its items are built in pytest_collection."""

    def collect(self) -> list[pytest.Item]:  # pragma: no cover - items are set directly
        return []


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, target: Target, via: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.target = target
        self.via = via
        self.record: dict[str, Any] | None = None
        self.add_marker("conformance")
        for req in check.requirements:
            self.user_properties.append(("requirement", req))
        self.user_properties.append(("check", check.id))

    def runtest(self) -> None:
        run = self.config.stash[RUN]
        self.record = run.harness.run(self.check, self.target, self.via)
        self.user_properties.append(("verdict", self.record["verdict"]))
        verdict = Verdict(self.record["verdict"])
        message = self.record["message"]
        cell = (self.check.id, self.target.name, self.via)
        known = run.baseline.get(cell)
        if known is not None:
            if verdict.value == known:
                self.record["baseline"] = "known"
                pytest.xfail(f"known {known} (baseline): {message}")
            if verdict in (Verdict.PASS, Verdict.INFO, Verdict.HARDENING, Verdict.UNSUPPORTED):
                self.record["baseline"] = "fixed"
                run.fixed.append(cell)
        if verdict in (Verdict.UNSUPPORTED, Verdict.SKIPPED):
            pytest.skip(f"{verdict.value}: {message}")
        if verdict is Verdict.FAIL or verdict is Verdict.ERROR or (
            verdict is Verdict.WARN and strict_mode(self.config)
        ):
            raise CheckFailed(self.record)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CheckFailed):
            return describe(excinfo.value.record)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.check.id} [{self.target.name}, {self.via}]"


def strict_mode(config: pytest.Config) -> bool:
    """pytest's own --strict (an ini override since pytest 9) also makes warn verdicts fail."""
    try:
        if config.getini("strict"):
            return True
    except ValueError:
        pass
    return bool(getattr(config.option, "strict", False))


class CheckFailed(Exception):
    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record["message"])
        self.record = record


def describe(record: dict[str, Any]) -> str:
    """The failure text pytest prints: verdict, requirement, section, message, bytes."""
    lines = [
        f"{record['verdict'].upper()}: {record['check']} ({', '.join(record['requirements'])}, "
        f"{record['level']}) on {record['target']} via {record['via']}",
        f"spec: {record['section']}",
        f"why: {record['message']}",
    ]
    evidence = record.get("evidence", {})
    for number, exchange in enumerate(evidence.get("exchanges", [])[:4], 1):
        lines.append(f"connection {number} to {exchange['to']}:")
        lines.append(f"  sent:     {exchange['sent'][:600]}")
        lines.append(f"  received: {exchange['received'][:600]}")
    if evidence.get("reproducer"):
        lines.append(f"reproduce (server: {record['server']['command']}):")
        lines.append(f"  {evidence['reproducer'][:800]}")
    if evidence.get("log_tail"):
        lines.append("server log tail:")
        lines += ["  " + line for line in evidence["log_tail"].splitlines()[-15:]]
    return "\n".join(lines)


HYPOTHESIS_STORAGE = "HYPOTHESIS_STORAGE_DIRECTORY"

class ConformanceRun:
    """The hooks of a run with --target, registered as a plugin object holding its state."""

    def __init__(self, config: pytest.Config, targets: list[Target]) -> None:
        self.config = config
        self.targets = targets
        self.harness = Harness()
        # Hypothesis's caches go with the run's working directory (removed at the end), not
        # into a .hypothesis/ folder in the user's directory. Through the variable Hypothesis
        # reads when it stores something, so that a run without generated checks never
        # imports Hypothesis (a third of a run's start-up).
        self.storage_was = os.environ.get(HYPOTHESIS_STORAGE)
        if not self.storage_was:
            os.environ[HYPOTHESIS_STORAGE] = str(self.harness.workdir / "hypothesis")
        self.harness.examples = config.getoption("examples") or (
            25 if os.environ.get("CI") else 60)
        self.records: list[dict[str, Any]] = []
        self.baseline: dict[tuple[str, str, str], str] = {}
        self.fixed: list[tuple[str, str, str]] = []

    @property
    def is_xdist_controller(self) -> bool:
        # xdist registers its controller session as "dsession" only when it distributes
        # (-n 0 with --dist set runs in-process, and then we collect as usual).
        return self.config.pluginmanager.has_plugin("dsession")

    def pytest_collection(self, session: pytest.Session) -> bool | None:
        if self.is_xdist_controller:
            return None  # the workers collect; xdist's own hook stops the controller
        via = self.config.getoption("via")
        vias = {"both": VIAS, "all": ALL_VIAS}.get(via, (via,))
        checks = _selected_checks(self.config)
        items: list[pytest.Item] = []
        for target in self.targets:
            if target.unavailable:
                continue  # reported with its reason at the end (pytest_sessionfinish)
            node = TargetNode.from_parent(session, name=target.name,
                                          nodeid=f"conformance::{target.name}")
            for check in checks:
                for one_via in vias:
                    if check.runs_on(target, one_via):
                        items.append(CheckItem.from_parent(
                            node, name=f"{check.id}[{one_via}]", check=check, target=target,
                            via=one_via))
        session.items = items
        session.testscollected = len(items)
        hook = self.config.hook
        hook.pytest_collection_modifyitems(session=session, config=self.config, items=items)
        hook.pytest_collection_finish(session=session)
        return True

    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """Release a target's server and nginx once the run moves past its checks."""
        if isinstance(item, CheckItem) and (
            nextitem is None or getattr(nextitem, "target", None) != item.target
        ):
            self.harness.release(item.target)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        if isinstance(item, CheckItem) and call.when == "call" and item.record is not None:
            # An attribute on the report travels to the xdist controller with it.
            report.conformance_record = json.dumps(item.record)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "conformance_record", None)
        if payload:
            self.records.append(json.loads(payload))

    @property
    def unavailable(self) -> list[dict[str, str]]:
        """The chosen configurations that cannot run, with their reasons (results files)."""
        return [{"target": t.name, "interface": t.interface, "reason": t.unavailable}
                for t in self.targets if t.unavailable]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput") or not (self.records or self.unavailable):
            return
        explicit = self.config.getoption("results")
        files: dict[Path, tuple[list[dict[str, Any]], list[dict[str, str]]]] = {}
        if explicit:
            files[Path(explicit)] = (self.records, self.unavailable)
        else:
            base = Path(self.config.invocation_params.dir) / "reports" / "results"
            for record in self.records:
                files.setdefault(base / f"{record['target']}.json", ([], []))[0].append(record)
            for entry in self.unavailable:
                files.setdefault(base / f"{entry['target']}.json", ([], []))[1].append(entry)
        for path, (records, unavailable) in files.items():
            try:
                write_results(path, records, unavailable)
            except (LeakError, OSError) as exc:
                # One clear line, no traceback; the run's verdicts stand but must not pass.
                sys.stderr.write(f"gateway-conformance: {path}: {exc}\n")
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not (self.records or self.unavailable):
            return
        terminalreporter.section("gateway-conformance verdicts")
        for entry in self.unavailable:
            terminalreporter.write_line(f"{entry['target']:28} not run: {entry['reason']}")
        counts: dict[tuple[str, str], Counter[str]] = {}
        for record in self.records:
            counts.setdefault((record["target"], record["via"]), Counter())[record["verdict"]] += 1
        order = [v.value for v in Verdict]
        for (target, via), counter in sorted(counts.items()):
            summary = ", ".join(f"{counter[v]} {v}" for v in order if counter[v])
            terminalreporter.write_line(f"{target:28} {via:7} {summary}")
        for check_id, target, via in self.fixed:
            terminalreporter.write_line(f"FIXED (was in the baseline) {check_id} [{target}, {via}]")
        for record in self.records:
            if record["verdict"] == Verdict.WARN:
                terminalreporter.write_line(f"WARN {record['check']} [{record['target']}, "
                                            f"{record['via']}]: {record['message']}")

    def pytest_report_header(self) -> list[str]:
        names = ", ".join(f"{t.name} ({t.interface}, {self.harness.server_version(t)})"
                          for t in self.targets)
        return [f"conformance targets: {names}",
                f"nginx: {self.harness.nginx_version or 'not installed'}; "
                f"python {sys.version.split()[0]}"]

    def pytest_unconfigure(self) -> None:
        self.harness.close()
        if not self.storage_was:
            os.environ.pop(HYPOTHESIS_STORAGE, None)
        stop_all()
