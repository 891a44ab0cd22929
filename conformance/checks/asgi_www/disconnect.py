"""asgi-www.rst, "Disconnect - receive event"."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_www.receive_after_close import (
    DISCONNECT_BOUND,
    NOT_WITHIN_BOUND,
    wait_receive,
)
from conformance.context import CheckContext
from conformance.probes.asgi_app import AFTER_RESPONSE_WAIT, PENDING_RECEIVE_WAIT
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level
from conformance.wire import request_bytes

# The sentences a disconnect check rests on (requirements.toml, ASGI-HTTP-03).
_WRONG_EVENT = "ASGI-HTTP-03.a"  # the event after the close is http.disconnect (definition)
_BUFFERED_BODY = "ASGI-HTTP-03.c"  # a server may hold the body before calling the app (INFO)
_PENDING_NOT_WOKEN = "ASGI-HTTP-03.b"  # receive() "will yield ... when one is available"
# A fresh receive() answering within this was answered from an event already there.
FRESH_AT_ONCE = 0.5


@check(
    id="asgi-www.disconnect-after-response",
    title="receive() after a complete response returns http.disconnect",
    requirements=["ASGI-HTTP-02"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-www.rst 'Disconnect - receive event'",
)
def disconnect_after_response(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: http.disconnect is "Sent to the application if receive is
    called after a response has been sent or after the HTTP connection has been closed". The
    app reads the body, sends a complete response, then calls receive() once more while the
    client keeps the connection open. The condition holds when receive() is called, so there
    is nothing for the server to wait for: another event, or none in the 5 s the app waits,
    breaks that definition (ASGI-HTTP-02.a, MUST). Another event (an http.request after the
    body was complete) also breaks the HTTP sequence, "receiving two events in order -
    http.request and http.disconnect" (ASGI-HTTP-02.b, a definition: MUST)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("POST", f"{Route.RECEIVE_ALL}?after=1",
                            ctx.base_headers(rid) + [("Content-Length", "5")], b"hello"))
    response = conn.read_response(method="POST", timeout=5.0)
    entry = ctx.observed(rid, Event.AFTER_RESPONSE, timeout=AFTER_RESPONSE_WAIT + 3.0)
    conn.close()
    if entry.get("type") == "http.disconnect":
        return
    answer = (f"returned {entry.get('type')!r}" if entry.get("type") else
              f"had returned nothing after {AFTER_RESPONSE_WAIT:g}s (the app's wait)")
    ctx.finding("ASGI-HTTP-02.a", f"receive() called after the complete response "
                                f"({response.status or 'no status'} received, connection kept "
                                f"open) {answer}, not http.disconnect")
    if entry.get("type"):
        ctx.finding("ASGI-HTTP-02.b", f"after the body (more_body False) and the response, "
                                      f"receive() gave {entry.get('type')!r}: the events are "
                                      "not http.request then http.disconnect")


@check(
    id="asgi-www.disconnect-mid-request",
    title="a client closing mid-body gives http.disconnect to an app awaiting receive()",
    requirements=["ASGI-HTTP-03"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Disconnect - receive event'",
)
def disconnect_mid_request(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: "Sent to the application if receive is called after a
    response has been sent or after the HTTP connection has been closed." The client sends
    the head and 10 of 1000 promised body bytes, then closes while the app awaits the rest.

    Findings: receive() answering the close with anything but http.disconnect (an
    http.request with more_body False presents a truncated body as complete) breaks that
    definition (ASGI-HTTP-03.a, MUST). No event within 5 s is reported with the bound
    (ASGI-HTTP-03.d, INFO: no sentence gives one). A server that calls the app only once the
    body is complete leaves nothing to disconnect from: reported (ASGI-HTTP-03.c, INFO)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    head = request_bytes("POST", Route.RECEIVE_ALL,
                         ctx.base_headers(rid) + [("Content-Length", "1000")])
    conn.send(head + b"0123456789")
    called = ctx.journal.wait_event(rid, Event.REQUEST, timeout=DISCONNECT_BOUND) is not None
    conn.close()
    ctx.require(called, _BUFFERED_BODY,
                f"the server had not called the app {DISCONNECT_BOUND:g}s after the head and 10 "
                "of 1000 body bytes arrived (it may wait for the whole body): nothing to "
                "disconnect from")
    _judge_disconnect(ctx, wait_receive(ctx, rid, after=Event.REQUEST, final=True),
                     "mid-body (10 of 1000 bytes sent)")


@check(
    id="asgi-www.disconnect-mid-response",
    title="a client closing mid-response gives http.disconnect to an app awaiting receive()",
    requirements=["ASGI-HTTP-03"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Disconnect - receive event'",
)
def disconnect_mid_response(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: "Sent to the application if receive is called after a
    response has been sent or after the HTTP connection has been closed." The app has sent
    the response start and a first block (more_body True) and awaits receive(); the client
    closes. Any event but http.disconnect breaks the definition (ASGI-HTTP-03.a, MUST); no
    event within 5 s is reported with the bound (ASGI-HTTP-03.d, INFO). When the pending
    receive() never answers, the app gives it up and calls receive() afresh: an
    http.disconnect at once then shows a server that knew of the close but left the call
    awaiting it pending, where receive is "an awaitable callable that will yield a new event
    dictionary when one is available" (ASGI-HTTP-03.b, a definition: MUST)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", Route.WAIT_DISCONNECT, ctx.base_headers(rid)))
    # The app awaits receive() once it journalled this (whether or not its first block
    # arrived: holding the block back is asgi-www.streaming's business, not this check's).
    ctx.observed(rid, Event.AWAITING_RECEIVE)
    conn.read_until(b"started", timeout=1.0)
    conn.close()
    event = wait_receive(ctx, rid, after=Event.AWAITING_RECEIVE)
    if event is None:
        # The app gives its receive() up PENDING_RECEIVE_WAIT s after awaiting it (after
        # this bound ended) and calls it afresh: only an answer at once, not a slow server's
        # late one, shows an event that was there but not given to the pending call.
        again = ctx.journal.wait_event(rid, Event.RECEIVE_AGAIN,
                                       timeout=PENDING_RECEIVE_WAIT + 1.0 - DISCONNECT_BOUND)
        if (again is not None and again.get("type") == "http.disconnect"
                and again["waited"] < FRESH_AT_ONCE):
            ctx.finding(_PENDING_NOT_WOKEN,
                        f"after the client closed mid-response, the app's pending receive() "
                        f"had not returned {PENDING_RECEIVE_WAIT:g}s later; a fresh receive() "
                        "then returned http.disconnect at once: the event was available but "
                        "not yielded to the call awaiting it")
            return
    _judge_disconnect(ctx, event, "mid-response")


def _judge_disconnect(ctx: CheckContext, event: dict[str, Any] | None, when: str) -> None:
    """One finding when the app's receive() after the client closed did not give
    http.disconnect: a wrong event breaks its definition, no event within the bound is
    reported with the bound."""
    if event is None:
        ctx.finding(NOT_WITHIN_BOUND,
                    f"no http.disconnect within {DISCONNECT_BOUND:g}s after the client closed "
                    f"{when} while the app awaited receive() (no spec sentence gives a bound; "
                    "this is the suite's)")
    elif event.get("type") != "http.disconnect":
        detail = (f" with more_body False and a {event.get('size')}-byte body, presenting the "
                  "body as complete" if event.get("type") == "http.request" else "")
        ctx.finding(_WRONG_EVENT, f"after the client closed {when}, receive() returned "
                                 f"{event.get('type')!r}{detail}, not http.disconnect")
