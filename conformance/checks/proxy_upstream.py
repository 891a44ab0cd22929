"""The server behind a real nginx: upstream protocol, disconnects, the keep-alive pool, request
bodies and Expect (REQUIREMENTS.md PROXY-01, 02, 03, 06, 07, 10; nginx variants in proxy.py).

Each check talks to nginx (via "nginx") and reads the server's side through the probe journal
or, for the server's own framing towards nginx, through a recording relay (proxy.py). Every
problem is its own finding, on the spec sentence it breaks (requirements.toml), and every
sub-case runs whatever the others found.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from conformance.catalogue import check
from conformance.checks.support.endless_stream import (
    DISCONNECT_CLOSE_BOUND,
    ENDLESS_PATH,
    ENDLESS_SECONDS,
)
from conformance.context import CheckContext
from conformance.proxy import Nginx, RecordingRelay
from conformance.verdicts import HarnessError, Level
from conformance.wire import Response, escape_bytes, parse_response, request_bytes

BOTH = ("wsgi", "asgi")
NGINX = ("nginx",)
RESPONSE_TIMEOUT = 8.0
# ASGI: the event loop sees the closed upstream socket at once, so http.disconnect later than
# this is slow (RFC 9112 9.5, SHOULD: no number); none within the limit is reported as not
# delivered. The probe app awaits receive() with no deadline of its own.
ASGI_DISCONNECT_BOUND = 5.0
ASGI_DISCONNECT_LIMIT = 20.0
# The response must start before there is anything to disconnect from. The WSGI probe's stream
# ends by itself after ENDLESS_SECONDS, so even a server that holds the whole stream back has
# sent its first bytes by then.
STARTED_BOUND = ENDLESS_SECONDS + 5.0
LARGE_BODY = 4 * 1024 * 1024
CHUNKED_BODY = 2 * 1024 * 1024
CHUNK = 64 * 1024
BODY_TIMEOUT = 5.0  # for the app's body summary once the response is in
FIRST_TIMEOUT = 2.5  # for the response to the request that may leave bytes behind
STREAM_WAIT = 4.0  # seconds the app waits for block n before producing n+1 (as streaming.py)
STREAM_BLOCKS = 3
# A block that never comes: longer than the whole gated stream (the app gives up on each gate
# after STREAM_WAIT), so a server that holds every block back still delivers within it.
BLOCK_BOUND = (STREAM_BLOCKS - 1) * STREAM_WAIT + 3.0
NGINX_UPSTREAM_ERRORS = ("upstream sent invalid", "upstream prematurely closed",
                         "upstream sent no valid", "upstream sent more data")
# A chunk-size line at the start of what the app read: the chunk framing was left in.
CHUNK_SIZE_LINE = re.compile(rb"[0-9a-fA-F]{1,16}(;[^\r\n]*)?\r\n")


def _send(ctx: CheckContext, nginx: Nginx, data: bytes, method: str = "GET",
          timeout: float = RESPONSE_TIMEOUT) -> Response:
    conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=timeout)
    conn.send(data)
    response = conn.read_response(method=method, timeout=timeout)
    conn.close()
    return response


def _nginx_errors(nginx: Nginx) -> list[str]:
    return [line for line in nginx.error_log().splitlines()
            if any(marker in line for marker in NGINX_UPSTREAM_ERRORS)]


def _got(response: Response) -> str:
    """What a client got, for a message."""
    if not response.status:
        return f"no response ({'; '.join(response.problems) or 'nothing arrived'})"
    return (f"status {response.status}, complete={response.complete}, "
            f"{len(response.body)} body bytes")


# -- PROXY-01: nginx's default HTTP/1.0 upstream ------------------------------------------
def _server_response(upstream: list[bytes]) -> tuple[Response | None, bytes]:
    """The server's own response on the upstream connection(s) of one request, and its bytes.
    nginx sends the HTTP/1.0 request with Connection: close, so the server's close ends it."""
    for data in upstream:
        response, _ = parse_response(data, eof=True)
        if response is not None and response.status:
            return response, data
    return None, b""


def _upstream_http10_case(ctx: CheckContext, nginx: Nginx, relay: RecordingRelay,
                          target: str, tail: bytes, unjudged: list[str]) -> None:
    before = len(relay.upstream_bytes())
    rid = ctx.new_rid()
    client = _send(ctx, nginx, request_bytes("GET", target, ctx.base_headers(rid)))
    own, data = _server_response(relay.upstream_bytes()[before:])
    if own is None:
        unjudged.append(f"GET {target}: the server sent nginx no response (the client got "
                        f"{_got(client)})")
        return
    coding = own.header("transfer-encoding")
    if coding is not None:
        ctx.finding("PROXY-01.a", f"GET {target}: the server answered nginx's HTTP/1.0 request "
                    f"with Transfer-Encoding: {coding.decode('latin-1')!r}",
                    upstream_response=escape_bytes(data[:4096]))
        return  # what the client got follows from that framing
    if client.status == 200 and client.complete and tail in client.body:
        return
    if own.framing == "close":
        # No Content-Length: the body ends only when the server closes (RFC 9112 6.3), which
        # it must do after answering a request with Connection: close (RFC 9112 9.6).
        ctx.finding("PROXY-01.g", f"GET {target}: the server's response to nginx's HTTP/1.0 "
                    "request (Connection: close) has no Content-Length, so it ends when the "
                    f"server closes; within {RESPONSE_TIMEOUT:g}s the client got {_got(client)}",
                    upstream_response=escape_bytes(data[:4096]),
                    nginx_errors=_nginx_errors(nginx)[-5:])
        return
    unjudged.append(f"GET {target}: the server sent a {own.framing}-framed status "
                    f"{own.status}, but the client got {_got(client)}; nginx: "
                    f"{_nginx_errors(nginx)[-3:]}")


@check(
    id="proxy.upstream-http10",
    title="behind nginx's default HTTP/1.0 upstream the server never answers with chunked framing",
    requirements=["PROXY-01"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
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
    option."). When the server's bytes give no way to judge, the verdict is an error."""
    server = ctx.server
    relay = RecordingRelay(server.host, server.port)
    unjudged: list[str] = []
    try:
        nginx = ctx.nginx_in_front(f"{relay.host}:{relay.port}", "http10")
        cases = [("unsized stream", "/probe/stream?blocks=3&wait=0", b"block-3\n"),
                 ("sized echo", "/upstream/http10", b"echo\n")]
        for name, target, tail in cases:
            with ctx.case(name):
                _upstream_http10_case(ctx, nginx, relay, target, tail, unjudged)
    finally:
        relay.stop()
    if unjudged:
        raise HarnessError("; ".join(unjudged))


# -- PROXY-02: streaming through nginx's unbuffered HTTP/1.0 upstream -----------------------
@check(
    id="proxy.stream-http10-unbuffered",
    title="with nginx's HTTP/1.0 upstream and buffering off, each block still streams through",
    requirements=["PROXY-01", "PROXY-02"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
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
    checks/streaming.py must arrive block by block. A block the app had to stop waiting for
    (a gate timeout in the journal) is a finding; so is a block that never arrived within a
    bound longer than the whole gated stream."""
    ref = "PROXY-02.c" if ctx.target.interface == "asgi" else "PROXY-02.a"
    nginx = ctx.nginx("unbuffered")
    rid = ctx.new_rid()
    conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=BLOCK_BOUND + 2)
    conn.send(request_bytes("GET", f"/probe/stream?blocks={STREAM_BLOCKS}&wait={STREAM_WAIT:g}",
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
                if e["event"] == "gate-timeout" and e["block"] < missing]
    if timeouts:
        ctx.finding(ref, f"block(s) {timeouts} did not reach the client within "
                         f"{STREAM_WAIT:g}s while the app waited for them before producing "
                         "the next (nginx, buffering off, passes each block on as it comes)")


# -- PROXY-03: a client abort reaches the app -----------------------------------------------
def _disconnect_asgi(ctx: CheckContext, rid: str, aborted: float) -> None:
    def delivered(events: list[dict[str, Any]]) -> bool:
        return any(e["event"] == "receive" and e.get("type") == "http.disconnect"
                   for e in events)

    if ctx.journal.wait_for(delivered, rid=rid, timeout=ASGI_DISCONNECT_BOUND) is not None:
        return
    late = ctx.journal.wait_for(delivered, rid=rid,
                                timeout=ASGI_DISCONNECT_LIMIT - ASGI_DISCONNECT_BOUND)
    if late is None:
        ctx.finding("PROXY-03.b", f"the app, awaiting receive(), got no http.disconnect within "
                    f"{ASGI_DISCONNECT_LIMIT:g}s after the client reset its connection to nginx")
        return
    ctx.finding("PROXY-03.d", f"http.disconnect reached the app only "
                f"{time.monotonic() - aborted:.1f}s after the client reset its connection to "
                f"nginx (more than {ASGI_DISCONNECT_BOUND:g}s)")


def _disconnect_wsgi(ctx: CheckContext, rid: str) -> None:
    seen = ctx.journal.wait_for(lambda evs: any(e["event"] == "close" for e in evs),
                                rid=rid, timeout=DISCONNECT_CLOSE_BOUND)
    if seen is None:
        ctx.finding("PROXY-03.a", f"close() was not called within {DISCONNECT_CLOSE_BOUND:g}s "
                    "after the client reset its connection to nginx, although the app's "
                    f"stream ends by itself after {ENDLESS_SECONDS:g}s")
        return
    # The probe journals "endless-finished" only when its stream runs to its end: a server
    # that acted on the closed connection stops iterating (close()) before that.
    if any(e["event"] == "endless-finished" for e in ctx.journal.for_rid(rid)):
        ctx.finding("PROXY-03.d", "the server went on iterating the app's stream to its end "
                    f"({ENDLESS_SECONDS:g}s of blocks) after the client reset its connection to "
                    "nginx, and called close() only then")


@check(
    id="proxy.disconnect",
    title="a client abort through nginx reaches the app (http.disconnect / close())",
    requirements=["PROXY-03"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="asgi-www.rst 'Disconnect - receive event'; PEP 3333 'Specification Details' "
            "(close()); RFC 9112 section 9.5",
)
def disconnect(ctx: CheckContext) -> None:
    """Through nginx (buffering off) the client resets its connection mid-response; nginx
    closes the upstream connection. WSGI, PEP 3333 (PROXY-03.a): close() "must" be called
    "upon completion of the current request", including one "terminated early due to an
    application error during iteration or an early disconnect of the browser"; the app's
    stream ends by itself after ENDLESS_SECONDS, so the request has completed by then and
    the bound is that plus wsgi_response.CLOSE_BOUND. ASGI, asgi-www.rst (PROXY-03.b, a
    definition of the event the server produces): http.disconnect is "Sent to the
    application if receive is called after a response has been sent or after the HTTP
    connection has been closed." No spec gives a time bound: none within
    ASGI_DISCONNECT_LIMIT is reported on PROXY-03.b. A server that tells the app late
    (ASGI: after ASGI_DISCONNECT_BOUND; WSGI: close() only once the stream ran to its end)
    is reported on the promptness sentence of RFC 9112 9.5 (PROXY-03.d, SHOULD):
    "Implementations SHOULD constantly monitor open connections for a received closure
    signal"."""
    rid = ctx.new_rid()
    asgi = ctx.target.interface == "asgi"
    target = "/probe/wait-disconnect" if asgi else ENDLESS_PATH
    conn = ctx.connect(timeout=STARTED_BOUND)
    conn.send(request_bytes("GET", target, ctx.base_headers(rid)))
    if not conn.read_until(b"started", timeout=STARTED_BOUND):
        # Not a disconnect matter (the streaming checks judge held-back blocks).
        raise HarnessError(f"the response to GET {target} did not start through nginx within "
                           f"{STARTED_BOUND:g}s: nothing to disconnect from")
    conn.abort()
    aborted = time.monotonic()
    if asgi:
        _disconnect_asgi(ctx, rid, aborted)
    else:
        _disconnect_wsgi(ctx, rid)


# -- PROXY-06: nginx's keep-alive pool -----------------------------------------------------
@dataclass(frozen=True)
class _FirstRequest:
    """A request whose handling could leave bytes behind, and the sentence it rests on."""

    name: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    sentence: str


def _desync_cases(ctx: CheckContext) -> list[_FirstRequest]:
    asgi = ctx.target.interface == "asgi"
    mid_error = "/probe/error?after_start=1" if asgi else "/probe/raise-in-iter"
    small, large = b"u" * 10, b"L" * (256 * 1024)
    return [
        _FirstRequest("unread small body", "POST", "/probe/whoami",
                      (("Content-Length", "10"),), small, "PROXY-06.a"),
        _FirstRequest("early response, unread large body", "POST", "/probe/whoami",
                      (("Content-Length", str(len(large))),), large, "PROXY-06.a"),
        _FirstRequest("HEAD", "HEAD", "/probe/whoami", (), b"", "PROXY-06.e"),
        _FirstRequest("204", "GET", "/probe/status?code=204", (), b"", "PROXY-06.f"),
        _FirstRequest("304", "GET", "/probe/status?code=304", (), b"", "PROXY-06.f"),
        # ASGI: the server must end the instance and its connection (asgi.rst). WSGI: no
        # sentence says how; its own error response must be framed to keep the connection.
        _FirstRequest("app error before the response", "GET", "/probe/error", (), b"",
                      "PROXY-06.g" if asgi else "PROXY-06.b"),
        # WSGI: closing after a response cut short is only a SHOULD (PEP 3333).
        _FirstRequest("app error mid-response", "GET", mid_error, (), b"",
                      "PROXY-06.g" if asgi else "PROXY-06.h"),
    ]


def _pooled_case(ctx: CheckContext, nginx: Nginx, first: _FirstRequest) -> None:
    rid = ctx.new_rid()
    # Its own response is not judged; a server that leaves it unfinished (daphne after an
    # app error mid-response) costs a short bound, not the full one.
    _send(ctx, nginx, request_bytes(first.method, first.target,
                                    ctx.base_headers(rid) + list(first.headers), first.body),
          method=first.method, timeout=FIRST_TIMEOUT)
    second = ctx.new_rid()
    response = _send(ctx, nginx, request_bytes("GET", "/probe/whoami", ctx.base_headers(second)))
    own = f"rid={second}\n".encode()
    if response.status == 200 and response.body == own:
        return
    got = (f"status {response.status} and body {response.body[:120]!r}" if response.status
           else f"no response within {RESPONSE_TIMEOUT:g}s")
    ctx.finding(first.sentence, f"after {first.method} {first.target} ({first.name}) on nginx's "
                "one-connection upstream pool, GET /probe/whoami from another client got "
                f"{got}, not its own answer {own!r}", nginx_errors=_nginx_errors(nginx)[-5:])


@check(
    id="proxy.pooled-desync",
    title="nginx's pooled upstream connection never carries one request's leftovers into the next",
    requirements=["PROXY-06"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 9.3 (persistence) and 6.3 (message body length); asgi.rst "
            "'Error Handling'; PEP 3333 'Handling the Content-Length Header'",
)
def pooled_desync(ctx: CheckContext) -> None:
    """Behind nginx with a one-connection keep-alive pool, each request whose handling could
    leave bytes behind is followed, from another client connection, by GET /probe/whoami,
    which must get its own answer (rid=<its id>). Each is a sub-case, on its sentence: an
    unread body or an early response, RFC 9112 9.3 (PROXY-06.a) "A server MUST read the
    entire request message body or close the connection after sending its response"; HEAD,
    RFC 9110 9.3.2 (PROXY-06.e) "the server MUST NOT send content in the response"; 204 and
    304, the framing definition of RFC 9112 6.3 (PROXY-06.f); an ASGI app error, asgi.rst
    (PROXY-06.g) "they must terminate the application instance and its associated connection
    if this happens"; a WSGI app error before the response, the self-defined length a
    persistent connection needs (PROXY-06.b); a WSGI app error mid-response, PEP 3333
    (PROXY-06.h, SHOULD) "the server should close the connection"."""
    nginx = ctx.nginx("pool")
    for first in _desync_cases(ctx):
        with ctx.case(first.name):
            _pooled_case(ctx, nginx, first)


# -- PROXY-07: request bodies streamed by nginx ---------------------------------------------
def _body(size: int) -> bytes:
    return random.Random(size).randbytes(size)  # fixed seed: the same bytes every run


def _framing_left_in(summary: dict[str, Any], sent: bytes) -> bool:
    """Whether the app read chunk framing rather than the body (its first bytes are a
    chunk-size line, and the body's own first bytes are not)."""
    head = summary.get("head") or b""
    return (isinstance(head, bytes) and CHUNK_SIZE_LINE.match(head) is not None
            and CHUNK_SIZE_LINE.match(sent[:16]) is None)


def _digest_findings(ctx: CheckContext, rid: str, response: Response, sent: bytes, what: str,
                     *, chunked: bool = False) -> None:
    """Findings on the body the app read (the /probe/digest journal entry) against ``sent``.
    A Content-Length body rests on its length definition (PROXY-07.c), a chunked one on
    decoding (PROXY-07.a); chunk framing left in the app's body on de-chunking (WSGI:
    PROXY-07.d, MUST; ASGI: PROXY-07.g, SHOULD)."""
    summary = ctx.journal.wait_event(rid, "body-summary", timeout=BODY_TIMEOUT)
    if summary is not None and summary.get("how") == "none":
        # Whatever nginx made of the unread body (a 502 when the server closed on it).
        ctx.unsupported(f"{what}: the server gave the WSGI app neither CONTENT_LENGTH nor "
                        "wsgi.input_terminated, so the app has no way to read the body "
                        f"(the client got status {response.status})")
    ref = "PROXY-07.a" if chunked else "PROXY-07.c"
    if summary is None:
        ctx.finding(ref, f"{what}: the app had not finished reading the body "
                         f"{BODY_TIMEOUT:g}s after the client got {_got(response)}")
        return
    if summary["size"] == len(sent) and summary["sha256"] == hashlib.sha256(sent).hexdigest():
        return
    read = (f"the app read {summary['size']} bytes (sha256 {summary['sha256'][:16]}..., "
            f"starting {summary.get('head', b'')!r}), the client sent {len(sent)}; the client "
            f"got {_got(response)}")
    if chunked and _framing_left_in(summary, sent):
        ref = "PROXY-07.g" if ctx.target.interface == "asgi" else "PROXY-07.d"
        ctx.finding(ref, f"{what}: the chunk framing reached the app undecoded: {read}")
        return
    ctx.finding(ref, f"{what}: {read}")


@check(
    id="proxy.large-body-unbuffered",
    title="a 4 MiB request body streamed by nginx (request buffering off) arrives intact",
    requirements=["PROXY-07"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 6.3 (Content-Length); PEP 3333 'Input and Error Streams'",
)
def large_body_unbuffered(ctx: CheckContext) -> None:
    """RFC 9112 section 6.3 (PROXY-07.c): "If a valid Content-Length header field is present
    without Transfer-Encoding, its decimal value defines the expected message body length in
    octets." nginx with proxy_request_buffering off passes a 4 MiB body upstream as it
    arrives; the app reads wsgi.input up to CONTENT_LENGTH (ASGI: the http.request bodies
    concatenated), and its sha256 of what it read must match what the client sent."""
    nginx = ctx.nginx("no-request-buffering")
    body, rid = _body(LARGE_BODY), ctx.new_rid()
    head = ctx.base_headers(rid) + [("Content-Length", str(len(body)))]
    response = _send(ctx, nginx, request_bytes("POST", "/probe/digest", head, body), "POST",
                     timeout=20.0)
    _digest_findings(ctx, rid, response, body, "a 4 MiB Content-Length body")


@check(
    id="proxy.chunked-body-unbuffered",
    title="a chunked request body streamed by nginx (request buffering off) arrives intact",
    requirements=["PROXY-07"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 7.1 (chunked transfer coding); asgi-www.rst 'HTTP Connection "
            "Scope'; PEP 3333 'Other HTTP Features'",
)
def chunked_body_unbuffered(ctx: CheckContext) -> None:
    """RFC 9112 section 7.1 (PROXY-07.a): "A recipient MUST be able to parse and decode the
    chunked transfer coding." nginx with proxy_request_buffering off (HTTP/1.1 upstream)
    forwards a 2 MiB chunked request body as chunked. The app must read exactly the body
    (ASGI: the http.request events; WSGI: wsgi.input to EOF when the server sets
    wsgi.input_terminated, or CONTENT_LENGTH when it de-chunks first). Chunk framing left in
    what the app read breaks PEP 3333 (PROXY-07.d, MUST) "WSGI servers must handle any
    supported inbound "hop-by-hop" headers on their own" or, for ASGI, asgi-www.rst
    (PROXY-07.g, SHOULD) "A request with a chunked encoded body should be automatically
    de-chunked by the server and presented to the application as plain body bytes". A WSGI
    server offering the app no way to find the body's end is unsupported (PEP 3333 has none);
    so is a 411, which RFC 9112 6.3 allows (PROXY-07.b)."""
    nginx = ctx.nginx("no-request-buffering")
    body, rid = _body(CHUNKED_BODY), ctx.new_rid()
    framed = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + CHUNK]), body[i:i + CHUNK])
                      for i in range(0, len(body), CHUNK)) + b"0\r\n\r\n"
    head = ctx.base_headers(rid) + [("Transfer-Encoding", "chunked")]
    response = _send(ctx, nginx, request_bytes("POST", "/probe/digest", head, framed), "POST",
                     timeout=20.0)
    if response.status == 411:
        ctx.unsupported("the server refuses chunked request bodies with 411 Length Required")
    _digest_findings(ctx, rid, response, body, "a 2 MiB chunked body", chunked=True)


@check(
    id="proxy.expect-continue",
    title="a body sent with Expect: 100-continue through nginx reaches the app intact",
    requirements=["PROXY-10", "PROXY-07"],
    level=Level.MUST,
    interfaces=BOTH,
    via=NGINX,
    section="RFC 9112 section 6.3 (Content-Length); RFC 9110 section 10.1.1 (Expect, nginx's "
            "part)",
)
def expect_continue(ctx: CheckContext) -> None:
    """What this tests is body delivery, not the server's Expect handling: nginx (1.22 here)
    answers 100 (Continue) to the client itself and forwards the request upstream without
    the Expect field, with request buffering on and off (PROXY-10's no_sentence), as RFC
    9110 10.1.1 lets a proxy do (PROXY-10.g, binds nginx). The server's Expect sentences
    (PROXY-10.a-e) are therefore not reached; the direct check wsgi-input.expect-continue
    judges them. Through nginx with request buffering on and off (one sub-case each), the
    client sends the head, waits up to 3 s for the 100 (a client may send the content without
    it: PROXY-10.h), sends a 64 KiB body, and the app must read exactly that body: RFC 9112
    6.3 (PROXY-07.c) "its decimal value defines the expected message body length in
    octets"."""
    body = _body(64 * 1024)
    for variant in ("default", "no-request-buffering"):
        with ctx.case(f"nginx {variant}"):
            nginx = ctx.nginx(variant)
            rid = ctx.new_rid()
            head = ctx.base_headers(rid) + [("Expect", "100-continue"),
                                            ("Content-Length", str(len(body)))]
            conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=RESPONSE_TIMEOUT)
            conn.send(request_bytes("POST", "/probe/digest", head))
            conn.read_until(b"100 Continue", timeout=3.0)  # a bounded wait, as the RFC allows
            conn.send(body)
            response = conn.read_response(method="POST", timeout=RESPONSE_TIMEOUT)
            conn.close()
            _digest_findings(ctx, rid, response, body,
                             f"a 64 KiB body after Expect: 100-continue (nginx {variant})")
