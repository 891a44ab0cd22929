"""ASGI response events as they reach the wire (asgi-www.rst "Response Start", "Response
Body"; asgi.rst "Error Handling"; RFC 9110 / RFC 9112 for what a response without a body is).

The probe app (``/probe/respond?case=...``, conformance/probes/asgi_respond.py) sends the
events; the client reads the bytes. Where a response could leave stray bytes behind, a
pipelined follow-up request on the same connection shows whether the next response still
starts where it should.
"""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.support.common import problems_text
from conformance.context import CheckContext
from conformance.probes.asgi_respond import MARKER
from conformance.verdicts import Level
from conformance.wire import Connection, Response, request_bytes

ASGI = ("asgi",)
FOLLOW_UP_BODY = b"ready\n"
# The suite's bound for a server to end a connection whose app raised: the probe raises at once
# (0.2 s after its first block mid-response), so 5 s is ample on a loaded machine.
TERMINATE_BOUND = 5.0


def _pipelined(ctx: CheckContext, method: str, target: str,
               rid: str) -> tuple[Connection, Response, Response | None]:
    """Send ``method target`` and a follow-up GET /probe/ready in one write; both responses
    (the second None when the server closed after the first, which is valid framing)."""
    first = request_bytes(method, target, ctx.base_headers(rid))
    follow = request_bytes("GET", "/probe/ready", [("Host", f"{ctx.host}:{ctx.port}"),
                                                   ("Connection", "close")])
    conn = ctx.connect()
    conn.send(first + follow)
    response = conn.read_response(method=method, timeout=5.0)
    second = None
    if response.complete and response.keeps_alive() and not conn.eof:
        second = conn.read_response(timeout=5.0)
    elif response.complete and not conn.eof:
        conn.read_until_close(timeout=2.0)
    return conn, response, second


def _stray_bytes(conn: Connection, second: Response | None) -> list[str]:
    """What shows bytes left where none belong: the app's marker on the wire, or a pipelined
    follow-up whose response does not start where the first one ended."""
    found = []
    if MARKER in bytes(conn.received):
        found.append(f"the app's bytes {MARKER!r} reached the client")
    # (A server may close instead of answering the pipelined request: nothing stray.)
    closed_instead = second is not None and second.status == 0 and not second.raw and conn.eof
    answered = second is not None and second.status == 200 and second.body == FOLLOW_UP_BODY
    if second is not None and not closed_instead and not answered:
        found.append(f"the pipelined follow-up request got status {second.status}, body "
                     f"{second.body[:60]!r} ({problems_text(second)}), not 200 "
                     f"{FOLLOW_UP_BODY!r}: bytes were left on the connection before it")
    return found


@check(
    id="asgi-http.app-transfer-encoding",
    title="an app-sent Transfer-Encoding is ignored; the response has exactly one valid framing",
    requirements=["ASGI-HTTP-06"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Response Start - send event'; RFC 9112 6.1, 6.3",
)
def app_transfer_encoding(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Start: "You may send a Transfer-Encoding header in this
    message, but the server must ignore it." The app sends ``transfer-encoding: chunked``
    (once alone, once with a matching ``content-length``: one sub-case each) and two plain
    body events.

    Findings (all MUST): no 200, a decoded body other than the app's bytes, a badly framed
    response or a garbled pipelined follow-up: the app's header was not ignored
    (ASGI-HTTP-06.a); Transfer-Encoding and Content-Length together ("A sender MUST NOT
    send a Content-Length header field in any message that contains a Transfer-Encoding
    header field.", ASGI-HTTP-06.c); chunked listed twice ("A sender MUST NOT apply the
    chunked transfer coding more than once to a message body", ASGI-HTTP-06.d)."""
    for case, label in (("app-te", "Transfer-Encoding"),
                        ("app-te-cl", "Transfer-Encoding and Content-Length")):
        with ctx.case(f"app sent {label}"):
            _judge_app_te(ctx, case)


def _judge_app_te(ctx: CheckContext, case: str) -> None:
    rid = ctx.new_rid()
    conn, response, second = _pipelined(ctx, "GET", f"/probe/respond?case={case}", rid)
    who = "nginx" if ctx.via == "nginx" else "the server"
    answer = (f"answered {response.status} ({problems_text(response)})" if response.status
              else "closed the connection without a response" if conn.eof
              else "sent no response within 5 s")
    ctx.require(response.status == 200, "ASGI-HTTP-06.a",
                f"{who} {answer} where the app's response differed from a plain 200 only in "
                "its Transfer-Encoding header")
    transfer = [c.strip().lower() for v in response.header_all("transfer-encoding")
                for c in v.split(b",")]
    if transfer and response.header_all("content-length"):
        ctx.finding("ASGI-HTTP-06.c", "the response carries both Transfer-Encoding "
                                      f"{transfer!r} and Content-Length")
    if transfer.count(b"chunked") > 1:
        ctx.finding("ASGI-HTTP-06.d", f"Transfer-Encoding lists chunked more than once: "
                                      f"{transfer!r}")
    framing = [p for p in response.problems if "both Transfer-Encoding" not in p]
    wrong = _stray_bytes(conn, second)
    if response.body != b"part-one;part-two":
        wrong.insert(0, f"the decoded body is {response.body[:80]!r}, not the app's "
                        "b'part-one;part-two'")
    if framing:
        wrong.insert(0, f"the response is badly framed: {framing}")
    if wrong:
        ctx.finding("ASGI-HTTP-06.a", "; ".join(wrong))


@check(
    id="asgi-http.nothing-after-final-body",
    title="a body sent after the final http.response.body never reaches the wire",
    requirements=["ASGI-HTTP-07"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'Response Body - send event' (more_body)",
)
def nothing_after_final_body(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Body: with ``more_body`` False the "response will be taken as
    complete and closed, and any further messages on the channel will be ignored". The app
    sends a complete response (200, 6 bytes) and then one more body event.

    Findings, both on definitions (MUST): a response other than 200 b"final\\n"
    (ASGI-HTTP-07.a: more_body False completes the response); the extra bytes on the wire or
    a garbled pipelined follow-up (ASGI-HTTP-07.b: further messages are ignored). Whether
    the extra send() raised is not judged: the response was already complete."""
    rid = ctx.new_rid()
    conn, response, second = _pipelined(ctx, "GET", "/probe/respond?case=after-final", rid)
    if not (response.status == 200 and response.body == b"final\n"):
        ctx.finding("ASGI-HTTP-07.a", f"the response is {response.status or 'nothing'} "
                                      f"{response.body[:60]!r}, not 200 b'final\\n'")
    ctx.observed(rid, "send-result")
    stray = _stray_bytes(conn, second)
    if stray:
        ctx.finding("ASGI-HTTP-07.b", "after a body sent past the final one: " + "; ".join(stray))


INVALID_WAIT = 2.0
# The invalid events, and the sentence each rests on (requirements.toml ASGI-HTTP-08): an
# invalid event dictionary should make send() raise (.a); a second start or a body before the
# start is an invalid sequence, which no sentence covers (.e, HARDENING). A bytes header value
# with CR LF has the right type and keys: it is not one of the invalid dictionaries .a names,
# so only its reaching the wire as a header line of its own is judged (.b).
INVALID_KINDS: dict[str, str | None] = {
    "unknown-type": "ASGI-HTTP-08.a", "body-before-start": "ASGI-HTTP-08.e",
    "start-twice": "ASGI-HTTP-08.e", "str-header": "ASGI-HTTP-08.a", "crlf-header": None}


@check(
    id="asgi-http.invalid-events",
    title="invalid send() events raise (or end the connection) and never reach the wire",
    requirements=["ASGI-HTTP-08"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi.rst 'Error Handling'; RFC 9110 2.2, 5.5; RFC 9112 11.1",
)
def invalid_events(ctx: CheckContext) -> None:
    """asgi.rst, Error Handling: "If a server receives an invalid event dictionary - for
    example, having an unknown type, missing keys an event type should have, or with wrong
    Python types for objects (e.g. Unicode strings for HTTP headers) - it should raise an
    exception out of the send awaitable back to the application." Five invalid events, one
    sub-case each: an unknown type, a str header value, a header value with CR LF (RFC 9110
    5.5: "Field values containing CR, LF, or NUL characters are invalid and dangerous"), a
    body before the start and a second start.

    Findings: for the unknown type and the str header value, send() accepting the event while
    the response completes normally, or the event's bytes on the wire, breaks the should
    (ASGI-HTTP-08.a, SHOULD). A CR LF value is bytes, as the spec asks, so accepting it is no
    finding; a CR LF that reaches the wire as a header line of its own breaks "A sender MUST NOT
    generate protocol elements that do not match the grammar defined by the corresponding
    ABNF rules." (ASGI-HTTP-08.b, MUST); replacing it (a space) keeps the value one field.
    The two invalid sequences are not invalid dictionaries and no sentence covers them:
    accepting them, or their bytes on the wire, is a missing defence (ASGI-HTTP-08.e, RFC
    9112 11.1: HARDENING). Ending the connection instead of raising is accepted."""
    for kind, ref in INVALID_KINDS.items():
        with ctx.case(kind):
            _judge_invalid(ctx, kind, ref)


def _judge_invalid(ctx: CheckContext, kind: str, ref: str | None) -> None:
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", f"/probe/respond?case=invalid&kind={kind}",
                            ctx.base_headers(rid) + [("Connection", "close")]))
    # Short bounds: a correct server answers (or aborts) at once; a server that leaves
    # the connection hanging must not cost more than a few seconds per case.
    response = conn.read_response(timeout=INVALID_WAIT)
    conn.read_until_close(timeout=INVALID_WAIT / 2)
    result = ctx.journal.wait_event(rid, "send-result", timeout=INVALID_WAIT)
    raised = bool(result and result["raised"])
    received = bytes(conn.received)
    problems = []
    if kind == "crlf-header" and (b"\n" + MARKER) in received:
        ctx.finding("ASGI-HTTP-08.b", "the CR LF in the app's header value reached the wire "
                                      f"and made {MARKER.decode()!r} a header line of its own")
    elif kind != "crlf-header" and MARKER in received:
        problems.append("the invalid event's bytes reached the client")
    if not raised and response.complete and response.status < 500:
        problems.append(f"send() accepted the event and the response completed normally "
                        f"({response.status})")
    if problems and ref is not None:
        ctx.finding(ref, "; ".join(problems))


@check(
    id="asgi-http.app-exception",
    title="an app exception ends the application instance and its connection",
    requirements=["ASGI-HTTP-09"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi.rst 'Error Handling'",
)
def app_exception(ctx: CheckContext) -> None:
    """asgi.rst, Error Handling: "Servers are free to surface errors that bubble up out of
    application instances they are running however they wish - log to console, send to
    syslog, or other options - but they must terminate the application instance and its
    associated connection if this happens." (ASGI-HTTP-09.a, MUST). For HTTP that connection
    is the request: "HTTP connections have a single-request *connection scope*", which lasts
    "until the end of that specific request, even if the underlying socket is still open and
    serving multiple requests" (asgi-www.rst). Three sub-cases: the app raises before
    http.response.start; it raises after the start and 8 of 100 promised body bytes; it
    returns without responding.

    Findings: before the start, a server that neither answers nor closes within 10 s leaves
    the request open (MUST; a response followed by further requests on the same socket is
    fine); after the start only a close can end the request, so a connection still open 5 s
    later is a fail. No sentence names a status: asgi-www.rst says only "This may give them
    more leeway to replace the response with an error response in case internal errors
    occur while handling the request." (ASGI-HTTP-09.b), so a 5xx or a close passes and any
    other answer, like what follows an app that returns without responding, is reported
    (INFO)."""
    with ctx.case("raise-before-start"):
        _raise_before_start(ctx)
    with ctx.case("raise-after-start"):
        _raise_after_start(ctx)
    with ctx.case("no-response"):
        _no_response(ctx)


def _raise_before_start(ctx: CheckContext) -> None:
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/respond?case=raise-before-start",
                            ctx.base_headers(ctx.new_rid())))
    response = conn.read_response(timeout=TERMINATE_BOUND)
    status = response.status
    if status and not 500 <= status < 600:
        ctx.finding("ASGI-HTTP-09.b", f"the app raised before http.response.start and the "
                                      f"response the client got is {status}, not an error")
    # A response ends the request, and with it the connection scope, even on a socket kept
    # open for further requests (asgi-www.rst, HTTP Connection Scope); so does a close.
    # Through nginx, which answers 502 once the server closes, no answer means neither.
    who = "nginx" if ctx.via == "nginx" else "the server"
    ctx.require(bool(status) or conn.eof or conn.read_until_close(timeout=TERMINATE_BOUND),
                "ASGI-HTTP-09.a",
                f"the app raised before http.response.start and {who} neither answered nor "
                f"closed the connection within {2 * TERMINATE_BOUND:g}s: the request was left "
                "open instead of terminated")


def _raise_after_start(ctx: CheckContext) -> None:
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/respond?case=raise-after-start",
                            ctx.base_headers(ctx.new_rid())))
    # The status is on the wire and 92 promised bytes are missing: closing the connection is
    # the only way left to end the request.
    ctx.require(conn.read_until_close(timeout=TERMINATE_BOUND + 0.5), "ASGI-HTTP-09.a",
                f"the app raised 0.2 s after sending 8 of 100 promised body bytes and the "
                f"connection was still open {TERMINATE_BOUND:g}s later "
                f"({len(conn.received)} bytes received): the request was not terminated")


def _no_response(ctx: CheckContext) -> None:
    exchange = ctx.request("GET", "/probe/respond?case=no-response", timeout=3.0)
    status = exchange.response.status
    if 500 <= status < 600:
        return
    what = (f"answered {status}" if status else
            "closed the connection without a response" if exchange.connection.eof
            else "sent nothing within 3 s, leaving the connection open")
    ctx.finding("ASGI-HTTP-09.b", f"the app returned without sending a response and the server "
                                  f"{what} (no sentence says what it should do)")


@check(
    id="asgi-http.no-body-responses",
    title="HEAD, 204 and 304 responses carry no body even when the app sends one",
    requirements=["ASGI-HTTP-10"],
    level=Level.MUST,
    interfaces=ASGI,
    section="RFC 9110 8.6, 9.3.2, 15.3.5, 15.4.5; RFC 9112 6.1, 6.3",
)
def no_body_responses(ctx: CheckContext) -> None:
    """RFC 9110 9.3.2: "The HEAD method is identical to GET except that the server MUST NOT
    send content in the response." RFC 9110 15.3.5 and 15.4.5: "A 204 response is
    terminated by the end of the header section; it cannot contain content or trailers.",
    and the same of a 304 (framing definitions). RFC 9110 8.6: "A server MUST NOT send a
    Content-Length header field in any response with a status code of 1xx (Informational) or
    204 (No Content)." RFC 9112 6.1 says the same of Transfer-Encoding. The app sends a body
    anyway (HEAD answered 200, GET answered 204, GET answered 304: one sub-case each).

    Findings (all MUST): the app's bytes on the wire, or a pipelined follow-up whose
    response does not start where the first ended (HEAD: ASGI-HTTP-10.a; 204:
    ASGI-HTTP-10.d; 304: ASGI-HTTP-10.e); Content-Length or Transfer-Encoding on the 204
    (ASGI-HTTP-10.f, .g). A 304 and a HEAD response may carry them ("A server MAY send a
    Content-Length header field in a 304 (Not Modified) response to a conditional GET
    request"; "Transfer-Encoding MAY be sent in a response to a HEAD request or in a 304 (Not
    Modified) response"), so those are not findings."""
    for method, status, ref in (("HEAD", 200, "ASGI-HTTP-10.a"), ("GET", 204, "ASGI-HTTP-10.d"),
                                ("GET", 304, "ASGI-HTTP-10.e")):
        label = f"{method} answered {status}"
        with ctx.case(label):
            rid = ctx.new_rid()
            conn, response, second = _pipelined(
                ctx, method, f"/probe/respond?case=with-body&status={status}", rid)
            stray = _stray_bytes(conn, second)
            if stray:
                ctx.finding(ref, f"response {response.status or 'none'}: " + "; ".join(stray))
            if response.status == 204:
                if response.header_all("content-length"):
                    ctx.finding("ASGI-HTTP-10.f", "the 204 response carries Content-Length "
                                                  f"{response.header_all('content-length')}")
                if response.header_all("transfer-encoding"):
                    ctx.finding("ASGI-HTTP-10.g", "the 204 response carries Transfer-Encoding "
                                                  f"{response.header_all('transfer-encoding')}")
