"""RFC 9110 5.3, Field Order."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.support.field_line_requests import get
from conformance.context import CheckContext
from conformance.desync import Case, run_cases
from conformance.probes.contract import Route
from conformance.verdicts import Level


def _judge_set_cookie(ctx: CheckContext) -> None:
    exchange = ctx.request("GET", f"{Route.FRAMING_STATUS}?code=200&cookies=2")
    cookies = exchange.response.header_all("set-cookie")
    if exchange.response.status != 200 or len(cookies) == 2:
        return
    # RFC 9110 5.3: Set-Cookie cannot be combined into one value, whatever the interface;
    # WSGI also breaks PEP 3333's should, ASGI its definition of a header pair.
    said = f"the app set two cookies; the response has {len(cookies)} Set-Cookie line(s): "
    ctx.finding("HTTP-16.e", f"{said}{cookies!r}")
    ref = "HTTP-16.f" if ctx.target.interface == "wsgi" else "HTTP-16.g"
    ctx.finding(ref, f"{said}{cookies!r}")


@check(id="rfc9110.duplicates", title="duplicate Content-Length never shifts the framing; "
       "Set-Cookie lines from the app are never merged", requirements=["HTTP-16"],
       level=Level.MUST, interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9110 5.3, 8.6")
def duplicates(ctx: CheckContext) -> None:
    """RFC 9110 5.3: "Since it cannot be combined into a single field value, recipients ought
    to handle "Set-Cookie" as a special case while processing fields." (HTTP-16.e: the app's
    two Set-Cookie lines reach the client as two). For WSGI, PEP 3333 says
    of servers: "They should only make changes that do not alter the effective semantics of
    the application's response." (HTTP-16.f, a warn); for ASGI each header is "An iterable of
    [name, value] two-item iterables, where name is the header name, and value is the header
    value." (HTTP-16.g): merging the app's two Set-Cookie lines breaks them. RFC 9110 8.6: two
    identical Content-Length lines MAY be rejected or used as one value (HTTP-16.c); RFC 9112
    6.3 processes them "with that single value used as the Content-Length field value"
    (HTTP-16.b), so the marker after the body must never be read as body, and a server that
    uses the value once hands the app the 5 bytes (a WSGI app CONTENT_LENGTH 5). (Differing
    values: rfc9112.content-length; duplicate singleton fields such as Content-Type are left
    open.)"""
    with ctx.case("two Set-Cookie lines from the app"):
        _judge_set_cookie(ctx)
    run_cases(ctx, [Case("two identical Content-Length lines",
                         get(b"Content-Length: 5\r\nContent-Length: 5\r\n", method=b"POST",
                             body=b"hello"), framing="HTTP-16.b", body=b"hello",
                         told_length="HTTP-16.c")])
