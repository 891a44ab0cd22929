"""asgi-extensions.rst, "Zero Copy Send"."""

from __future__ import annotations

from pathlib import Path

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import head_leaks, require_advertised, send_error
from conformance.context import CheckContext
from conformance.probes.asgi_app import ZEROCOPY_COUNT, ZEROCOPY_OFFSET
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
    MUST where offered). A send() that raises, or a body other than the file, breaks it; a
    body that stops short of the file's end breaks "If omitted, the file will be read until
    its end." (.g). The keys are definitions too: "If this value exists, it will specify the
    offset at which sendfile starts to read data from file." (.d), "Otherwise, it will be
    read from the current position of file." (.e), "count is the number of bytes to copy
    between the file descriptors." (.f): sub-cases with offset and count, and with the file
    seeked by the app and no offset. "Except for the characteristics of zero-copy, it should
    behave the same as ordinary http.response.body." (.c, SHOULD): on HEAD no content goes
    out (RFC 9110 9.3.2).

    "After calling this extension to respond, the ASGI application itself should actively
    close the used file descriptor - ASGI servers are not responsible for closing
    descriptors." That puts the closing on the application and forbids the server nothing:
    a server that closes the descriptor is reported (ASGI-EXT-05.j, INFO)."""
    require_advertised(ctx, "http.response.zerocopysend")
    content = Path(EXT_FILE).read_bytes()
    with ctx.case("GET, whole file"):
        exchange = ctx.request("GET", f"{Route.EXT}?kind=zerocopysend")
        error = send_error(ctx, exchange.rid)
        body = exchange.response.body
        if not error and body and body != content and content.startswith(body):
            ctx.finding("ASGI-EXT-05.g", f"without count the body stops after {len(body)} of "
                                         f"the file's {len(content)} bytes")
        elif error or body != content:
            raised = f"send() of http.response.zerocopysend raised {error}; " if error else ""
            ctx.finding("ASGI-EXT-05.k", f"{raised}the response has {len(body)} body bytes, "
                                         f"not the file's {len(content)}")
        if not ctx.observed(exchange.rid, Event.FD_AFTER_SEND)["open"]:
            ctx.finding("ASGI-EXT-05.j", "the server closed the application's file descriptor "
                                         "after sending it")
    start = ZEROCOPY_OFFSET
    with ctx.case(f"offset {start}, count {ZEROCOPY_COUNT}"):
        exchange = ctx.request("GET", f"{Route.EXT}?kind=zerocopysend-range")
        # A send() that raises here too is the first sub-case's defect again (.k), not a
        # way of handling offset or count.
        ctx.require(not (send_error(ctx, exchange.rid) and error), "ASGI-EXT-05.k",
                    f"send() of http.response.zerocopysend raised {error} again")
        body = exchange.response.body
        if not (body and content[start:start + len(body)] == body):
            ctx.finding("ASGI-EXT-05.d", f"with offset {start} the body starts {body[:40]!r}, "
                                         f"not the file's bytes from {start} "
                                         f"{content[start:start + 40]!r}")
        if len(body) != ZEROCOPY_COUNT:
            ctx.finding("ASGI-EXT-05.f", f"with count {ZEROCOPY_COUNT} the body has "
                                         f"{len(body)} bytes")
    with ctx.case(f"seeked to {start}, no offset"):
        exchange = ctx.request("GET", f"{Route.EXT}?kind=zerocopysend-seeked")
        ctx.require(not (send_error(ctx, exchange.rid) and error), "ASGI-EXT-05.k",
                    f"send() of http.response.zerocopysend raised {error} again")
        body = exchange.response.body
        rest = content[start:]
        if body and body != rest and rest.startswith(body):
            ctx.finding("ASGI-EXT-05.g", f"without count the body stops after {len(body)} of "
                                         f"the {len(rest)} bytes from the file's position")
        elif body != rest:
            ctx.finding("ASGI-EXT-05.e", f"with the file at position {start} and no offset the "
                                         f"body starts {body[:40]!r}, not the file's bytes "
                                         f"from there {rest[:40]!r}")
    with ctx.case("HEAD"):
        status, leaked = head_leaks(ctx, "zerocopysend", content)
        if leaked:
            ctx.finding("ASGI-EXT-05.c", f"HEAD answered {status or 'nothing'}: "
                        + "; ".join(leaked))
