"""The nginx-tls deployment, the exchange: what an HTTP/2 client's request through nginx
terminating TLS becomes at the app: the Host it named (PROXY-09), streamed response blocks
(PROXY-02), a reset stream as a disconnect (PROXY-03).

The plain-HTTP nginx checks judge the same things (differential.py, support/streaming.py,
client_abort.py) with the same probe routes, journal events and requirements; here the
client's side is HTTP/2 frames (h2_wire.H2Client), nginx's upstream is HTTP/1.1."""

from __future__ import annotations

import time

from conformance.catalogue import NGINX_TLS, check
from conformance.checks.deployment.client_abort import (
    STARTED_BOUND,
    judge_disconnect_asgi,
    judge_disconnect_wsgi,
)
from conformance.checks.support.endless_stream import ENDLESS_PATH
from conformance.checks.support.streaming import ARRIVAL_BOUND, BLOCKS, WAIT
from conformance.context import CheckContext
from conformance.h2_wire import H2Client, H2Stream
from conformance.probes.contract import Event, Route
from conformance.verdicts import HarnessError, Level

RESET = "the client reset its HTTP/2 stream to nginx (RST_STREAM, CANCEL)"
# The host the client names in :authority: a name, where the shared nginx listens on an address,
# so that a server that puts its own address in its place cannot pass by chance.
AUTHORITY_HOST = "localhost"
HOST_BOUND = 5.0


def _open(ctx: CheckContext, path: str, rid: str) -> tuple[H2Client, int]:
    """An HTTP/2 connection over TLS to the path's nginx and a GET of ``path`` on it."""
    client = ctx.http2()
    return client, client.request(ctx.h2_headers(rid, path=path))


@check(
    id="deployment.nginx-tls-host",
    title="through nginx terminating TLS and HTTP/2, the :authority the client named reaches "
          "the app as its Host",
    requirements=["PROXY-09"],
    level=Level.INFO,
    interfaces=("wsgi", "asgi"),
    via=(NGINX_TLS,),
    section="RFC 9110 sections 3.7 and 7.6 (gateways, message forwarding); nginx "
            "proxy_set_header Host $http_host",
)
def nginx_tls_host(ctx: CheckContext) -> None:
    """An HTTP/2 request has no Host line: the client names the host in :authority
    ("localhost:<nginx's port>" here), nginx (proxy_set_header Host $http_host) sends it
    upstream as Host, and the app should see that value as HTTP_HOST (WSGI) or its one
    ``host`` header (ASGI). As in deployment.differential, what the app sees through nginx
    may differ from the client's request only by nginx's documented changes (PROXY-09, INFO:
    its sentences bind nginx; RFC 9110 3.7, PROXY-09.b, "A gateway communicates with inbound
    servers using any protocol that it desires"); a Host that is not the client's is
    reported, not failed, since nginx or the server may have changed it (the journal shows
    what the app got)."""
    rid = ctx.new_rid()
    authority = f"{AUTHORITY_HOST}:{ctx.port}"
    client = ctx.http2()
    headers = ctx.h2_headers(rid, path="/nginx-tls/host", authority=authority)
    stream = client.response(client.request(headers), timeout=HOST_BOUND)
    if stream.status != 200:
        raise HarnessError(f"HTTP/2 GET through nginx got status {stream.status or 'none'}: "
                           f"{stream.body[:200]!r}")
    entry = ctx.observed(rid)
    if ctx.target.interface == "asgi":
        hosts = [bytes(v).decode("latin-1") for n, v in entry["scope"].get("headers", [])
                 if bytes(n).lower() == b"host"]
        if hosts != [authority]:
            ctx.finding("PROXY-09", f"the client's :authority was {authority!r}; the app's "
                        f"scope headers carry host {hosts!r}")
    else:
        host = entry["environ"].get("HTTP_HOST")
        if host != authority:
            ctx.finding("PROXY-09", f"the client's :authority was {authority!r}; the app's "
                        f"HTTP_HOST is {host!r}")


def _arrived(client: H2Client, stream: H2Stream, marker: bytes, timeout: float) -> bool:
    return client.wait(lambda: marker in stream.body or stream.closed, timeout) and (
        marker in stream.body)


@check(
    id="deployment.nginx-tls-streaming",
    title="through nginx terminating TLS and HTTP/2, each response block reaches the client "
          "before the app produces the next",
    requirements=["PROXY-02"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=(NGINX_TLS,),
    section="PEP 3333 'Buffering and Streaming'; asgi-www.rst 'Response Body - send event'; "
            "RFC 9110 section 7.6",
)
def nginx_tls_streaming(ctx: CheckContext) -> None:
    """The gated stream of support/streaming.py over HTTP/2: the probe's /probe/stream
    produces block n+1 only once the client has block n (or after WAIT seconds, journalling
    a gate timeout); nginx passes the upstream's HTTP/1.1 body on as DATA frames
    (proxy_buffering off, X-Accel-Buffering: no). As pep3333.streaming and asgi-www.streaming
    judge the plain-HTTP nginx path: WSGI, PEP 3333 (PROXY-02.b, MUST) "The server or
    gateway must transmit the yielded bytestrings to the client in an unbuffered fashion,
    completing the transmission of each bytestring before requesting another one."; ASGI,
    where a held block may be nginx's as well as the server's, RFC 9110 7.6 (PROXY-02.d,
    INFO) "senders and recipients cannot rely on incremental delivery of partial messages".
    The direct cell of those checks tells whose a held block is."""
    requirement = "PROXY-02.d" if ctx.target.interface == "asgi" else "PROXY-02.b"
    rid = ctx.new_rid()
    client, stream_id = _open(ctx, f"{Route.STREAM}?blocks={BLOCKS}&wait={WAIT:g}", rid)
    stream = client.streams[stream_id]
    for number in range(1, BLOCKS + 1):
        marker = f"block-{number}\n".encode()
        arrived = _arrived(client, stream, marker, ARRIVAL_BOUND)
        early = None if arrived else client.ended_early(stream)
        ctx.require(arrived, requirement,
                    f"block {number} did not reach the HTTP/2 client through nginx: {early}"
                    if early else
                    f"block {number} did not reach the HTTP/2 client within "
                    f"{ARRIVAL_BOUND:g}s through nginx ({len(stream.data_frames)} DATA frames, "
                    f"{len(stream.body)} bytes received)")
        if number < BLOCKS:
            ctx.journal.open_gate(rid, number)
    timeouts = [e["block"] for e in ctx.journal.for_rid(rid) if e["event"] == Event.GATE_TIMEOUT]
    if timeouts:
        ctx.finding(requirement, f"block(s) {timeouts} did not reach the HTTP/2 client through "
                    f"nginx within {WAIT:g}s while the app waited before producing the next "
                    "block: the response was held back (by nginx or the server; the direct "
                    "cell tells which)")


@check(
    id="deployment.nginx-tls-disconnect",
    title="through nginx terminating TLS and HTTP/2, a client that resets its stream reaches "
          "the app (http.disconnect / close())",
    requirements=["PROXY-03"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=(NGINX_TLS,),
    section="asgi-www.rst 'Disconnect - receive event'; PEP 3333 'Specification Details' "
            "(close()); RFC 9113 section 6.4; RFC 9112 section 9.5",
)
def nginx_tls_disconnect(ctx: CheckContext) -> None:
    """The client gives up one HTTP/2 request mid-response with RST_STREAM (RFC 9113 6.4),
    keeping its connection to nginx open; nginx then closes its upstream connection for that
    request. The judgement is deployment.disconnect's: WSGI (PROXY-03.a, MUST) close() "must"
    be called "upon completion of the current request ... or terminated early due to an
    application error during iteration or an early disconnect of the browser", within the
    probe's ENDLESS_SECONDS stream plus CLOSE_BOUND; ASGI (PROXY-03.b, a definition)
    http.disconnect is "Sent to the application if receive is called after a response has
    been sent or after the HTTP connection has been closed", none within
    ASGI_DISCONNECT_LIMIT; later than ASGI_DISCONNECT_BOUND, or close() only after the stream
    ran to its end, is PROXY-03.d (SHOULD: "Implementations SHOULD constantly monitor open
    connections for a received closure signal"). Then the ASGI app calls send() once more
    (sub-case "send() after the disconnect", PROXY-03.c, SHOULD, from spec_version 2.4)."""
    rid = ctx.new_rid()
    asgi = ctx.target.interface == "asgi"
    path = Route.SEND_AFTER_DISCONNECT if asgi else ENDLESS_PATH
    client, stream_id = _open(ctx, path, rid)
    if not _arrived(client, client.streams[stream_id], b"started", STARTED_BOUND):
        early = client.ended_early(client.streams[stream_id])
        raise HarnessError(f"the response to GET {path} did not start through nginx "
                           + (f"({early})" if early else f"within {STARTED_BOUND:g}s")
                           + ": nothing to disconnect from")
    client.reset(stream_id)
    reset = time.monotonic()
    if asgi:
        judge_disconnect_asgi(ctx, rid, reset, RESET)
    else:
        judge_disconnect_wsgi(ctx, rid, RESET)
