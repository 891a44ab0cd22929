"""PEP 3333, "Buffering and Streaming"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import respond
from conformance.checks.support.streaming import check_blocks_stream
from conformance.context import CheckContext
from conformance.probes.contract import Route
from conformance.verdicts import Level


@check(
    id="pep3333.empty-blocks",
    title="empty blocks neither end the response nor emit a terminating chunk",
    requirements=["WSGI-RESP-08", "WSGI-RESP-02"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Buffering and Streaming'; 'Handling the Content-Length Header'; "
            "'The start_response() Callable'",
)
def empty_blocks(ctx: CheckContext) -> None:
    """PEP 3333, The write() Callable: "The returned iterable may be empty (i.e. yield no
    non-empty bytestrings), but if it *does* yield non-empty bytestrings, that output must be
    treated normally by the server or gateway (i.e., it must be sent or queued immediately)."
    (WSGI-RESP-08.b). A chunked response must follow RFC 9112 7.1, where "The chunked transfer
    coding is complete when a chunk with a chunk-size of zero is received" (WSGI-RESP-08.e):
    an empty block sent as a chunk ends the body. The app yields b"", b"a", b"", b"", b"b",
    b"" without Content-Length; HTTP/1.1 and HTTP/1.0 are two sub-cases. An app may also
    return an empty list, no block at all (the same sentence's "may be empty"); then the
    app's status and headers go out when the iterable is exhausted: "In other words, response
    headers must not be sent until there is actual body data available, or until the
    application's returned iterable is exhausted." (WSGI-RESP-02.c; PEP 3333's example
    gateway: "send headers now if body was empty"): another status (hypercorn's 500) breaks
    it."""
    with ctx.case("the app returns an empty list"):
        exchange = ctx.request("GET", f"{Route.FRAMING_STATUS}?code=200&blocks=0")
        response = exchange.response
        if response.status != 200 or response.body or not response.complete:
            got = (f"status {response.status}, body {response.body[:160]!r} (complete: "
                   f"{response.complete})" if response.status else
                   f"no response ({'; '.join(response.problems)})")
            ctx.finding("WSGI-RESP-02.c", "the app called start_response('200 Probe', []) "
                        f"(no header fields) and returned an empty list; the client got {got}, "
                        "not the app's 200 with no body, sent when the iterable was exhausted")
    for version in ("HTTP/1.1", "HTTP/1.0"):
        with ctx.case(version):
            response = respond(ctx, "empty-blocks", version=version).response
            if response.complete and response.body == b"ab" and not response.problems:
                continue
            cut_short = (response.framing == "chunked" and response.complete
                         and b"ab".startswith(response.body) and response.body != b"ab")
            ctx.finding("WSGI-RESP-08.e" if cut_short else "WSGI-RESP-08.b",
                        f"{version}: status {response.status or 'none'}, body "
                        f"{response.body!r} ({response.framing}, complete: {response.complete}, "
                        f"problems: {response.problems}); expected b'ab'"
                        + (": an empty block went out as the last-chunk" if cut_short else ""))


@check(
    id="pep3333.streaming",
    title="each yielded block reaches the client before the next is requested",
    requirements=["WSGI-RESP-07", "PROXY-02"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Buffering and Streaming'",
)
def streaming(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "The server or gateway must transmit the yielded
    bytestrings to the client in an unbuffered fashion, completing the transmission of each
    bytestring before requesting another one." (WSGI-RESP-07.a). Through nginx
    (proxy_buffering off, X-Accel-Buffering: no) the same must hold end to end (PROXY-02.b,
    the same sentence as the deployment's requirement)."""
    check_blocks_stream(ctx, "WSGI-RESP-07.a" if ctx.via == "direct" else "PROXY-02.b")
