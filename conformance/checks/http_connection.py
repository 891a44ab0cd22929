"""HTTP/1.1 connection management at the server (RFC 9112 9, RFC 9110 9.3.2, 10.1.1, 15):
bodiless responses, HTTP/1.0 framing, 100-continue, persistence, pipelining, Connection:
close, Date, and invalid-then-valid pipelines. Every case pipelines a follow-up request in the
same write, so a response that leaks bytes or a body parsed as a request shows up."""

from __future__ import annotations

import contextlib
import email.utils
import time

from conformance.catalogue import check
from conformance.checks.http_headers import get
from conformance.context import CheckContext
from conformance.desync import (
    MARKER_PATH,
    Case,
    Parts,
    Rules,
    Unjudged,
    announces_close,
    request_line,
    run_cases,
)
from conformance.verdicts import HarnessError, Level
from conformance.wire import Connection, Response, WireTimeout, escape_bytes, parse_responses

BOTH = ("wsgi", "asgi")
DIRECT = ("direct",)
READ = 3.0  # seconds for pipelined answers (or the close) on a correct server


def _pipeline(ctx: CheckContext, first: bytes, method: str, *,
              follow: bool = True) -> tuple[Connection, list[Response], str]:
    """Send ``first`` and (optionally) a marker request in one write; read both answers or
    until the server closes. Returns the connection, the parsed responses, the marker id."""
    marker_rid = ctx.new_rid()
    host = f"{ctx.host}:{ctx.port}".encode()
    data = first + (request_line(b"GET", MARKER_PATH, host, marker_rid) if follow else b"")
    conn = ctx.connect(timeout=READ + 1)
    conn.send(data)
    wanted = 2 if follow else 1
    deadline = time.monotonic() + READ
    methods = [method, "GET"]
    while not conn.eof and time.monotonic() < deadline:
        finals = [r for r in parse_responses(bytes(conn.received), methods, eof=False)
                  if r.status >= 200 and r.complete]
        if len(finals) >= wanted:
            break
        if finals and not finals[0].keeps_alive():
            # It announced the close: read to the close (bounded) to catch leaked bytes.
            with contextlib.suppress(OSError):
                conn.read_until_close(timeout=1.0)
            break
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(deadline - time.monotonic())
    responses = parse_responses(bytes(conn.received), methods, eof=conn.eof)
    return conn, responses, marker_rid


def _request(ctx: CheckContext, method: str, target: str, rid: str, *,
             version: str = "HTTP/1.1", extra: bytes = b"") -> bytes:
    host = f"{ctx.host}:{ctx.port}"
    return (f"{method} {target} {version}\r\nHost: {host}\r\nX-Probe-Id: {rid}\r\n".encode()
            + extra + b"\r\n")


def _leak(responses: list[Response]) -> str | None:
    """Bytes after the first response that are not a well-formed response: a leaked body."""
    for resp in responses[1:]:
        if resp.status == 0 or resp.problems:
            return f"after the first response came {escape_bytes(resp.raw[:200])!r}"
    return None


def _finals(responses: list[Response]) -> list[Response]:
    return [r for r in responses if r.status >= 200]


def _unanswered(ctx: CheckContext, conn: Connection, responses: list[Response],
                wanted: int, what: str, *, closed_too: bool = False) -> None:
    """Fewer than ``wanted`` answers after a response that did not announce "close": the
    server promised persistence (9112 9.3: one that does not support it MUST send "close").
    Judged when the connection was left open after READ seconds, or with ``closed_too`` also
    when the server closed it with the pipelined request unanswered."""
    finals = _finals(responses)
    if not finals or len(finals) >= wanted or (conn.eof and not closed_too):
        return
    last = finals[-1]
    if announces_close(last):
        if not conn.eof:
            ctx.finding("HTTP-13.g", f"{what}: the response announced \"Connection: close\", "
                                     f"but the connection was still open after {READ:g} s")
    elif last.keeps_alive():
        how = ("then the server closed the connection" if conn.eof else
               f"the connection was left open for {READ:g} s")
        ctx.finding("HTTP-13.c", f"{what}: the {last.version} response did not announce "
                                 f"\"close\", yet only {len(finals)} of {wanted} pipelined "
                                 f"requests were answered and {how}")


# RFC 3875 4.3.3: "If it does, then the server MUST discard the message-body when reading the
# response from the script." The WSGI gateway's own HEAD duty (the app's body is the app's).
HEAD_DISCARD = "HTTP-10.j"
# (method, target, status, the sentence a leaked body breaks)
BODILESS = [("HEAD", "/desync/head", 200, "HTTP-10.a"),
            ("GET", "/probe/framing-status?code=204", 204, "HTTP-10.c"),
            ("GET", "/probe/framing-status?code=304", 304, "HTTP-10.d")]


def _bodiless_case(ctx: CheckContext, method: str, target: str, status: int, leak_ref: str,
                   unjudged: Unjudged) -> None:
    label = f"{method} {target}"
    conn, responses, _ = _pipeline(ctx, _request(ctx, method, target, ctx.new_rid()), method)
    conn.close()  # gunicorn's sync worker lingers on an open client before the next one
    got = responses[0].status if responses else 0
    if got != status:
        unjudged.add(f"{label} was answered {got or 'with nothing'}, not the app's {status}")
        return
    first = responses[0]
    leak = _leak(responses)
    if leak is not None:
        if method == "HEAD" and ctx.target.interface == "wsgi":
            # The probe app writes a body for HEAD; RFC 9110 9.3.2 binds the origin server (app
            # and gateway together), CGI's 4.3.3 the gateway alone: it must discard the body.
            leak_ref = HEAD_DISCARD
        ctx.finding(leak_ref, f"{label}: the {status} response carried body bytes: {leak}")
    else:  # leaked bytes hide the marker's answer: only a clean exchange shows it missing
        _unanswered(ctx, conn, responses, 2, f"{label} and a pipelined GET")
    if status == 204:
        # 304 (and HEAD) MAY carry both fields (9110 8.6, 9112 6.1); 204 never.
        for name, ref in ((b"content-length", "HTTP-10.f"), (b"transfer-encoding", "HTTP-10.g")):
            values = first.header_all(name.decode())
            if values:
                ctx.finding(ref, f"{label}: the 204 response has {name.decode()}: {values!r}")


@check(id="http-connection.bodiless-responses", title="HEAD, 204 and 304 responses carry no "
       "body (and 204 no framing); a pipelined follow-up stays in sync",
       requirements=["HTTP-10", "HTTP-13"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9110 9.3.2, 15.3.5, 15.4.5, 8.6; RFC 9112 6.1, 6.3")
def bodiless_responses(ctx: CheckContext) -> None:
    """RFC 9110 9.3.2: "The HEAD method is identical to GET except that the server MUST NOT
    send content in the response." (HTTP-10.a; for WSGI, whose probe app itself writes a body
    for HEAD, the gateway's duty is RFC 3875 4.3.3's "If it does, then the server MUST discard
    the message-body when reading the response from the script." HTTP-10.j). 15.3.5 and
    15.4.5: "A 204 response is terminated by the end of the header
    section; it cannot contain content or trailers." (HTTP-10.c) and the same of 304
    (HTTP-10.d). 8.6: "A server MUST NOT send a Content-Length header field in any response
    with a status code of 1xx (Informational) or 204 (No Content)." (HTTP-10.f); RFC 9112 6.1:
    the same of Transfer-Encoding (HTTP-10.g). A 304 MAY carry either (HTTP-10.h, HTTP-10.i).
    A pipelined marker request catches leaked bytes; a response that kept the connection open
    but left the marker unanswered breaks RFC 9112 9.3: "A server that does not support
    persistent connections MUST send the "close" connection option in every response message
    that does not have a 1xx (Informational) status code." (HTTP-13.c), and one that announced
    "close" but left the connection open breaks 9.6 (HTTP-13.g)."""
    unjudged = Unjudged()
    for method, target, status, ref in BODILESS:
        with ctx.case(f"{method} {status}"):
            _bodiless_case(ctx, method, target, status, ref, unjudged)
    unjudged.raise_if_any()


@check(id="http-connection.http10-no-chunked", title="no chunked response to an HTTP/1.0 "
       "request", requirements=["HTTP-11"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 6.1")
def http10_no_chunked(ctx: CheckContext) -> None:
    """RFC 9112 6.1: "A server MUST NOT send a response containing Transfer-Encoding unless the
    corresponding request indicates HTTP/1.1 (or later minor revisions)." (HTTP-11.a) The app
    streams a response without Content-Length, which an HTTP/1.1 server would chunk."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=8)
    conn.send(_request(ctx, "GET", "/probe/stream?blocks=2&wait=0.05", rid, version="HTTP/1.0"))
    conn.read_until_close(timeout=6)
    response = conn.read_response(timeout=0.1)
    conn.close()
    if response.status != 200:
        raise HarnessError(f"GET /probe/stream in HTTP/1.0 was answered "
                           f"{response.status or 'with nothing'} within 6 s, not the app's 200")
    framing = response.header("transfer-encoding")
    if framing is not None:
        ctx.finding("HTTP-11.a", f"the response to an HTTP/1.0 request has Transfer-Encoding: "
                                 f"{framing!r}")
    elif b"block-2" not in response.body:
        raise HarnessError("the streamed response to an HTTP/1.0 request (no Transfer-Encoding) "
                           "did not arrive whole within 6 s: the framing could not be judged")


def _read_interim(conn: Connection, wait: float) -> None:
    """Read what the server sends before the body within ``wait`` (a bounded gate)."""
    deadline = time.monotonic() + wait
    while not conn.eof and b"\r\n\r\n" not in conn.received and time.monotonic() < deadline:
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(deadline - time.monotonic())


CONTINUE_ANSWER = 5.0  # seconds for the final response once the body is sent


def _expect_exchange(ctx: CheckContext, version: str, gate: float) -> tuple[list[Response], str]:
    """POST with Expect: 100-continue; the body goes after ``gate`` seconds, or at once when
    something arrived. Returns every response (interim ones too) and the request id."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=CONTINUE_ANSWER + 1)
    conn.send(_request(ctx, "POST", "/desync/continue", rid, version=version,
                       extra=b"Expect: 100-continue\r\nContent-Length: 5\r\n"))
    _read_interim(conn, gate)
    with contextlib.suppress(OSError):
        conn.send(b"hello")
    conn.read_response(method="POST", timeout=CONTINUE_ANSWER, skip_interim=False)
    with contextlib.suppress(WireTimeout, OSError):
        conn.read_until_close(timeout=0.3)
    responses = parse_responses(bytes(conn.received), ["POST"], eof=conn.eof)
    conn.close()
    return responses, rid


def _expect_http11(ctx: CheckContext, unjudged: Unjudged) -> None:
    responses, rid = _expect_exchange(ctx, "HTTP/1.1", 1.0)
    interim = [r for r in responses if 100 <= r.status < 200]
    finals = _finals(responses)
    # Several 1xx are allowed (9110 15: "zero or more interim (non-final) responses"); each
    # must be bodiless and unframed.
    for resp in interim:
        for name, ref in ((b"content-length", "HTTP-10.f"), (b"transfer-encoding", "HTTP-10.g")):
            if resp.header_all(name.decode()):
                ctx.finding(ref, f"the {resp.status} interim response carries "
                                 f"{name.decode()}: {resp.header_all(name.decode())!r}")
    if not finals:
        ref = "HTTP-12.h" if interim else "HTTP-12.a"
        ctx.finding(ref, f"no final response within {CONTINUE_ANSWER:g} s after the body was "
                         f"sent ({len(interim)} interim response(s) before it)")
        return
    if finals[0].status != 200:
        unjudged.add(f"HTTP/1.1 with Expect: 100-continue was answered {finals[0].status}, not "
                     "the app's 200: what the app read could not be judged")
        return
    body = [e.get("body") for e in ctx.journal.for_rid(rid) if e["event"] == "body"]
    if body != [b"hello"]:
        ref = "HTTP-12.c" if ctx.target.interface == "wsgi" else "ASGI-HTTP-01.c"
        ctx.finding(ref, f"with Expect: 100-continue the app read {body!r}, not the body "
                         "b'hello'")


def _expect_http10(ctx: CheckContext, unjudged: Unjudged) -> None:
    # Nothing should come before the body, so the gate is kept short.
    responses, _ = _expect_exchange(ctx, "HTTP/1.0", 0.5)
    interim = [r for r in responses if 100 <= r.status < 200]
    if interim:
        ctx.finding("HTTP-12.f", f"{len(interim)} interim {interim[0].status} response(s) were "
                                 "sent to an HTTP/1.0 request with Expect: 100-continue")
    if not _finals(responses):
        unjudged.add(f"the HTTP/1.0 request with Expect: 100-continue had no final response "
                     f"within {CONTINUE_ANSWER:g} s after its body")


@check(id="http-connection.expect-continue", title="Expect: 100-continue gets 100s or a final "
       "status, clean 1xx and the body; ignored for HTTP/1.0",
       requirements=["HTTP-12", "HTTP-10", "ASGI-HTTP-01"], level=Level.MUST, interfaces=BOTH,
       via=DIRECT, section="RFC 9110 10.1.1, 15, 8.6; RFC 9112 6.1")
def expect_continue(ctx: CheckContext) -> None:
    """RFC 9110 10.1.1: an origin server "MUST send either:" an immediate final status or an
    immediate 100 (HTTP-12.a), and "A server that sends a 100 (Continue) response MUST
    ultimately send a final status code, once it receives and processes the request content,
    unless the connection is closed prematurely." (HTTP-12.h). Several 100s are allowed: "A
    single request can have multiple associated responses: zero or more interim (non-final)
    responses with status codes in the "informational" (1xx) range, followed by exactly one
    final response with a status code in one of the other ranges." (HTTP-12.d). A 1xx carries
    no Content-Length or Transfer-Encoding (HTTP-10.f, HTTP-10.g). The app must read the body:
    PEP 3333 "Servers and gateways that implement HTTP 1.1 must provide transparent support for
    HTTP 1.1's "expect/continue" mechanism." (HTTP-12.c); ASGI "body (*byte string*) -- Body
    of the request." (ASGI-HTTP-01.c). "A server that receives a 100-continue expectation in an
    HTTP/1.0 request MUST ignore that expectation." (HTTP-12.f). The client waits up to 1 s
    for the 100 (a gate, not a verdict), then sends the body."""
    unjudged = Unjudged()
    with ctx.case("HTTP/1.1"):
        _expect_http11(ctx, unjudged)
    with ctx.case("HTTP/1.0"):
        _expect_http10(ctx, unjudged)
    unjudged.raise_if_any()


def _unread_body(parts: Parts) -> bytes:
    return (b"POST /probe/no-read HTTP/1.1\r\n" + parts.base
            + b"Content-Length: %d\r\n\r\n" % len(parts.smuggle) + parts.smuggle)


def _unread_continue(parts: Parts) -> bytes:
    return (b"POST /probe/no-read HTTP/1.1\r\n" + parts.base + b"Expect: 100-continue\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(parts.smuggle) + parts.smuggle)


# The body is a complete request: a server that neither drains nor closes serves it.
UNREAD_CASES = [
    Case("body the app never read", _unread_body, framing="HTTP-13.f"),
    Case("unread body after Expect: 100-continue", _unread_continue, framing="HTTP-12.j"),
]


def _persistence_http11(ctx: CheckContext, unjudged: Unjudged) -> None:
    conn, responses, _ = _pipeline(ctx, _request(ctx, "GET", "/desync/keep", ctx.new_rid()),
                                   "GET")
    if not responses or responses[0].status != 200:
        conn.close()
        unjudged.add(f"GET /desync/keep was answered "
                     f"{responses[0].status if responses else 'with nothing'}, not 200")
        return
    first = responses[0]
    if first.keeps_alive():
        _unanswered(ctx, conn, responses, 2, "GET and a pipelined GET", closed_too=True)
    elif not conn.eof and not conn.read_until_close(timeout=READ):
        ref = "HTTP-13.g" if announces_close(first) else "HTTP-13.e"
        ctx.finding(ref, f"the {first.version} response said the connection closes, but it "
                         f"was still open {READ:g} s later")
    conn.close()


def _persistence_http10(ctx: CheckContext) -> None:
    conn, responses, marker = _pipeline(ctx, _request(ctx, "GET", "/desync/keep10",
                                                      ctx.new_rid(), version="HTTP/1.0"), "GET")
    conn.close()
    if ctx.journal.for_rid(marker):
        said = (f"its {responses[0].version} response "
                + ("announced keep-alive" if responses[0].keeps_alive() else "did not announce "
                   "keep-alive")) if responses else "no response was read"
        ctx.finding("HTTP-13.e", "after an HTTP/1.0 request without keep-alive the server "
                                 f"served the next request on the same connection ({said})")


@check(id="http-connection.persistence", title="HTTP/1.1 persists by default, 1.0 only with "
       "keep-alive; an unread body is drained or the connection closed",
       requirements=["HTTP-13", "HTTP-12"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 9.3, 9.6")
def persistence(ctx: CheckContext) -> None:
    """RFC 9112 9.3: "A server MUST read the entire request message body or close the
    connection after sending its response; otherwise, the remaining data on a persistent
    connection would be misinterpreted as the next request." (HTTP-13.f; HTTP-12.j after
    Expect: the unread body here is itself a request, and serving it is a desync). "A server
    that does not support persistent connections MUST send the "close" connection option in
    every response message that does not have a 1xx (Informational) status code." (HTTP-13.c:
    a response without "close" and an unanswered pipelined request). For HTTP/1.0 without
    keep-alive: "The connection will close after the current response." (HTTP-13.e). 9.6: "A
    server that sends a "close" connection option MUST initiate closure of the connection (see
    below) after it sends the response containing the "close" connection option." (HTTP-13.g)
    """
    unjudged = Unjudged()
    run_cases(ctx, UNREAD_CASES)
    with ctx.case("HTTP/1.1 persists"):
        _persistence_http11(ctx, unjudged)
    with ctx.case("HTTP/1.0 without keep-alive"):
        _persistence_http10(ctx)
    unjudged.raise_if_any()


@check(id="http-connection.pipelining-order", title="pipelined requests are answered in order",
       requirements=["HTTP-14", "HTTP-13"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 9.3.2, 9.3")
def pipelining_order(ctx: CheckContext) -> None:
    """RFC 9112 9.3.2: "A server MAY process a sequence of pipelined requests in parallel if
    they all have safe methods (Section 9.2.1 of [HTTP]), but it MUST send the corresponding
    responses in the same order that the requests were received." (HTTP-14.a) Three requests in
    one write ask for 201, 202, 203. Fewer answers on a connection left open break 9.3 when the
    responses did not announce "close" (HTTP-13.c, as in http-connection.persistence), and 9.6
    when they did (HTTP-13.g)."""
    data = b"".join(_request(ctx, "GET", f"/probe/framing-status?code={code}", ctx.new_rid())
                    for code in (201, 202, 203))
    conn = ctx.connect(timeout=READ + 1)
    conn.send(data)
    deadline = time.monotonic() + READ
    while not conn.eof and time.monotonic() < deadline:
        if len(parse_responses(bytes(conn.received), ["GET"] * 3, eof=False)) >= 3:
            break
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(deadline - time.monotonic())
    responses = parse_responses(bytes(conn.received), ["GET"] * 3, eof=conn.eof)
    conn.close()
    statuses = [r.status for r in responses]
    if statuses != [201, 202, 203][: len(statuses)]:
        ctx.finding("HTTP-14.a", f"pipelined requests for 201, 202, 203 were answered "
                                 f"{statuses}")
    _unanswered(ctx, conn, responses, 3, "three pipelined GETs")


@check(id="http-connection.close", title="Connection: close is answered, then the connection "
       "closes and later requests are not processed", requirements=["HTTP-15"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section="RFC 9112 9.6")
def connection_close(ctx: CheckContext) -> None:
    """RFC 9112 9.6: "A server that receives a "close" connection option MUST initiate closure
    of the connection (see below) after it sends the final response to the request that
    contained the "close" connection option." (HTTP-15.a) "The server SHOULD send a "close"
    connection option in its final response on that connection." (HTTP-15.c, a warn) "The
    server MUST NOT process any further requests received on that connection." (HTTP-15.b)
    Pipelining after "close" breaks the client's own rule (HTTP-15.d), so any answer to the
    first request is acceptable; only what happens to the second is judged."""
    conn, responses, marker = _pipeline(
        ctx, _request(ctx, "GET", "/desync/close", ctx.new_rid(), extra=b"Connection: close\r\n"),
        "GET")
    with contextlib.suppress(WireTimeout, OSError):
        conn.read_until_close(timeout=READ)
    processed = bool(ctx.journal.for_rid(marker))
    if processed or len(_finals(responses)) >= 2:
        ctx.finding("HTTP-15.b", "the request pipelined after Connection: close was "
                                 + ("processed by the app" if processed else "answered")
                                 + f" ({len(_finals(responses))} responses)")
    if not conn.eof:
        ctx.finding("HTTP-15.a", f"the server did not close the connection within {READ:g} s "
                                 "of its response to the request with Connection: close")
    if responses and responses[0].version == "HTTP/1.1" and not announces_close(responses[0]):
        ctx.finding("HTTP-15.c", "the final response did not carry Connection: close")


@check(id="http-connection.date", title="responses carry one valid Date header",
       requirements=["HTTP-17"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9110 6.6.1, 5.6.7; PEP 3333")
def date_header(ctx: CheckContext) -> None:
    """RFC 9110 6.6.1: "An origin server with a clock (as defined in Section 5.6.7) MUST
    generate a Date header field in all 2xx (Successful), 3xx (Redirection), and 4xx (Client
    Error) responses, and MAY generate a Date header field in 1xx (Informational) and 5xx
    (Server Error) responses." The probe app sends none. For WSGI the server must add it: "if
    the application omits a header required by HTTP (or other relevant specifications that
    are in effect), the server or gateway must add it." (HTTP-17.b, PEP 3333). No ASGI text
    gives the server that duty (ASGI's protocol server is "A *protocol server*, which
    terminates sockets and translates them into connections and per-connection event
    messages."), so for ASGI a missing Date is reported (HTTP-17.d, info). A Date the server
    sends is one line (HTTP-17.e, RFC 9110 5.3) in the IMF-fixdate format (HTTP-17.c: "When a
    sender generates a field that contains one or more timestamps defined as HTTP-date, the
    sender MUST generate those timestamps in the IMF-fixdate format.")."""
    response = ctx.request("GET", "/desync/date").response
    if response.status != 200:
        raise HarnessError(f"GET /desync/date was answered {response.status or 'with nothing'}, "
                           "not the app's 200")
    values = response.header_all("date")
    if not values:
        ref = "HTTP-17.b" if ctx.target.interface == "wsgi" else "HTTP-17.d"
        ctx.finding(ref, "the 200 response to GET /desync/date has no Date field (the app "
                         "sent none)")
    if len(values) > 1:
        ctx.finding("HTTP-17.e", f"the 200 response has {len(values)} Date fields: {values!r}")
    for value in values:
        if not _imf_fixdate(value):
            ctx.finding("HTTP-17.c", f"Date {value!r} is not an IMF-fixdate")


def _imf_fixdate(value: bytes) -> bool:
    with contextlib.suppress(TypeError, ValueError):
        return (email.utils.parsedate_to_datetime(value.decode("latin-1")) is not None
                and value.endswith(b" GMT"))
    return False


# The framing of the invalid request is intact (its head ended), so keeping the connection open
# after a 400 breaks only RFC 9112 2.2's SHOULD; serving the bad request is the same SHOULD. A
# 400 that announced "close" and is followed by more answers breaks 9.6's MUST.
_INVALID: Rules = {"reject": "HTTP-18.a", "respond": "HTTP-18.a", "close_after_reject": "HTTP-18.a",
            "announced_close": "HTTP-18.d"}
INVALID_CASES = [
    Case("field line without a colon", get(b"NoColonHere\r\n"), **_INVALID),
    Case("request-line with an extra word",
         lambda p: b"GET /probe/read-all?case=invalid HTTP/1.1 extra\r\n" + p.base + b"\r\n",
         **_INVALID),
    Case("lower-case protocol name",
         lambda p: b"GET /desync/invalid http/1.1\r\n" + p.base + b"\r\n", **_INVALID),
    Case("method with a control character", get(b"", method=b"G\x01T"), **_INVALID),
]


@check(id="http-connection.invalid-then-valid", title="after rejecting an invalid request the "
       "pipelined valid one is not served", requirements=["HTTP-18"], level=Level.MUST,
       interfaces=BOTH, via=DIRECT, section="RFC 9112 2.2, 9.6")
def invalid_then_valid(ctx: CheckContext) -> None:
    """RFC 9112 2.2: "When a server listening only for HTTP request messages, or processing
    what appears from the start-line to be an HTTP request message, receives a sequence of
    octets that does not match the HTTP-message grammar aside from the robustness exceptions
    listed above, the server SHOULD respond with a 400 (Bad Request) response and close the
    connection." (HTTP-18.a, a warn: serving the invalid request, or answering the pipelined
    valid one after the 400). 9.6: "A server that sends a "close" connection option MUST
    initiate closure of the connection (see below) after it sends the response containing the
    "close" connection option." (HTTP-18.d: a 400 with Connection: close, then more answers).
    """
    run_cases(ctx, INVALID_CASES)
