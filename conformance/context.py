"""What a check works with: the endpoint, the journal, a raw client, and its evidence.

A check gets one :class:`CheckContext`. Every connection it opens through the context and
every request id it uses are remembered, so that whatever verdict the check reaches, the record
carries the exact bytes sent and received, what the probe app journalled for those requests,
and a one-line reproducer (DESIGN.md decision 7).
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from conformance.catalogue import NGINX_TLS
from conformance.findings import Finding
from conformance.proxy import NGINX_TLS_VARIANT, UPSTREAM_HTTP_VERSION, Nginx
from conformance.verdicts import (
    CaseEnded,
    HarnessError,
    Unsupported,
)
from conformance.wire import Connection, Response, escape_bytes, printf_reproducer, request_bytes

if TYPE_CHECKING:
    from conformance.catalogue import Check
    from conformance.h2_wire import H2Client
    from conformance.harness import Harness
    from conformance.probes.journal import Journal
    from conformance.servers import ServerUnderTest
    from conformance.targets import Target

JOURNAL_TIMEOUT = 5.0  # seconds the probe app has to journal a request it was sent
EVIDENCE_BYTES = 16384  # per direction per connection kept in the results
REPRODUCER_BYTES = 8192  # of the first connection's request, in the one-line reproducer


@dataclass
class Exchange:
    """One request sent on a fresh connection, and the response that came back."""

    rid: str
    sent: bytes
    response: Response
    connection: Connection


class CheckContext:
    def __init__(self, check: Check, target: Target, via: str, harness: Harness) -> None:
        self.check = check
        self.target = target
        self.via = via
        self.harness = harness
        self.connections: list[Connection] = []
        self.rids: list[str] = []
        self.own_servers: list[ServerUnderTest] = []
        self.own_nginx: list[Nginx] = []
        self.details: dict[str, Any] = {}
        self.h2_clients: list[H2Client] = []
        self.findings: list[Finding] = []
        self._case = ""

    # -- the endpoint ------------------------------------------------------------------
    @property
    def server(self) -> ServerUnderTest:
        return self.harness.server_for(self.target)

    @property
    def front(self) -> Nginx | None:
        """The nginx this check's path goes through (None: direct)."""
        if self.via == "nginx":
            return self.harness.nginx_for(self.target)
        if self.via == NGINX_TLS:
            return self.harness.nginx_variant(self.target, NGINX_TLS_VARIANT)
        return None

    @property
    def host(self) -> str:
        front = self.front
        return front.host if front is not None else self.server.host

    @property
    def port(self) -> int:
        front = self.front
        return front.port if front is not None else self.server.port

    def client_tls(self, *, alpn: tuple[str, ...] = ("http/1.1",),
                   client_certificate: bool | None = None,
                   unverifiable: bool = False) -> ssl.SSLContext | None:
        """The client TLS context of this check's path: nginx-tls's listener, a [tls]
        target reached directly (a client certificate where the target asks for one, unless
        ``client_certificate`` says otherwise; ``unverifiable``: one issued by a CA the
        server was not given), or None for plain TCP."""
        front = self.front
        if front is not None:
            return front.client_tls(alpn=alpn)
        return self.server.client_tls(alpn=alpn, client_certificate=client_certificate,
                                      unverifiable=unverifiable)

    @property
    def journal(self) -> Journal:
        return self.server.journal

    def upstream_version(self, client_version: str) -> str:
        """The HTTP version of the request the server itself received."""
        return UPSTREAM_HTTP_VERSION if self.via != "direct" else client_version

    # -- requests ----------------------------------------------------------------------
    def new_rid(self) -> str:
        rid = uuid.uuid4().hex[:16]
        self.rids.append(rid)
        return rid

    def untracked_rid(self) -> str:
        """A request id whose journal entries stay out of the evidence (generated examples)."""
        return uuid.uuid4().hex[:16]

    def server_exit_status(self, wait: float = 0.5) -> int | None:
        """The shared server's exit status if it has exited, waiting up to ``wait`` seconds
        for a crash under way to end; None while it runs. It neither starts nor restarts the
        server (the next use of ``server`` does), so a check can tell a crash from a refusal."""
        server = self.harness.shared_server(self.target)
        return server.exit_status(wait) if server is not None else None

    def connect(self, *, host: str | None = None, port: int | None = None,
                timeout: float = 5.0, tls: ssl.SSLContext | None | bool = True,
                source: str | None = None) -> Connection:
        """A recorded connection to the check's endpoint, over TLS where the path speaks TLS
        (``tls`` True), with another client context, or plain (``tls`` None or False). To
        another ``host``:``port`` (an own server, a relay) it is plain unless ``tls`` is a
        context. From the local address ``source`` when given."""
        own_endpoint = host is None and port is None
        context = (self.client_tls() if own_endpoint else None) if tls is True else (
            tls or None)
        try:
            conn = Connection(host or self.host, port or self.port, timeout=timeout,
                              tls=context, source=source)
        except ssl.SSLError as exc:
            raise HarnessError(f"the TLS handshake with {host or self.host}:"
                               f"{port or self.port} failed: {exc}") from None
        except OSError as exc:
            if source is None:
                raise
            raise HarnessError(f"could not connect from {source} to {host or self.host}:"
                               f"{port or self.port}: {exc}") from None
        self.connections.append(conn)
        return conn

    def http2(self, *, validate: bool = True, timeout: float = 5.0) -> H2Client:
        """An HTTP/2 connection to this check's endpoint: TLS with ALPN h2 where the path
        speaks TLS (unsupported when the server selects another protocol), prior knowledge
        on plain TCP. ``validate`` False lets a check send fields a valid client never
        would. Its frame log goes into the evidence."""
        tls = self.client_tls(alpn=("h2", "http/1.1"))
        conn = self.connect(tls=tls or False, timeout=timeout)
        if tls is not None and conn.tls_session.get("alpn") != "h2":
            self.unsupported(f"HTTP/2: the TLS handshake selected "
                             f"{conn.tls_session.get('alpn')!r} by ALPN, not h2")
        from conformance.h2_wire import H2Client  # h2: for the runs that speak HTTP/2

        client = H2Client(conn, validate=validate)
        self.h2_clients.append(client)
        return client

    def h2_headers(self, rid: str, method: str = "GET", path: str = "/",
                   extra: Sequence[tuple[bytes, bytes]] = (),
                   authority: str | None = None) -> list[tuple[bytes, bytes]]:
        """A request's pseudo-header fields for this endpoint (or ``authority``), then
        X-Probe-Id, then ``extra``."""
        scheme = b"https" if self.client_tls() is not None else b"http"
        return [(b":method", method.encode()), (b":scheme", scheme),
                (b":authority", (authority or f"{self.host}:{self.port}").encode()),
                (b":path", path.encode("latin-1")), (b"x-probe-id", rid.encode()), *extra]

    def base_headers(self, rid: str) -> list[tuple[str | bytes, str | bytes]]:
        return [("Host", f"{self.host}:{self.port}"), ("X-Probe-Id", rid)]

    def request(
        self,
        method: str = "GET",
        target: str | bytes = "/",
        *,
        headers: list[tuple[str | bytes, str | bytes]] | None = None,
        body: bytes = b"",
        version: str = "HTTP/1.1",
        rid: str | None = None,
        timeout: float = 5.0,
    ) -> Exchange:
        """Send one request on a new connection (Host and X-Probe-Id first, then ``headers``)."""
        rid = rid or self.new_rid()
        all_headers = self.base_headers(rid) + list(headers or [])
        if body and not any(str(n).lower() in ("content-length", "b'content-length'")
                            for n, _ in all_headers):
            all_headers.append(("Content-Length", str(len(body))))
        data = request_bytes(method, target, all_headers, body, version)
        conn = self.connect(timeout=timeout)
        conn.send(data)
        response = conn.read_response(method=method, timeout=timeout)
        # Close at once: some servers (gunicorn's sync worker) wait for an idle client to go.
        conn.close()
        return Exchange(rid=rid, sent=data, response=response, connection=conn)

    def observed(self, rid: str, event: str = "request", *,
                 timeout: float = JOURNAL_TIMEOUT) -> dict[str, Any]:
        """The journal entry the probe app wrote for ``rid``; a harness error if none came."""
        entry = self.journal.wait_event(rid, event, timeout=timeout)
        if entry is None:
            raise HarnessError(
                f"the probe app journalled no {str(event)!r} event for request {rid} within "
                f"{timeout:.0f}s: the request never reached the app"
            )
        return entry

    # -- findings (one per problem; the check goes on) ------------------------------------
    def finding(self, requirement: str, message: str, **details: Any) -> None:
        """Record that the server broke ``requirement``: an id the check declares, with the
        key of the sentence where the requirement's sentences differ in level ("HTTP-08.b").
        Its level is that sentence's in the catalogue. The check goes on."""
        from conformance.requirements import RequirementError, level_of, split_ref

        if split_ref(requirement)[0] not in self.check.requirements:
            raise HarnessError(f"check {self.check.id} rests a finding on {requirement}, "
                               "which it does not declare (a suite bug)")
        try:
            level = level_of(requirement)
        except RequirementError as exc:
            raise HarnessError(f"check {self.check.id}: {exc} (a suite bug)") from None
        self.findings.append(Finding(requirement, level, message, self._case))
        if details:
            self.details.setdefault("findings", []).append(details)

    def require(self, condition: bool, requirement: str, message: str, **details: Any) -> None:
        """A finding when ``condition`` is false, and the end of the current sub-case (or of
        the check, outside one): for steps that later steps depend on."""
        if not condition:
            self.finding(requirement, message, **details)
            raise CaseEnded(message)

    @contextmanager
    def case(self, name: str) -> Iterator[None]:
        """One sub-case: a require() that fails inside ends only this sub-case."""
        outer, self._case = self._case, name
        try:
            yield
        except CaseEnded:
            pass
        finally:
            self._case = outer

    # -- outcomes that are not findings ------------------------------------------------
    def unsupported(self, message: str) -> NoReturn:
        """The server does not offer this optional feature: nothing to judge."""
        raise Unsupported(message)

    # -- own servers (checks that need a differently configured server) -----------------
    def start_server(self, *, env: dict[str, str] | None = None, label: str = "own",
                     wait_ready: bool = True, extra_args: Sequence[str] = (),
                     uds: bool = False) -> ServerUnderTest:
        """A server of its own for this check: ``extra_args`` go before the app argument;
        ``uds`` runs the target's uds_command on a Unix socket (server.uds)."""
        server = self.harness.new_server(self.target, env=env, label=label,
                                         extra_args=extra_args, uds=uds)
        self.own_servers.append(server)
        server.start()
        if wait_ready:
            server.wait_ready()
        return server

    # -- nginx variants (proxy.VARIANTS) ---------------------------------------------------
    def nginx(self, variant: str = "default") -> Nginx:
        """An nginx of ``variant`` in front of the target's shared server (kept for the run)."""
        return self.harness.nginx_variant(self.target, variant)

    def nginx_in_front(self, upstream: ServerUnderTest | str, variant: str = "default") -> Nginx:
        """An nginx of ``variant`` for this check only, in front of an own server (its Unix
        socket if it has one) or of an address "host:port" (a relay); stopped at cleanup."""
        if isinstance(upstream, str):
            address = upstream
        elif upstream.uds is not None:
            address = f"unix:{upstream.uds}"
        else:
            address = f"{upstream.host}:{upstream.port}"
        nginx = self.harness.new_nginx(self.target, variant=variant, upstream=address)
        self.own_nginx.append(nginx)
        return nginx

    # -- evidence ----------------------------------------------------------------------
    def evidence(self) -> dict[str, Any]:
        exchanges = [
            {
                "to": f"{c.host}:{c.port}",
                "sent": escape_bytes(bytes(c.sent[:EVIDENCE_BYTES])),
                "received": escape_bytes(bytes(c.received[:EVIDENCE_BYTES])),
                "truncated": len(c.sent) > EVIDENCE_BYTES or len(c.received) > EVIDENCE_BYTES,
                "server_closed": c.eof,
            }
            for c in self.connections
        ]
        observed: list[dict[str, Any]] = []
        for server in self.own_servers:  # lifespan events carry no request id
            observed += [e for e in server.journal.for_rid(None)]
            for rid in self.rids:
                observed += server.journal.for_rid(rid)
        if self.harness.has_server(self.target):
            for rid in self.rids:
                observed += self.journal.for_rid(rid)
        first = next((c for c in self.connections if c.sent), None)
        reproducer = ""
        if first is not None:
            sent = bytes(first.sent)
            reproducer = printf_reproducer(sent[:REPRODUCER_BYTES], first.host, first.port)
            if len(sent) > REPRODUCER_BYTES:
                # A multi-MiB body as printf escapes would bloat every results file; say so.
                reproducer += (f"  # the request was {len(sent)} bytes; only the first "
                               f"{REPRODUCER_BYTES} are in this line")
        result = {"exchanges": exchanges, "observed": observed[:60], "reproducer": reproducer}
        if self.h2_clients:
            # HTTP/2 frames as escaped bytes say little: the frame log says what each was.
            result["http2_frames"] = [client.log[:200] for client in self.h2_clients]
        if any(c.tls_session for c in self.connections):
            result["tls_sessions"] = [c.tls_session for c in self.connections]
        return result

    def cleanup(self, *, wait: bool = True) -> None:
        """Close the check's connections and stop its own nginx and servers. ``wait`` False
        leaves the wait for the servers' exit to the background, for a check whose record
        reads nothing more of them (no log tail)."""
        for conn in self.connections:
            conn.close()
        # nginx first: its idle upstream connections would hold a gracefully stopping server
        # (gunicorn's workers wait for open connections) for seconds.
        for nginx in self.own_nginx:
            nginx.stop()
        for server in self.own_servers:
            if wait:
                server.stop()
            else:
                server.stop_in_background()
