"""PEP 3333, "Handling the Content-Length Header".

Wire-level checks that only make sense between the client and the WSGI server itself (nginx
re-frames and speaks HTTP/1.1 upstream) run direct only.
"""

from __future__ import annotations

import time

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import RESPONSE_BOUND, respond
from conformance.checks.rfc9112.s6_1_transfer_encoding import judge_no_transfer_encoding_to_http10
from conformance.context import CheckContext
from conformance.probes.contract import Route
from conformance.verdicts import Level
from conformance.wire import Connection, Response, WireTimeout, parse_response, request_bytes

# Seconds for a server to close a connection it should close. The probe's responses here are
# produced at once (no sleeps), so anything later is the server's own doing.
_CLOSE_DEADLINE = 3.0


def _too_many_exchange(ctx: CheckContext, *, pipelined: bool) -> tuple[Connection, Response,
                                                                       bool]:
    """GET too-many and GET ready (Connection: close), in one write or, not ``pipelined``, the
    second after the first answer; read to the close. Returns the connection, the first
    response and whether the app ran the too-many request."""
    rid = ctx.new_rid()
    too_many = request_bytes("GET", f"{Route.RESPOND}?mode=too-many", ctx.base_headers(rid))
    ready = request_bytes("GET", Route.READY, ctx.base_headers(ctx.new_rid())
                          + [("Connection", "close")])
    conn = ctx.connect()
    conn.send(too_many + ready if pipelined else too_many)
    first = conn.read_response(timeout=RESPONSE_BOUND)
    if not pipelined and not conn.eof:
        conn.send(ready)
    conn.read_until_close(_CLOSE_DEADLINE)
    return conn, first, ctx.journal.saw(rid)


@check(
    id="pep3333.content-length-too-many",
    title="never more body bytes than the app's Content-Length",
    requirements=["WSGI-RESP-09"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Handling the Content-Length Header'",
    # Through nginx the verdict would turn on nginx's relaying of the surplus (1.22 passes it
    # on when it arrives in the same read as the body): the server's own bytes are the point.
    via=("direct",),
)
def content_length_too_many(ctx: CheckContext) -> None:
    """PEP 3333, Handling the Content-Length Header: "If the application supplies a
    Content-Length header, the server should not transmit more bytes to the client than the
    header allows" (WSGI-RESP-09.a, SHOULD). The app declares 5 and yields 8 bytes; a second
    request is pipelined behind it: whatever follows the first response on the wire should be
    the next response, never the three extra bytes (which the client would read as the start
    of the next response). What status the first response has is the server's choice (it may
    also refuse the app's output). A server that answers only the last request parsed from one
    read (bjoern) answers the second request alone and the app never runs the first: then the
    second request goes in its own write, after the first answer."""
    conn, first, seen = _too_many_exchange(ctx, pipelined=True)
    if not seen:
        ctx.details["pipelined_first_response"] = f"{first.status} {first.body!r}"
        conn, first, seen = _too_many_exchange(ctx, pipelined=False)
    ctx.details["first_response"] = f"{first.status} {first.body!r}"
    rest = bytes(conn.received)[len(first.raw):].lstrip(b"\r\n")
    if rest and not rest.startswith(b"HTTP/1."):
        ctx.finding("WSGI-RESP-09.a", f"after the declared 5 bytes the server sent "
                                      f"{rest[:40]!r}: more body bytes than the app's "
                                      "Content-Length")


@check(
    id="pep3333.content-length-too-few",
    title="an app that sends fewer bytes than its Content-Length gets the connection closed",
    requirements=["WSGI-RESP-09"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Handling the Content-Length Header'",
)
def content_length_too_few(ctx: CheckContext) -> None:
    """PEP 3333, Handling the Content-Length Header: "Of course, if the application does not
    provide *enough* data to meet its stated Content-Length, the server should close the
    connection and log or otherwise report the error." (WSGI-RESP-09.b, SHOULD). The app
    declares 10 and yields 5 bytes; the client (HTTP/1.1, keep-alive) should see the
    connection closed, or it would wait for the rest forever."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=_CLOSE_DEADLINE + 2)
    conn.send(request_bytes("GET", f"{Route.RESPOND}?mode=too-few", ctx.base_headers(rid)))
    closed = _read_until_close_or_nginx_502(ctx, conn)
    # Whether the 5 bytes went out first is left open (granian sends nothing and closes).
    ctx.details["short_body_sent"] = b"12345" in conn.received
    if not closed and _nginx_502(ctx, conn):
        # nginx's own complete 502, on a connection it keeps: the server closed its upstream
        # connection before a response head reached nginx (socketify sends nothing and
        # closes), which is the close the sentence asks for, and the client was told.
        return
    if not closed:
        ctx.finding("WSGI-RESP-09.b", f"the connection stayed open {_CLOSE_DEADLINE:g}s after "
                                      "the app sent 5 of its declared 10 bytes: the client "
                                      "cannot tell the response is short")


def _nginx_502(ctx: CheckContext, conn: Connection) -> bool:
    return ctx.via == "nginx" and conn.received.startswith(b"HTTP/1.1 502 ")


def _read_until_close_or_nginx_502(ctx: CheckContext, conn: Connection) -> bool:
    """Read until the connection closes (True) or _CLOSE_DEADLINE passes (False). Through
    nginx, a complete 502 of nginx's own ends the wait as well (False): whether nginx then
    closes or keeps the connection, the check passes, so waiting out the deadline for the
    close would decide nothing."""
    deadline = time.monotonic() + _CLOSE_DEADLINE
    while not conn.eof:
        if _nginx_502(ctx, conn):
            answer, _ = parse_response(bytes(conn.received))
            if answer is not None and answer.complete:
                return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            conn.recv_some(left)
        except WireTimeout:
            return False
    return True


@check(
    id="pep3333.unsized-response-framing",
    title="without Content-Length: close-delimited, or chunked done right to HTTP/1.1 clients",
    requirements=["WSGI-RESP-10"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Handling the Content-Length Header'; RFC 9112 6.1",
    via=("direct",),
)
def unsized_response_framing(ctx: CheckContext) -> None:
    """PEP 3333, Handling the Content-Length Header: without Content-Length the server may
    close the connection ("The simplest of these is to close the client connection when the
    response is completed.", WSGI-RESP-10.b), or, where server and client both support
    HTTP/1.1 chunked encoding, the server may use it (WSGI-RESP-10.c), and then it must comply
    fully with RFC 2616, now RFC 9112 (WSGI-RESP-10.d). The PEP's chunking is only for a
    client that supports HTTP/1.1: RFC 9112 6.1 "A server MUST NOT send a response containing
    Transfer-Encoding unless the corresponding request indicates HTTP/1.1 (or later minor
    revisions)." (WSGI-RESP-10.e), the framing the WSGI server chose for the app's unsized
    response (rfc9112.http10-no-chunked judges the same rule for every server's own
    responses). HTTP/1.0 and HTTP/1.1 are two sub-cases."""
    for version in ("HTTP/1.0", "HTTP/1.1"):
        with ctx.case(version):
            response = respond(ctx, "no-length", version=version).response
            if version == "HTTP/1.0":
                judge_no_transfer_encoding_to_http10(
                    ctx, response, "WSGI-RESP-10.e", "the app's response without Content-Length")
            if not (response.complete and response.body == b"one\ntwo\n"
                    and not response.problems):
                ctx.finding("WSGI-RESP-10.d" if response.framing == "chunked"
                            else "WSGI-RESP-10.b",
                            f"{version}: status {response.status or 'none'}, body "
                            f"{response.body!r} ({response.framing}, complete: "
                            f"{response.complete}, problems: {response.problems})")
