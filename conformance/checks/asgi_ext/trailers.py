"""asgi-extensions.rst, "HTTP Trailers"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import require_advertised, send_error
from conformance.checks.asgi_www.pipelined_follow_up import stray_bytes
from conformance.context import CheckContext
from conformance.probes.asgi_respond import TRAILER
from conformance.probes.contract import Route
from conformance.verdicts import Level
from conformance.wire import request_bytes


@check(
    id="asgi-ext.trailers",
    title="http.response.trailers, where advertised, sends trailers only after TE: trailers",
    requirements=["ASGI-EXT-03", "ASGI-HTTP-11", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-extensions.rst 'HTTP Trailers'; asgi-www.rst 'Response Start - send event'",
)
def trailers(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Start: with ``trailers`` True "the server must wait until it
    receives a "http.response.trailers" message after the *Response Body* event."
    (ASGI-EXT-03.c, MUST); asgi-extensions.rst, HTTP Trailers: "The ASGI server will only
    send the trailing headers in case the client has sent the TE: trailers header in the
    request." (.f, a definition of the extension: MUST where offered). RFC 9110 6.5.1: "A
    trailer section is only possible when supported by the version of HTTP in use and
    enabled by an explicit framing mechanism." (.h): on HTTP/1.1 that is chunked, so trailer
    fields written after a body of another framing land where the next response should
    start. ASGI-HTTP-11 repeats .c and .f word for word (ASGI-HTTP-11.d, .b): one finding
    on each.

    Two sub-cases: with TE: trailers (and a pipelined follow-up request behind it) the body
    and then the trailers must arrive, in chunked framing; without it no trailers. Direct
    only: nginx does not forward an upstream's trailers."""
    require_advertised(ctx, "http.response.trailers")
    with ctx.case("TE: trailers"):
        rid = ctx.new_rid()
        target = f"{Route.EXT}?kind=trailers"
        follow = request_bytes("GET", Route.READY, [("Host", f"{ctx.host}:{ctx.port}"),
                                                    ("Connection", "close")])
        conn = ctx.connect()
        conn.send(request_bytes("GET", target, ctx.base_headers(rid) + [("TE", "trailers")])
                  + follow)
        response = conn.read_response(timeout=5.0)
        second = (conn.read_response(timeout=5.0)
                  if response.complete and response.keeps_alive() and not conn.eof else None)
        conn.close()
        error = send_error(ctx, rid)
        got = [(n.lower(), v) for n, v in response.trailers]
        stray = stray_bytes(conn, second)
        if response.framing != "chunked" and stray:
            ctx.finding("ASGI-EXT-03.h", f"the response is framed by {response.framing}, not "
                                         f"chunked, and {'; '.join(stray)} (trailer fields "
                                         "outside the chunked framing)")
        elif error or not (response.status == 200 and response.body == b"body-before-trailers\n"
                           and TRAILER in got):
            raised = f"send() of http.response.trailers raised {error}; " if error else ""
            for ref in ("ASGI-EXT-03.c", "ASGI-HTTP-11.d"):
                ctx.finding(ref, f"{raised}with TE: trailers the response is "
                                 f"{response.status or 'nothing'} {response.body[:60]!r} with "
                                 f"trailers {got!r}, expected the body and then {TRAILER!r} "
                                 f"({response.problems})")
    with ctx.case("no TE"):
        refused = ctx.request("GET", f"{Route.EXT}?kind=trailers")
        if refused.response.trailers:
            for ref in ("ASGI-EXT-03.f", "ASGI-HTTP-11.b"):
                ctx.finding(ref, "without TE: trailers the server still sent trailers "
                                 f"{refused.response.trailers}")
