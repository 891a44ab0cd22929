"""ASGI HTTP events (asgi-www.rst "Request", "Response Body", "Disconnect")."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.streaming import check_blocks_stream
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import request_bytes

ASGI = ("asgi",)
# A server learns of a closed connection from its event loop as soon as the socket reports
# EOF; 5 s leaves room for a loaded 2-core machine while still calling a server that only
# notices on a later write (or never) what it is: not prompt.
DISCONNECT_BOUND = 5.0


def _wait_disconnect_event(ctx: CheckContext, rid: str) -> bool:
    events = ctx.journal.wait_for(
        lambda evs: any(e["event"] == "receive" and e.get("type") == "http.disconnect"
                        for e in evs),
        rid=rid, timeout=DISCONNECT_BOUND)
    return events is not None


@check(
    id="asgi-http.streaming",
    title="each http.response.body is flushed before send() returns",
    requirements=["ASGI-HTTP-05", "PROXY-02"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Response Body - send event'",
)
def streaming(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Body: the server "must flush any data passed to it into the
    send buffer before returning from a send call". A block must therefore reach the client
    while the app waits before sending the next one; through nginx (proxy_buffering off) the
    same holds end to end (PROXY-02)."""
    check_blocks_stream(ctx)


@check(
    id="asgi-http.disconnect-mid-request",
    title="a client closing mid-body gives http.disconnect to an app awaiting receive()",
    requirements=["ASGI-HTTP-03"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-www.rst 'Disconnect - receive event'",
)
def disconnect_mid_request(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: "Sent to the application if receive is called after a
    response has been sent or after the HTTP connection has been closed." The client sends
    the head and 10 of 1000 promised body bytes, then closes; the app, awaiting the rest of
    the body, must get http.disconnect within 5 s."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    head = request_bytes("POST", "/probe/receive-all",
                         ctx.base_headers(rid) + [("Content-Length", "1000")])
    conn.send(head + b"0123456789")
    if ctx.journal.wait_event(rid, "request", timeout=5.0) is None:
        ctx.info("the server did not call the app before the body was complete; "
                 "nothing to disconnect from")
    conn.close()
    ctx.expect(_wait_disconnect_event(ctx, rid),
               f"no http.disconnect within {DISCONNECT_BOUND:g}s after the client closed "
               "mid-body while the app awaited receive()")


@check(
    id="asgi-http.disconnect-mid-response",
    title="a client closing mid-response gives http.disconnect to an app awaiting receive()",
    requirements=["ASGI-HTTP-03"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-www.rst 'Disconnect - receive event'",
)
def disconnect_mid_response(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: http.disconnect is sent "if receive is called ... after the
    HTTP connection has been closed". The app has sent the response start and a first block
    (more_body True) and awaits receive(); the client closes; http.disconnect must arrive
    within 5 s."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/wait-disconnect", ctx.base_headers(rid)))
    ctx.expect(conn.read_until(b"started", timeout=5.0), "the response never started")
    ctx.observed(rid, "awaiting-receive")
    conn.close()
    ctx.expect(_wait_disconnect_event(ctx, rid),
               f"no http.disconnect within {DISCONNECT_BOUND:g}s after the client closed "
               "mid-response while the app awaited receive()")
