"""RFC 9110 10.1.1, Expect."""

from __future__ import annotations

import contextlib
import time

from conformance.catalogue import check
from conformance.checks.support.final_responses import finals
from conformance.context import CheckContext
from conformance.desync import Unjudged
from conformance.probes.contract import Event
from conformance.verdicts import Level
from conformance.wire import (
    Connection,
    Response,
    WireTimeout,
    escape_bytes,
    parse_responses,
    request_bytes,
)


def _read_interim(conn: Connection, wait: float) -> None:
    """Read what the server sends before the body within ``wait`` (a bounded gate)."""
    with contextlib.suppress(OSError):
        conn.read_until(b"\r\n\r\n", timeout=wait)


CONTINUE_ANSWER = 5.0  # seconds for the final response once the body is sent
# Seconds for what follows a final response before the close.
AFTER_FIRST = 0.3
# Seconds an HTTP/1.1 client waits for the 100 before it sends the body anyway: long enough
# that a 100 arriving only after the body shows a server that waited for it (a server sends
# its 100 in ms; one that sends none costs this wait once).
CONTINUE_GATE = 2.0


def _ends_in_final(conn: Connection) -> bool:
    """What arrived parses, to its last byte, as complete responses, the last a final one."""
    received = bytes(conn.received)
    responses = parse_responses(received, ["POST"], eof=False)
    return (bool(responses) and responses[-1].status >= 200
            and all(r.status and r.complete for r in responses)
            and sum(len(r.raw) for r in responses) == len(received))


def _read_rest(conn: Connection, wait: float) -> None:
    """Read until the server closes or ``wait`` seconds pass, or until the final response is
    in with nothing after it: a keep-alive server sends no more, so waiting out ``wait``
    only confirmed that nothing followed its final response. Bytes that do not parse as a
    response (content after a 1xx, HTTP-10.e) are read for the whole of ``wait``."""
    deadline = time.monotonic() + wait
    while not conn.eof and not _ends_in_final(conn):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            conn.recv_some(left)
        except (WireTimeout, OSError):
            return


def _expect_exchange(ctx: CheckContext, version: str, gate: float, *,
                     with_head: bool = False) -> tuple[list[Response], str, int, str | None]:
    """POST with Expect: 100-continue; the body goes after ``gate`` seconds, or at once when
    something arrived (``with_head``: in the same write as the head, as a client that does
    not wait may send it). Returns every response (interim ones too), the request id, how
    many bytes had arrived when the body was sent, and why the wait for a final response
    ended before CONTINUE_ANSWER (None: it did not, or one came)."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=CONTINUE_ANSWER + 1)
    head = request_bytes("POST", "/desync/continue", ctx.base_headers(rid)
                         + [("Expect", "100-continue"), ("Content-Length", "5")],
                         version=version)
    if with_head:
        conn.send(head + b"hello")
        before_body = 0
    else:
        conn.send(head)
        _read_interim(conn, gate)
        before_body = len(conn.received)
        with contextlib.suppress(OSError):
            conn.send(b"hello")
    first = conn.read_response(method="POST", timeout=CONTINUE_ANSWER, skip_interim=False)
    # After a 1xx the final response still has the whole CONTINUE_ANSWER (the 100 may have
    # come before the body was sent, and the final only once the app has read it); after a
    # final response, AFTER_FIRST is for whatever follows it.
    _read_rest(conn, CONTINUE_ANSWER if 100 <= first.status < 200 else AFTER_FIRST)
    responses = parse_responses(bytes(conn.received), ["POST"], eof=conn.eof)
    conn.close()
    return responses, rid, before_body, _ended_early(responses, conn.eof)


def _ended_early(responses: list[Response], closed: bool) -> str | None:
    """Why the wait for a final response ended early: the first bytes did not parse as a
    status line (the rest is read only AFTER_FIRST, and parses as nothing more anyway), or
    the server closed the connection."""
    if responses and responses[0].status == 0:
        return (f"what came does not parse as a status line: "
                f"{escape_bytes(responses[0].raw[:80])!r}")
    return "the server closed the connection" if closed else None


def _expect_http11(ctx: CheckContext, unjudged: Unjudged) -> None:
    responses, rid, before_body, early = _expect_exchange(ctx, "HTTP/1.1", CONTINUE_GATE)
    interim = [r for r in responses if 100 <= r.status < 200]
    final = finals(responses)
    if interim and not before_body:
        ctx.finding("HTTP-12.b", f"nothing arrived within {CONTINUE_GATE:g} s of the head; the "
                                 f"{interim[0].status} came only after the client sent the body")
    # A 1xx ends with its header section: bytes after it that do not start a response are
    # content it cannot carry (they would be read as the start of the final response).
    garbled = next((r for r in responses[responses.index(interim[0]):] if r.status == 0),
                   None) if interim else None
    if interim and garbled is not None:
        ctx.finding("HTTP-10.e", f"after the {interim[0].status} interim response came bytes "
                                 f"that are not a response: {escape_bytes(garbled.raw[:200])!r}")
    # Several 1xx are allowed (9110 15: "zero or more interim (non-final) responses"); each
    # must be bodiless and unframed.
    for resp in interim:
        for name, ref in ((b"content-length", "HTTP-10.f"), (b"transfer-encoding", "HTTP-10.g")):
            if resp.header_all(name.decode()):
                ctx.finding(ref, f"the {resp.status} interim response carries "
                                 f"{name.decode()}: {resp.header_all(name.decode())!r}")
    if not final:
        ref = "HTTP-12.h" if interim else "HTTP-12.a"
        ctx.finding(ref, f"no final response after the body was sent ({early}; "
                         f"{len(interim)} interim response(s) before it)" if early else
                         f"no final response within {CONTINUE_ANSWER:g} s after the body was "
                         f"sent ({len(interim)} interim response(s) before it)")
        return
    if not interim and not before_body and final[0].version != "HTTP/1.0":
        # Neither option of "MUST send either:" came while the client waited: the final
        # status waited for the content. (A server that answers as HTTP/1.0 does not take
        # part in 100-continue: the sentence is an HTTP/1.1 origin server's.)
        ctx.finding("HTTP-12.a", f"neither a 100 (Continue) nor a final status within "
                                 f"{CONTINUE_GATE:g} s of the complete header section; the "
                                 f"{final[0].status} came only after the client sent the "
                                 "content")
    if final[0].status != 200:
        unjudged.add(f"HTTP/1.1 with Expect: 100-continue was answered {final[0].status}, not "
                     "the app's 200: what the app read could not be judged")
        return
    body = [e.get("body") for e in ctx.journal.for_rid(rid) if e["event"] == Event.BODY]
    if body != [b"hello"]:
        ref = "HTTP-12.c" if ctx.target.interface == "wsgi" else "ASGI-HTTP-01.c"
        ctx.finding(ref, f"with Expect: 100-continue the app read {body!r}, not the body "
                         "b'hello'")


def _expect_content_with_head(ctx: CheckContext, unjudged: Unjudged) -> None:
    """The content in the same write as the head: "A client that sends a 100-continue
    expectation is not required to wait for any specific length of time; such a client MAY
    proceed to send the content even if it has not yet received a response." (RFC 9110
    10.1.1). A server that sent a 100 still owes the final status (HTTP-12.h)."""
    responses, _, _, early = _expect_exchange(ctx, "HTTP/1.1", 0, with_head=True)
    interim = [r for r in responses if 100 <= r.status < 200]
    if finals(responses):
        return
    if interim:
        ctx.finding("HTTP-12.h", f"with the content sent in the same write as the head, the "
                                 f"server sent {len(interim)} interim {interim[0].status} "
                                 f"response(s) and no final response "
                                 + (f"({early})" if early else f"within {CONTINUE_ANSWER:g} s"))
    else:
        unjudged.add("with the content sent in the same write as the head, "
                     + (f"no final response came back ({early})" if early else
                        f"nothing came back within {CONTINUE_ANSWER:g} s"))


def _expect_http10(ctx: CheckContext, unjudged: Unjudged) -> None:
    # Nothing should come before the body, so the gate is kept short.
    responses, _, _, early = _expect_exchange(ctx, "HTTP/1.0", 0.5)
    interim = [r for r in responses if 100 <= r.status < 200]
    if interim:
        ctx.finding("HTTP-12.g", f"{len(interim)} interim {interim[0].status} response(s) were "
                                 "sent to an HTTP/1.0 request with Expect: 100-continue")
    if not finals(responses):
        unjudged.add("the HTTP/1.0 request with Expect: 100-continue had no final response "
                     + (f"after its body ({early})" if early else
                        f"within {CONTINUE_ANSWER:g} s after its body"))


@check(id="rfc9110.expect-continue", title="Expect: 100-continue gets 100s or a final "
       "status, clean 1xx and the body; ignored for HTTP/1.0",
       requirements=["HTTP-12", "HTTP-10", "ASGI-HTTP-01"], level=Level.MUST,
       interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9110 10.1.1, 15, 8.6; RFC 9112 6.1")
def expect_continue(ctx: CheckContext) -> None:
    """RFC 9110 10.1.1: an origin server "MUST send either:" an immediate final status or an
    immediate 100 (HTTP-12.a), and "A server that sends a 100 (Continue) response MUST
    ultimately send a final status code, once it receives and processes the request content,
    unless the connection is closed prematurely." (HTTP-12.h), and "The origin server MUST NOT
    wait for the content before sending the 100 (Continue) response." (HTTP-12.b: a 100 that
    arrives only after the client, having waited 2 s, sent the body; and a final status
    that came only then, with no 100 before it, is HTTP-12.a). Several 100s are
    allowed: "A
    single request can have multiple associated responses: zero or more interim (non-final)
    responses with status codes in the "informational" (1xx) range, followed by exactly one
    final response with a status code in one of the other ranges." (HTTP-12.d). A 1xx carries
    no Content-Length or Transfer-Encoding (HTTP-10.f, HTTP-10.g), and no content: "A 1xx
    response is terminated by the end of the header section; it cannot contain content or
    trailers." (HTTP-10.e: bytes after it that are not the final response). The app must
    read the body: PEP 3333 "Servers and gateways that implement HTTP 1.1 must provide
    transparent support for HTTP 1.1's "expect/continue" mechanism." (HTTP-12.c); ASGI "body
    (*byte string*) -- Body of the request." (ASGI-HTTP-01.c). "A server that receives a
    100-continue expectation in an HTTP/1.0 request MUST ignore that expectation." (HTTP-12.f),
    and "Since HTTP/1.0 did not define any 1xx status codes, a server MUST NOT send a 1xx
    response to an HTTP/1.0 client." (HTTP-12.g: a 100 to the HTTP/1.0 request). The client
    waits up to 2 s for the 100 (0.5 s for HTTP/1.0), then sends the body; one more HTTP/1.1
    request sends it in the same write as the head, which "MAY proceed to send the content
    even if it has not yet received a response" allows (HTTP-12.h if a 100 came and no final
    status)."""
    unjudged = Unjudged()
    with ctx.case("HTTP/1.1"):
        _expect_http11(ctx, unjudged)
    with ctx.case("HTTP/1.1, content with the head"):
        _expect_content_with_head(ctx, unjudged)
    with ctx.case("HTTP/1.0"):
        _expect_http10(ctx, unjudged)
    unjudged.raise_if_any()
