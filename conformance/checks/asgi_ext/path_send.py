"""asgi-extensions.rst, "Path Send"."""

from __future__ import annotations

from pathlib import Path

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import head_leaks, require_advertised, send_error
from conformance.context import CheckContext
from conformance.probes.asgi_respond import EXT_FILE
from conformance.probes.contract import Route
from conformance.verdicts import Level


@check(
    id="asgi-ext.pathsend",
    title="http.response.pathsend, where advertised, sends the file's bytes as the body",
    requirements=["ASGI-EXT-02", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-extensions.rst 'Path Send'",
)
def pathsend(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Path Send: "Path Send allows you to send the contents of a file
    path to the HTTP client without handling file descriptors, offloading the operation
    directly to the server." (ASGI-EXT-02.c): where the server advertises the extension, the
    file's contents are the response body. A definition of the feature: MUST where offered
    (where it is not, the verdict is unsupported). A send() that raises, or a body other
    than the file, breaks it. "Except for the characteristics of path-send, it should behave
    the same as ordinary http.response.body." (.e, SHOULD): on HEAD the server sends no
    content (RFC 9110 9.3.2), so the file's bytes on the wire after a HEAD response, where a
    pipelined follow-up's response should start, warn."""
    require_advertised(ctx, "http.response.pathsend")
    content = Path(EXT_FILE).read_bytes()
    with ctx.case("GET"):
        exchange = ctx.request("GET", f"{Route.EXT}?kind=pathsend")
        error = send_error(ctx, exchange.rid)
        response = exchange.response
        if error or not (response.status == 200 and response.body == content):
            raised = f"send() of http.response.pathsend raised {error}; " if error else ""
            ctx.finding("ASGI-EXT-02.c", f"{raised}the response is "
                                         f"{response.status or 'nothing'} with "
                                         f"{len(response.body)} body bytes, not the file's "
                                         f"{len(content)}")
    with ctx.case("HEAD"):
        status, leaked = head_leaks(ctx, "pathsend", content)
        if leaked:
            ctx.finding("ASGI-EXT-02.e", f"HEAD answered {status or 'nothing'}: "
                        + "; ".join(leaked))
