"""asgi-www.rst, "Response Start - send event"."""

from __future__ import annotations

import re

from conformance.catalogue import check
from conformance.checks.asgi_www.pipelined_follow_up import pipelined, stray_bytes
from conformance.checks.support.common import problems_text
from conformance.context import CheckContext
from conformance.probes.contract import LATIN1_HEADER_VALUE, REPEATED_HEADER, Route
from conformance.verdicts import Level

LATIN1_VALUE = LATIN1_HEADER_VALUE.encode("latin-1")  # as the ASGI probe sends it
REPEATED = [(REPEATED_HEADER[0].lower().encode(), value.encode())
            for value in REPEATED_HEADER[1]]


@check(
    id="asgi-www.app-transfer-encoding",
    title="an app-sent Transfer-Encoding is ignored; the response has exactly one valid framing "
          "and carries the app's other headers as sent",
    requirements=["ASGI-HTTP-06", "ASGI-SCOPE-05", "HTTP-16"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-www.rst 'Response Start - send event'; 'WSGI encoding differences'; "
            "RFC 9112 6.1, 6.3",
)
def app_transfer_encoding(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Start: "You may send a Transfer-Encoding header in this
    message, but the server must ignore it." The app sends ``transfer-encoding: chunked``
    (once alone, once with a matching ``content-length``: one sub-case each) and two plain
    body events.

    Findings (all MUST): no 200, a decoded body other than the app's bytes, a badly framed
    response or a garbled pipelined follow-up: the app's header was not ignored
    (ASGI-HTTP-06.a); Transfer-Encoding and Content-Length together ("A sender MUST NOT
    send a Content-Length header field in any message that contains a Transfer-Encoding
    header field.", ASGI-HTTP-06.c); chunked listed twice ("A sender MUST NOT apply the
    chunked transfer coding more than once to a message body", ASGI-HTTP-06.d).

    Direct only, the sub-case "app sent latin-1 bytes and a repeated header": the app's
    x-latin1 value has bytes 0x80-0xFF (obs-text), with \\xa0 and \\x85 (whitespace to
    str.strip() after a latin-1 decode) at its edges, and x-repeat comes in two pairs. Header
    values are "byte strings of the exact byte sequences sent by the client/to be sent by the
    server." (asgi-www.rst, WSGI encoding differences; ASGI-SCOPE-05.g), so the wire must carry
    those very bytes; and each pair of "An iterable of [name, value] two-item iterables, where
    name is the header name, and value is the header value." is one header line
    (HTTP-16.g), so both x-repeat lines must arrive, in order (one combined line "one, two" is
    accepted: RFC 9110 5.3 says combining does not change the semantics). Both are
    definitions of what the server sends (MUST)."""
    for case, label in (("app-te", "Transfer-Encoding"),
                        ("app-te-cl", "Transfer-Encoding and Content-Length")):
        with ctx.case(f"app sent {label}"):
            _judge_app_te(ctx, case)
    if ctx.via == "direct":  # through nginx, the bytes would be nginx's
        with ctx.case("app sent latin-1 bytes and a repeated header"):
            _judge_latin1_and_repeat(ctx)


def _judge_latin1_and_repeat(ctx: CheckContext) -> None:
    exchange = ctx.request("GET", f"{Route.RESPOND}?case=latin1-repeat")
    response = exchange.response
    ctx.require(response.status == 200, "ASGI-SCOPE-05.g",
                f"the server answered {response.status or 'nothing'} ({problems_text(response)}) "
                f"where the app sent a 200 with x-latin1 {LATIN1_VALUE!r} and two x-repeat "
                "lines: the app's header bytes were not sent")
    latin = response.header_all("x-latin1")
    if latin != [LATIN1_VALUE]:
        ctx.finding("ASGI-SCOPE-05.g", f"the app's x-latin1 {LATIN1_VALUE!r} reached the wire "
                                       f"as {latin!r}, not as the exact bytes")
    repeat = response.header_all("x-repeat")
    # One line "one, two" is the same field (RFC 9110 5.3: combined "without changing the
    # semantics of the message"): accepted, as for WSGI; lost, reordered or altered is not.
    combined = len(repeat) == 1 and re.fullmatch(rb"one[ \t]*,[ \t]*two", repeat[0])
    if repeat != [value for _, value in REPEATED] and not combined:
        ctx.finding("HTTP-16.g", f"the app's two pairs (b'x-repeat', b'one'), (b'x-repeat', "
                                 f"b'two') reached the wire as x-repeat lines {repeat!r}, not "
                                 "as two lines in that order")


def _judge_app_te(ctx: CheckContext, case: str) -> None:
    rid = ctx.new_rid()
    conn, response, second = pipelined(ctx, "GET", f"{Route.RESPOND}?case={case}", rid)
    who = "nginx" if ctx.via == "nginx" else "the server"
    answer = (f"answered {response.status} ({problems_text(response)})" if response.status
              else "closed the connection without a response" if conn.eof
              else "sent no response within 5 s")
    ctx.require(response.status == 200, "ASGI-HTTP-06.a",
                f"{who} {answer} where the app's response differed from a plain 200 only in "
                "its Transfer-Encoding header")
    transfer = [c.strip().lower() for v in response.header_all("transfer-encoding")
                for c in v.split(b",")]
    if transfer and response.header_all("content-length"):
        ctx.finding("ASGI-HTTP-06.c", "the response carries both Transfer-Encoding "
                                      f"{transfer!r} and Content-Length")
    if transfer.count(b"chunked") > 1:
        ctx.finding("ASGI-HTTP-06.d", f"Transfer-Encoding lists chunked more than once: "
                                      f"{transfer!r}")
    framing = [p for p in response.problems if "both Transfer-Encoding" not in p]
    wrong = stray_bytes(conn, second)
    if response.body != b"part-one;part-two":
        wrong.insert(0, f"the decoded body is {response.body[:80]!r}, not the app's "
                        "b'part-one;part-two'")
    if framing:
        wrong.insert(0, f"the response is badly framed: {framing}")
    if wrong:
        ctx.finding("ASGI-HTTP-06.a", "; ".join(wrong))
