"""RFC 9112 3, Request Line."""

from __future__ import annotations

from collections.abc import Callable

from conformance.catalogue import check
from conformance.checks.rfc9112.get_status import status_of
from conformance.context import CheckContext
from conformance.polling import poll_until
from conformance.verdicts import Level
from conformance.wire import Connection, Response, parse_response, request_bytes

OVERSIZE = 256 * 1024
RECOMMENDED_LINE = 8000  # octets of request-line every recipient should support (RFC 9112 3)
OVERSIZE_WAIT = 5.0  # seconds for the answer (a correct server answers at once)
PIECE = 16 * 1024  # bytes per write: an answer that comes early is read before more is sent
RECV_STEP = 0.05  # seconds one read waits for bytes before the deadline is looked at again


def _recv(conn: Connection, timeout: float) -> str:
    """Read once: "data", "timeout", "closed" (FIN) or "reset" (RST). Bytes that arrived
    before a reset are still read first (Linux keeps them), so a reset with nothing read
    means nothing was sent."""
    conn.sock.settimeout(max(timeout, 0.001))
    try:
        data = conn.sock.recv(65536)
    except TimeoutError:
        return "timeout"
    except (ConnectionResetError, BrokenPipeError):
        conn.eof = True
        return "reset"
    if not data:
        conn.eof = True
        return "closed"
    conn.received += data
    return "data"


def _answer(conn: Connection) -> Response | None:
    response, _ = parse_response(bytes(conn.received), eof=conn.eof)
    return response if response is not None and response.status else None


def _send_oversized(ctx: CheckContext, data: bytes) -> tuple[Response | None, str]:
    """Send ``data`` in pieces, reading between them; returns the answer (None if there was
    none) and how the exchange ended: "answered", "closed", "reset" or "open"."""
    conn = ctx.connect(timeout=OVERSIZE_WAIT)
    ended = "open"
    for start in range(0, len(data), PIECE):
        while ended == "open" and (got := _recv(conn, 0.0)) != "timeout":
            ended = "open" if got == "data" else got
        if ended != "open" or _answer(conn) is not None:
            break
        try:
            conn.send(data[start:start + PIECE])
        except OSError:
            break  # it stopped reading: what it answered is read below

    def settled() -> bool:
        nonlocal ended
        if ended != "open" or _answer(conn) is not None:
            return True
        got = _recv(conn, RECV_STEP)
        ended = got if got in ("closed", "reset") else ended
        return False

    poll_until(settled, OVERSIZE_WAIT, interval=0)
    conn.close()
    answer = _answer(conn)
    return answer, "answered" if answer is not None else ended


def _judge_oversized(ctx: CheckContext, what: str, data: bytes, ref: str,
                     wanted: Callable[[int], bool], name: str) -> None:
    answer, ended = _send_oversized(ctx, data)
    if answer is not None:
        status = answer.status
        if not 200 <= status < 300 and not wanted(status):
            ctx.finding(ref, f"{what}: answered {status}, not {name}")
        return
    how = {"closed": "closed the connection without an answer",
           "reset": "reset the connection without an answer (nothing arrived before the reset)",
           }.get(ended, f"neither answered nor closed within {OVERSIZE_WAIT:g} s")
    ctx.finding(ref, f"{what}: {how}")


# The 8000-octet line's bulk goes in the query: one path segment that long is a file name a
# server may be unable to map (Apache under mod_wsgi-express answers 403, "File name too long",
# to a line it parsed), a limit the sentence on request-line lengths is not about.
LONG_LINE_PATH = "/desync/x"


def long_line_target() -> str:
    """A target that makes "GET " + target + " HTTP/1.1" exactly RECOMMENDED_LINE octets."""
    fill = RECOMMENDED_LINE - len("GET  HTTP/1.1") - len(LONG_LINE_PATH) - len("?")
    return f"{LONG_LINE_PATH}?{'a' * fill}"


@check(id="rfc9112.oversized", title="an oversized request-target gets 414, an oversized "
       "header section a 4xx, and the server keeps serving", requirements=["HTTP-19"],
       level=Level.MUST, interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9112 3; RFC 9110 5.4, 2.3")
def oversized(ctx: CheckContext) -> None:
    """RFC 9112 3: "A server that receives a request-target longer than any URI it wishes to
    parse MUST respond with a 414 (URI Too Long) status code (see Section 15.5.15 of [HTTP])."
    (HTTP-19.a: a 256 KiB target is served, or answered 414; a 400, 431 or a bare close is not
    414). RFC 9110 5.4: "A server that receives a request header field line, field value, or
    set of fields larger than it wishes to process MUST respond with an appropriate 4xx
    (Client Error) status code." (HTTP-19.b: a 256 KiB header section is served or gets a 4xx).
    2.3: "A recipient SHOULD parse a received protocol element defensively, with only marginal
    expectations that the element will conform to its ABNF grammar and fit within a
    reasonable buffer size." (HTTP-19.c: the server still answers a request afterwards). RFC
    9112 3: "It is RECOMMENDED that all HTTP senders and recipients support, at a minimum,
    request-line lengths of 8000 octets." (HTTP-19.d, a warn: an 8000-octet line not served;
    its length is in the query, so that a limit on one path segment is not taken for one on
    the line). The
    request goes in 16 KiB writes with reads between them, so an early answer is read; bytes
    that arrived before a reset are still read, so a reset with nothing read is no answer."""
    rid = ctx.new_rid()
    with ctx.case("256 KiB request-target"):
        _judge_oversized(ctx, "a 256 KiB request-target", request_bytes(
            "GET", "/desync/" + "a" * OVERSIZE, ctx.base_headers(rid)), "HTTP-19.a",
            lambda status: status == 414, "414")
    with ctx.case("256 KiB header section"):
        _judge_oversized(ctx, "a 256 KiB header section", request_bytes(
            "GET", "/desync/big-head", ctx.base_headers(rid)
            + [(f"X-Big-{n}", "b" * 1000) for n in range(OVERSIZE // 1000)]), "HTTP-19.b",
            lambda status: 400 <= status < 500, "a 4xx")
    with ctx.case("8000-octet request-line"):
        status, _ = status_of(ctx, long_line_target())
        if not 200 <= status < 300:
            ctx.finding("HTTP-19.d", f"a request-line of {RECOMMENDED_LINE} octets (GET "
                                     f"{LONG_LINE_PATH}?a...a) was answered "
                                     f"{status or 'with nothing'}, not served")
    with ctx.case("afterwards"):
        status, _ = status_of(ctx, "/desync/after")
        if status != 200:
            ctx.finding("HTTP-19.c", "after the oversized requests, GET /desync/after was "
                                     f"answered {status or 'with nothing'}")
