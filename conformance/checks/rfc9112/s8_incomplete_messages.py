"""RFC 9112 8, Handling Incomplete Messages."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level
from conformance.wire import request_bytes

TRUNCATED_CLOSE = 4.0  # seconds for the close after the half-close (the probe app: ms)
DISCONNECT_WAIT = 2.0  # seconds, after the close, for the app's receive() to end (a server: ms)


@check(id="rfc9112.truncated-body", title="a body cut short by a half-close: the "
       "connection is closed and an ASGI app is not told the body is complete",
       requirements=["HTTP-05", "ASGI-HTTP-03"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 8, 6.3")
def truncated_body(ctx: CheckContext) -> None:
    """RFC 9112 6.3: "If the sender closes the connection or the recipient times out before
    the indicated number of octets are received, the recipient MUST consider the message to be
    incomplete and close the connection." (HTTP-05.a) 8: "A server that receives an incomplete
    request message, usually due to a canceled request or a triggered timeout exception, MAY
    send an error response prior to closing the connection." (HTTP-05.c), so the answer is not
    judged: a 200 here is the probe app's, written after its short read. For ASGI, more_body
    "Signifies if there is additional content to come (as part of a Request message)."
    (HTTP-05.d): an http.request with more_body False after 5 of 10 bytes tells the app the
    body is complete; http.disconnect is "Sent to the application if receive is called after a
    response has been sent or after the HTTP connection has been closed." (HTTP-05.e: an app
    that was handed part of the body and waits in receive() must get it, and another event
    there breaks it; one still waiting at the suite's bound is reported as ASGI-HTTP-03.d, INFO,
    since no sentence gives a time). The client sends 5 of 10 announced bytes and half-closes."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=TRUNCATED_CLOSE + 1)
    conn.send(request_bytes("POST", f"{Route.READ_ALL}?case=truncated",
                            ctx.base_headers(rid) + [("Content-Length", "10")], b"hello"))
    conn.shutdown_write()
    closed = conn.read_until_close(timeout=TRUNCATED_CLOSE)
    answer = conn.read_response(method="POST", timeout=0.1)
    conn.close()
    answered = f"answered {answer.status}" if answer.status else "no answer"
    if not closed:
        ctx.finding("HTTP-05.a", f"5 of 10 announced body bytes, then the client half-closed: "
                                 f"the server did not close the connection within "
                                 f"{TRUNCATED_CLOSE:g} s ({answered})")
    _judge_asgi_receives(ctx, rid)


def _judge_asgi_receives(ctx: CheckContext, rid: str) -> None:
    """ASGI: what receive() gave the app for the truncated body (WSGI has no such signal)."""
    if ctx.target.interface != "asgi":
        return
    # The app journals each receive(); the last must end the body: http.disconnect once the
    # connection is gone (or, wrongly, an http.request that calls the body complete).
    def ended(events: list[dict[str, Any]]) -> bool:
        return any(e["event"] == Event.RECEIVE and (e.get("type") != "http.request"
                                                    or not e.get("more_body")) for e in events)

    ctx.journal.wait_for(ended, rid=rid, timeout=DISCONNECT_WAIT)
    receives = [e for e in ctx.journal.for_rid(rid) if e["event"] == Event.RECEIVE]
    complete = [e for e in receives if e.get("type") == "http.request"
                and not e.get("more_body")]
    given = [(e.get("type"), e.get("size"), e.get("more_body")) for e in receives]
    # Another event type where http.disconnect is owed: the definition is broken whatever the
    # timing. (An empty http.request promising more is not counted: ASGI allows empty chunks.)
    wrong = [e for e in receives if e.get("type") not in ("http.request", "http.disconnect")]
    if wrong:
        ctx.finding("HTTP-05.e", "5 of 10 announced body bytes, then the client half-closed: "
                                 "the app's receive() gave another event where "
                                 f"http.disconnect is owed; receive() gave (type, size, "
                                 f"more_body) {given}")
    elif receives and not complete and not any(e.get("type") == "http.disconnect"
                                               for e in receives):
        # A server that holds the body until it is complete never calls the app: no receives,
        # nothing to judge. One that did call it owes the waiting receive() its disconnect,
        # but no sentence says by when (ASGI-HTTP-03's no_sentence): a receive() still
        # pending at the suite's bound is reported, as asgi-www.disconnect-mid-request does.
        ctx.finding("ASGI-HTTP-03.d", "5 of 10 announced body bytes, then the client "
                                      "half-closed: the app's pending receive() was not given "
                                      f"http.disconnect within {DISCONNECT_WAIT:g} s (no spec "
                                      "sentence gives a bound; this is the suite's); receive() "
                                      f"gave (type, size, more_body) {given}")
    if complete:
        given = [(e.get("type"), e.get("size"), e.get("more_body")) for e in receives]
        ctx.finding("HTTP-05.d", "5 of 10 announced body bytes, then the client half-closed: "
                                 "the app was told the body was complete (an http.request with "
                                 f"more_body False), not http.disconnect; receive() gave "
                                 f"(type, size, more_body) {given}")
