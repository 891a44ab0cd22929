"""ASGI lifespan: an app raising on the scope, graceful shutdown and shutdown.failed
(asgi-lifespan.rst "Scope", "Shutdown", "Shutdown Complete", "Shutdown Failed").

Each check starts its own server with a lifespan mode of the probe app ($CONFORMANCE_LIFESPAN)
and, for shutdown, stops it with SIGTERM to the server's main process, as an init system would.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_lifespan_state import lifespan_server
from conformance.context import CheckContext
from conformance.probes.asgi_app import LIFESPAN_ENV, SHUTDOWN_FAILED_MESSAGE
from conformance.servers import ServerUnderTest, http_answers
from conformance.verdicts import Level
from conformance.wire import request_bytes

ASGI = ("asgi",)
EXIT_BOUND = 15.0  # a graceful stop with a 1 s app cleanup; leaves room on a loaded machine
# How long the check watches for the start of the shutdown before it lets the in-flight request
# finish: short, because servers bound their graceful wait (hypercorn: 3 s by default) and the
# request must be able to finish inside it. The verdict never depends on these bounds: it is the
# order of the journal events.
LISTENER_CLOSE_BOUND = 1.0
PREMATURE_WATCH = 0.3


def _sigterm_and_wait(ctx: CheckContext, server: ServerUnderTest) -> int:
    assert server.process is not None
    server.process.proc.send_signal(signal.SIGTERM)
    code = server.process.wait_exit(EXIT_BOUND)
    if code is None:
        ctx.fail(f"the server did not exit within {EXIT_BOUND:g}s of SIGTERM")
    return code


def _index(events: list[dict[str, Any]], predicate: Any) -> int | None:
    return next((i for i, e in enumerate(events) if predicate(e)), None)


def _listener_closed(server: ServerUnderTest) -> bool:
    """Poll until new connections are refused (the server began its shutdown)."""
    deadline = time.monotonic() + LISTENER_CLOSE_BOUND
    while time.monotonic() < deadline:
        try:
            socket.create_connection((server.host, server.port), timeout=0.5).close()
        except OSError:
            return True
        time.sleep(0.02)
    return False


@check(
    id="asgi-lifespan.raise-keeps-serving",
    title="an app raising on the lifespan scope: the server continues and serves requests",
    requirements=["ASGI-LIFE-04"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Scope'",
)
def raise_keeps_serving(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Scope: "If an exception is raised when calling the application
    callable with a lifespan.startup message or a scope with type lifespan, the server must
    continue but not send any lifespan events. This allows for compatibility with
    applications that do not support the lifespan protocol." The app raises at once on the
    lifespan scope; the server must go on serving requests."""
    server = ctx.start_server(env={LIFESPAN_ENV: "raise"}, label="lifespan-raise",
                              wait_ready=False)
    assert server.process is not None
    deadline = time.monotonic() + ctx.target.startup_timeout
    while not http_answers(server.host, server.port, timeout=0.5):
        if not server.alive():
            ctx.fail("the server exited after the app raised on the lifespan scope "
                     f"(status {server.process.proc.returncode}):\n{server.log_tail()}")
        if time.monotonic() > deadline:
            ctx.fail(f"the server did not serve within {ctx.target.startup_timeout:g}s after "
                     f"the app raised on the lifespan scope:\n{server.log_tail()}")
        time.sleep(0.05)
    if not any(e["event"] == "lifespan-scope" for e in server.journal.for_rid(None)):
        ctx.unsupported("the server sent no lifespan scope (lifespan protocol not supported)")
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", "/lifespan/after-raise",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid),
                             ("Connection", "close")]))
    response = conn.read_response(timeout=5.0)
    ctx.expect(response.status == 200,
               f"after the lifespan exception a request got {response.status or 'nothing'}")
    ctx.expect(server.journal.wait_event(rid, "request", timeout=5.0) is not None,
               "after the lifespan exception the request never reached the app")


@check(
    id="asgi-lifespan.shutdown-after-requests",
    title="on SIGTERM, lifespan.shutdown follows in-flight requests; exit waits for complete",
    requirements=["ASGI-LIFE-05"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Shutdown - receive event', 'Shutdown Complete - send event'",
)
def shutdown_after_requests(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Shutdown: lifespan.shutdown is "Sent to the application when the
    server has stopped accepting connections and closed all active connections"; Shutdown
    Complete: "A server must wait for this message before terminating." A streamed response
    is in flight (the app waits for the client's gate before its last block) when the server
    gets SIGTERM. The in-flight response must complete, lifespan.shutdown must come after
    it, and the server must not exit before the app's 1 s cleanup sent
    lifespan.shutdown.complete."""
    server = lifespan_server(ctx, "lifespan-stop", mode="slow-shutdown")
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port, timeout=10.0)
    conn.send(request_bytes("GET", "/probe/stream?blocks=2&wait=10",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid)]))
    ctx.expect(conn.read_until(b"block-1", timeout=5.0), "the streamed response never started")
    assert server.process is not None
    server.process.proc.send_signal(signal.SIGTERM)
    # Once new connections are refused the server is shutting down; a server that sends
    # lifespan.shutdown without waiting for the in-flight request does so from here on.
    _listener_closed(server)
    premature = server.journal.wait_for(
        lambda evs: any(e["event"] == "lifespan-receive"
                        and e["message"].get("type") == "lifespan.shutdown" for e in evs),
        rid=None, timeout=PREMATURE_WATCH)
    server.journal.open_gate(rid, 1)
    completed = conn.read_until(b"block-2", timeout=10.0)
    code = server.process.wait_exit(EXIT_BOUND)
    events = [e for e in server.journal.for_rid(None) + server.journal.for_rid(rid)]
    events.sort(key=lambda e: e["t"])
    ctx.expect(completed, "the in-flight response was cut off by the shutdown "
                          f"(received {bytes(conn.received)[-80:]!r}); server log:\n"
                          f"{server.log_tail(15)}")
    shutdown = _index(events, lambda e: e["event"] == "lifespan-receive"
                      and e["message"].get("type") == "lifespan.shutdown")
    last_block = _index(events, lambda e: e["event"] == "produce" and e.get("block") == 2)
    ctx.expect(premature is None and (shutdown is None or last_block is None
                                      or last_block < shutdown),
               "lifespan.shutdown reached the app while a request was still in flight")
    ctx.expect(code is not None, f"the server did not exit within {EXIT_BOUND:g}s of SIGTERM")
    ctx.expect(shutdown is not None, "the server exited without sending lifespan.shutdown")
    ctx.expect(any(e["event"] == "lifespan-send" and e.get("type") ==
                   "lifespan.shutdown.complete" for e in events),
               "the server exited before the app finished its cleanup and sent "
               "lifespan.shutdown.complete")


@check(
    id="asgi-lifespan.shutdown-failed",
    title="lifespan.shutdown.failed: the server logs the message and still exits",
    requirements=["ASGI-LIFE-06"],
    level=Level.SHOULD,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Shutdown Failed - send event'",
)
def shutdown_failed(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Shutdown Failed: "Sent by the application when it has failed to
    complete its cleanup. If a server sees this it should log/print the message provided and
    then terminate." On SIGTERM the app answers lifespan.shutdown with shutdown.failed; the
    server should log the message and exit (a should: warn)."""
    server = lifespan_server(ctx, "lifespan-shutdown-fail", mode="shutdown-fail")
    _sigterm_and_wait(ctx, server)
    ctx.expect(any(e["event"] == "lifespan-send" and e.get("type") == "lifespan.shutdown.failed"
                   for e in server.journal.for_rid(None)),
               "the app never got lifespan.shutdown, so could not report a failure")
    ctx.expect(SHUTDOWN_FAILED_MESSAGE in server.log_tail(200),
               f"the server did not log the failure message {SHUTDOWN_FAILED_MESSAGE!r}; "
               f"its log:\n{server.log_tail(15)}")
