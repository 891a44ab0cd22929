"""asgi-lifespan.rst, "Shutdown - receive event", "Shutdown Complete" and "Shutdown Failed".

Each check starts its own server with a lifespan mode of the probe app ($CONFORMANCE_LIFESPAN)
and stops it with SIGTERM to the server's main process, as an init system would.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_lifespan.lifespan_servers import first_index, lifespan_server
from conformance.context import CheckContext
from conformance.polling import poll_until
from conformance.probes.asgi_app import SHUTDOWN_FAILED_MESSAGE
from conformance.probes.contract import Event, Route
from conformance.verdicts import HarnessError, Level
from conformance.wire import request_bytes

EXIT_BOUND = 15.0  # a graceful stop with a 1 s app cleanup; leaves room on a loaded machine
# How long the check watches for the start of the shutdown before it lets the in-flight request
# finish: short, because servers bound their graceful wait (hypercorn: 3 s by default) and the
# request must be able to finish inside it. The verdict never depends on these bounds: it is the
# order of the journal events.
LISTENER_CLOSE_BOUND = 1.0
PREMATURE_WATCH = 0.3
# A connection the server closes this soon after our seeing lifespan.shutdown counts as closed
# before it: the two happen together, and the order between them is not observable closer.
CLOSE_GRACE = 0.5


def _has_shutdown(events: list[dict[str, Any]]) -> bool:
    return any(e["event"] == Event.LIFESPAN_RECEIVE
               and e["message"].get("type") == "lifespan.shutdown" for e in events)


@check(
    id="asgi-lifespan.shutdown-after-requests",
    title="on SIGTERM, lifespan.shutdown follows the closed connections; exit waits for complete",
    requirements=["ASGI-LIFE-05"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Shutdown - receive event', 'Shutdown Complete - send event'",
)
def shutdown_after_requests(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Shutdown: lifespan.shutdown is "Sent to the application when the
    server has stopped accepting connections and closed all active connections."
    (ASGI-LIFE-05.a, a definition: MUST); Shutdown Complete: "A server must wait for this
    message before terminating." (.b, MUST). A streamed response is in flight (the app waits
    for the client's gate before its last block) when the server gets SIGTERM.

    Findings: lifespan.shutdown while the in-flight request's connection is still open
    breaks .a; exiting without sending lifespan.shutdown, or before the app's 1 s cleanup
    sent lifespan.shutdown.complete, breaks .b. No sentence says in-flight requests are let
    finish, and "A client, server, or proxy MAY close the transport connection at any time."
    (RFC 9112 9.5): a response cut off is reported (.c, INFO). That SIGTERM starts a
    graceful stop is in no sentence either: a server still running 15 s later leaves
    nothing to judge (an error)."""
    server = lifespan_server(ctx, "lifespan-stop", mode="slow-shutdown")
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port, timeout=10.0)
    conn.send(request_bytes("GET", f"{Route.STREAM}?blocks=2&wait=10",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid)]))
    if not conn.read_until(b"block-1", timeout=5.0):
        raise HarnessError("the streamed response's first block did not arrive within 5 s: "
                           "no request in flight to stop the server with")
    # SIGTERM now, without waiting: the exit is awaited once the in-flight response is done.
    server.request_stop()
    # Once new connections are refused the server is shutting down; a server that sends
    # lifespan.shutdown without waiting for the in-flight request does so from here on.
    poll_until(lambda: not server.accepts_connections(), LISTENER_CLOSE_BOUND, interval=0.02)
    premature = server.journal.wait_for(_has_shutdown, rid=None, timeout=PREMATURE_WATCH)
    # Was the in-flight connection still open then? A close that comes with the shutdown
    # (within CLOSE_GRACE) is given the benefit of the doubt.
    open_at_shutdown = premature is not None and not conn.read_until_close(CLOSE_GRACE)
    server.journal.open_gate(rid, 1)
    completed = conn.read_until(b"block-2", timeout=10.0)
    code = poll_until(server.exit_status, EXIT_BOUND, interval=0.05)
    events = server.journal.for_rid(None) + server.journal.for_rid(rid)
    events.sort(key=lambda e: e["t"])
    shutdown = first_index(events, lambda e: _has_shutdown([e]))
    last_block = first_index(events,
                             lambda e: e["event"] == Event.PRODUCE and e.get("block") == 2)
    if not completed:
        ctx.finding("ASGI-LIFE-05.c", "the in-flight response was cut off by the shutdown "
                                      f"(received {bytes(conn.received)[-80:]!r})")
    served_after = (shutdown is not None and last_block is not None and shutdown < last_block
                    and completed)
    if open_at_shutdown or served_after:
        ctx.finding("ASGI-LIFE-05.a", "lifespan.shutdown reached the app while the in-flight "
                                      "request's connection was still open")
    if code is None:
        raise HarnessError(f"the server did not exit within {EXIT_BOUND:g}s of SIGTERM: "
                           "whether it waits for lifespan.shutdown.complete cannot be seen")
    if shutdown is None:
        ctx.finding("ASGI-LIFE-05.b", f"the server exited (status {code}) without sending "
                                      "lifespan.shutdown, so it never waited for "
                                      "lifespan.shutdown.complete")
    elif not any(e["event"] == Event.LIFESPAN_SEND
                 and e.get("type") == "lifespan.shutdown.complete" for e in events):
        ctx.finding("ASGI-LIFE-05.b", "the server exited before the app finished its 1 s "
                                      "cleanup and sent lifespan.shutdown.complete")


@check(
    id="asgi-lifespan.shutdown-failed",
    title="lifespan.shutdown.failed: the server logs the message and still exits",
    requirements=["ASGI-LIFE-06", "ASGI-LIFE-05"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Shutdown Failed - send event'",
)
def shutdown_failed(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Shutdown Failed: "If a server sees this it should log/print the
    message provided and then terminate." (ASGI-LIFE-06, SHOULD). On SIGTERM the app answers
    lifespan.shutdown with lifespan.shutdown.failed; a server that does not log the message,
    or has not exited 15 s later, breaks the should. A server that exits without sending
    lifespan.shutdown at all never waited for the app's answer: "A server must wait for this
    message before terminating." (ASGI-LIFE-05.b, MUST)."""
    server = lifespan_server(ctx, "lifespan-shutdown-fail", mode="shutdown-fail")
    code = server.graceful_stop(EXIT_BOUND)
    asked = _has_shutdown(server.journal.for_rid(None))
    if not asked:
        if code is None:
            raise HarnessError(f"the server neither sent lifespan.shutdown nor exited within "
                               f"{EXIT_BOUND:g}s of SIGTERM")
        ctx.require(False, "ASGI-LIFE-05.b", f"the server exited (status {code}) without "
                                             "sending lifespan.shutdown, so the app never got "
                                             "to answer it")
    if code is None:
        ctx.finding("ASGI-LIFE-06", f"the server had not exited {EXIT_BOUND:g}s after SIGTERM "
                                    "(the app answered its lifespan.shutdown with "
                                    "lifespan.shutdown.failed)")
    if SHUTDOWN_FAILED_MESSAGE not in server.log_tail(200):
        ctx.finding("ASGI-LIFE-06", f"the server did not log the failure message "
                                    f"{SHUTDOWN_FAILED_MESSAGE!r}; its log:\n{server.log_tail(15)}")
