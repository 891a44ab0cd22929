"""ASGI HTTP events (asgi-www.rst "Request", "Response Body", "Disconnect")."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.support.streaming import check_blocks_stream
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import request_bytes

ASGI = ("asgi",)
# The suite's own bound for http.disconnect after the client closed (no sentence gives one):
# a server learns of a closed connection from its event loop as soon as the socket reports
# EOF, and 5 s leaves room for a loaded 2-core machine. The probe app adds no wait of its own:
# it is already awaiting receive() when the client closes. A miss is reported, never failed.
DISCONNECT_BOUND = 5.0
# The sentences a disconnect check rests on (requirements.toml, ASGI-HTTP-03).
WRONG_EVENT = "ASGI-HTTP-03.a"  # the event after the close is http.disconnect (definition)
BUFFERED_BODY = "ASGI-HTTP-03.c"  # a server may hold the body before calling the app (INFO)
NOT_WITHIN_BOUND = "ASGI-HTTP-03.d"  # promptness has no sentence: the suite's bound (INFO)


def after_event(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The journal events that follow the first ``name`` event (all of them if none)."""
    index = next((i for i, e in enumerate(events) if e["event"] == name), -1)
    return events[index + 1:]


def wait_receive(ctx: CheckContext, rid: str, *, after: str,
                 final: bool = False) -> dict[str, Any] | None:
    """The first receive() event the app journalled after its ``after`` event, within
    DISCONNECT_BOUND; with ``final`` an http.request that still promises more body is passed
    over (it is part of the body being read, not the answer to the close)."""

    def answer(events: list[dict[str, Any]]) -> dict[str, Any] | None:
        for event in after_event(events, after):
            if event["event"] != "receive":
                continue
            if final and event.get("type") == "http.request" and event.get("more_body"):
                continue
            return event
        return None

    events = ctx.journal.wait_for(lambda evs: answer(evs) is not None, rid=rid,
                                  timeout=DISCONNECT_BOUND)
    return answer(events) if events is not None else None


def judge_disconnect(ctx: CheckContext, event: dict[str, Any] | None, when: str) -> None:
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
        ctx.finding(WRONG_EVENT, f"after the client closed {when}, receive() returned "
                                 f"{event.get('type')!r}{detail}, not http.disconnect")


@check(
    id="asgi-http.streaming",
    title="each http.response.body is flushed before send() returns",
    requirements=["ASGI-HTTP-05", "PROXY-02"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Response Body - send event'",
)
def streaming(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Body: "Protocol servers must flush any data passed to them into
    the send buffer before returning from a send call." A block must therefore reach the
    client while the app waits before sending the next one (ASGI-HTTP-05, MUST). Through
    nginx (proxy_buffering off) a held block may be nginx's as well as the server's, and RFC
    9110 7.6 says "senders and recipients cannot rely on incremental delivery of partial
    messages": there the finding is PROXY-02.d (INFO) and the direct cell tells who held it."""
    check_blocks_stream(ctx, "ASGI-HTTP-05" if ctx.via == "direct" else "PROXY-02.d")


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
    the head and 10 of 1000 promised body bytes, then closes while the app awaits the rest.

    Findings: receive() answering the close with anything but http.disconnect (an
    http.request with more_body False presents a truncated body as complete) breaks that
    definition (ASGI-HTTP-03.a, MUST). No event within 5 s is reported with the bound
    (ASGI-HTTP-03.d, INFO: no sentence gives one). A server that calls the app only once the
    body is complete leaves nothing to disconnect from: reported (ASGI-HTTP-03.c, INFO)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    head = request_bytes("POST", "/probe/receive-all",
                         ctx.base_headers(rid) + [("Content-Length", "1000")])
    conn.send(head + b"0123456789")
    called = ctx.journal.wait_event(rid, "request", timeout=DISCONNECT_BOUND) is not None
    conn.close()
    ctx.require(called, BUFFERED_BODY,
                f"the server had not called the app {DISCONNECT_BOUND:g}s after the head and 10 "
                "of 1000 body bytes arrived (it may wait for the whole body): nothing to "
                "disconnect from")
    judge_disconnect(ctx, wait_receive(ctx, rid, after="request", final=True),
                     "mid-body (10 of 1000 bytes sent)")


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
    """asgi-www.rst, Disconnect: "Sent to the application if receive is called after a
    response has been sent or after the HTTP connection has been closed." The app has sent
    the response start and a first block (more_body True) and awaits receive(); the client
    closes. Any event but http.disconnect breaks the definition (ASGI-HTTP-03.a, MUST); no
    event within 5 s is reported with the bound (ASGI-HTTP-03.d, INFO)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/wait-disconnect", ctx.base_headers(rid)))
    # The app awaits receive() once it journalled this (whether or not its first block
    # arrived: holding the block back is asgi-http.streaming's business, not this check's).
    ctx.observed(rid, "awaiting-receive")
    conn.read_until(b"started", timeout=1.0)
    conn.close()
    judge_disconnect(ctx, wait_receive(ctx, rid, after="awaiting-receive"), "mid-response")
