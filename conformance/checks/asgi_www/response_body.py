"""asgi-www.rst, "Response Body - send event"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_www.pipelined_follow_up import (
    follow_up_misplaced,
    marker_on_wire,
    pipelined,
    stray_bytes,
)
from conformance.checks.support.streaming import check_blocks_stream
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level


@check(
    id="asgi-www.streaming",
    title="each http.response.body is flushed before send() returns",
    requirements=["ASGI-HTTP-05", "PROXY-02"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-www.rst 'Response Body - send event'",
)
def streaming(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Body: "Protocol servers must flush any data passed to them into
    the send buffer before returning from a send call." A block must therefore reach the
    client while the app waits before sending the next one (ASGI-HTTP-05, MUST). Through
    nginx (proxy_buffering off) a held block may be nginx's as well as the server's, and RFC
    9110 7.6 says "senders and recipients cannot rely on incremental delivery of partial
    messages": there the finding is PROXY-02.d (INFO) and the direct cell tells who held it."""
    check_blocks_stream(ctx, "ASGI-HTTP-05" if ctx.via == "direct" else "PROXY-02.d")


@check(
    id="asgi-www.nothing-after-final-body",
    title="a body sent after the final http.response.body never reaches the wire",
    requirements=["ASGI-HTTP-07"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-www.rst 'Response Body - send event' (more_body)",
)
def nothing_after_final_body(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Body: with ``more_body`` False the "response will be taken as
    complete and closed, and any further messages on the channel will be ignored". The app
    sends a complete response (200, 6 bytes) and then one more body event.

    Findings, both on definitions (MUST): a response other than 200 b"final\\n"
    (ASGI-HTTP-07.a: more_body False completes the response); the extra bytes on the wire or
    a garbled pipelined follow-up (ASGI-HTTP-07.b: further messages are ignored). Whether
    the extra send() raised is not judged: the response was already complete."""
    rid = ctx.new_rid()
    conn, response, second = pipelined(ctx, "GET", f"{Route.RESPOND}?case=after-final", rid)
    if not (response.status == 200 and response.body == b"final\n"):
        ctx.finding("ASGI-HTTP-07.a", f"the response is {response.status or 'nothing'} "
                                      f"{response.body[:60]!r}, not 200 b'final\\n'")
    ctx.observed(rid, Event.SEND_RESULT)
    stray = stray_bytes(conn, second)
    if stray:
        ctx.finding("ASGI-HTTP-07.b", "after a body sent past the final one: " + "; ".join(stray))


@check(
    id="asgi-www.no-body-responses",
    title="HEAD, 204 and 304 responses carry no body even when the app sends one",
    requirements=["ASGI-HTTP-10"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-www.rst 'Response Body - send event'; RFC 9110 8.6, 9.3.2, 15.3.5, 15.4.5; "
            "RFC 9112 6.1, 6.3",
)
def no_body_responses(ctx: CheckContext) -> None:
    """RFC 9110 9.3.2: "The HEAD method is identical to GET except that the server MUST NOT
    send content in the response." RFC 9110 15.3.5 and 15.4.5: "A 204 response is
    terminated by the end of the header section; it cannot contain content or trailers.",
    and the same of a 304 (framing definitions). RFC 9110 8.6: "A server MUST NOT send a
    Content-Length header field in any response with a status code of 1xx (Informational) or
    204 (No Content)." RFC 9112 6.1 says the same of Transfer-Encoding. The app sends a body
    anyway (HEAD answered 200, GET answered 204, GET answered 304: one sub-case each).

    Findings (all MUST): the app's bytes on the wire (content sent: HEAD, ASGI-HTTP-10.a;
    204, ASGI-HTTP-10.d; 304, ASGI-HTTP-10.e); a pipelined follow-up whose response does not
    start where the first ended: the response did not end at "the first empty line after the
    header fields, regardless of the header fields present" (RFC 9112 6.3, ASGI-HTTP-10.b);
    Content-Length or Transfer-Encoding on the 204 (ASGI-HTTP-10.f, .g). A 304 and a HEAD
    response may carry them ("A server MAY send a Content-Length header field in a 304 (Not
    Modified) response to a conditional GET request"; "Transfer-Encoding MAY be sent in a
    response to a HEAD request or in a 304 (Not Modified) response"), so those are not
    findings."""
    for method, status, ref in (("HEAD", 200, "ASGI-HTTP-10.a"), ("GET", 204, "ASGI-HTTP-10.d"),
                                ("GET", 304, "ASGI-HTTP-10.e")):
        label = f"{method} answered {status}"
        with ctx.case(label):
            rid = ctx.new_rid()
            conn, response, second = pipelined(
                ctx, method, f"{Route.RESPOND}?case=with-body&status={status}", rid)
            content = marker_on_wire(conn)
            if content:
                ctx.finding(ref, f"response {response.status or 'none'}: {content}")
            misplaced = follow_up_misplaced(conn, second)
            if misplaced:
                ctx.finding("ASGI-HTTP-10.b", f"{label}, response {response.status or 'none'}: "
                                              f"{misplaced}")
            if response.status == 204:
                if response.header_all("content-length"):
                    ctx.finding("ASGI-HTTP-10.f", "the 204 response carries Content-Length "
                                                  f"{response.header_all('content-length')}")
                if response.header_all("transfer-encoding"):
                    ctx.finding("ASGI-HTTP-10.g", "the 204 response carries Transfer-Encoding "
                                                  f"{response.header_all('transfer-encoding')}")
