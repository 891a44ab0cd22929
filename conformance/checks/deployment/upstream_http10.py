"""The nginx deployment, nginx's default HTTP/1.0 upstream (PROXY-01, PROXY-02).

The server's own framing towards nginx is read through a recording relay (proxy.py) between
nginx and the server; every sub-case runs whatever the others found."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.deployment.nginx_exchange import (
    RESPONSE_TIMEOUT,
    got,
    nginx_errors,
    send,
)
from conformance.checks.rfc9112.s6_1_transfer_encoding import (
    judge_no_transfer_encoding_to_http10,
)
from conformance.checks.support.streaming import BLOCKS as STREAM_BLOCKS
from conformance.checks.support.streaming import WAIT as STREAM_WAIT
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.proxy import Nginx, RecordingRelay
from conformance.verdicts import HarnessError, Level
from conformance.wire import Response, escape_bytes, parse_response, request_bytes

# A block that never comes: longer than the whole gated stream (the app gives up on each gate
# after STREAM_WAIT), so a server that holds every block back still delivers within it.
BLOCK_BOUND = (STREAM_BLOCKS - 1) * STREAM_WAIT + 3.0


def _server_response(upstream: list[bytes]) -> tuple[Response | None, bytes]:
    """The server's own response on the upstream connection(s) of one request, and its bytes.
    nginx sends the HTTP/1.0 request with Connection: close, so the server's close ends it."""
    for data in upstream:
        response, _ = parse_response(data, eof=True)
        if response is not None and response.status:
            return response, data
    return None, b""


def _upstream_http10_case(ctx: CheckContext, nginx: Nginx, relay: RecordingRelay,
                          target: str, tail: bytes, unjudged: list[str], *,
                          sized: bool) -> None:
    before = len(relay.upstream_bytes())
    rid = ctx.new_rid()
    client = send(ctx, nginx, request_bytes("GET", target, ctx.base_headers(rid)))
    own, data = _server_response(relay.upstream_bytes()[before:])
    if own is None:
        unjudged.append(f"GET {target}: the server sent nginx no response (the client got "
                        f"{got(client)})")
        return
    if judge_no_transfer_encoding_to_http10(ctx, own, "PROXY-01.a", f"GET {target}",
                                            upstream_response=escape_bytes(data[:4096])):
        return  # what the client got follows from that framing
    if sized and own.framing == "close":
        # The app gave its length, so Content-Length was "possible": dropping it for
        # close-delimited framing breaks RFC 9112 6.3's SHOULD even if the body arrives whole.
        ctx.finding("PROXY-01.f", f"GET {target}: the app gave a Content-Length, but the "
                    "server's response to nginx's HTTP/1.0 request has none: it is "
                    "close-delimited", upstream_response=escape_bytes(data[:4096]))
    if client.status == 200 and client.complete and tail in client.body:
        return
    if own.framing == "close":
        # No Content-Length: the body ends only when the server closes (RFC 9112 6.3), which
        # it must do after answering a request with Connection: close (RFC 9112 9.6).
        ctx.finding("PROXY-01.g", f"GET {target}: the server's response to nginx's HTTP/1.0 "
                    "request (Connection: close) has no Content-Length, so it ends when the "
                    f"server closes; within {RESPONSE_TIMEOUT:g}s the client got {got(client)}",
                    upstream_response=escape_bytes(data[:4096]),
                    nginx_errors=nginx_errors(nginx)[-5:])
        return
    unjudged.append(f"GET {target}: the server sent a {own.framing}-framed status "
                    f"{own.status}, but the client got {got(client)}; nginx: "
                    f"{nginx_errors(nginx)[-3:]}")


@check(
    id="deployment.upstream-http10",
    title="behind nginx's default HTTP/1.0 upstream the server never answers with chunked framing",
    requirements=["PROXY-01"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    section="RFC 9112 section 6.1 (Transfer-Encoding only to HTTP/1.1 requests); 9.6 (close)",
)
def upstream_http10(ctx: CheckContext) -> None:
    """RFC 9112 section 6.1 (PROXY-01.a): "A server MUST NOT send a response containing
    Transfer-Encoding unless the corresponding request indicates HTTP/1.1 (or later minor
    revisions)." nginx as installed speaks HTTP/1.0 upstream (proxy_http_version 1.0,
    Connection: close, buffering on). A sized response (echo) and an unsized streamed one
    (/probe/stream) go through it, each its own sub-case; a recording relay between nginx and
    the server sees the server's own bytes. Findings: Transfer-Encoding in the server's
    response (PROXY-01.a); an unsized response the client never got whole, which ends only
    when the server closes (PROXY-01.e defines that framing; PROXY-01.g: "A server that
    receives a "close" connection option MUST initiate closure of the connection (see below)
    after it sends the final response to the request that contained the "close" connection
    option."); the sized echo (the app gives Content-Length) sent close-delimited, RFC 9112
    6.3 (PROXY-01.f, SHOULD): "a server SHOULD generate encoding or length-delimited messages
    whenever possible". When the server's bytes give no way to judge, the verdict is an
    error."""
    server = ctx.server
    relay = RecordingRelay(server.host, server.port)
    unjudged: list[str] = []
    try:
        nginx = ctx.nginx_in_front(f"{relay.host}:{relay.port}", "http10")
        cases = [("unsized stream", f"{Route.STREAM}?blocks=3&wait=0", b"block-3\n", False),
                 ("sized echo", "/upstream/http10", b"echo\n", True)]
        for name, target, tail, sized in cases:
            with ctx.case(name):
                _upstream_http10_case(ctx, nginx, relay, target, tail, unjudged, sized=sized)
    finally:
        relay.stop()
    if unjudged:
        raise HarnessError("; ".join(unjudged))


@check(
    id="deployment.stream-http10-unbuffered",
    title="with nginx's HTTP/1.0 upstream and buffering off, each block still streams through",
    requirements=["PROXY-01", "PROXY-02"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    section="RFC 9112 section 6.3 item 8 (close-delimited body); PEP 3333 'Buffering and "
            "Streaming'; asgi-www.rst 'Response Body'",
)
def stream_http10_unbuffered(ctx: CheckContext) -> None:
    """An unsized response to an HTTP/1.0 upstream request is close-delimited (PROXY-01.e),
    and the server still owes each block without delay: PEP 3333 (PROXY-02.a) "WSGI
    servers, gateways, and middleware must not delay the transmission of any block";
    asgi-www.rst (PROXY-02.c) "Protocol servers must flush any data passed to them into the
    send buffer before returning from a send call." nginx speaks HTTP/1.0 upstream with
    proxy_buffering off, so it passes each block on as it comes; the gated stream of
    checks/support/streaming.py must arrive block by block. A block the app had to stop waiting for
    (a gate timeout in the journal) is a finding; so is a block that never arrived within a
    bound longer than the whole gated stream."""
    ref = "PROXY-02.c" if ctx.target.interface == "asgi" else "PROXY-02.a"
    nginx = ctx.nginx("unbuffered")
    rid = ctx.new_rid()
    conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=BLOCK_BOUND + 2)
    conn.send(request_bytes("GET", f"{Route.STREAM}?blocks={STREAM_BLOCKS}&wait={STREAM_WAIT:g}",
                            ctx.base_headers(rid)))
    missing = STREAM_BLOCKS + 1  # the first block that never came, if any
    for number in range(1, STREAM_BLOCKS + 1):
        if not conn.read_until(f"block-{number}\n".encode(), timeout=BLOCK_BOUND):
            ctx.finding(ref, f"block {number} did not reach the client through nginx's "
                        f"HTTP/1.0 unbuffered upstream within {BLOCK_BOUND:g}s (the app's gated "
                        f"stream ends by itself within {BLOCK_BOUND - 3:g}s); "
                        f"{len(conn.received)} bytes received")
            missing = number
            break
        if number < STREAM_BLOCKS:
            ctx.journal.open_gate(rid, number)
    # The app gives up waiting for a block that never came: not a problem of its own.
    timeouts = [e["block"] for e in ctx.journal.for_rid(rid)
                if e["event"] == Event.GATE_TIMEOUT and e["block"] < missing]
    if timeouts:
        ctx.finding(ref, f"block(s) {timeouts} did not reach the client within "
                         f"{STREAM_WAIT:g}s while the app waited for them before producing "
                         "the next (nginx, buffering off, passes each block on as it comes)")
