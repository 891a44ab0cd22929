"""HTTP/1.1 message framing at the server (RFC 9112 sections 6 and 7): the invalid-input
families that lead to request smuggling, each case run through the desync detector."""

from __future__ import annotations

from collections.abc import Callable

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.desync import MAY, SHOULD_NOT, SMUGGLED_PATH, Case, Parts, run_cases
from conformance.verdicts import Level
from conformance.wire import request_bytes

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


# Accepting bad chunk syntax is a SHOULD (9112 2.2: respond 400 and close); answering the next
# request after it is a desync, a fail.
CHUNK_SECTION = "RFC 9112 7.1 (chunk-size = 1*HEXDIG; chunk = chunk-size [ chunk-ext ] CRLF " \
                "chunk-data CRLF); 2.2 (SHOULD respond 400 and close)"


def _bad_chunk(name: str, body: Piece, *, swallow_ok: bool = False) -> Case:
    return Case(name, chunked(body) if isinstance(body, bytes) else post(
        b"Transfer-Encoding: chunked\r\n", body), CHUNK_SECTION, accept=SHOULD_NOT,
        swallow_ok=swallow_ok)


CHUNK_CASES = [
    _bad_chunk("chunk-size 0x1", b"0x1\r\nA\r\n0\r\n\r\n"),
    _bad_chunk("chunk-size +1", b"+1\r\nA\r\n0\r\n\r\n"),
    _bad_chunk("chunk-size -1", b"-1\r\nA\r\n0\r\n\r\n"),
    _bad_chunk("chunk-size 1_0", b"1_0\r\n" + b"A" * 16 + b"\r\n0\r\n\r\n"),
    _bad_chunk("space inside chunk-size", b"1 0\r\n" + b"A" * 16 + b"\r\n0\r\n\r\n"),
    # 2**68: a parser that wraps at 64 bits reads 0, the last chunk, and serves what follows;
    # one with big integers legally waits for 2**68 bytes, the marker among them (7.1: MUST
    # prevent overflow, no limit is required).
    _bad_chunk("chunk-size overflow", lambda p: b"100000000000000000\r\n\r\n" + p.smuggle,
               swallow_ok=True),
    _bad_chunk("no CRLF after chunk data", b"3\r\nabcXX0\r\n\r\n"),
    # RFC 9112 2.2 lets a recipient replace a bare CR with SP; an ignored extension is the same.
    Case("bare CR in chunk extension", chunked(b"1;a\rb\r\nA\r\n0\r\n\r\n"),
         "RFC 9112 2.2 (bare CR: MUST consider the element invalid or replace it with SP)",
         accept=MAY, keep_open=MAY),
    # A parser taking the bare LF as the line end reads "b" as data, then "A" as a size
    # and swallows the marker as chunk data.
    _bad_chunk("bare LF in chunk extension", b"1;a\nb\r\nA\r\n0\r\n\r\n"),
]

CL_TE_SECTION = ("RFC 9112 6.1 (a server MAY reject ... or process such a request in accordance "
                 "with the Transfer-Encoding alone. Regardless, the server MUST close the "
                 "connection after responding)")
CL_TE_CASES = [
    Case("CL.TE (Content-Length first)", _cl_te(False), CL_TE_SECTION, accept=MAY,
         body_must_not_contain=SMUGGLED_PATH),
    Case("CL.TE (Transfer-Encoding first)", _cl_te(True), CL_TE_SECTION, accept=MAY,
         body_must_not_contain=SMUGGLED_PATH),
    Case("TE.CL (Content-Length ends inside the first chunk)", post(_te_cl_headers, _te_cl_body),
         CL_TE_SECTION, accept=MAY),
]

TE_FINAL = ("RFC 9112 6.3 item 4 (chunked not the final coding: the server MUST respond with "
            "400 and then close the connection)")
TE_CASES = [
    Case('Transfer-Encoding: "\\x0bchunked"',
         post(b"Transfer-Encoding: \x0bchunked\r\n", b"0\r\n\r\n"), TE_FINAL),
    Case("Transfer-Encoding: foo (unknown, final)",
         post(b"Transfer-Encoding: foo\r\n", b"0\r\n\r\n"), TE_FINAL),
    Case("Transfer-Encoding: chunked, foo",
         post(b"Transfer-Encoding: chunked, foo\r\n", b"0\r\n\r\n"), TE_FINAL),
    Case("Transfer-Encoding: chunked, chunked",
         post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"),
         "RFC 9112 6.1 (a sender MUST NOT apply chunked more than once; a recipient SHOULD "
         "reject what it cannot decode)", accept=SHOULD_NOT, keep_open=SHOULD_NOT),
    Case("Transfer-Encoding: gzip, chunked (unknown coding)",
         post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"),
         "RFC 9112 6.1 (a transfer coding it does not understand: SHOULD respond with 501)",
         accept=SHOULD_NOT, keep_open=MAY),
    Case('Transfer-Encoding: ",chunked" (empty list element)',
         post(b"Transfer-Encoding: ,chunked\r\n", b"0\r\n\r\n"),
         "RFC 9110 5.6.1 (a recipient MUST parse and ignore empty list elements)",
         accept=MAY, keep_open=MAY),
    Case("Transfer-Encoding on HTTP/1.0",
         post(lambda p: b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Length: %d\r\n" % len(_cl_te_body(p)), _cl_te_body,
              version=b"HTTP/1.0"),
         "RFC 9112 6.1 (an HTTP/1.0 message with Transfer-Encoding: MUST treat the framing as "
         "faulty ... and close the connection after processing the message)", accept=MAY,
         body_must_not_contain=None),
]

CL_SECTION = ("RFC 9112 6.3 item 5 (invalid Content-Length: the server MUST respond with 400 "
              "and then close the connection)")


def _cl(value: bytes, body: bytes = b"hello") -> Callable[[Parts], bytes]:
    return post(b"Content-Length: " + value + b"\r\n", body)


CL_CASES = [
    Case("Content-Length: +5", _cl(b"+5"), CL_SECTION),
    Case("Content-Length: 1_0", _cl(b"1_0", b"0123456789"), CL_SECTION),
    Case("Content-Length: -1", _cl(b"-1"), CL_SECTION),
    Case("Content-Length: 5x (non-digit)", _cl(b"5x"), CL_SECTION),
    Case("Content-Length: 0x5", _cl(b"0x5"), CL_SECTION),
    Case('Content-Length: "5, 6"', _cl(b"5, 6", b"hello!"), CL_SECTION),
    Case("differing duplicate Content-Length 5 / 6",
         post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), CL_SECTION),
    Case('Content-Length: "5, 5" (same values: allowed)', _cl(b"5, 5"),
         "RFC 9112 6.3 item 5 (a list of identical valid values is processed as one)",
         accept=MAY, keep_open=MAY),
]


@check(id="http-framing.chunk-size", title="malformed chunk sizes, chunk endings and "
       "extensions are rejected without desynchronising", requirements=["HTTP-01"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section=CHUNK_SECTION)
def chunk_size(ctx: CheckContext) -> None:
    """RFC 9112 7.1: "chunk-size = 1*HEXDIG", and each chunk's data is followed by CRLF; a
    chunk-ext is ``;name[=value]`` with token or quoted-string values (no bare CR or LF).
    "0x1", "+1", "-1", "1_0", "1 0", a size beyond 64 bits, a missing CRLF after the data, and
    bare CR/LF in an extension are not chunked framing; a server that accepts them reads a
    different body than a strict intermediary would (request smuggling). Each case is sent with
    a marker request in the same write; the server must reject and never serve the marker
    from the middle of a misparsed body."""
    run_cases(ctx, CHUNK_CASES)


@check(id="http-framing.cl-te", title="Content-Length with Transfer-Encoding: rejected, or "
       "chunked wins and the connection closes", requirements=["HTTP-02"], level=Level.MUST,
       interfaces=BOTH, via=DIRECT, section="RFC 9112 6.1, 6.3 item 3")
def cl_te(ctx: CheckContext) -> None:
    """RFC 9112 6.1: "A server MAY reject a request that contains both Content-Length and
    Transfer-Encoding or process such a request in accordance with the Transfer-Encoding
    alone. Regardless, the server MUST close the connection after responding to such a request
    to avoid the potential attacks." (6.3 item 3: Transfer-Encoding overrides Content-Length.)
    Each case hides a second request where the wrong framing would find it."""
    run_cases(ctx, CL_TE_CASES)


@check(id="http-framing.transfer-encoding", title="disguised, unknown or HTTP/1.0 "
       "Transfer-Encoding is rejected and the connection closed", requirements=["HTTP-03"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section="RFC 9112 6.1, 6.3 item 4")
def transfer_encoding(ctx: CheckContext) -> None:
    """RFC 9112 6.3 item 4: "If a Transfer-Encoding header field is present in a request and
    the chunked transfer coding is not the final encoding, the message body length cannot be
    determined reliably; the server MUST respond with the 400 (Bad Request) status code and
    then close the connection." 6.1: an unknown transfer coding SHOULD get 501 (a warn); an
    HTTP/1.0 message with Transfer-Encoding MUST be treated as faulty framing and the
    connection closed. ",chunked" is a valid list (RFC 9110 5.6.1) and is only checked for
    desync."""
    run_cases(ctx, TE_CASES)


@check(id="http-framing.content-length", title="invalid Content-Length values get 400 and "
       "close", requirements=["HTTP-04"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 6.3 item 5; RFC 9110 8.6")
def content_length(ctx: CheckContext) -> None:
    """RFC 9112 6.3 item 5: "If a message is received without Transfer-Encoding and with an
    invalid Content-Length header field, then the message framing is invalid and the recipient
    MUST treat it as an unrecoverable error, unless the field value can be successfully parsed
    as a comma-separated list ..., all values in the list are valid, and all values in the
    list are the same ... If the unrecoverable error is in a request message, the server MUST
    respond with a 400 (Bad Request) status code and then close the connection." RFC 9110 8.6:
    Content-Length = 1*DIGIT."""
    run_cases(ctx, CL_CASES)


@check(id="http-framing.truncated-body", title="a body cut short by a half-close is never "
       "answered 2xx as if complete", requirements=["HTTP-05"], level=Level.MUST,
       interfaces=BOTH, via=DIRECT, section="RFC 9112 6.3 item 5, 8")
def truncated_body(ctx: CheckContext) -> None:
    """RFC 9112 8: "A message that uses a valid Content-Length is incomplete if the size of the
    message body received (in octets) is less than the value given by Content-Length"; 6.3:
    "If the sender closes the connection or the recipient times out before the indicated
    number of octets are received, the recipient MUST consider the message to be incomplete
    and close the connection." The client sends 5 of 10 announced bytes and half-closes."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=5.0)
    data = request_bytes("POST", "/probe/read-all?case=truncated",
                         ctx.base_headers(rid) + [("Content-Length", "10")], b"hello")
    conn.send(data)
    conn.shutdown_write()
    conn.read_until_close(timeout=4.0)
    response = conn.read_response(method="POST", timeout=0.1)
    conn.close()
    events = ctx.journal.for_rid(rid)
    receives = [e for e in events if e["event"] == "receive"]
    if receives:
        # ASGI: the server's duty is to tell the app; an app told http.disconnect may still
        # answer. Presenting 5 of 10 bytes as the whole body (more_body False) is the fault.
        complete = [e for e in receives if e.get("type") == "http.request"
                    and not e.get("more_body")]
        ctx.expect(not complete, "the app was given the truncated body (5 of 10 bytes, then "
                                 "EOF) as complete: an http.request with more_body False, not "
                                 f"http.disconnect ({receives})")
        return
    ctx.expect(not 200 <= response.status < 300,
               f"the truncated request (5 of 10 body bytes, then EOF) was answered "
               f"{response.status} as if complete; the app's read returned "
               f"{[e.get('body') for e in events if e['event'] == 'body']} without an error")
