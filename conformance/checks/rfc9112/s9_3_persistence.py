"""RFC 9112 9.3, Persistence.

Every case pipelines a follow-up request in the same write, so a body parsed as a request or
a request left unanswered shows up."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.rfc9112.pipelined_exchanges import (
    READ,
    dropped,
    pipeline,
    read_until_done,
    unanswered,
)
from conformance.checks.support.final_responses import finals
from conformance.context import CheckContext
from conformance.desync import (
    MARKER_PATH,
    Case,
    Outcome,
    Parts,
    Unjudged,
    announces_close,
    run_cases,
)
from conformance.probes.contract import Route
from conformance.verdicts import Level
from conformance.wire import Response, parse_responses, request_bytes


def _unread_body(parts: Parts) -> bytes:
    return (f"POST {Route.NO_READ} HTTP/1.1\r\n".encode() + parts.base
            + b"Content-Length: %d\r\n\r\n" % len(parts.smuggle) + parts.smuggle)


def _unread_continue(parts: Parts) -> bytes:
    return (f"POST {Route.NO_READ} HTTP/1.1\r\n".encode() + parts.base
            + b"Expect: 100-continue\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(parts.smuggle) + parts.smuggle)


# The body is a complete request: a server that neither drains nor closes serves it.
UNREAD_CASES = [
    Case("body the app never read", _unread_body, framing="HTTP-13.f"),
    Case("unread body after Expect: 100-continue", _unread_continue, framing="HTTP-12.j"),
]


# RFC 9110 10.1.1: a final status sent before the body is read should say "close" or not.
SAID_CLOSE = "HTTP-12.i"


def _judge_said_close(ctx: CheckContext, outcome: Outcome) -> None:
    """The app answered without reading the body: a response that promised a persistent
    connection, followed by a close with the pipelined request unanswered, did not say the
    server meant to close."""
    finals = outcome.finals
    if finals and outcome.closed and not outcome.saw("marker") and finals[0].keeps_alive():
        ctx.finding(SAID_CLOSE, f"the {finals[0].status} response, sent without reading the "
                                "body, did not say \"Connection: close\", but the server then "
                                "closed without reading the request that followed the body")


def _connection_field(response: Response) -> str:
    """The response's Connection field as sent, or that it had none."""
    values = response.header_all("connection")
    return (f"Connection: {b', '.join(values).decode('latin-1')}" if values
            else "no Connection field")


def _persistence_http11(ctx: CheckContext, unjudged: Unjudged) -> None:
    rid = ctx.new_rid()
    conn, responses, marker = pipeline(
        ctx, request_bytes("GET", "/desync/keep", ctx.base_headers(rid)), "GET")
    if not responses or responses[0].status != 200:
        conn.close()
        unjudged.add(f"GET /desync/keep was answered "
                     f"{responses[0].status if responses else 'with nothing'}, not 200")
        return
    first = responses[0]
    if not first.keeps_alive():
        # Allowed when announced (c), but the connection persistence should support is gone.
        ctx.finding("HTTP-13.b", f"a plain HTTP/1.1 GET was answered by a {first.version} "
                                 f"response that ends the connection ({_connection_field(first)}"
                                 f", framing {first.framing})")
    answered = len(finals(responses))
    if dropped([ctx.journal.saw(rid), ctx.journal.saw(marker)], answered):
        # The server neither closed nor stalled on the pipelined request (9.3's rule for a
        # server without persistence): it served that one and dropped the first, so the one
        # answer is not the first request's, as 9.3.2's order of answers demands.
        ctx.finding("HTTP-14.a", f"GET /desync/keep and a pipelined GET {MARKER_PATH.decode()}"
                                 " in one write: the app never saw GET /desync/keep, only the "
                                 f"marker, and the one response ({first.status}) is the "
                                 "marker's: GET /desync/keep was dropped unanswered ("
                                 + ("the server then closed the connection)" if conn.eof else
                                    f"the connection was left open for {READ:g} s)"))
    elif first.keeps_alive():
        unanswered(ctx, conn, responses, 2, "GET and a pipelined GET", closed_too=True)
    if not first.keeps_alive() and not conn.eof and not conn.read_until_close(timeout=READ):
        ref = "HTTP-13.g" if announces_close(first) else "HTTP-13.e"
        ctx.finding(ref, f"the {first.version} response said the connection closes, but it "
                         f"was still open {READ:g} s later")
    conn.close()


def _persistence_http10(ctx: CheckContext) -> None:
    conn, responses, marker = pipeline(
        ctx, request_bytes("GET", "/desync/keep10", ctx.base_headers(ctx.new_rid()),
                           version="HTTP/1.0"), "GET")
    conn.close()
    if ctx.journal.for_rid(marker):
        said = (f"its {responses[0].version} response "
                + ("announced keep-alive" if responses[0].keeps_alive() else "did not announce "
                   "keep-alive")) if responses else "no response was read"
        ctx.finding("HTTP-13.e", "after an HTTP/1.0 request without keep-alive the server "
                                 f"served the next request on the same connection ({said})")


@check(id="rfc9112.persistence", title="HTTP/1.1 persists by default, 1.0 only with "
       "keep-alive; an unread body is drained or the connection closed",
       requirements=["HTTP-13", "HTTP-12", "HTTP-14"], level=Level.MUST,
       interfaces=("wsgi", "asgi"), via=("direct",), section="RFC 9112 9.3, 9.3.2, 9.6")
def persistence(ctx: CheckContext) -> None:
    """RFC 9112 9.3: "A server MUST read the entire request message body or close the
    connection after sending its response; otherwise, the remaining data on a persistent
    connection would be misinterpreted as the next request." (HTTP-13.f; HTTP-12.j after
    Expect: the unread body here is itself a request, and serving it is a desync). RFC 9110
    10.1.1: "A server that responds with a final status code before reading the entire request
    content SHOULD indicate whether it intends to close the connection (e.g., see Section 9.6
    of [HTTP/1.1]) or continue reading the request content." (HTTP-12.i, a warn: a response
    that kept the connection, then a close with the marker unanswered). "A server
    that does not support persistent connections MUST send the "close" connection option in
    every response message that does not have a 1xx (Informational) status code." (HTTP-13.c:
    a response without "close" and an unanswered pipelined request; but where the app saw
    only the pipelined request and its answer is the one sent, the first request was dropped:
    9.3.2 "A server MAY process a sequence of pipelined requests in parallel if they all have
    safe methods (Section 9.2.1 of [HTTP]), but it MUST send the corresponding responses in
    the same order that the requests were received.", HTTP-14.a); "HTTP implementations
    SHOULD support persistent connections." (HTTP-13.b, a warn: a plain HTTP/1.1 GET answered
    with "close"). For HTTP/1.0 without
    keep-alive: "The connection will close after the current response." (HTTP-13.e). 9.6: "A
    server that sends a "close" connection option MUST initiate closure of the connection (see
    below) after it sends the response containing the "close" connection option." (HTTP-13.g)
    """
    unjudged = Unjudged()
    run_cases(ctx, UNREAD_CASES, also=_judge_said_close)
    with ctx.case("HTTP/1.1 persists"):
        _persistence_http11(ctx, unjudged)
    with ctx.case("HTTP/1.0 without keep-alive"):
        _persistence_http10(ctx)
    unjudged.raise_if_any()


@check(id="rfc9112.pipelining-order", title="pipelined requests are answered in order",
       requirements=["HTTP-14", "HTTP-13"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 9.3.2, 9.3")
def pipelining_order(ctx: CheckContext) -> None:
    """RFC 9112 9.3.2: "A server MAY process a sequence of pipelined requests in parallel if
    they all have safe methods (Section 9.2.1 of [HTTP]), but it MUST send the corresponding
    responses in the same order that the requests were received." (HTTP-14.a) Three requests in
    one write ask for 201, 202, 203. Fewer answers on a connection left open break 9.3 when the
    responses did not announce "close" (HTTP-13.c, as in rfc9112.persistence), and 9.6
    when they did (HTTP-13.g); but where the app never saw an earlier request and saw a
    later one, the server dropped it and answered the later one in its place (HTTP-14.a
    alone)."""
    codes = (201, 202, 203)
    rids = [ctx.new_rid() for _ in codes]
    data = b"".join(request_bytes("GET", f"{Route.FRAMING_STATUS}?code={code}",
                                  ctx.base_headers(rid))
                    for code, rid in zip(codes, rids, strict=True))
    conn = ctx.connect(timeout=READ + 1)
    conn.send(data)
    read_until_done(conn, lambda: len(parse_responses(bytes(conn.received), ["GET"] * 3,
                                                      eof=False)) >= 3, READ, ["GET"] * 3)
    responses = parse_responses(bytes(conn.received), ["GET"] * 3, eof=conn.eof)
    conn.close()
    statuses = [r.status for r in responses]
    lost = dropped([ctx.journal.saw(rid) for rid in rids], len(finals(responses)))
    if lost:
        ctx.finding("HTTP-14.a", f"pipelined requests for 201, 202, 203 were answered "
                                 f"{statuses}: the app never saw the request"
                                 f"{'s' if len(lost) > 1 else ''} for "
                                 f"{', '.join(str(codes[i]) for i in lost)}, which came before "
                                 "one it did see, so the answers sent are the later "
                                 "requests'")
    elif statuses != list(codes[: len(statuses)]):
        ctx.finding("HTTP-14.a", f"pipelined requests for 201, 202, 203 were answered "
                                 f"{statuses}")
    if not lost:
        unanswered(ctx, conn, responses, 3, "three pipelined GETs")
