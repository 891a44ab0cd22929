"""asgi-extensions.rst, "HTTP Trailers"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import require_advertised, send_error
from conformance.context import CheckContext
from conformance.probes.asgi_respond import TRAILER
from conformance.probes.contract import Route
from conformance.verdicts import Level


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
    request." (.f, a definition of the extension: MUST where offered). On HTTP/1.1 trailers
    need chunked framing (RFC 9110 6.5.1, .h). Two sub-cases: with TE: trailers the body and
    then the trailers must arrive; without it no trailers. Direct only: nginx does not
    forward an upstream's trailers."""
    require_advertised(ctx, "http.response.trailers")
    with ctx.case("TE: trailers"):
        allowed = ctx.request("GET", f"{Route.EXT}?kind=trailers", headers=[("TE", "trailers")])
        error = send_error(ctx, allowed.rid)
        response = allowed.response
        got = [(n.lower(), v) for n, v in response.trailers]
        if error or not (response.status == 200 and response.body == b"body-before-trailers\n"
                         and TRAILER in got):
            raised = f"send() of http.response.trailers raised {error}; " if error else ""
            ctx.finding("ASGI-EXT-03.c", f"{raised}with TE: trailers the response is "
                                         f"{response.status or 'nothing'} "
                                         f"{response.body[:60]!r} with trailers {got!r}, "
                                         f"expected the body and then {TRAILER!r} "
                                         f"({response.problems})")
    with ctx.case("no TE"):
        refused = ctx.request("GET", f"{Route.EXT}?kind=trailers")
        if refused.response.trailers:
            ctx.finding("ASGI-EXT-03.f", "without TE: trailers the server still sent trailers "
                                         f"{refused.response.trailers}")
