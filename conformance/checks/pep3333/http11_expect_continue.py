"""PEP 3333, "HTTP 1.1 Expect/Continue"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.pep3333.input_operations import BODY, RESPONSE_BOUND, STEP_DEADLINE
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level
from conformance.wire import Connection, Response, request_bytes


def _expect_100(ctx: CheckContext, target: str, body: bytes) -> tuple[Connection, str, bool]:
    """Send the head with Expect: 100-continue; wait STEP_DEADLINE for the 100 (or any other
    response head) before the body goes."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=STEP_DEADLINE + RESPONSE_BOUND)
    conn.send(request_bytes("POST", target, ctx.base_headers(rid) + [
        ("Content-Length", str(len(body))), ("Expect", "100-continue")]))
    conn.read_until(b"\r\n\r\n", timeout=STEP_DEADLINE)
    got_100 = bytes(conn.received[9:13]) == b"100 "
    return conn, rid, got_100


def _send_body_unless_answered(conn: Connection, got_100: bool) -> bool:
    """A 100 invites the body (nginx sends one as it reads the body itself); a server that
    waits for the client to send it anyway (the PEP's third way) gets it after the wait, as
    RFC 9110 10.1.1 lets a client do. A final response or a close means no body is wanted.
    True when the client sent the body on its own, without a 100."""
    on_its_own = not got_100 and not conn.received and not conn.eof
    if got_100 or on_its_own:
        conn.send(BODY)
    return on_its_own


@check(
    id="pep3333.expect-continue",
    title="Expect: 100-continue: a 100 arrives (at once or on the first read); the body "
          "reaches the app; an app that never reads still completes",
    requirements=["WSGI-IN-07"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'HTTP 1.1 Expect/Continue'",
)
def expect_continue(ctx: CheckContext) -> None:
    """PEP 3333, HTTP 1.1 Expect/Continue: "Servers and gateways that implement HTTP 1.1 must
    provide transparent support for HTTP 1.1's "expect/continue" mechanism." (WSGI-IN-07.a,
    MUST): the body reaches the app and its response reaches the client, also when the app
    never reads the body. "This may be done in any of several ways": "100 Continue" at once
    (way 1) or on the first read (way 2, where "The read request must then remain blocked
    until the client responds.", WSGI-IN-07.e, MUST), or "Wait until the client decides that
    the server does not support expect/continue, and sends the request body on its own."
    (WSGI-IN-07.f, INFO), of which the PEP says "This is suboptimal, and is not recommended."
    (WSGI-IN-07.g, SHOULD NOT). RFC 9110 10.1.1: "A server that sends a 100 (Continue)
    response MUST ultimately send a final status code, once it receives and processes the
    request content, unless the connection is closed prematurely." (WSGI-IN-07.i). The client
    withholds the body for STEP_DEADLINE seconds waiting for the 100, then sends it anyway
    (RFC 9110 10.1.1 lets it). The app that never reads runs first: a 100 for it is way 1, so
    a 100 followed by a read that returns without the body is way 2's read not waiting. A
    server that answers as HTTP/1.0 does not implement HTTP 1.1, so no 100 from it is
    reported only."""
    with ctx.case("the app never reads the body"):
        way_1 = _expect_with_idle_app(ctx)
    with ctx.case("the app reads the body"):
        _expect_with_reading_app(ctx, way_1)


def _judge_final(ctx: CheckContext, conn: Connection, response: Response, got_100: bool,
                 what: str) -> None:
    """The app's 200 must reach the client; after a 100, silence on an open connection is
    the missing final status (WSGI-IN-07.i), anything else a mechanism not transparent."""
    if response.status == 200:
        return
    if got_100 and not response.status and not conn.eof:
        ctx.finding("WSGI-IN-07.i", f"{what}: after its 100 (Continue) the server sent no final "
                                    f"response within {RESPONSE_BOUND:g}s and kept the "
                                    "connection open")
    else:
        ctx.finding("WSGI-IN-07.a", f"{what}: the response to an Expect: 100-continue request "
                                    f"was {response.status or 'missing'}, not the app's 200 "
                                    f"(within {RESPONSE_BOUND:g}s)")


def _expect_with_reading_app(ctx: CheckContext, way_1: bool) -> None:
    conn, rid, got_100 = _expect_100(ctx, f"{Route.INPUT}?ops=read:{len(BODY)}", BODY)
    on_its_own = _send_body_unless_answered(conn, got_100)
    response = conn.read_response(timeout=RESPONSE_BOUND)
    steps = [e for e in ctx.journal.for_rid(rid) if e["event"] == Event.INPUT_STEP]
    if not steps or steps[0].get("result") != BODY:
        got = steps[0].get("result") if steps and "error" not in steps[0] else None
        read = repr(steps[0].get("result")) if steps else "nothing"
        if got_100 and not way_1 and isinstance(got, bytes) and BODY.startswith(got):
            ctx.finding("WSGI-IN-07.e", f"the 100 (Continue) came when the app read (none came "
                                        f"for the app that never reads), but read("
                                        f"{len(BODY)}) returned {read} without waiting for "
                                        "the body the 100 invited")
        else:
            ctx.finding("WSGI-IN-07.a", f"the app read {read}, expected the body {BODY!r}")
    _judge_final(ctx, conn, response, got_100, "an app that reads the body")
    if not on_its_own:
        return  # a 100 came, or a final response instead (judged above)
    if response.version == "HTTP/1.0":
        ctx.finding("WSGI-IN-07.f", f"no '100 Continue' within {STEP_DEADLINE:g}s; the server "
                                    "answers as HTTP/1.0, and the PEP's requirement is for "
                                    "servers that implement HTTP 1.1")
    else:
        ctx.finding("WSGI-IN-07.g", f"no '100 Continue' within {STEP_DEADLINE:g}s although the "
                                    "app reads the body: the client had to give up waiting "
                                    "and send the body on its own")


def _expect_with_idle_app(ctx: CheckContext) -> bool:
    """True when a 100 came although the app never reads (way 1: at once)."""
    conn, _, got_100 = _expect_100(ctx, f"{Route.INPUT}?ops=", BODY)
    _send_body_unless_answered(conn, got_100)
    response = conn.read_response(timeout=RESPONSE_BOUND)
    _judge_final(ctx, conn, response, got_100, "an app that never reads wsgi.input")
    # Done with it: a server that serves one connection at a time (gunicorn's sync worker)
    # would otherwise keep the next sub-case's 100 waiting on this one's close.
    conn.close()
    return got_100
