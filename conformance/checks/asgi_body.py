"""ASGI request body events and the receive()/send() channel after the response
(asgi-www.rst "Request - receive event", "Disconnect - receive event", "Disconnected Client -
send exception")."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_http import DISCONNECT_BOUND
from conformance.context import CheckContext
from conformance.probes.asgi_app import AFTER_RESPONSE_WAIT
from conformance.verdicts import Level
from conformance.wire import request_bytes

ASGI = ("asgi",)
# nginx's default client_max_body_size is 1 MiB: through nginx the largest body stays below it.
DIRECT_SIZES = (0, 1, 4096, 70_000, 3 * 1024 * 1024)
NGINX_SIZES = (0, 1, 4096, 70_000, 900_000)
SEED = 20240  # derandomised: the same splits every run (DESIGN.md decision 7)


def _chunked(body: bytes, rng: random.Random) -> bytes:
    """``body`` as a chunked message body with chunks of random sizes."""
    out = bytearray()
    pos = 0
    while pos < len(body):
        size = rng.randint(1, max(1, min(len(body) - pos, 256 * 1024)))
        out += b"%x\r\n" % size + body[pos:pos + size] + b"\r\n"
        pos += size
    return bytes(out + b"0\r\n\r\n")


def _spec_version(scope: dict[str, Any]) -> str:
    asgi = scope.get("asgi") or {}
    return str(asgi.get("spec_version") or "2.0")


def _at_least(version: str, wanted: tuple[int, int]) -> bool:
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


@check(
    id="asgi-http.request-body-events",
    title="http.request bodies concatenate to the request body; exactly one final more_body False",
    requirements=["ASGI-HTTP-01"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Request - receive event'",
)
def request_body_events(ctx: CheckContext) -> None:
    """asgi-www.rst, Request: ``body`` is "Body of the request ... If more_body is set,
    treat as start of body and concatenate on subsequent chunks"; ``more_body`` "Signifies if
    there is additional content to come ... the application should wait until it gets a
    chunk with this set to False". Bodies of 0 bytes to 3 MiB (0.9 MiB through nginx, whose
    default client_max_body_size is 1 MiB), framed by Content-Length and by chunked coding,
    are written in randomly split pieces; the events' bodies must concatenate to exactly the
    body sent, and the last event, and only it, has more_body False (a body-less request
    still yields one http.request)."""
    rng = random.Random(SEED)
    sizes = DIRECT_SIZES if ctx.via == "direct" else NGINX_SIZES
    for size in sizes:
        body = rng.randbytes(size)
        for framing in ("content-length", "chunked"):
            if framing == "chunked" and size == 0:
                wire_body, framing_header = b"0\r\n\r\n", ("Transfer-Encoding", "chunked")
            elif framing == "chunked":
                wire_body, framing_header = _chunked(body, rng), ("Transfer-Encoding", "chunked")
            else:
                wire_body, framing_header = body, ("Content-Length", str(size))
            rid = ctx.new_rid()
            data = request_bytes("POST", "/probe/receive-all",
                                 ctx.base_headers(rid) + [framing_header, ("Connection", "close")],
                                 wire_body)
            head_end = len(data) - len(wire_body)
            cuts = sorted(rng.randint(1, len(data) - 1) for _ in range(min(12, len(data) - 1)))
            conn = ctx.connect(timeout=10.0)
            conn.send_split(data, [head_end, *cuts])
            response = conn.read_response(method="POST", timeout=15.0)
            conn.close()
            label = f"{size}-byte body, {framing}"
            ctx.expect(response.status == 200,
                       f"{label}: the server answered {response.status or 'nothing'} "
                       f"({response.problems})")
            summary = ctx.observed(rid, "body-summary")
            events = [e for e in ctx.journal.for_rid(rid) if e["event"] == "receive"]
            ctx.expect(summary["size"] == size
                       and summary["sha256"] == hashlib.sha256(body).hexdigest(),
                       f"{label}: the http.request bodies concatenate to {summary['size']} bytes "
                       f"that differ from the {size} bytes sent")
            types = [e.get("type") for e in events]
            ctx.expect(all(t == "http.request" for t in types),
                       f"{label}: receive() returned {types!r} while the body was being read")
            finals = [i for i, e in enumerate(events) if not e.get("more_body")]
            ctx.expect(finals == [len(events) - 1],
                       f"{label}: more_body False on events {finals} of {len(events)}, "
                       "expected exactly once, on the last event")
    # A request with no body at all (no Content-Length, no Transfer-Encoding).
    exchange = ctx.request("GET", "/probe/receive-all")
    ctx.expect(exchange.response.status == 200,
               f"body-less GET: the server answered {exchange.response.status or 'nothing'}")
    ctx.observed(exchange.rid, "body-summary")
    events = [e for e in ctx.journal.for_rid(exchange.rid) if e["event"] == "receive"]
    ctx.expect([(e.get("type"), e.get("size"), e.get("more_body")) for e in events]
               == [("http.request", 0, False)],
               "body-less GET: expected one http.request with an empty body and more_body "
               f"False, got {[(e.get('type'), e.get('size'), e.get('more_body')) for e in events]}")


@check(
    id="asgi-http.disconnect-after-response",
    title="receive() after a complete response returns http.disconnect",
    requirements=["ASGI-HTTP-02"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Disconnect - receive event'",
)
def disconnect_after_response(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: http.disconnect is "Sent to the application if receive is
    called after a response has been sent or after the HTTP connection has been closed". The
    app reads the body, sends a complete response, then calls receive() once more while the
    client keeps the connection open; it must get http.disconnect (the app waits up to 5 s,
    the bound used for every disconnect check), not hang and not another http.request."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("POST", "/probe/receive-all?after=1",
                            ctx.base_headers(rid) + [("Content-Length", "5")], b"hello"))
    response = conn.read_response(method="POST", timeout=5.0)
    ctx.expect(response.status == 200, f"the server answered {response.status or 'nothing'}")
    entry = ctx.observed(rid, "after-response", timeout=AFTER_RESPONSE_WAIT + 3.0)
    conn.close()
    ctx.expect(entry.get("type") == "http.disconnect",
               "receive() after the complete response returned "
               + (f"{entry.get('type')!r}" if entry.get("type") else
                  f"nothing within {AFTER_RESPONSE_WAIT:g}s") + ", not http.disconnect")


@check(
    id="asgi-http.send-after-disconnect",
    title="send() after the client disconnected raises OSError (spec_version >= 2.4) or is a no-op",
    requirements=["ASGI-HTTP-04"],
    level=Level.SHOULD,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-www.rst 'Disconnected Client - send exception'",
)
def send_after_disconnect(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnected Client: "If send() is called on a closed connection the
    server should raise a server-specific subclass of OSError. This is not guaranteed,
    however, especially on older ASGI server implementations (it was introduced in spec
    version 2.4)." The app streams, the client closes, the app gets http.disconnect and calls
    send() again. Judged against the scope's asgi.spec_version: from 2.4 send() should raise
    an OSError subclass; below 2.4 it is a no-op (raising something else is the pre-2.4
    "ignored" contract broken); either way it must not hang."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/send-after-disconnect", ctx.base_headers(rid)))
    ctx.expect(conn.read_until(b"started", timeout=5.0), "the response never started")
    ctx.observed(rid, "awaiting-receive")
    conn.close()
    entry = ctx.journal.wait_event(rid, "send-after-disconnect", timeout=DISCONNECT_BOUND + 3.0)
    if entry is None:
        ctx.fail("no http.disconnect, or send() after it never returned, within "
                 f"{DISCONNECT_BOUND + 3.0:g}s of the client closing")
    scope_rid = ctx.new_rid()
    ctx.request("GET", "/scope/spec-version", rid=scope_rid)
    version = _spec_version(ctx.observed(scope_rid)["scope"])
    if _at_least(version, (2, 4)):
        ctx.expect(entry["raised"] and entry["is_oserror"],
                   f"spec_version {version}: send() after disconnect "
                   + (f"raised {entry['error']}, not an OSError subclass" if entry["raised"]
                      else "returned normally instead of raising an OSError subclass"))
    else:
        ctx.expect(not entry["raised"] or entry["is_oserror"],
                   f"spec_version {version}: send() after disconnect raised {entry['error']}; "
                   "below 2.4 it is a no-op (or, at most, the 2.4 OSError)")
