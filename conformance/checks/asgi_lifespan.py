"""ASGI lifespan protocol (asgi-lifespan.rst). Each check starts its own server, because the
lifespan behaviour of the probe app is fixed per process ($CONFORMANCE_LIFESPAN)."""

from __future__ import annotations

import time
from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.probes.asgi_app import LIFESPAN_ENV, STARTUP_FAILED_MESSAGE
from conformance.servers import ServerUnderTest, http_answers
from conformance.verdicts import Level
from conformance.wire import Response, WireTimeout, request_bytes

ASGI = ("asgi",)


def _index(events: list[dict[str, Any]], predicate: Any) -> int | None:
    return next((i for i, e in enumerate(events) if predicate(e)), None)


def _is_lifespan_event(event: dict[str, Any]) -> bool:
    return event["event"].startswith("lifespan")


@check(
    id="asgi-lifespan.startup-before-serving",
    title="no request reaches the app before lifespan.startup.complete",
    requirements=["ASGI-LIFE-01"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Startup - receive event'",
)
def startup_before_serving(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Startup: lifespan.startup is "sent to the application when the
    server is starting up. Applications should use this to perform setup ... Servers should
    not start accepting connections until the application has sent
    lifespan.startup.complete"; and the lifespan scope "exists for the duration of the event
    loop", started before requests: no request may reach the app before startup completed.
    The app's startup takes 1.5 s; the client keeps trying to send
    a request from the moment the server process starts. A server that sends no lifespan
    scope at all does not support the protocol: unsupported."""
    server = ctx.start_server(env={LIFESPAN_ENV: "slow"}, label="lifespan-slow", wait_ready=False)
    rid = ctx.new_rid()
    deadline = time.monotonic() + ctx.target.startup_timeout
    response = None
    while time.monotonic() < deadline and response is None:
        if not server.alive():
            ctx.fail(f"the server exited during a slow lifespan startup:\n{server.log_tail()}")
        try:
            conn = ctx.connect(host=server.host, port=server.port, timeout=1.0)
        except OSError:
            time.sleep(0.02)
            continue
        conn.send(request_bytes("GET", "/lifespan/early",
                                [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid)]))
        try:
            reply = conn.read_response(timeout=max(1.0, deadline - time.monotonic()))
        except WireTimeout:
            reply = None
        if reply is not None and reply.status:
            response = reply
    ctx.expect(response is not None, "the server never answered a request")
    server.journal.refresh()
    events = server.journal.events
    if not any(_is_lifespan_event(e) for e in events):
        ctx.unsupported("the server sent no lifespan scope (lifespan protocol not supported)")
    complete = _index(events, lambda e: e["event"] == "lifespan-send"
                      and e.get("type") == "lifespan.startup.complete")
    request = _index(events, lambda e: e.get("rid") == rid)
    ctx.expect(request is not None, "the request was answered but never reached the app")
    ctx.expect(complete is not None and complete < request,
               "the app received a request before it sent lifespan.startup.complete "
               f"(journal order: {[e['event'] for e in events][:12]})")


@check(
    id="asgi-lifespan.startup-failed-exits",
    title="after lifespan.startup.failed the server logs the message and exits, not serving",
    requirements=["ASGI-LIFE-03"],
    level=Level.SHOULD,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Startup Failed - send event'",
)
def startup_failed_exits(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Startup Failed: "Sent by the application when it has failed to
    complete its startup. If a server sees this it should log/print the message provided and
    then exit." The spec says should, so a server that serves anyway, exits with status 0 or
    does not log the message is a warn, not a fail."""
    server = ctx.start_server(env={LIFESPAN_ENV: "fail"}, label="lifespan-fail", wait_ready=False)
    assert server.process is not None
    deadline = time.monotonic() + ctx.target.startup_timeout
    code = None
    while code is None and time.monotonic() < deadline:
        code = server.process.wait_exit(0.1)
        if code is None and http_answers(server.host, server.port, timeout=0.5):
            server.journal.refresh()
            if not any(_is_lifespan_event(e) for e in server.journal.events):
                ctx.unsupported("the server serves without sending a lifespan scope "
                                "(lifespan protocol not supported)")
            exchange = _probe(ctx, server)
            ctx.fail(f"after lifespan.startup.failed the server still serves requests "
                     f"(answered {exchange.status}) instead of exiting")
    ctx.expect(code is not None,
               f"the server neither exited nor served within {ctx.target.startup_timeout:g}s "
               "after lifespan.startup.failed")
    server.journal.refresh()
    if not any(_is_lifespan_event(e) for e in server.journal.events):
        ctx.fail(f"the server exited with status {code} without sending a lifespan scope")
    ctx.expect(code != 0, "the server exited with status 0 after lifespan.startup.failed; "
                          "a failed startup should be an error exit")
    ctx.expect(STARTUP_FAILED_MESSAGE in server.log_tail(200),
               f"the server did not log the failure message {STARTUP_FAILED_MESSAGE!r}")


def _probe(ctx: CheckContext, server: ServerUnderTest) -> Response:
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", "/lifespan/after-failed",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid),
                             ("Connection", "close")]))
    return conn.read_response()
