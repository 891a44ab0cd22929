"""asgi.rst, "Error Handling": invalid send() events and exceptions out of the application."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import partial

from conformance.catalogue import check
from conformance.checks.support.overlap import overlapped
from conformance.context import CheckContext
from conformance.probes.asgi_respond import MARKER
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level
from conformance.wire import Connection, Response, request_bytes

# The suite's bound for a server to end a connection whose app raised: the probe raises at once
# (0.2 s after its first block mid-response), so 3 s is ample on a loaded machine.
TERMINATE_BOUND = 3.0
# raise-after-start: the probe's sleep between its 8 body bytes and its raise, and the part
# of the response the client waits for before the clock of TERMINATE_BOUND starts.
RAISE_AFTER = 0.2
FIRST_BODY_BYTES = b"partial\n"


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
    id="asgi.invalid-events",
    title="invalid send() events raise (or end the connection) and never reach the wire",
    requirements=["ASGI-HTTP-08"],
    level=Level.MUST,
    interfaces=("asgi",),
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
    9112 11.1: HARDENING). Ending the connection instead of raising is accepted, and must be
    real: a send() that neither raised nor let the response complete, on a connection still
    open 3 s later, took neither way (a finding on the case's sentence)."""
    # The five requests go out at once, each on its connection (left open until the check
    # ends, as they always were); each connection's waits keep their bounds (overlap.py).
    sent = [_send_invalid(ctx, kind) for kind in INVALID_KINDS]
    responses = overlapped([partial(_read_invalid, conn) for _, conn in sent])
    for (kind, ref), (rid, conn), response in zip(INVALID_KINDS.items(), sent, responses,
                                                   strict=True):
        with ctx.case(kind):
            _judge_invalid(ctx, kind, ref, rid, conn, response)


def _send_invalid(ctx: CheckContext, kind: str) -> tuple[str, Connection]:
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", f"{Route.RESPOND}?case=invalid&kind={kind}",
                            ctx.base_headers(rid) + [("Connection", "close")]))
    return rid, conn


def _read_invalid(conn: Connection) -> Response:
    # Short bounds: a correct server answers (or aborts) at once; a server that leaves
    # the connection hanging must not cost more than a few seconds per case.
    response = conn.read_response(timeout=INVALID_WAIT)
    conn.read_until_close(timeout=INVALID_WAIT / 2)
    return response


def _judge_invalid(ctx: CheckContext, kind: str, ref: str | None, rid: str, conn: Connection,
                   response: Response) -> None:
    result = ctx.journal.wait_event(rid, Event.SEND_RESULT, timeout=INVALID_WAIT)
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
    elif not raised and not response.complete and not conn.eof:
        # The other alternative is earned only by a connection that really ended: a response
        # that never completes on a connection left open is neither.
        sent = (f"a {response.status} response left incomplete" if response.status else
                f"{len(received)} bytes and no response" if received else "nothing")
        problems.append(f"send() did not raise (journalled: "
                        f"{'no send() result' if result is None else 'it returned'}) and the "
                        f"connection was still open {INVALID_WAIT * 1.5:g} s after the request, "
                        f"with {sent} on it: neither raised nor ended the connection")
    if problems and ref is not None:
        ctx.finding(ref, "; ".join(problems))


@check(
    id="asgi.app-exception",
    title="an app exception ends the application instance and its connection",
    requirements=["ASGI-HTTP-09"],
    level=Level.MUST,
    interfaces=("asgi",),
    own_server=True,
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

    Findings: before the start, a server that neither answers nor closes within 6 s leaves
    the request open (MUST; a response followed by further requests on the same socket is
    fine); after the start only a close can end the request, so a connection still open 3 s
    after the raise (counted from the arrival of the 8 body bytes, plus the app's 0.2 s) is a
    fail. No sentence names a status: asgi-www.rst says only "This may give them
    more leeway to replace the response with an error response in case internal errors
    occur while handling the request." (ASGI-HTTP-09.b), so a 5xx or a close passes and any
    other answer, like what follows an app that returns without responding, is reported
    (INFO).

    The check runs on a server of its own (behind an nginx of its own via nginx): what an
    app's exception does to a server can outlast the request (daphne's periodic reaper dies
    on a raise after the start, and answers no later exception in that process), so on the
    shared server one cell's verdict would depend on the cells that ran before it."""
    endpoint = _fresh_endpoint(ctx)
    # The three requests go out at once, each on its connection; each connection's waits
    # keep their bounds, counted from its own request (overlap.py).
    before, after, returned = (_send_case(ctx, endpoint, case, timeout) for case, timeout in (
        ("raise-before-start", 5.0), ("raise-after-start", 5.0), ("no-response", 3.0)))
    waited = overlapped([partial(_await_before_start, before), partial(_await_close, after),
                         partial(_await_no_response, returned)])
    with ctx.case("raise-before-start"):
        _raise_before_start(ctx, before, *waited[0])
    with ctx.case("raise-after-start"):
        _raise_after_start(ctx, after, waited[1])
    with ctx.case("no-response"):
        _no_response(ctx, returned, waited[2])


@dataclass(frozen=True)
class _Endpoint:
    """Where the check's requests go, and the client TLS context there (None: plain)."""

    host: str
    port: int
    tls: ssl.SSLContext | None


def _fresh_endpoint(ctx: CheckContext) -> _Endpoint:
    """A server started for this check alone, reached as the check's path reaches the shared
    one: directly, or through an nginx of its own."""
    server = ctx.start_server(label="app-exception")
    if ctx.via == "direct":
        return _Endpoint(server.host, server.port, server.client_tls())
    nginx = ctx.nginx_in_front(server)
    return _Endpoint(nginx.host, nginx.port, nginx.client_tls())


def _send_case(ctx: CheckContext, endpoint: _Endpoint, case: str,
               timeout: float) -> Connection:
    conn = ctx.connect(host=endpoint.host, port=endpoint.port, timeout=timeout,
                       tls=endpoint.tls)
    conn.send(request_bytes("GET", f"{Route.RESPOND}?case={case}",
                            [("Host", f"{endpoint.host}:{endpoint.port}"),
                             ("X-Probe-Id", ctx.new_rid())]))
    return conn


def _await_before_start(conn: Connection) -> tuple[Response, bool]:
    """The response, and whether the request ended: answered, or the connection closed."""
    response = conn.read_response(timeout=TERMINATE_BOUND)
    return response, (bool(response.status) or conn.eof
                      or conn.read_until_close(timeout=TERMINATE_BOUND))


def _await_close(conn: Connection) -> bool:
    # The status is on the wire and 92 promised bytes are missing: closing the connection is
    # the only way left to end the request. The bound is counted from the arrival of the 8
    # body bytes the app sends 0.2 s before it raises (so dispatch and the app's start are
    # not taken out of it); if they never come within the connection's own timeout, from
    # then.
    conn.read_until(FIRST_BODY_BYTES, timeout=conn.timeout)
    return conn.read_until_close(timeout=RAISE_AFTER + TERMINATE_BOUND + 0.3)


def _await_no_response(conn: Connection) -> Response:
    response = conn.read_response(method="GET", timeout=3.0)
    # Close at once, as ctx.request does: some servers wait for an idle client to go.
    conn.close()
    return response


def _raise_before_start(ctx: CheckContext, conn: Connection, response: Response,
                        ended: bool) -> None:
    status = response.status
    if status and not 500 <= status < 600:
        ctx.finding("ASGI-HTTP-09.b", f"the app raised before http.response.start and the "
                                      f"response the client got is {status}, not an error")
    # A response ends the request, and with it the connection scope, even on a socket kept
    # open for further requests (asgi-www.rst, HTTP Connection Scope); so does a close.
    # Through nginx, which answers 502 once the server closes, no answer means neither.
    who = "nginx" if ctx.via == "nginx" else "the server"
    ctx.require(ended, "ASGI-HTTP-09.a",
                f"the app raised before http.response.start and {who} neither answered nor "
                f"closed the connection within {2 * TERMINATE_BOUND:g}s: the request was left "
                "open instead of terminated")


def _raise_after_start(ctx: CheckContext, conn: Connection, closed: bool) -> None:
    ctx.require(closed, "ASGI-HTTP-09.a",
                f"the app raised {RAISE_AFTER:g} s after sending 8 of 100 promised body bytes "
                f"and the connection was still open {TERMINATE_BOUND:g}s later "
                f"({len(conn.received)} bytes received): the request was not terminated")


def _no_response(ctx: CheckContext, conn: Connection, response: Response) -> None:
    status = response.status
    if 500 <= status < 600:
        return
    what = (f"answered {status}" if status else
            "closed the connection without a response" if conn.eof
            else "sent nothing within 3 s, leaving the connection open")
    ctx.finding("ASGI-HTTP-09.b", f"the app returned without sending a response and the server "
                                  f"{what} (no sentence says what it should do)")
