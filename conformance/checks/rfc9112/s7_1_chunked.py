"""RFC 9112 7.1, Chunked Transfer Coding.

Each malformed chunk is sent through the desync detector, with a marker request in the same
write."""

from __future__ import annotations

from collections.abc import Callable

from conformance.catalogue import check
from conformance.checks.rfc9112.chunked_decoding import decodes_chunked
from conformance.checks.rfc9112.framing_requests import Piece, post
from conformance.context import CheckContext
from conformance.desync import Case, Parts, Rules, run_cases
from conformance.verdicts import Level


def _chunked(body: bytes) -> Callable[[Parts], bytes]:
    return post(b"Transfer-Encoding: chunked\r\n", body)


# Chunk syntax outside 1*HEXDIG rests on RFC 9112 2.2's SHOULD (400 and close), whatever the
# server does with it; only what breaks a MUST sentence of 7.1 or 2.2 is worse.
_BAD_CHUNK: Rules = {"reject": "HTTP-01.d", "respond": "HTTP-01.d", "close": "HTTP-01.d",
              "close_after_reject": "HTTP-01.d", "framing": "HTTP-01.d"}


def _bad_chunk(name: str, body: Piece) -> Case:
    build = _chunked(body) if isinstance(body, bytes) else post(
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
    # unknown extension: serving it is allowed, and the app then reads the one byte "A";
    # taking the CR for a line end, or any other body, is not. A server that considered the
    # extension invalid (the MUST's other way) but handed the app the empty body before it as
    # complete broke 2.2's SHOULD (400 and close), not the MUST.
    Case("bare CR in chunk extension", _chunked(b"1;a\rb\r\nA\r\n0\r\n\r\n"),
         close_after_reject="HTTP-01.d", framing="HTTP-01.e", body=b"A",
         cut_short="HTTP-01.d"),
    # A parser taking the bare LF as the line end reads "b" as data, then "A" as a size
    # and swallows the marker as chunk data. No MUST covers a bare LF here (2.2 SHOULD).
    _bad_chunk("bare LF in chunk extension", b"1;a\nb\r\nA\r\n0\r\n\r\n"),
    # Well-formed (chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )) but unknown:
    # 7.1.1 makes ignoring it a MUST, so refusing the request, or any body but the chunk
    # data, breaks it; what follows is the marker, which must be answered as usual.
    Case("unknown chunk extensions", _chunked(b"5;name=value;flag\r\nhello\r\n0\r\n\r\n"),
         refuse="HTTP-01.f", respond="HTTP-01.f", framing="HTTP-01.f", body=b"hello"),
]


@check(id="rfc9112.chunk-size", title="malformed chunk sizes, chunk endings and "
       "extensions are rejected, and never shift the message boundary",
       requirements=["HTTP-01", "HTTP-13"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 7.1, 7.1.1, 2.2")
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
    the message." (HTTP-01.e: the CR in an extension is no line end; served, the app reads
    the chunk data "A" and nothing else; an empty body handed on as complete is the invalid
    element not answered with 400, HTTP-01.d). A server that refuses
    the 2**68 chunk has not read the body, so it closes: "A server MUST read the entire
    request message body or close the connection after sending its response" (HTTP-13.f).
    "A recipient MUST ignore unrecognized chunk extensions." (HTTP-01.f: ``5;name=value;flag``
    is served with the body "hello", not refused). Each case is sent with a marker request in
    the same write. A server that does not decode
    a valid chunked body for the app at all answers every case alike, so its answers say
    nothing about chunk sizes: unsupported here (pep3333.chunked-request-body judges that)."""
    if not decodes_chunked(ctx):
        ctx.unsupported("a valid chunked request body does not reach the app decoded, so "
                        "malformed chunk sizes cannot be told apart from valid ones here "
                        "(see pep3333.chunked-request-body)")
    run_cases(ctx, CHUNK_CASES)
