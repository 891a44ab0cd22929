"""ASGI request body events and the receive()/send() channel after the response
(asgi-www.rst "Request - receive event", "Disconnect - receive event", "Disconnected Client -
send exception")."""

from __future__ import annotations

import contextlib
import hashlib
import random
from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_http import DISCONNECT_BOUND, NOT_WITHIN_BOUND, wait_receive
from conformance.checks.support.common import problems_text
from conformance.context import JOURNAL_TIMEOUT, CheckContext
from conformance.probes.asgi_app import AFTER_RESPONSE_WAIT
from conformance.verdicts import Level
from conformance.wire import Connection, Response, request_bytes

ASGI = ("asgi",)
# nginx's default client_max_body_size is 1 MiB: through nginx the largest body stays below it.
DIRECT_SIZES = (0, 1, 4096, 70_000, 3 * 1024 * 1024)
NGINX_SIZES = (0, 1, 4096, 70_000, 900_000)
SEED = 20240  # derandomised: the same splits every run (DESIGN.md decision 7)
# How long send() on the closed connection may take: a no-op or a raise is immediate, and the
# probe app does nothing between its receive() and that send().
SEND_BOUND = 3.0


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


def send_tolerating_early_close(conn: Connection, data: bytes, cuts: list[int]) -> None:
    """Send a request in pieces; a server may answer before the body is in (a 411, a 413)
    and close, and then the rest cannot be sent: its answer is what counts."""
    with contextlib.suppress(OSError):
        conn.send_split(data, cuts)


def refusal_ref(status: int, chunked: bool) -> str:
    """The sentence a request body the app never got rests on, by the server's answer: a 411
    for a chunked body and a 413 are the server's allowed choices (INFO); anything else means
    the server did not deliver a valid request to the app."""
    if status == 411 and chunked:
        return "ASGI-HTTP-01.i"
    if status == 413:
        return "ASGI-HTTP-01.j"
    # Chunked: "A recipient MUST be able to parse the chunked transfer coding"; otherwise the
    # http.request event's definition ("Sent to the application to indicate an incoming
    # request.").
    return "ASGI-HTTP-01.h" if chunked else "ASGI-HTTP-01.a"


def body_difference(summary: dict[str, Any], body: bytes,
                    wire_body: bytes | None) -> tuple[str, str] | None:
    """(sentence, message) when the http.request bodies do not concatenate to ``body``.
    ``wire_body`` is the chunked coding sent, if any: bodies that are exactly those bytes
    were handed over without de-chunking, which breaks only a should."""
    if summary["size"] == len(body) and summary["sha256"] == hashlib.sha256(body).hexdigest():
        return None
    if wire_body is not None and summary["sha256"] == hashlib.sha256(wire_body).hexdigest():
        return ("ASGI-HTTP-01.g", f"the http.request bodies are the {len(wire_body)} bytes of "
                                  f"the chunked coding, not the {len(body)} decoded bytes")
    return ("ASGI-HTTP-01.c", f"the http.request bodies concatenate to {summary['size']} bytes "
                              f"that differ from the {len(body)} bytes sent")


def event_differences(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sentence, message) for receive() events that are not http.request events with
    exactly one, final, more_body False."""
    found = []
    types = [e.get("type") for e in events]
    if any(t != "http.request" for t in types):
        found.append(("ASGI-HTTP-01.b",
                      f"receive() returned {types!r} while the body was being read"))
    finals = [i for i, e in enumerate(events) if not e.get("more_body")]
    if finals != [len(events) - 1]:
        found.append(("ASGI-HTTP-01.e", f"more_body False on events {finals} of {len(events)}, "
                                        "expected exactly once, on the last event"))
    return found


def _judge_body(ctx: CheckContext, rid: str, response: Response, body: bytes,
                wire_body: bytes | None) -> None:
    """The findings of one body sent: the server's answer, then the events."""
    chunked = wire_body is not None
    summary = ctx.journal.wait_event(rid, "body-summary",
                                     timeout=JOURNAL_TIMEOUT if response.status == 200 else 1.0)
    if summary is None and response.status == 200:
        # The app answers only after journalling the summary: none means the journal failed.
        summary = ctx.observed(rid, "body-summary")
    ctx.require(summary is not None, refusal_ref(response.status, chunked),
                f"the server answered {response.status or 'nothing'} "
                f"({problems_text(response)}) and the app did not get the body")
    assert summary is not None
    difference = body_difference(summary, body, wire_body)
    if difference:
        ctx.finding(*difference)
    events = [e for e in ctx.journal.for_rid(rid) if e["event"] == "receive"]
    for ref, message in event_differences(events):
        ctx.finding(ref, message)


@check(
    id="asgi-http.request-body-events",
    title="http.request bodies concatenate to the request body; exactly one final more_body False",
    requirements=["ASGI-HTTP-01"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Request - receive event'",
)
def request_body_events(ctx: CheckContext) -> None:
    """asgi-www.rst, Request: ``body`` is "Body of the request", and "If more_body is set,
    treat as start of body and concatenate on further chunks"; ``more_body`` "Signifies if
    there is additional content to come (as part of a Request message)". Bodies of 0 bytes to
    3 MiB (0.9 MiB through nginx, whose default client_max_body_size is 1 MiB), framed by
    Content-Length and by chunked coding, are written in randomly split pieces; each is a
    sub-case.

    Findings: bodies that do not concatenate to the body sent (ASGI-HTTP-01.c, a definition:
    MUST), or that are the undecoded chunked coding ("The http.request messages should
    contain just the decoded contents of each chunk", ASGI-HTTP-01.g: SHOULD); another event
    type while the body is read (ASGI-HTTP-01.b) or more_body False other than once, last
    (ASGI-HTTP-01.e), both definitions: MUST. A body the app never got: a 411 for a chunked
    body (ASGI-HTTP-01.i) and a 413 (ASGI-HTTP-01.j) are the server's choice (INFO);
    anything else fails a chunked body on "A recipient MUST be able to parse the chunked
    transfer coding" (ASGI-HTTP-01.h) and a Content-Length body on the http.request
    definition (ASGI-HTTP-01.a). A body-less request still yields one http.request with an
    empty body and more_body False (ASGI-HTTP-01.a)."""
    rng = random.Random(SEED)
    sizes = DIRECT_SIZES if ctx.via == "direct" else NGINX_SIZES
    for size in sizes:
        body = rng.randbytes(size)
        for framing in ("content-length", "chunked"):
            chunked = framing == "chunked"
            wire_body = (b"0\r\n\r\n" if size == 0 else _chunked(body, rng)) if chunked else body
            framing_header = (("Transfer-Encoding", "chunked") if chunked
                              else ("Content-Length", str(size)))
            rid = ctx.new_rid()
            data = request_bytes("POST", "/probe/receive-all",
                                 ctx.base_headers(rid) + [framing_header, ("Connection", "close")],
                                 wire_body)
            head_end = len(data) - len(wire_body)
            cuts = sorted(rng.randint(1, len(data) - 1) for _ in range(min(12, len(data) - 1)))
            conn = ctx.connect(timeout=10.0)
            send_tolerating_early_close(conn, data, [head_end, *cuts])
            response = conn.read_response(method="POST", timeout=15.0)
            conn.close()
            with ctx.case(f"{size}-byte body, {framing}"):
                _judge_body(ctx, rid, response, body, wire_body if chunked else None)
    with ctx.case("body-less GET"):
        # A request with no body at all (no Content-Length, no Transfer-Encoding).
        exchange = ctx.request("GET", "/probe/receive-all")
        ctx.observed(exchange.rid, "body-summary")
        events = [(e.get("type"), e.get("size"), e.get("more_body"))
                  for e in ctx.journal.for_rid(exchange.rid) if e["event"] == "receive"]
        if events != [("http.request", 0, False)]:
            ctx.finding("ASGI-HTTP-01.a", "body-less GET: expected one http.request with an "
                                          f"empty body and more_body False, got {events}")


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
    client keeps the connection open. The condition holds when receive() is called, so there
    is nothing for the server to wait for: another event, or none in the 5 s the app waits,
    breaks that definition (ASGI-HTTP-02, MUST)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("POST", "/probe/receive-all?after=1",
                            ctx.base_headers(rid) + [("Content-Length", "5")], b"hello"))
    response = conn.read_response(method="POST", timeout=5.0)
    entry = ctx.observed(rid, "after-response", timeout=AFTER_RESPONSE_WAIT + 3.0)
    conn.close()
    if entry.get("type") == "http.disconnect":
        return
    answer = (f"returned {entry.get('type')!r}" if entry.get("type") else
              f"had returned nothing after {AFTER_RESPONSE_WAIT:g}s (the app's wait)")
    ctx.finding("ASGI-HTTP-02.a", f"receive() called after the complete response "
                                f"({response.status or 'no status'} received, connection kept "
                                f"open) {answer}, not http.disconnect")


@check(
    id="asgi-http.send-after-disconnect",
    title="send() after the client disconnected raises OSError (spec_version >= 2.4) or is a no-op",
    requirements=["ASGI-HTTP-04", "ASGI-HTTP-03"],
    level=Level.SHOULD,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-www.rst 'Disconnected Client - send exception'",
)
def send_after_disconnect(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnected Client: "If send() is called on a closed connection the
    server should raise a server-specific subclass of OSError. This is not guaranteed,
    however, especially on older ASGI server implementations (it was introduced in spec
    version 2.4)." asgi.rst, Error Handling: "If no error condition is specified, the send
    awaitable callable should act as a no-op." The app streams, the client closes, the app's
    receive() returns, and the app calls send() again.

    Judged against the scope's asgi.spec_version: from 2.4 send() should raise an OSError
    subclass (ASGI-HTTP-04.a, SHOULD); below 2.4 it should be a no-op, so raising something
    other than the 2.4 OSError breaks ASGI-HTTP-04.d (SHOULD); a send() still pending after
    3 s is neither. No receive() answer within 5 s of the close leaves send() untried: that
    is reported with the bound (ASGI-HTTP-03.d, INFO)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/send-after-disconnect", ctx.base_headers(rid)))
    ctx.observed(rid, "awaiting-receive")
    conn.read_until(b"started", timeout=1.0)
    conn.close()
    ctx.require(wait_receive(ctx, rid, after="awaiting-receive") is not None, NOT_WITHIN_BOUND,
                f"no http.disconnect within {DISCONNECT_BOUND:g}s after the client closed "
                "mid-response (no spec sentence gives a bound; this is the suite's), so the app "
                "never called send() after it")
    entry = ctx.journal.wait_event(rid, "send-after-disconnect", timeout=SEND_BOUND)
    version = _spec_version(_scope_of_another_request(ctx))
    if entry is None:
        ctx.finding("ASGI-HTTP-04.a" if _at_least(version, (2, 4)) else "ASGI-HTTP-04.d",
                    f"spec_version {version}: send() on the closed connection had neither "
                    f"raised nor returned after {SEND_BOUND:g}s")
    elif _at_least(version, (2, 4)) and not (entry["raised"] and entry["is_oserror"]):
        ctx.finding("ASGI-HTTP-04.a", f"spec_version {version}: send() after disconnect "
                    + (f"raised {entry['error']}, not an OSError subclass" if entry["raised"]
                       else "returned normally instead of raising an OSError subclass"))
    elif entry["raised"] and not entry["is_oserror"]:
        ctx.finding("ASGI-HTTP-04.d", f"spec_version {version}: send() after disconnect raised "
                                      f"{entry['error']}; below 2.4 it should be a no-op (or, "
                                      "at most, raise the 2.4 OSError)")


def _scope_of_another_request(ctx: CheckContext) -> dict[str, Any]:
    """The scope of a fresh request (its asgi.spec_version is what the server declares)."""
    rid = ctx.new_rid()
    ctx.request("GET", "/scope/spec-version", rid=rid)
    scope: dict[str, Any] = ctx.observed(rid)["scope"]
    return scope
