"""Runs checks: owns the servers and nginx instances of a run and turns outcomes into records.

Plain functions and objects the plugin's hooks call (the pytest-xdist / pytest-timeout style):
nothing here knows about pytest. One server and one nginx per target are started lazily, shared
by that target's checks, and released when the run moves on to the next target.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import __version__
from conformance.catalogue import NGINX_TLS, Check
from conformance.context import CheckContext
from conformance.findings import Finding, headline, verdict_of, worst
from conformance.proxy import (
    INSTALL_HINT,
    NGINX_TLS_VARIANT,
    VARIANTS,
    Nginx,
    nginx_binary,
    nginx_version,
)
from conformance.report.redaction import WITHHELD_WHY, Redactor
from conformance.report.results import jsonable
from conformance.servers import ServerStartError, ServerUnderTest, command_line, wait_for_stops
from conformance.targets import Target
from conformance.verdicts import (
    CaseEnded,
    CheckOutcome,
    EnvironmentMissing,
    Verdict,
)

if TYPE_CHECKING:
    from conformance.certificates import Certificates

# The longest text kept in a record's details or evidence (escaped bytes included).
RECORD_TEXT_LIMIT = 65536
# Seconds run() waits, after a check's connections close, for a crash they set off to land:
# only for a target whose shared server has died before in this run (socketify aborts on
# some closes), so that servers that never crash cost nothing (0.1 s x 2,700 cells otherwise).
DEATH_WAIT = 0.1


class Harness:
    def __init__(self, workdir: Path | None = None) -> None:
        # A directory of our own is removed by close(): a run leaves nothing behind.
        self._owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="conformance-"))
        self._servers: dict[str, ServerUnderTest] = {}
        self._nginx: dict[str, Nginx] = {}
        self._nginx_variants: dict[tuple[str, str], Nginx] = {}  # (target, variant) -> nginx
        self._start_errors: dict[str, str] = {}
        # Shared servers found dead and restarted while a check ran: target -> what each said
        # (exit status, log tail). run() reports them in the check's record.
        self._deaths: dict[str, list[str]] = {}
        self._crashed: set[str] = set()  # targets whose shared server died in this run
        self._versions: dict[str, str] = {}
        self._counter = 0
        self.examples = 60  # Hypothesis examples per generated-request check
        self.nginx_version = nginx_version()
        self._certificates: Certificates | None = None

    @property
    def certificates(self) -> Certificates:
        """The run's throwaway CA, server and client certificates, made on first use."""
        if self._certificates is None:
            # Imported here: trustme and cryptography are for runs with TLS configurations.
            from conformance.certificates import make_certificates

            self._certificates = make_certificates(self.workdir / "certificates")
        return self._certificates

    def _certificates_for(self, target: Target) -> Certificates | None:
        return self.certificates if target.tls is not None else None

    # -- lifecycle -----------------------------------------------------------------------
    def new_server(self, target: Target, *, env: dict[str, str] | None = None,
                   label: str = "server", extra_args: Sequence[str] = (),
                   uds: bool = False) -> ServerUnderTest:
        self._counter += 1
        return ServerUnderTest(target, self.workdir / target.name, env=env,
                               label=f"{label}-{self._counter}", extra_args=extra_args, uds=uds,
                               certificates=self._certificates_for(target))

    def has_server(self, target: Target) -> bool:
        return target.name in self._servers

    def shared_server(self, target: Target) -> ServerUnderTest | None:
        """The target's shared server as it is, dead or alive (server_for restarts it)."""
        return self._servers.get(target.name)

    def server_for(self, target: Target) -> ServerUnderTest:
        """The shared server of a target, started on first use; restarted if it died."""
        if target.name in self._start_errors:
            raise ServerStartError(self._start_errors[target.name])
        server = self._servers.get(target.name)
        if server is not None and server.alive():
            return server
        if server is not None:
            # It died: under an earlier check (that check's record has the log) or under the
            # one running now, which must say so (run()): a crash the next request restarts
            # silently reads as "answered with nothing" otherwise.
            self._crashed.add(target.name)
            self._deaths.setdefault(target.name, []).append(
                f"{server.log_path.stem} exited with status {server.exit_status()}\n"
                f"{server.log_path.stem}'s log ends:\n{server.log_tail()}")
            self.release(target)
        server = self.new_server(target)
        try:
            server.start()
            server.wait_ready()
        except ServerStartError as exc:
            server.stop()
            self._start_errors[target.name] = str(exc)
            raise
        self._servers[target.name] = server
        return server

    def _restart_if_dead(self, target: Target) -> None:
        """Restart the target's shared server if it died since it was started: release()
        then stops the nginx in front of it, which would answer 502 to every request."""
        if target.name in self._servers:
            self.server_for(target)

    def nginx_for(self, target: Target) -> Nginx:
        self._restart_if_dead(target)
        nginx = self._nginx.get(target.name)
        if nginx is not None and nginx.process.alive():
            return nginx
        if nginx_binary() is None:
            raise EnvironmentMissing(INSTALL_HINT)
        server = self.server_for(target)
        self._counter += 1
        nginx = Nginx(self.workdir / target.name / f"nginx-{self._counter}", server.port,
                      certificates=self._certificates_for(target),
                      upstream_tls=target.tls is not None)
        nginx.wait_ready()
        self._nginx[target.name] = nginx
        return nginx

    def nginx_variant(self, target: Target, variant: str) -> Nginx:
        """An nginx of ``variant`` (proxy.VARIANTS) in front of the target's shared server,
        started on first use and kept until the target is released."""
        if variant == "default":
            return self.nginx_for(target)
        self._restart_if_dead(target)
        nginx = self._nginx_variants.get((target.name, variant))
        if nginx is not None and nginx.process.alive():
            return nginx
        if nginx_binary() is None:
            raise EnvironmentMissing(INSTALL_HINT)
        server = self.server_for(target)
        nginx = self.new_nginx(target, variant=variant, upstream=f"{server.host}:{server.port}")
        self._nginx_variants[(target.name, variant)] = nginx
        return nginx

    def new_nginx(self, target: Target, *, variant: str, upstream: str) -> Nginx:
        """A started nginx of ``variant`` in front of ``upstream`` ("host:port" or
        "unix:/path"); the caller stops it."""
        if nginx_binary() is None:
            raise EnvironmentMissing(INSTALL_HINT)
        self._counter += 1
        tls_listen = VARIANTS[variant].tls_listen
        nginx = Nginx(self.workdir / target.name / f"nginx-{variant}-{self._counter}",
                      variant=variant, upstream=upstream,
                      certificates=(self.certificates if tls_listen or target.tls is not None
                                    else None),
                      upstream_tls=target.tls is not None)
        nginx.wait_ready()
        return nginx

    def release(self, target: Target) -> None:
        """Stop the target's nginx instances, then its shared server: in the background, for
        its exit is read by no record (a death under a check is read before this)."""
        for key in [k for k in self._nginx_variants if k[0] == target.name]:
            self._nginx_variants.pop(key).stop()
        nginx = self._nginx.pop(target.name, None)
        if nginx:
            nginx.stop()
        server = self._servers.pop(target.name, None)
        if server:
            server.stop_in_background()

    def release_all(self) -> None:
        for variant in list(self._nginx_variants.values()):
            variant.stop()
        self._nginx_variants.clear()
        for nginx in list(self._nginx.values()):
            nginx.stop()
        for server in list(self._servers.values()):
            server.stop()
        self._nginx.clear()
        self._servers.clear()

    def close(self) -> None:
        """Stop everything, and remove the working directory if this harness made it."""
        self.release_all()
        wait_for_stops()  # the background stops write their logs into the working directory
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def server_version(self, target: Target) -> str:
        if target.name not in self._versions:
            self._versions[target.name] = target.version()
        return self._versions[target.name]

    # -- running one check ---------------------------------------------------------------
    def prepare(self, check: Check, target: Target, via: str) -> None:
        """Bring up what the check needs; raises ServerStartError or EnvironmentMissing."""
        if via == "nginx":
            if nginx_binary() is None:
                raise EnvironmentMissing(INSTALL_HINT)
            self.nginx_for(target)
        elif via == NGINX_TLS:
            self.nginx_variant(target, NGINX_TLS_VARIANT)
        elif not check.own_server:
            self.server_for(target)

    def run(self, check: Check, target: Target, via: str) -> dict[str, Any]:
        """Run one check to a verdict and return its record. Never raises."""
        started = time.monotonic()
        ctx = CheckContext(check, target, via, self)
        outcome: Verdict | None = None  # an outcome other than findings (error, unsupported)
        message, details = "", {}
        try:
            self.prepare(check, target, via)
            self._deaths.pop(target.name, None)  # a death seen now was an earlier check's
            check.function(ctx)
        except CaseEnded:
            pass  # its finding is recorded
        except CheckOutcome as exc:
            outcome, message, details = exc.verdict, exc.message, exc.details
        except ServerStartError as exc:
            outcome, message = Verdict.ERROR, f"the server could not be started: {exc}"
        except Exception as exc:  # a harness bug must give an error verdict, not a dead run
            outcome = Verdict.ERROR
            message = f"harness error: {exc!r}"
            details = {"traceback": traceback.format_exc(limit=8)}
        verdict, message = combine(ctx.findings, outcome, message)
        details = {**ctx.details, **details}
        evidence: dict[str, Any] = {}
        try:
            if verdict not in (Verdict.PASS, Verdict.SKIPPED):
                evidence = ctx.evidence()
        except Exception as exc:  # evidence is best effort; the verdict stands
            evidence = {"evidence_error": repr(exc)}
        finally:
            # A passing or skipped record carries no log tail (below): its own servers' exit
            # is nobody's business, and the next check need not wait for it.
            ctx.cleanup(wait=verdict not in (Verdict.PASS, Verdict.SKIPPED))
        # Read after cleanup: closing the check's connections can itself crash a server (an
        # abort handler on a freed request), and that crash is this check's, not the next's.
        died = self._deaths.pop(target.name, []) + self._shared_death(target, check)
        if died:
            details["server_died"] = [d.split("\n", 1)[0] for d in died]
            message += (" | " if message else "") + (
                f"the server died {len(died)} time(s) during this check: "
                f"{details['server_died'][0]}")
        if (verdict not in (Verdict.PASS, Verdict.SKIPPED) and "evidence_error" not in evidence
                and (verdict is Verdict.ERROR or check.own_server or died
                     or not self._server_alive(target, check))):
            logs = [d.split("\n", 1)[1] for d in died] + [self._log_tail(ctx, target)]
            evidence["log_tail"] = "\n".join(log for log in logs if log.strip())
        return self.record(check, target, via, verdict, message, time.monotonic() - started,
                           details=details, evidence=evidence, findings=ctx.findings,
                           own_servers=ctx.own_servers)

    def _shared_death(self, target: Target, check: Check) -> list[str]:
        """The shared server's exit, if it has exited by the end of the check (a short wait
        lets a crash set off by the check's last closes land); recorded once: the next
        check's server_for restarts it without reporting it again (run() drops that)."""
        shared = self._servers.get(target.name)
        if check.own_server or shared is None or shared.process is None:
            return []
        status = shared.process.wait_exit(DEATH_WAIT if target.name in self._crashed else 0)
        if status is None:
            return []
        self._crashed.add(target.name)
        return [f"{shared.log_path.stem} exited with status {status}\n"]

    def _server_alive(self, target: Target, check: Check) -> bool:
        server = self._servers.get(target.name)
        return check.own_server or server is None or server.alive()

    def _log_tail(self, ctx: CheckContext, target: Target) -> str:
        parts = [s.log_tail() for s in ctx.own_servers]
        server = self._servers.get(target.name)
        if server is not None:
            parts.append(server.log_tail())
        if target.name in self._start_errors:
            parts.append(self._start_errors[target.name])
        return "\n".join(p for p in parts if p)

    def record(self, check: Check, target: Target, via: str, verdict: Verdict, message: str,
               duration: float, *, details: dict[str, Any] | None = None,
               evidence: dict[str, Any] | None = None, findings: Sequence[Finding] = (),
               own_servers: Sequence[ServerUnderTest] = ()) -> dict[str, Any]:
        """The published record of one cell: redacted of this machine's paths and
        environment (report/redaction.py), with ids only for editorial data. The server
        command is that of the servers the check started itself (``own_servers``), if any:
        those are the ones it judged, not the shared one."""
        server = self._servers.get(target.name)
        record = {
            "check": check.id,
            "title": check.title,
            "area": check.area,
            "requirements": list(check.requirements),
            "level": check.level.value,
            "section": check.section,
            "target": target.name,
            "interface": target.interface,
            "via": via,
            "verdict": verdict.value,
            "message": message,
            "findings": [f.as_json() for f in worst(findings)],
            "server": {
                "name": target.name,
                "version": self.server_version(target),
                "command": command_line(own_servers or ([server] if server else []),
                                        target),
            },
            "nginx_version": self.nginx_version if via != "direct" else None,
            "python_version": platform.python_version(),
            "suite_version": __version__,
            "duration": round(duration, 4),
            "details": jsonable(details or {}, RECORD_TEXT_LIMIT),
            "evidence": jsonable(evidence or {}, RECORD_TEXT_LIMIT),
        }
        environments = [s.env for s in own_servers]
        if server is not None:
            environments.append(server.env)
        redactor = Redactor.for_this_machine(workdir=self.workdir,
                                             server_environments=environments)
        published: dict[str, Any] = redactor.value(record)
        if redactor.withheld:
            published["withheld"] = {"environ_keys": redactor.withheld, "why": WITHHELD_WHY}
        return published


def combine(findings: Sequence[Finding], outcome: Verdict | None,
            message: str) -> tuple[Verdict, str]:
    """The cell's verdict and message from its findings and any other outcome. A broken MUST
    stands even when the check could not finish; otherwise an error, an unsupported feature
    or a missing tool is the verdict, and the findings so far are listed after it."""
    found = verdict_of(findings)
    if outcome is None:
        return found, headline(findings)
    if not findings:
        return outcome, message
    if found is Verdict.FAIL:
        return found, f"{headline(findings)} | and then: {message}"
    return outcome, f"{message} | findings before that: {headline(findings)}"
