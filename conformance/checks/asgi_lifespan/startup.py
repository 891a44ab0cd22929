"""asgi-lifespan.rst, "Startup Complete - send event" and "Startup Failed - send event".

Each check starts its own server, because the lifespan behaviour of the probe app is fixed per
process ($CONFORMANCE_LIFESPAN).
"""

from __future__ import annotations

import time
from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_lifespan.lifespan_servers import first_index
from conformance.context import CheckContext
from conformance.polling import poll_until
from conformance.probes.asgi_app import LIFESPAN_ENV, STARTUP_FAILED_MESSAGE
from conformance.probes.contract import Event
from conformance.servers import ServerUnderTest, http_answers
from conformance.verdicts import HarnessError, Level
from conformance.wire import Response, WireTimeout, request_bytes


def _is_lifespan_event(event: dict[str, Any]) -> bool:
    return event["event"].startswith("lifespan")


def _early_request(ctx: CheckContext, server: ServerUnderTest, deadline: float) -> str | None:
    """One attempt at a request while the server starts: its request id once the server
    answered it (whether or not the app saw it), None when there was no answer."""
    try:
        conn = ctx.connect(host=server.host, port=server.port, timeout=1.0)
    except OSError:
        return None
    rid = ctx.new_rid()
    conn.send(request_bytes("GET", "/lifespan/early",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid),
                             ("Connection", "close")]))
    try:
        reply = conn.read_response(timeout=max(1.0, deadline - time.monotonic()))
    except WireTimeout:
        reply = None
    conn.close()
    return rid if reply is not None and reply.status else None


@check(
    id="asgi-lifespan.startup-before-serving",
    title="no request reaches the app before lifespan.startup.complete",
    requirements=["ASGI-LIFE-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Startup Complete - send event'",
)
def startup_before_serving(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Startup Complete: lifespan.startup.complete is "Sent by the application
    when it has completed its startup. A server must wait for this message before it starts
    processing connections." (ASGI-LIFE-01.b, MUST). The app's startup takes 1.5 s; the
    client keeps sending requests from the moment the server process starts, until one
    reaches the app. A request that reaches the app before it sent lifespan.startup.complete
    breaks the must.

    The server may listen, and the kernel accept, before then: lifespan.startup is "Sent to the
    application when the server is ready to startup and receive connections, but before it has
    started to do so." (.a), a definition that accepting alone does not break, and an answer
    that never reached the app (a 503 while starting, say) is not processing by the app either;
    a request that reaches the app before lifespan.startup itself breaks .a (the finding names
    .a alone: the request came before everything the app does at startup). A server that sends
    no lifespan scope at all does not support the protocol: unsupported."""
    server = ctx.start_server(env={LIFESPAN_ENV: "slow"}, label="lifespan-slow", wait_ready=False)
    deadline = time.monotonic() + ctx.target.startup_timeout
    attempts: set[str] = set()

    def reached_app() -> bool:
        if not server.alive():
            raise HarnessError("the server exited during the app's 1.5 s lifespan startup, "
                               f"so there is nothing to judge:\n{server.log_tail()}")
        rid = _early_request(ctx, server, deadline)
        if rid is None:
            return False
        attempts.add(rid)
        # Answered without the app (a 503 while starting) means: try again.
        return bool(server.journal.for_rid(rid))

    poll_until(reached_app, ctx.target.startup_timeout, interval=0.05)
    server.journal.refresh()
    # The journal's own order is the order of the writes (one O_APPEND write per event).
    events = [e for e in server.journal.events if e.get("rid") is None or e.get("rid") in attempts]
    if not any(_is_lifespan_event(e) for e in events):
        ctx.unsupported("the server sent no lifespan scope (lifespan protocol not supported)")
    request = first_index(events, lambda e: e.get("rid") in attempts)
    if request is None:
        raise HarnessError(f"no request reached the app within {ctx.target.startup_timeout:g}s "
                           f"of starting the server ({len(attempts)} answered without it)")
    startup = first_index(events, lambda e: e["event"] == Event.LIFESPAN_RECEIVE
                          and e["message"].get("type") == "lifespan.startup")
    complete = first_index(events, lambda e: e["event"] == Event.LIFESPAN_SEND
                           and e.get("type") == "lifespan.startup.complete")
    order = [e["event"] for e in events][:12]
    if startup is None or startup > request:
        # Not even lifespan.startup came first: the precise sentence is the one that puts
        # lifespan.startup before any connection is processed (.a); .b follows from it.
        ctx.finding("ASGI-LIFE-01.a", "the app received a request before the server sent "
                                      f"lifespan.startup (journal order: {order})")
    elif complete is None or complete > request:
        ctx.finding("ASGI-LIFE-01.b", "the app received a request before it sent "
                                      f"lifespan.startup.complete (journal order: {order})")


@check(
    id="asgi-lifespan.startup-failed-exits",
    title="after lifespan.startup.failed the server logs the message and exits, not serving",
    requirements=["ASGI-LIFE-03"],
    level=Level.SHOULD,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Startup Failed - send event'",
)
def startup_failed_exits(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Startup Failed: "If a server sees this it should log/print the
    message provided and then exit." (ASGI-LIFE-03, SHOULD). A server that serves anyway,
    or has not exited within the target's startup timeout, or does not log the message,
    breaks the should: a warn each. No sentence says anything about the exit status, so it
    is not judged."""
    server = ctx.start_server(env={LIFESPAN_ENV: "fail"}, label="lifespan-fail", wait_ready=False)

    def exited_or_serving() -> str | None:
        if not server.alive():
            return "exited"
        return "serving" if http_answers(server.host, server.port, timeout=0.5) else None

    def failed_sent() -> bool:
        server.journal.refresh()
        return any(e["event"] == Event.LIFESPAN_SEND and e.get("type") == "lifespan.startup.failed"
                   for e in server.journal.events)

    # The target's startup timeout is counted from the app's lifespan.startup.failed, not
    # from the spawn (the server's own boot and import come before it): first until the
    # app sent it (or the server already exited or serves), then the whole bound from there.
    outcome = poll_until(lambda: exited_or_serving() or ("sent" if failed_sent() else None),
                         ctx.target.startup_timeout, interval=0.1)
    sent = outcome == "sent" or failed_sent()
    if outcome == "sent":
        outcome = poll_until(exited_or_serving, ctx.target.startup_timeout, interval=0.1)
    code = server.exit_status() if outcome == "exited" else None
    serving = outcome == "serving"
    server.journal.refresh()
    if not any(_is_lifespan_event(e) for e in server.journal.events):
        if serving:
            ctx.unsupported("the server serves without sending a lifespan scope "
                            "(lifespan protocol not supported)")
        what = f"exited with status {code}" if code is not None else "neither exited nor served"
        raise HarnessError(f"the server {what} without sending a lifespan scope:\n"
                           f"{server.log_tail()}")
    if serving:
        ctx.finding("ASGI-LIFE-03", f"after lifespan.startup.failed the server still serves "
                                    f"requests (answered {_probe(ctx, server).status}) instead "
                                    "of exiting")
    elif code is None:
        since = ("after the app sent lifespan.startup.failed" if sent else
                 "after it was started (the app never got to send lifespan.startup.failed)")
        ctx.finding("ASGI-LIFE-03", f"the server had neither exited nor served "
                                    f"{ctx.target.startup_timeout:g}s {since}")
    if STARTUP_FAILED_MESSAGE not in server.log_tail(200):
        ctx.finding("ASGI-LIFE-03", f"the server did not log the failure message "
                                    f"{STARTUP_FAILED_MESSAGE!r}")


def _probe(ctx: CheckContext, server: ServerUnderTest) -> Response:
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", "/lifespan/after-failed",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid),
                             ("Connection", "close")]))
    return conn.read_response()
