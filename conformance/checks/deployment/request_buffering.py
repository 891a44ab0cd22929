"""The nginx deployment, request bodies streamed or buffered by nginx reach the app intact
(PROXY-07, PROXY-10)."""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from conformance.catalogue import check
from conformance.checks.deployment.nginx_exchange import RESPONSE_TIMEOUT, got, send
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level
from conformance.wire import Response, chunked_body, request_bytes

LARGE_BODY = 4 * 1024 * 1024
CHUNKED_BODY = 2 * 1024 * 1024
CHUNK = 64 * 1024
BODY_TIMEOUT = 5.0  # for the app's body summary once the response is in
# A chunk-size line at the start of what the app read: the chunk framing was left in.
CHUNK_SIZE_LINE = re.compile(rb"[0-9a-fA-F]{1,16}(;[^\r\n]*)?\r\n")


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
    summary = ctx.journal.wait_event(rid, Event.BODY_SUMMARY, timeout=BODY_TIMEOUT)
    if summary is not None and summary.get("how") == "none":
        # Whatever nginx made of the unread body (a 502 when the server closed on it).
        ctx.unsupported(f"{what}: the server gave the WSGI app neither CONTENT_LENGTH nor "
                        "wsgi.input_terminated, so the app has no way to read the body "
                        f"(the client got status {response.status})")
    ref = "PROXY-07.a" if chunked else "PROXY-07.c"
    if summary is None:
        ctx.finding(ref, f"{what}: the app had not finished reading the body "
                         f"{BODY_TIMEOUT:g}s after the client got {got(response)}")
        return
    if summary["size"] == len(sent) and summary["sha256"] == hashlib.sha256(sent).hexdigest():
        return
    read = (f"the app read {summary['size']} bytes (sha256 {summary['sha256'][:16]}..., "
            f"starting {summary.get('head', b'')!r}), the client sent {len(sent)}; the client "
            f"got {got(response)}")
    if chunked and _framing_left_in(summary, sent):
        ref = "PROXY-07.g" if ctx.target.interface == "asgi" else "PROXY-07.d"
        ctx.finding(ref, f"{what}: the chunk framing reached the app undecoded: {read}")
        return
    ctx.finding(ref, f"{what}: {read}")


@check(
    id="deployment.large-body-unbuffered",
    title="a 4 MiB request body streamed by nginx (request buffering off) arrives intact",
    requirements=["PROXY-07"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
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
    response = send(ctx, nginx, request_bytes("POST", Route.DIGEST, head, body), "POST",
                    timeout=20.0)
    _digest_findings(ctx, rid, response, body, "a 4 MiB Content-Length body")


@check(
    id="deployment.chunked-body-unbuffered",
    title="a chunked request body streamed by nginx (request buffering off) arrives intact",
    requirements=["PROXY-07"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
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
    framed = chunked_body(body, sizes=[CHUNK] * (len(body) // CHUNK))
    head = ctx.base_headers(rid) + [("Transfer-Encoding", "chunked")]
    response = send(ctx, nginx, request_bytes("POST", Route.DIGEST, head, framed), "POST",
                    timeout=20.0)
    if response.status == 411:
        ctx.unsupported("the server refuses chunked request bodies with 411 Length Required")
    _digest_findings(ctx, rid, response, body, "a 2 MiB chunked body", chunked=True)


@check(
    id="deployment.expect-continue",
    title="a body sent with Expect: 100-continue through nginx reaches the app intact",
    requirements=["PROXY-10", "PROXY-07"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    section="RFC 9112 section 6.3 (Content-Length); RFC 9110 section 10.1.1 (Expect, nginx's "
            "part)",
)
def expect_continue(ctx: CheckContext) -> None:
    """What this tests is body delivery, not the server's Expect handling: nginx (1.22 here)
    answers 100 (Continue) to the client itself and forwards the request upstream without
    the Expect field, with request buffering on and off (PROXY-10's no_sentence), as RFC
    9110 10.1.1 lets a proxy do (PROXY-10.g, binds nginx). The server's Expect sentences
    (PROXY-10.a-e) are therefore not reached; the direct check pep3333.expect-continue
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
            conn.send(request_bytes("POST", Route.DIGEST, head))
            conn.read_until(b"100 Continue", timeout=3.0)  # a bounded wait, as the RFC allows
            conn.send(body)
            response = conn.read_response(method="POST", timeout=RESPONSE_TIMEOUT)
            conn.close()
            _digest_findings(ctx, rid, response, body,
                             f"a 64 KiB body after Expect: 100-continue (nginx {variant})")
