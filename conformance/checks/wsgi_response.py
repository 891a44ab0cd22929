"""WSGI response side (PEP 3333 "Specification Details", "Buffering and Streaming")."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.support.endless_stream import (
    CLOSE_BOUND,
    DISCONNECT_CLOSE_BOUND,
    ENDLESS_PATH,
    ENDLESS_SECONDS,
    FIRST_BLOCK_BOUND,
)
from conformance.checks.support.streaming import check_blocks_stream
from conformance.context import CheckContext
from conformance.verdicts import HarnessError, Level
from conformance.wire import request_bytes

WSGI = ("wsgi",)
SECOND_CLOSE_WINDOW = 0.5  # how long a second close() call is looked for after the first


def _expect_close(ctx: CheckContext, rid: str, situation: str,
                  bound: float = CLOSE_BOUND) -> None:
    """A finding unless close() is called within ``bound``. How many times it was called is
    recorded in the details: no sentence says it must not be called twice."""
    events = ctx.journal.wait_for(lambda evs: any(e["event"] == "close" for e in evs), rid=rid,
                                  timeout=bound)
    if events is None:
        ctx.finding("WSGI-RESP-06.a", f"{situation}: the iterable's close() was not called "
                                      f"within {bound:g}s")
        return
    ctx.journal.wait_for(lambda evs: sum(e["event"] == "close" for e in evs) > 1, rid=rid,
                         timeout=SECOND_CLOSE_WINDOW)
    ctx.details["close_calls"] = sum(e["event"] == "close" for e in ctx.journal.for_rid(rid))


@check(
    id="wsgi-response.close-after-response",
    title="the iterable's close() is called after a normal response",
    requirements=["WSGI-RESP-06"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Specification Details' (close() of the returned iterable)",
)
def close_after_response(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "If the iterable returned by the application has a
    close() method, the server or gateway must call that method upon completion of the current
    request, whether the request was completed normally, or terminated early due to an
    application error during iteration or an early disconnect of the browser"
    (WSGI-RESP-06.a). No sentence forbids a second call: the number of calls is recorded."""
    exchange = ctx.request("GET", "/close/normal")
    ctx.details["status"] = exchange.response.status
    _expect_close(ctx, exchange.rid, "after a normal response")


@check(
    id="wsgi-response.close-after-error",
    title="the iterable's close() is called when iteration raises",
    requirements=["WSGI-RESP-06"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Specification Details' (close() ... application error during iteration)",
)
def close_after_error(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: close() must be called "whether the request was
    completed normally, or terminated early due to an application error during iteration"
    (WSGI-RESP-06.a)."""
    exchange = ctx.request("GET", "/probe/raise-in-iter")
    ctx.observed(exchange.rid, "raise")
    _expect_close(ctx, exchange.rid, "after an exception raised during iteration")


@check(
    id="wsgi-response.close-after-disconnect",
    title="the iterable's close() is called when the client goes away mid-stream",
    requirements=["WSGI-RESP-06"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Specification Details' (close() ... early disconnect of the browser)",
)
def close_after_disconnect(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: close() must be called when the request was
    "terminated early due to an application error during iteration or an early disconnect of
    the browser" (WSGI-RESP-06.a). The
    client resets the connection after the first block of an endless stream; the server
    notices on its next write and must call close(); at the latest when the stream ends by
    itself (after ENDLESS_SECONDS), so the bound is that plus CLOSE_BOUND."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=FIRST_BLOCK_BOUND)
    conn.send(request_bytes("GET", ENDLESS_PATH, ctx.base_headers(rid)))
    if not conn.read_until(b"started", timeout=FIRST_BLOCK_BOUND):
        raise HarnessError(f"the stream's first block did not arrive within "
                           f"{FIRST_BLOCK_BOUND:g}s: there was no stream to disconnect from")
    conn.abort()
    _expect_close(ctx, rid, "after the client reset the connection mid-stream (the app's "
                  f"stream ends by itself after {ENDLESS_SECONDS:g}s)",
                  bound=DISCONNECT_CLOSE_BOUND)


@check(
    id="wsgi-response.streaming",
    title="each yielded block reaches the client before the next is requested",
    requirements=["WSGI-RESP-07", "PROXY-02"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Buffering and Streaming'",
)
def streaming(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "The server or gateway must transmit the yielded
    bytestrings to the client in an unbuffered fashion, completing the transmission of each
    bytestring before requesting another one." (WSGI-RESP-07.a). Through nginx
    (proxy_buffering off, X-Accel-Buffering: no) the same must hold end to end (PROXY-02.b,
    the same sentence as the deployment's requirement)."""
    check_blocks_stream(ctx, "WSGI-RESP-07.a" if ctx.via == "direct" else "PROXY-02.b")
