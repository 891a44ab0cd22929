"""PEP 3333, "Handling the Content-Length Header".

Wire-level checks that only make sense between the client and the WSGI server itself (nginx
re-frames and speaks HTTP/1.1 upstream) run direct only.
"""

from __future__ import annotations

import time
from typing import Any

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import RESPONSE_BOUND, respond, respond_step
from conformance.checks.rfc9112.s6_1_transfer_encoding import judge_no_transfer_encoding_to_http10
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.probes.wsgi_respond import TOO_MANY_BLOCKS
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
    title="never more body bytes than the app's Content-Length; stop iterating, raise on write()",
    requirements=["WSGI-RESP-09"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Handling the Content-Length Header'",
    # Through nginx the verdict would turn on nginx's relaying of the surplus (1.22 passes it
    # on when it arrives in the same read as the body): the server's own bytes are the point.
    # nginx also closes its upstream connection once the declared bytes are in, so a server's
    # later blocks or write() could fail on the closed socket rather than by design.
    via=("direct",),
)
def content_length_too_many(ctx: CheckContext) -> None:
    """PEP 3333, Handling the Content-Length Header: "If the application supplies a
    Content-Length header, the server should not transmit more bytes to the client than the
    header allows, and should stop iterating over the response when enough data has been
    sent, or raise an error if the application tries to write() past that point."
    (WSGI-RESP-09.a, SHOULD). One sub-case per clause: the bytes on the wire, the blocks the
    server asks for, and the app's write() past the declared length."""
    with ctx.case("bytes on the wire"):
        _judge_bytes_sent(ctx)
    with ctx.case("stop iterating"):
        _judge_iteration(ctx)
    with ctx.case("write() past Content-Length"):
        _judge_write_past(ctx)


def _judge_bytes_sent(ctx: CheckContext) -> None:
    """The app declares 5 and yields 8 bytes; a second request is pipelined behind it:
    whatever follows the first response on the wire should be the next response, never the
    three extra bytes (which the client would read as the start of the next response). What
    status the first response has is the server's choice (it may also refuse the app's
    output). A server that answers only the last request parsed from one read (bjoern)
    answers the second request alone and the app never runs the first: then the second
    request goes in its own write, after the first answer."""
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


# Seconds, after the response arrived, for the server to call close() on the iterable (or ask
# for block 3): a server iterates on right after sending the declared bytes, so this only
# bounds the wait on a server that never calls close().
_ITERATION_GRACE = 1.0


def _asked_for(event: dict[str, Any], block: int) -> bool:
    return event["event"] == Event.PRODUCE and event.get("block") == block


def _answer(conn: Connection, response: Response) -> str:
    """What the client got: status, body and its framing (socketify answers write() with a
    chunked body of its own), and any bytes that had arrived after the body by the time the
    journal was read (the bytes sub-case judges those)."""
    after = bytes(conn.received)[len(response.raw):]
    return (f"status {response.status or 'none'}, body {response.body!r} ({response.framing})"
            + (f", then {after[:40]!r}" if after else ""))


def _judge_iteration(ctx: CheckContext) -> None:
    """The app declares 5 and yields b"12345", b"678", b"9ab", journalling each block the
    server asks for. Block 1 supplies all the declared bytes. Asking for block 2 is allowed
    (a server may pull one more block to learn that the app has more, as hypercorn does);
    asking for block 3 after that is iterating on past "enough data". The client's
    connection stays open until the journal decides, so no write error on a closed socket
    stops the server early."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", f"{Route.RESPOND}?mode=too-many-blocks",
                            ctx.base_headers(rid)))
    response = conn.read_response(timeout=RESPONSE_BOUND)
    ctx.journal.wait_for(
        lambda evs: any(e["event"] == Event.CLOSE or _asked_for(e, 3) for e in evs),
        rid=rid, timeout=_ITERATION_GRACE)
    conn.close()
    ctx.observed(rid)  # a harness error if the app never ran
    requested = [e["block"] for e in ctx.journal.for_rid(rid) if e["event"] == Event.PRODUCE]
    ctx.details["iteration_response"] = _answer(conn, response)
    ctx.details["blocks_requested"] = requested
    if 3 in requested:
        blocks = ", ".join(f"{n} ({TOO_MANY_BLOCKS[n - 1]!r})" for n in requested)
        ctx.finding("WSGI-RESP-09.a", f"with Content-Length 5, block 1 (b'12345') supplied all "
                                      f"the declared bytes, yet the server asked for blocks "
                                      f"{blocks}: it did not stop iterating when enough data "
                                      f"had been sent (the client got "
                                      f"{_answer(conn, response)})")


def _judge_write_past(ctx: CheckContext) -> None:
    """The app declares 5, calls write(b"12345"), then write(b"678") and journals whether
    the second call raised. A server whose write() raises or does not deliver the first 5
    bytes is not judged here: pep3333.write-before-iterable judges write() itself."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", f"{Route.RESPOND}?mode=too-many-write",
                            ctx.base_headers(rid)))
    response = conn.read_response(timeout=RESPONSE_BOUND)
    within = respond_step(ctx, rid, "write-within")
    # The declared bytes reached the client: what the server did with them after (socketify
    # sends all 8 under a Content-Length of its own) is not this sub-case's question.
    works = (within is not None and within["raised"] is None
             and response.body.startswith(b"12345"))
    past = respond_step(ctx, rid, "write-past") if works else None
    conn.close()
    ctx.details["write_response"] = _answer(conn, response)
    if not works or past is None:
        ctx.details["write_past_not_judged"] = (
            f"write(b'12345') within the declared length: "
            f"{'not journalled' if within is None else within['raised'] or 'returned'}, "
            f"client got status {response.status or 'none'}, body {response.body!r}; "
            + ("the second write() had not returned" if works else
               "write() itself is left to pep3333.write-before-iterable"))
        return
    ctx.details["write_past"] = past["raised"] or "returned normally"
    if past["raised"] is None:
        ctx.finding("WSGI-RESP-09.a", "with Content-Length 5, the app's write(b'12345') sent "
                                      "all the declared bytes, and its write(b'678') past "
                                      "that point returned normally instead of raising an "
                                      f"error (the client got {_answer(conn, response)})")


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
