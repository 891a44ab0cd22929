"""asgi-extensions.rst, "Early Hints"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import require_advertised, send_error
from conformance.context import CheckContext
from conformance.probes.asgi_respond import EARLY_HINT_LINK
from conformance.probes.contract import Route
from conformance.verdicts import Level
from conformance.wire import request_bytes


@check(
    id="asgi-ext.early-hints",
    title="http.response.early_hint, where advertised, gives a 103 with the Link headers",
    requirements=["ASGI-EXT-04", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-extensions.rst 'Early Hints'; RFC 9110 15.2",
)
def early_hints(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Early Hints: "ASGI servers that implement this extension will
    allow early hints to be sent." (ASGI-EXT-04.j, a definition: MUST where offered, so a
    send() that raises breaks it). "An informational response with the status code 103 is an
    Early Hint" (.c): a hint sent as another 1xx breaks it. "The ASGI server should then
    attempt to send an informational response to the client with the provided links as Link
    headers." (.d, SHOULD: a 103 without the link warns). "The server may decide to ignore
    this message" (.e): no 103 at all is reported (INFO). RFC 9110 15.2: a 1xx comes "prior
    to completing the requested action and sending a final response" (.g): the final
    response must follow intact, and no 1xx may come after it (the connection is read on
    until the server closes it, as the request asked). "Since HTTP/1.0 did not define any
    1xx status codes, a server MUST NOT send a 1xx response to an HTTP/1.0 client." (.h): a
    second sub-case asks in HTTP/1.0."""
    require_advertised(ctx, "http.response.early_hint")
    with ctx.case("HTTP/1.1"):
        rid = ctx.new_rid()
        conn = ctx.connect()
        conn.send(request_bytes("GET", f"{Route.EXT}?kind=early-hint",
                                ctx.base_headers(rid) + [("Connection", "close")]))
        first = conn.read_response(timeout=5.0, skip_interim=False)
        interim = first if 100 <= first.status < 200 else None
        final = conn.read_response(timeout=5.0) if interim else first
        late = (conn.read_response(timeout=1.0, skip_interim=False).status
                if final.complete else 0)
        error = send_error(ctx, rid)
        if error:
            ctx.finding("ASGI-EXT-04.j", f"send() of http.response.early_hint raised {error} "
                                         "although the server advertises the extension")
        if interim and interim.status != 103:
            ctx.finding("ASGI-EXT-04.c", f"the early hint came as a {interim.status} "
                                         f"{interim.reason!r} informational response, not a "
                                         "103")
        if not (final.status == 200 and final.body == b"final\n"):
            ctx.finding("ASGI-EXT-04.g", f"the final response is {final.status or 'nothing'} "
                                         f"{final.body[:60]!r} ({final.problems}), not 200 "
                                         "b'final\\n'")
        hint_after_final = 100 <= late < 200
        if hint_after_final:
            ctx.finding("ASGI-EXT-04.g", f"a {late} informational response came after the "
                                         "final response")
        links = interim.header_all("link") if interim else []
        if interim and interim.status == 103 and EARLY_HINT_LINK not in links:
            ctx.finding("ASGI-EXT-04.d", f"the 103 carries Link {links!r}, not "
                                         f"{EARLY_HINT_LINK!r}")
        elif interim is None and not error and not hint_after_final:
            ctx.finding("ASGI-EXT-04.e", "the server accepted the early hint but sent no 103 "
                                         "(allowed: it may ignore it)")
    with ctx.case("HTTP/1.0"):
        rid = ctx.new_rid()
        conn = ctx.connect()
        conn.send(request_bytes("GET", f"{Route.EXT}?kind=early-hint", ctx.base_headers(rid),
                                version="HTTP/1.0"))
        first = conn.read_response(timeout=5.0, skip_interim=False)
        if 100 <= first.status < 200:
            ctx.finding("ASGI-EXT-04.h", f"an HTTP/1.0 request got a {first.status} "
                                         "informational response")
