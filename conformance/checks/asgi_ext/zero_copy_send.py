"""asgi-extensions.rst, "Zero Copy Send"."""

from __future__ import annotations

from pathlib import Path

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import require_advertised, send_error
from conformance.context import CheckContext
from conformance.probes.asgi_respond import EXT_FILE
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level


@check(
    id="asgi-ext.zerocopysend",
    title="http.response.zerocopysend, where advertised, sends the file (a closed fd: reported)",
    requirements=["ASGI-EXT-05", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-extensions.rst 'Zero Copy Send'",
)
def zerocopysend(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Zero Copy Send: "Zero Copy Send allows you to send the contents
    of a file descriptor to the HTTP client with zero copy" (ASGI-EXT-05.k, a definition:
    MUST where offered). A send() that raises, or a body other than the file, breaks it.
    "After calling this extension to respond, the ASGI application itself should actively
    close the used file descriptor - ASGI servers are not responsible for closing
    descriptors." That puts the closing on the application and forbids the server nothing:
    a server that closes the descriptor is reported (ASGI-EXT-05.j, INFO)."""
    require_advertised(ctx, "http.response.zerocopysend")
    exchange = ctx.request("GET", f"{Route.EXT}?kind=zerocopysend")
    error = send_error(ctx, exchange.rid)
    body = exchange.response.body
    if error or body != Path(EXT_FILE).read_bytes():
        raised = f"send() of http.response.zerocopysend raised {error}; " if error else ""
        ctx.finding("ASGI-EXT-05.k", f"{raised}the response has {len(body)} body bytes, not "
                                     f"the file's {Path(EXT_FILE).stat().st_size}")
    if not ctx.observed(exchange.rid, Event.FD_AFTER_SEND)["open"]:
        ctx.finding("ASGI-EXT-05.j", "the server closed the application's file descriptor "
                                     "after sending it")
