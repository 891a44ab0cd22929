"""RFC 9112 9.6, Tear-down.

Every case pipelines a follow-up request in the same write: whether the server serves it
after "close" or after an invalid request shows up."""

from __future__ import annotations

import contextlib

from conformance.catalogue import check
from conformance.checks.rfc9112.pipelined_exchanges import READ, pipeline
from conformance.checks.support.field_line_requests import get
from conformance.checks.support.final_responses import finals
from conformance.checks.support.http10_servers import answers_as_http10, for_http10_server
from conformance.context import CheckContext
from conformance.desync import Case, Rules, announces_close, run_cases
from conformance.probes.contract import Route
from conformance.verdicts import Level
from conformance.wire import WireTimeout, request_bytes


@check(id="rfc9112.close", title="Connection: close is answered, then the connection "
       "closes and later requests are not processed", requirements=["HTTP-15"],
       level=Level.MUST, interfaces=("wsgi", "asgi"), via=("direct",), section="RFC 9112 9.6")
def connection_close(ctx: CheckContext) -> None:
    """RFC 9112 9.6: "A server that receives a "close" connection option MUST initiate closure
    of the connection (see below) after it sends the final response to the request that
    contained the "close" connection option." (HTTP-15.a) "The server SHOULD send a "close"
    connection option in its final response on that connection." (HTTP-15.c, a warn) "The
    server MUST NOT process any further requests received on that connection." (HTTP-15.b)
    Pipelining after "close" breaks the client's own rule (HTTP-15.d), so any answer to the
    first request is acceptable; only what happens to the second is judged."""
    conn, responses, marker = pipeline(
        ctx, request_bytes("GET", "/desync/close", ctx.base_headers(ctx.new_rid())
                           + [("Connection", "close")]), "GET")
    with contextlib.suppress(WireTimeout, OSError):
        conn.read_until_close(timeout=READ)
    processed = bool(ctx.journal.for_rid(marker))
    if processed or len(finals(responses)) >= 2:
        ctx.finding("HTTP-15.b", "the request pipelined after Connection: close was "
                                 + ("processed by the app" if processed else "answered")
                                 + f" ({len(finals(responses))} responses)")
    if not conn.eof:
        ctx.finding("HTTP-15.a", f"the server did not close the connection within {READ:g} s "
                                 + ("of its response to the request with Connection: close"
                                    if finals(responses) else
                                    "of the request with Connection: close (and sent no "
                                    "final response to it)"))
    if responses and responses[0].version == "HTTP/1.1" and not announces_close(responses[0]):
        ctx.finding("HTTP-15.c", "the final response did not carry Connection: close")


# The framing of the invalid request is intact (its head ended), so keeping the connection open
# after a 400 breaks only RFC 9112 2.2's SHOULD; serving the bad request is the same SHOULD. A
# 400 that announced "close" and is followed by more answers breaks 9.6's MUST.
_INVALID: Rules = {"reject": "HTTP-18.a", "respond": "HTTP-18.a", "close_after_reject": "HTTP-18.a",
            "announced_close": "HTTP-18.d"}
INVALID_CASES = [
    Case("field line without a colon", get(b"NoColonHere\r\n"), **_INVALID),
    Case("request-line with an extra word",
         lambda p: (f"GET {Route.READ_ALL}?case=invalid HTTP/1.1 extra\r\n".encode() + p.base
                    + b"\r\n"), **_INVALID),
    Case("lower-case protocol name",
         lambda p: b"GET /desync/invalid http/1.1\r\n" + p.base + b"\r\n", **_INVALID),
    Case("method with a control character", get(b"", method=b"G\x01T"), **_INVALID),
]
# Invalid framing is worse than an invalid line: RFC 9112 6.3 makes 400 and close a MUST.
_BAD_LENGTH: Rules = {"reject": "HTTP-18.b", "respond": "HTTP-18.b", "close": "HTTP-18.b",
               "close_after_reject": "HTTP-18.b", "framing": "HTTP-18.b",
               "announced_close": "HTTP-18.d"}
_NOT_CHUNKED: Rules = {"reject": "HTTP-18.c", "respond": "HTTP-18.c", "close": "HTTP-18.c",
                "close_after_reject": "HTTP-18.c", "framing": "HTTP-18.c",
                "announced_close": "HTTP-18.d"}
FRAMING_CASES = [
    Case("Content-Length: +5", get(b"Content-Length: +5\r\n", method=b"POST", body=b"hello"),
         **_BAD_LENGTH),
    Case("Transfer-Encoding: gzip (chunked not final)",
         get(b"Transfer-Encoding: gzip\r\n", method=b"POST", body=b"hello"), **_NOT_CHUNKED),
]


@check(id="rfc9112.invalid-then-valid", title="after rejecting an invalid request the "
       "pipelined valid one is not served", requirements=["HTTP-18", "HTTP-03"],
       level=Level.MUST,
       interfaces=("wsgi", "asgi"), via=("direct",), section="RFC 9112 9.6, 2.2")
def invalid_then_valid(ctx: CheckContext) -> None:
    """RFC 9112 2.2: "When a server listening only for HTTP request messages, or processing
    what appears from the start-line to be an HTTP request message, receives a sequence of
    octets that does not match the HTTP-message grammar aside from the robustness exceptions
    listed above, the server SHOULD respond with a 400 (Bad Request) response and close the
    connection." (HTTP-18.a, a warn: serving the invalid request, or answering the pipelined
    valid one after the 400). 9.6: "A server that sends a "close" connection option MUST
    initiate closure of the connection (see below) after it sends the response containing the
    "close" connection option." (HTTP-18.d: a 400 with Connection: close, then more answers).
    An invalid framing makes both a MUST: 6.3 "If the unrecoverable error is in a request
    message, the server MUST respond with a 400 (Bad Request) status code and then close the
    connection." (HTTP-18.b: ``Content-Length: +5``) and "If a Transfer-Encoding header field
    is present in a request and the chunked transfer coding is not the final encoding, the
    message body length cannot be determined reliably; the server MUST respond with the 400
    (Bad Request) status code and then close the connection." (HTTP-18.c:
    ``Transfer-Encoding: gzip``). A server that answers as HTTP/1.0 processes the request as
    HTTP/1.0 (RFC 9110 6.2), and RFC 9112 6.1 says "It is generally assumed that
    implementations advertising only HTTP/1.0 support will not understand how to process
    transfer-encoded content": HTTP-18.c, an HTTP/1.1 recipient's sentence, does not reach
    it, so what it does with ``Transfer-Encoding: gzip`` is reported on the missing defence
    against request smuggling (HTTP-03.h, hardening). ``Content-Length: +5`` stays on
    HTTP-18.b: Content-Length frames an HTTP/1.0 message the same way, and "+5" is no
    1*DIGIT in either version.
    """
    cases = INVALID_CASES + FRAMING_CASES
    if answers_as_http10(ctx):
        ctx.details["not_judged"] = (
            "the server answers as HTTP/1.0, so HTTP-18.c (an HTTP/1.1 recipient's sentence on "
            "Transfer-Encoding) does not reach it: what it did with Transfer-Encoding: gzip is "
            "reported on HTTP-03.h (hardening)")
        cases = [for_http10_server(case, frozenset({"HTTP-18.c"}), "HTTP-03.h")
                 for case in cases]
    run_cases(ctx, cases)
