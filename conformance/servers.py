"""The server under test as a real process (DESIGN.md decision 4).

Started with the server's own CLI from the target's command template, on 127.0.0.1 and a free
port, in its own process group (so worker processes go with it), with stdout and stderr kept in
a log file. Readiness is a poll: a probe request until any HTTP response arrives, with the
target's deadline; over TLS a handshake that fails says so, with the ssl module's reason
(a certificate the client cannot verify ends the poll at once: it will not change). Stopping
is SIGTERM to the group, then SIGKILL after the stop deadline. A process whose exit nothing
reads any more (a passing check's own server, a released shared server) is stopped in the
background: the SIGTERM at once, the wait for its graceful exit in a thread, so the run goes on
while gunicorn's master (say) takes its 1 to 3 s to retire its worker.

Every started process is registered here so that nothing outlives the run, whatever ends it
(:func:`stop_all` runs from the plugin's unconfigure hook, atexit and SIGTERM; it also waits
for the stops under way in the background).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.certificates import Certificates
from conformance.polling import poll_until
from conformance.probes.journal import GATES_ENV, JOURNAL_ENV, Journal
from conformance.targets import Target
from conformance.wire import Connection, WireTimeout, request_bytes

HOST = "127.0.0.1"
_LIVE: set[ManagedProcess] = set()
_STOPPING: set[threading.Thread] = set()  # stops under way (ManagedProcess.stop_in_background)
_STOPPING_LOCK = threading.Lock()
# Seconds of TLS handshakes failing one after another (the server alive and accepting) after
# which readiness gives up with the handshake's reason instead of waiting out the target's
# whole deadline. A server still starting times out or refuses the connection; one that
# answers a handshake with an alert or a close does so on every attempt.
TLS_FAILURE_GRACE = 3.0
# Seconds between readiness probes while nothing listens yet (the connection refused at once:
# the server sees nothing of it), and once something listens but did not answer (a probe the
# server sees, so no more often than before). They only set how soon the suite notices a
# server that is ready; neither is a bound (that is the target's startup_timeout).
READY_POLL = 0.01
LISTENING_POLL = 0.05


class ServerStartError(Exception):
    """The server did not become ready; the message carries the log tail."""


def free_port() -> int:
    """A port the kernel just handed out and released; good enough on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_answers(host: str, port: int, path: str = "/probe/ready", timeout: float = 2.0,
                 tls: ssl.SSLContext | None = None) -> bool:
    """True when something on host:port answers an HTTP request with a status line (over
    TLS with the ``tls`` client context)."""
    return http_probe(host, port, path, timeout, tls) is True


def http_probe(host: str, port: int, path: str = "/probe/ready", timeout: float = 2.0,
               tls: ssl.SSLContext | None = None) -> bool | None:
    """http_answers(), and None when the connection was refused (nothing listens yet)."""
    try:
        with Connection(host, port, timeout=timeout, tls=tls) as conn:
            conn.send(request_bytes("GET", path, [("Host", f"{host}:{port}"),
                                                  ("Connection", "close")]))
            return conn.read_response(timeout=timeout).status > 0
    except ConnectionRefusedError:
        return None
    except (OSError, WireTimeout):
        return False


@dataclass(frozen=True)
class TLSReadiness:
    """One TLS readiness probe: whether an HTTP response came, else why the TLS exchange
    failed (empty when it did not get that far: refused, timed out, a server still starting),
    what that most likely means, and whether the failure is ``final``: no wait can mend it
    (the client refused the server's certificate, or the server answered in plain text)."""

    answered: bool
    failure: str = ""
    hint: str = ""
    final: bool = False


def _tls_failure(exc: OSError) -> TLSReadiness:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TLSReadiness(False, str(exc), final=True, hint=(
            "the server presented a certificate the suite's client cannot verify against the "
            "run's CA (expired, another CA's, or not for 127.0.0.1): its command must serve "
            "{tls_cert} with {tls_key}"))
    if isinstance(exc, ssl.SSLError) and exc.reason == "WRONG_VERSION_NUMBER":
        return TLSReadiness(False, str(exc), final=True, hint=(
            "the server answered the TLS ClientHello in plain text: its command does not turn "
            "TLS on, or its TLS set-up failed (see the log)"))
    return TLSReadiness(False, f"{type(exc).__name__}: {exc}", hint=(
        "the server ended the handshake: its TLS set-up failed (see the log), or it demands "
        "a client certificate (that needs [tls] client_certificate = \"required\")"))


def tls_answers(host: str, port: int, context: ssl.SSLContext,
                timeout: float = 1.0) -> TLSReadiness:
    """A readiness request over TLS on a socket of its own (Connection's reads take a TLS
    alert for a close; here the alert is the point). A failure is the handshake's: an ssl
    error, or the server resetting or closing the connection in it, or a TLS 1.3 server's
    refusal after it (an alert on the first read: a client certificate it demands)."""
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return TLSReadiness(False)
    try:
        with raw, context.wrap_socket(raw, server_hostname=host) as sock:
            sock.sendall(request_bytes("GET", "/probe/ready", [("Host", f"{host}:{port}"),
                                                               ("Connection", "close")]))
            head = b""
            while len(head) < 5:
                chunk = sock.recv(16)
                if not chunk:
                    break
                head += chunk
            return TLSReadiness(head.startswith(b"HTTP/"))
    except (ssl.SSLError, ConnectionResetError) as exc:
        return _tls_failure(exc)
    except OSError:
        return TLSReadiness(False)


class TLSFailures:
    """The current run of TLS readiness probes that failed in TLS: since when, and the last.
    A probe that fails otherwise (refused, timed out: the server still starting) ends it."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.last: TLSReadiness | None = None

    def add(self, answer: TLSReadiness) -> None:
        if not answer.failure:
            self.since, self.last = None, None
            return
        if self.since is None:
            self.since = time.monotonic()
        self.last = answer

    def seconds(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since


def uds_answers(path: str, timeout: float = 1.0) -> bool | None:
    """True when something on the Unix socket ``path`` answers an HTTP request; None when
    nothing listens on it yet (no socket file, or the connection refused)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(request_bytes("GET", "/probe/ready", [("Host", "localhost"),
                                                               ("Connection", "close")]))
            return sock.recv(16).startswith(b"HTTP/")
    except (FileNotFoundError, ConnectionRefusedError):
        return None
    except OSError:
        return False


def insert_before_app(argv: list[str], app: str, extra: Sequence[str]) -> list[str]:
    """``extra`` CLI options placed just before the app argument: some CLIs (waitress-serve's
    getopt) stop reading options at the first positional argument. When the app is an
    option's value ("--module", "{app}"), they go before that option. The app's module name
    finds it in every form ({app}, {app_module}, {app_dotted})."""
    module = app.partition(":")[0]
    index = next((i for i, part in enumerate(argv) if module in part), len(argv))
    if 0 < index < len(argv) and argv[index - 1].startswith("-") and "=" not in argv[index - 1]:
        index -= 1
    return argv[:index] + list(extra) + argv[index:]


class ManagedProcess:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, argv: list[str], *, log_path: Path, env: dict[str, str],
                 cwd: Path | None = None, stop_timeout: float = 10.0) -> None:
        self.argv = argv
        self.log_path = log_path
        self.stop_timeout = stop_timeout
        self.returncode: int | None = None
        # stop() runs once (later calls wait for it and return its result), from the thread of
        # a background stop or from stop_all; reentrant for stop_all in a signal handler.
        self._stop_lock = threading.RLock()
        self._sigterm_sent = False  # by stop_in_background, so that stop() sends no second one
        self._stopped = False
        self._log = log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                env=env, cwd=cwd, start_new_session=True,
            )
        except OSError as exc:
            self._log.close()
            raise ServerStartError(f"cannot run {argv[0]!r}: {exc}") from None
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int | None:
        """Wait (a poll with a deadline) for the process to exit on its own."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stop(self) -> int | None:
        """SIGTERM to the process, SIGKILL to its group after the deadline; the exit code."""
        with self._stop_lock:
            if self._stopped:
                return self.returncode
            if self.alive():
                # The main process first: masters (gunicorn, hypercorn) shut their workers down
                # gracefully themselves; the group gets SIGKILL only after the deadline.
                if not self._sigterm_sent:
                    with contextlib.suppress(ProcessLookupError):
                        self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self.signal_group(signal.SIGKILL)
                    self.proc.wait(timeout=10)
            # Workers that outlived their master still belong to the group.
            self.signal_group(signal.SIGKILL)
            self.returncode = self.proc.returncode
            self._log.close()
            self._stopped = True
            _LIVE.discard(self)
            return self.returncode

    def stop_in_background(self) -> None:
        """stop() in a thread of its own: for a process whose exit and last log lines nothing
        reads any more. stop_all() (and wait_for_stops()) wait for it."""
        with self._stop_lock:
            if self._stopped or self._sigterm_sent:
                return
            # The SIGTERM now, in the order the caller stops things (an nginx before the server
            # behind it); only the wait for the exit (and the SIGKILL after it) is left behind.
            if self.alive():
                with contextlib.suppress(ProcessLookupError):
                    self.proc.send_signal(signal.SIGTERM)
            self._sigterm_sent = True
        thread = threading.Thread(target=self._stop_and_forget, name=f"stop-{self.pid}",
                                  daemon=True)
        with _STOPPING_LOCK:
            _STOPPING.add(thread)
        thread.start()

    def _stop_and_forget(self) -> None:
        try:
            self.stop()
        finally:
            with _STOPPING_LOCK:
                _STOPPING.discard(threading.current_thread())

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class ServerUnderTest:
    """One running instance of a target with a probe app, its journal and gates."""

    def __init__(self, target: Target, workdir: Path, *, app: str | None = None,
                 env: dict[str, str] | None = None, label: str = "server",
                 extra_args: Sequence[str] = (), uds: bool = False,
                 certificates: Certificates | None = None) -> None:
        """``certificates``: the run's, for a [tls] target's {tls_*} placeholders."""
        self.target = target
        self.certificates = certificates
        self.host = HOST
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(workdir / f"{label}.journal", workdir / f"{label}.gates")
        # A server on a Unix socket (PROXY-11): the target's uds_command, readiness over it.
        self._socket_path = str(workdir / f"{label}.sock")
        self.uds: str | None = self._socket_path if uds else None
        self.argv = self._argv(app, extra_args, display=False)
        # The same command as published: path placeholders kept (report/redaction.py).
        self.display_argv = self._argv(app, extra_args, display=True)
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONUNBUFFERED": "1",
            JOURNAL_ENV: str(self.journal.path),
            GATES_ENV: str(self.journal.gates),
            **target.env,
            **(env or {}),
        }
        self.log_path = workdir / f"{label}.log"
        self.process: ManagedProcess | None = None

    def _argv(self, app: str | None, extra_args: Sequence[str], *, display: bool) -> list[str]:
        tls = self.certificates.placeholders() if self.certificates else None
        if self.uds is not None:
            argv = self.target.uds_argv(uds=self.uds, app=app, display=display, tls=tls)
        else:
            argv = self.target.argv(host=self.host, port=self.port, app=app,
                                    uds=self._socket_path, display=display, tls=tls)
        if extra_args:
            argv = insert_before_app(argv, app or self.target.probe_app, extra_args)
        return argv

    @property
    def command_line(self) -> str:
        return " ".join(self.argv)

    @property
    def display_command_line(self) -> str:
        return " ".join(self.display_argv)

    def start(self) -> None:
        self.process = ManagedProcess(self.argv, log_path=self.log_path, env=self.env,
                                      cwd=self.workdir, stop_timeout=self.target.stop_timeout)

    def wait_ready(self) -> None:
        """Poll with a probe request until the server answers, it dies, or the deadline; over
        TLS, until its handshake has failed for TLS_FAILURE_GRACE seconds running, or at once
        when the failure is final (TLSReadiness.final)."""
        assert self.process is not None
        process = self.process
        tls = self.client_tls()
        failing = TLSFailures()

        def state() -> str | None:
            if not process.alive():
                return "exited"
            if tls is not None:
                answer = tls_answers(self.host, self.port, tls, timeout=1.0)
                if answer.answered:
                    return "serving"
                failing.add(answer)
                if answer.final or failing.seconds() >= TLS_FAILURE_GRACE:
                    return "tls-failed"
                time.sleep(LISTENING_POLL - READY_POLL)
                return None
            if self.uds is not None:
                answered = uds_answers(self.uds)
            else:
                answered = http_probe(self.host, self.port, timeout=1.0)
            if answered:
                return "serving"
            if answered is False:  # a listener that did not answer: probe it as often as ever
                time.sleep(LISTENING_POLL - READY_POLL)
            return None

        outcome = poll_until(state, self.target.startup_timeout, interval=READY_POLL)
        if outcome == "serving":
            return
        if outcome == "exited":
            raise ServerStartError(
                f"{self.target.name} exited with status {process.proc.returncode} "
                f"before serving.\ncommand: {self.display_command_line}\nlog tail:\n"
                f"{process.log_tail()}"
            )
        log = self.process.log_tail()
        self.stop()
        if failing.last is not None:
            raise ServerStartError(
                f"{self.target.name}: the TLS handshake with {self.host}:{self.port} failed: "
                f"{failing.last.failure}; {failing.last.hint}.\n"
                f"command: {self.display_command_line}\nlog tail:\n{log}"
            )
        raise ServerStartError(
            f"{self.target.name} did not answer on {self.host}:{self.port} within "
            f"{self.target.startup_timeout:.0f}s.\ncommand: {self.display_command_line}\n"
            f"log tail:\n{log}"
        )

    def client_tls(self, *, alpn: tuple[str, ...] = ("http/1.1",),
                   client_certificate: bool | None = None,
                   unverifiable: bool = False) -> ssl.SSLContext | None:
        """A client context for this server (None on plain TCP). A client certificate is
        presented where the target's [tls] asks for one, unless ``client_certificate``
        says otherwise; ``unverifiable``: the one issued by a CA the server was not given."""
        if self.target.tls is None or self.certificates is None:
            return None
        if client_certificate is None:
            client_certificate = self.target.tls.client_certificate != "none"
        return self.certificates.client_context(alpn=alpn,
                                                client_certificate=client_certificate,
                                                unverifiable=unverifiable)

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def stop(self) -> int | None:
        return self.process.stop() if self.process else None

    def stop_in_background(self) -> None:
        """stop() without waiting for the exit (ManagedProcess.stop_in_background)."""
        if self.process:
            self.process.stop_in_background()

    def request_stop(self) -> None:
        """SIGTERM to the server's main process, as an init system stops it; no wait (for
        checks that watch the shutdown while a request is in flight)."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.proc.send_signal(signal.SIGTERM)

    def graceful_stop(self, timeout: float) -> int | None:
        """request_stop(), then wait for the server to exit on its own: its exit status, or
        None when it had not exited within ``timeout`` (the harness still stops it at
        cleanup). For checks of the shutdown itself."""
        assert self.process is not None
        self.request_stop()
        return self.process.wait_exit(timeout)

    def exit_status(self, wait: float = 0.0) -> int | None:
        """The server's exit status once it has exited; None while it runs (after waiting up
        to ``wait`` seconds for a crash under way to end)."""
        if self.process is None:
            return None
        return self.process.wait_exit(wait) if wait > 0 else self.process.proc.poll()

    def accepts_connections(self) -> bool:
        """Whether a new TCP connection to the server's address is accepted now."""
        try:
            socket.create_connection((self.host, self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines) if self.process else ""


def command_line(servers: Sequence[ServerUnderTest], target: Target) -> str:
    """The published command of the servers a check used ("; " between two), path
    placeholders kept; the target's command as written where none ran."""
    if not servers:
        return " ".join(target.command)
    return "; ".join(server.display_command_line for server in servers)


def wait_for_stops() -> None:
    """Wait until every stop under way in the background has ended (before the working
    directory with their logs and sockets is removed)."""
    with _STOPPING_LOCK:
        threads = list(_STOPPING)
    for thread in threads:
        thread.join()


def stop_all() -> None:
    """Stop every process this run started (servers and nginx), and wait for the stops under
    way in the background."""
    for process in list(_LIVE):
        with contextlib.suppress(Exception):
            process.stop()
    wait_for_stops()


atexit.register(stop_all)
