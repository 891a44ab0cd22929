"""RFC 9110 10.1.1, Expect."""

from __future__ import annotations

import contextlib

from conformance.catalogue import check
from conformance.checks.support.final_responses import finals
from conformance.context import CheckContext
from conformance.desync import Unjudged
from conformance.probes.contract import Event
from conformance.verdicts import Level
from conformance.wire import Connection, Response, WireTimeout, parse_responses, request_bytes


def _read_interim(conn: Connection, wait: float) -> None:
    """Read what the server sends before the body within ``wait`` (a bounded gate)."""
    with contextlib.suppress(OSError):
        conn.read_until(b"\r\n\r\n", timeout=wait)


CONTINUE_ANSWER = 5.0  # seconds for the final response once the body is sent


def _expect_exchange(ctx: CheckContext, version: str, gate: float) -> tuple[list[Response], str]:
    """POST with Expect: 100-continue; the body goes after ``gate`` seconds, or at once when
    something arrived. Returns every response (interim ones too) and the request id."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=CONTINUE_ANSWER + 1)
    conn.send(request_bytes("POST", "/desync/continue", ctx.base_headers(rid)
                            + [("Expect", "100-continue"), ("Content-Length", "5")],
                            version=version))
    _read_interim(conn, gate)
    with contextlib.suppress(OSError):
        conn.send(b"hello")
    conn.read_response(method="POST", timeout=CONTINUE_ANSWER, skip_interim=False)
    with contextlib.suppress(WireTimeout, OSError):
        conn.read_until_close(timeout=0.3)
    responses = parse_responses(bytes(conn.received), ["POST"], eof=conn.eof)
    conn.close()
    return responses, rid


def _expect_http11(ctx: CheckContext, unjudged: Unjudged) -> None:
    responses, rid = _expect_exchange(ctx, "HTTP/1.1", 1.0)
    interim = [r for r in responses if 100 <= r.status < 200]
    final = finals(responses)
    # Several 1xx are allowed (9110 15: "zero or more interim (non-final) responses"); each
    # must be bodiless and unframed.
    for resp in interim:
        for name, ref in ((b"content-length", "HTTP-10.f"), (b"transfer-encoding", "HTTP-10.g")):
            if resp.header_all(name.decode()):
                ctx.finding(ref, f"the {resp.status} interim response carries "
                                 f"{name.decode()}: {resp.header_all(name.decode())!r}")
    if not final:
        ref = "HTTP-12.h" if interim else "HTTP-12.a"
        ctx.finding(ref, f"no final response within {CONTINUE_ANSWER:g} s after the body was "
                         f"sent ({len(interim)} interim response(s) before it)")
        return
    if final[0].status != 200:
        unjudged.add(f"HTTP/1.1 with Expect: 100-continue was answered {final[0].status}, not "
                     "the app's 200: what the app read could not be judged")
        return
    body = [e.get("body") for e in ctx.journal.for_rid(rid) if e["event"] == Event.BODY]
    if body != [b"hello"]:
        ref = "HTTP-12.c" if ctx.target.interface == "wsgi" else "ASGI-HTTP-01.c"
        ctx.finding(ref, f"with Expect: 100-continue the app read {body!r}, not the body "
                         "b'hello'")


def _expect_http10(ctx: CheckContext, unjudged: Unjudged) -> None:
    # Nothing should come before the body, so the gate is kept short.
    responses, _ = _expect_exchange(ctx, "HTTP/1.0", 0.5)
    interim = [r for r in responses if 100 <= r.status < 200]
    if interim:
        ctx.finding("HTTP-12.f", f"{len(interim)} interim {interim[0].status} response(s) were "
                                 "sent to an HTTP/1.0 request with Expect: 100-continue")
    if not finals(responses):
        unjudged.add(f"the HTTP/1.0 request with Expect: 100-continue had no final response "
                     f"within {CONTINUE_ANSWER:g} s after its body")


@check(id="rfc9110.expect-continue", title="Expect: 100-continue gets 100s or a final "
       "status, clean 1xx and the body; ignored for HTTP/1.0",
       requirements=["HTTP-12", "HTTP-10", "ASGI-HTTP-01"], level=Level.MUST,
       interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9110 10.1.1, 15, 8.6; RFC 9112 6.1")
def expect_continue(ctx: CheckContext) -> None:
    """RFC 9110 10.1.1: an origin server "MUST send either:" an immediate final status or an
    immediate 100 (HTTP-12.a), and "A server that sends a 100 (Continue) response MUST
    ultimately send a final status code, once it receives and processes the request content,
    unless the connection is closed prematurely." (HTTP-12.h). Several 100s are allowed: "A
    single request can have multiple associated responses: zero or more interim (non-final)
    responses with status codes in the "informational" (1xx) range, followed by exactly one
    final response with a status code in one of the other ranges." (HTTP-12.d). A 1xx carries
    no Content-Length or Transfer-Encoding (HTTP-10.f, HTTP-10.g). The app must read the body:
    PEP 3333 "Servers and gateways that implement HTTP 1.1 must provide transparent support for
    HTTP 1.1's "expect/continue" mechanism." (HTTP-12.c); ASGI "body (*byte string*) -- Body
    of the request." (ASGI-HTTP-01.c). "A server that receives a 100-continue expectation in an
    HTTP/1.0 request MUST ignore that expectation." (HTTP-12.f). The client waits up to 1 s
    for the 100 (a gate, not a verdict), then sends the body."""
    unjudged = Unjudged()
    with ctx.case("HTTP/1.1"):
        _expect_http11(ctx, unjudged)
    with ctx.case("HTTP/1.0"):
        _expect_http10(ctx, unjudged)
    unjudged.raise_if_any()
