"""HTTP/1.1 message framing at the server (RFC 9112 sections 6 and 7): the invalid-input
families that lead to request smuggling, each case run through the desync detector."""

from __future__ import annotations

from collections.abc import Callable

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.desync import SMUGGLED_PATH, Case, Parts, Rules, run_cases
from conformance.verdicts import Level
from conformance.wire import Connection, request_bytes

BOTH = ("wsgi", "asgi")
DIRECT = ("direct",)
Piece = bytes | Callable[[Parts], bytes]


def _piece(value: Piece, parts: Parts) -> bytes:
    return value(parts) if callable(value) else value


def post(headers: Piece, body: Piece, *, version: bytes = b"HTTP/1.1",
         path: bytes = b"/probe/read-all?case=invalid") -> Callable[[Parts], bytes]:
    """A POST whose extra header lines (each ending CRLF) and body are given exactly."""

    def build(parts: Parts) -> bytes:
        return (b"POST " + path + b" " + version + b"\r\n" + parts.base + _piece(headers, parts)
                + b"\r\n" + _piece(body, parts))

    return build


def chunked(body: bytes) -> Callable[[Parts], bytes]:
    return post(b"Transfer-Encoding: chunked\r\n", body)


def _cl_te_body(parts: Parts) -> bytes:
    return b"0\r\n\r\n" + parts.smuggle


def _cl_te(te_first: bool) -> Callable[[Parts], bytes]:
    def headers(parts: Parts) -> bytes:
        te = b"Transfer-Encoding: chunked\r\n"
        cl = b"Content-Length: %d\r\n" % len(_cl_te_body(parts))
        return te + cl if te_first else cl + te

    return post(headers, _cl_te_body)


def _te_cl_body(parts: Parts) -> bytes:
    return b"%x\r\n" % len(parts.smuggle) + parts.smuggle + b"\r\n0\r\n\r\n"


def _te_cl_headers(parts: Parts) -> bytes:
    first_line = len(b"%x\r\n" % len(parts.smuggle))
    return b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % first_line


# Chunk syntax outside 1*HEXDIG rests on RFC 9112 2.2's SHOULD (400 and close), whatever the
# server does with it; only what breaks a MUST sentence of 7.1 or 2.2 is worse.
_BAD_CHUNK: Rules = {"reject": "HTTP-01.d", "respond": "HTTP-01.d", "close": "HTTP-01.d",
              "close_after_reject": "HTTP-01.d", "framing": "HTTP-01.d"}


def _bad_chunk(name: str, body: Piece) -> Case:
    build = chunked(body) if isinstance(body, bytes) else post(
        b"Transfer-Encoding: chunked\r\n", body)
    return Case(name, build, **_BAD_CHUNK)


CHUNK_CASES = [
    _bad_chunk("chunk-size 0x1", b"0x1\r\nA\r\n0\r\n\r\n"),
    _bad_chunk("chunk-size +1", b"+1\r\nA\r\n0\r\n\r\n"),
    _bad_chunk("chunk-size -1", b"-1\r\nA\r\n0\r\n\r\n"),
    _bad_chunk("chunk-size 1_0", b"1_0\r\n" + b"A" * 16 + b"\r\n0\r\n\r\n"),
    _bad_chunk("space inside chunk-size", b"1 0\r\n" + b"A" * 16 + b"\r\n0\r\n\r\n"),
    # 2**68 is a valid chunk-size: a parser that wraps at 64 bits reads 0, the last chunk, and
    # serves what follows (7.1: MUST prevent overflow); one with big integers legally waits
    # for 2**68 bytes, the marker among them. One that refuses so large a chunk has not read
    # the body, so it must close (9112 9.3).
    Case("chunk-size overflow", post(b"Transfer-Encoding: chunked\r\n",
                                     lambda p: b"100000000000000000\r\n\r\n" + p.smuggle),
         close="HTTP-01.c", close_after_reject="HTTP-13.f", framing="HTTP-01.c",
         swallow_ok=True),
    _bad_chunk("no CRLF after chunk data", b"3\r\nabcXX0\r\n\r\n"),
    # RFC 9112 2.2 lets a recipient replace a bare CR with SP, and 7.1.1 makes it ignore an
    # unknown extension: serving it is allowed; taking the CR for a line end is not.
    Case("bare CR in chunk extension", chunked(b"1;a\rb\r\nA\r\n0\r\n\r\n"),
         close_after_reject="HTTP-01.d", framing="HTTP-01.e"),
    # A parser taking the bare LF as the line end reads "b" as data, then "A" as a size
    # and swallows the marker as chunk data. No MUST covers a bare LF here (2.2 SHOULD).
    _bad_chunk("bare LF in chunk extension", b"1;a\nb\r\nA\r\n0\r\n\r\n"),
]

# RFC 9112 6.1: reject or use Transfer-Encoding alone (MAY), but close afterwards (MUST);
# 6.3: Transfer-Encoding overrides Content-Length.
_CL_TE: Rules = {"close": "HTTP-02.b", "close_after_reject": "HTTP-02.b", "framing": "HTTP-02.c"}
CL_TE_CASES = [
    # The smuggled request follows the terminating chunk: chunked framing ends the message
    # before it, Content-Length counts it as body.
    Case("CL.TE (Content-Length first)", _cl_te(False), **_CL_TE,
         smuggle_after_message=True, body_must_not_contain=SMUGGLED_PATH),
    Case("CL.TE (Transfer-Encoding first)", _cl_te(True), **_CL_TE,
         smuggle_after_message=True, body_must_not_contain=SMUGGLED_PATH),
    # Here the smuggled request is chunk data: Content-Length would end the body before it.
    Case("TE.CL (Content-Length ends inside the first chunk)", post(_te_cl_headers, _te_cl_body),
         **_CL_TE),
]

# 6.3: chunked not the final coding: 400 and close (MUST).
_NOT_FINAL: Rules = {"reject": "HTTP-03.a", "respond": "HTTP-03.a", "close": "HTTP-03.a",
              "close_after_reject": "HTTP-03.a", "framing": "HTTP-03.a"}
# No sentence tells a server to reject these (HTTP-03 no_sentence): a missing defence.
_HARDENING: Rules = {"reject": "HTTP-03.h", "close": "HTTP-03.h", "close_after_reject": "HTTP-03.h",
              "framing": "HTTP-03.h"}
TE_CASES = [
    # VT is a CTL (9110 5.5): recovering "chunked" from it is a MAY (9110 2.4), so serving it
    # is only a missing defence; a server that took it for another coding must 400 and close.
    Case('Transfer-Encoding: "\\x0bchunked"',
         post(b"Transfer-Encoding: \x0bchunked\r\n", b"0\r\n\r\n"),
         reject="HTTP-03.h", close="HTTP-03.h", close_after_reject="HTTP-03.a",
         framing="HTTP-03.a"),
    Case("Transfer-Encoding: foo (unknown, final)",
         post(b"Transfer-Encoding: foo\r\n", b"0\r\n\r\n"), **_NOT_FINAL),
    Case("Transfer-Encoding: chunked, foo",
         post(b"Transfer-Encoding: chunked, foo\r\n", b"0\r\n\r\n"), **_NOT_FINAL),
    # Only the sender is bound (6.1 "A sender MUST NOT apply the chunked transfer coding more
    # than once"): the value matches the grammar and ends in chunked.
    Case("Transfer-Encoding: chunked, chunked",
         post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), **_HARDENING),
    # 6.1: SHOULD 501, and nothing about the connection; chunked is final, so the framing is
    # the chunked one (7.1: MUST be able to decode it).
    Case("Transfer-Encoding: gzip, chunked (unknown coding)",
         post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"),
         reject="HTTP-03.b", respond="HTTP-03.b", framing="HTTP-01.b"),
    # 9110 5.6.1.2: an empty list element MUST be parsed and ignored: this is "chunked".
    Case('Transfer-Encoding: ",chunked" (empty list element)',
         post(b"Transfer-Encoding: ,chunked\r\n", b"0\r\n\r\n"),
         refuse="HTTP-03.f", framing="HTTP-03.f"),
    # 6.1: the framing is faulty whichever header is used, and the connection MUST close
    # after the response; the smuggled request lies after the chunked body.
    Case("Transfer-Encoding on HTTP/1.0",
         post(lambda p: b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Length: %d\r\n" % len(_cl_te_body(p)), _cl_te_body,
              version=b"HTTP/1.0"),
         close="HTTP-03.g", close_after_reject="HTTP-03.g", smuggle_after_message=True),
]


def _cl(value: bytes, body: bytes = b"hello") -> Callable[[Parts], bytes]:
    return post(b"Content-Length: " + value + b"\r\n", body)


# 6.3: an invalid Content-Length is an unrecoverable error (MUST), answered 400 and then the
# connection closed (MUST).
_BAD_CL: Rules = {"reject": "HTTP-04.a", "respond": "HTTP-04.b", "close": "HTTP-04.b",
           "close_after_reject": "HTTP-04.b", "framing": "HTTP-04.a"}
CL_CASES = [
    Case("Content-Length: +5", _cl(b"+5"), **_BAD_CL),
    Case("Content-Length: 1_0", _cl(b"1_0", b"0123456789"), **_BAD_CL),
    Case("Content-Length: -1", _cl(b"-1"), **_BAD_CL),
    Case("Content-Length: 5x (non-digit)", _cl(b"5x"), **_BAD_CL),
    Case("Content-Length: 0x5", _cl(b"0x5"), **_BAD_CL),
    Case('Content-Length: "5, 6"', _cl(b"5, 6", b"hello!"), **_BAD_CL),
    Case("differing duplicate Content-Length 5 / 6",
         post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), **_BAD_CL),
    # 9110 8.6: identical values MAY be rejected or used once; a rejection makes it the
    # unrecoverable error of 6.3 (400, then close).
    Case('Content-Length: "5, 5" (same values: allowed)', _cl(b"5, 5"),
         close_after_reject="HTTP-04.b", framing="HTTP-04.a"),
]


@check(id="http-framing.chunk-size", title="malformed chunk sizes, chunk endings and "
       "extensions are rejected, and never shift the message boundary",
       requirements=["HTTP-01", "HTTP-13"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 7.1, 7.1.1, 2.2")
def chunk_size(ctx: CheckContext) -> None:
    """RFC 9112 7.1: "The chunk-size field is a string of hex digits indicating the size of
    the chunk-data in octets." (HTTP-01.a). ``0x1``, ``+1``, ``-1``, ``1_0``, ``1 0``, a
    missing CRLF after the data and a bare LF in an extension do not match the grammar, and for
    those 2.2 says: "the server SHOULD respond with a 400 (Bad Request) response and close the
    connection." (HTTP-01.d, a warn, for serving them, keeping the connection open or reading
    the marker as body). Two MUSTs: "recipients MUST anticipate potentially large hexadecimal
    numerals and prevent parsing errors due to integer conversion overflows or precision loss
    due to integer representation." (HTTP-01.c: a 2**68 size must not wrap to 0 and let the
    bytes after it be served), and "A recipient of such a bare CR MUST consider that element
    to be invalid or replace each bare CR with SP before processing the element or forwarding
    the message." (HTTP-01.e: the CR in an extension is no line end). A server that refuses
    the 2**68 chunk has not read the body, so it closes: "A server MUST read the entire
    request message body or close the connection after sending its response" (HTTP-13.f).
    Each case is sent with a marker request in the same write. A server that does not decode
    a valid chunked body for the app at all answers every case alike, so its answers say
    nothing about chunk sizes: unsupported here (wsgi-input.chunked-body judges that)."""
    if not decodes_chunked(ctx):
        ctx.unsupported("a valid chunked request body does not reach the app decoded, so "
                        "malformed chunk sizes cannot be told apart from valid ones here "
                        "(see wsgi-input.chunked-body)")
    run_cases(ctx, CHUNK_CASES)


def decodes_chunked(ctx: CheckContext) -> bool:
    """Whether a valid chunked body reaches the app decoded. A WSGI app reads the 5 decoded
    bytes with read(5) (the server need not give it a CONTENT_LENGTH), an ASGI app gets them
    as http.request events. A preliminary: kept out of the evidence, so the reproducer stays
    the finding's request."""
    wsgi = ctx.target.interface == "wsgi"
    rid = ctx.untracked_rid()
    conn = Connection(ctx.host, ctx.port, timeout=5.0)
    conn.send(request_bytes("POST", "/probe/input?ops=read:5" if wsgi else "/probe/echo",
                            [("Host", f"{ctx.host}:{ctx.port}"), ("X-Probe-Id", rid),
                             ("Transfer-Encoding", "chunked"), ("Connection", "close")],
                            b"5\r\nhello\r\n0\r\n\r\n"))
    conn.read_response(method="POST", timeout=3.0)
    conn.close()
    entry = ctx.journal.wait_event(rid, "input-step" if wsgi else "body", timeout=2.0)
    return entry is not None and entry.get("result" if wsgi else "body") == b"hello"


@check(id="http-framing.cl-te", title="Content-Length with Transfer-Encoding: rejected, or "
       "chunked wins, and the connection closes", requirements=["HTTP-02"], level=Level.MUST,
       interfaces=BOTH, via=DIRECT, section="RFC 9112 6.1, 6.3 item 3")
def cl_te(ctx: CheckContext) -> None:
    """RFC 9112 6.1: "A server MAY reject a request that contains both Content-Length and
    Transfer-Encoding or process such a request in accordance with the Transfer-Encoding
    alone." (HTTP-02.a: either is allowed) "Regardless, the server MUST close the connection
    after responding to such a request to avoid the potential attacks." (HTTP-02.b) 6.3: "If
    a message is received with both a Transfer-Encoding and a Content-Length header field, the
    Transfer-Encoding overrides the Content-Length." (HTTP-02.c: the app must never see the
    bytes Content-Length adds, nor be served the chunk data as a request). Each case hides a
    second request where the wrong framing would find it."""
    run_cases(ctx, CL_TE_CASES)


@check(id="http-framing.transfer-encoding", title="unknown, non-final or HTTP/1.0 "
       "Transfer-Encoding is rejected or the connection closed; disguised chunked is refused",
       requirements=["HTTP-03", "HTTP-01"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 6.1, 6.3 item 4; RFC 9110 5.6.1.2")
def transfer_encoding(ctx: CheckContext) -> None:
    """RFC 9112 6.3: "If a Transfer-Encoding header field is present in a request and the
    chunked transfer coding is not the final encoding, the message body length cannot be
    determined reliably; the server MUST respond with the 400 (Bad Request) status code and
    then close the connection." (HTTP-03.a: ``foo``, ``chunked, foo``) 6.1: "A server that
    receives a request message with a transfer coding it does not understand SHOULD respond
    with 501 (Not Implemented)." (HTTP-03.b: ``gzip, chunked``, a warn; its chunked framing
    still holds, HTTP-01.b "A recipient MUST be able to parse and decode the chunked transfer
    coding.") and "A server or client
    that receives an HTTP/1.0 message containing a Transfer-Encoding header field MUST treat
    the message as if the framing is faulty, even if a Content-Length is present, and close
    the connection after processing the message." (HTTP-03.g). RFC 9110 5.6.1.2: "A recipient
    MUST parse and ignore a reasonable number of empty list elements" (HTTP-03.f: ``,chunked``
    is ``chunked`` and must not be refused). Serving ``\\x0bchunked`` (recovered, 9110 2.4 MAY)
    or ``chunked, chunked`` (only the sender is bound) breaks no sentence: a missing defence against
    request smuggling (HTTP-03.h, hardening)."""
    run_cases(ctx, TE_CASES)


@check(id="http-framing.content-length", title="invalid Content-Length values get 400 and "
       "close", requirements=["HTTP-04"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 6.3 item 5; RFC 9110 8.6")
def content_length(ctx: CheckContext) -> None:
    """RFC 9112 6.3: "If a message is received without Transfer-Encoding and with an invalid
    Content-Length header field, then the message framing is invalid and the recipient MUST
    treat it as an unrecoverable error, unless the field value can be successfully parsed as a
    comma-separated list (Section 5.6.1 of [HTTP]), all values in the list are valid, and all
    values in the list are the same (in which case, the message is processed with that single
    value used as the Content-Length field value)." (HTTP-04.a: serving it) "If the
    unrecoverable error is in a request message, the server MUST respond with a 400 (Bad
    Request) status code and then close the connection." (HTTP-04.b: answering the marker
    after it). RFC 9110 8.6 lets a recipient of ``5, 5`` reject it or use 5 (HTTP-04.d)."""
    run_cases(ctx, CL_CASES)


TRUNCATED_CLOSE = 4.0  # seconds for the close after the half-close (the probe app: ms)


@check(id="http-framing.truncated-body", title="a body cut short by a half-close: the "
       "connection is closed and an ASGI app is not told the body is complete",
       requirements=["HTTP-05"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 6.3, 8")
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
    response has been sent or after the HTTP connection has been closed." (HTTP-05.e). The
    client sends 5 of 10 announced bytes and half-closes."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=TRUNCATED_CLOSE + 1)
    conn.send(request_bytes("POST", "/probe/read-all?case=truncated",
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
    # The app journals its body once receive() has told it something; give it a moment.
    ctx.journal.wait_for(lambda evs: any(e["event"] == "body" for e in evs), rid=rid,
                         timeout=1.0)
    receives = [e for e in ctx.journal.for_rid(rid) if e["event"] == "receive"]
    complete = [e for e in receives if e.get("type") == "http.request"
                and not e.get("more_body")]
    if complete:
        given = [(e.get("type"), e.get("size"), e.get("more_body")) for e in receives]
        ctx.finding("HTTP-05.d", "5 of 10 announced body bytes, then the client half-closed: "
                                 "the app was told the body was complete (an http.request with "
                                 f"more_body False), not http.disconnect; receive() gave "
                                 f"(type, size, more_body) {given}")
