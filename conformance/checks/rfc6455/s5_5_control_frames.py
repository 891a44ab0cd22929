"""RFC 6455 5.5, "Control Frames" (5.5.2 Ping, 5.5.3 Pong): the protocol server answers pings
itself, and the app never sees a control frame."""

from __future__ import annotations

import time

from conformance.catalogue import check
from conformance.checks.asgi_www.websocket_receive import app_messages
from conformance.checks.support.websocket import (
    JOURNAL_BOUND,
    open_websocket,
    received_text,
    wait_app_message,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.probes.contract import WsRoute
from conformance.verdicts import Level

# How long the suite waits for the pong: "as soon as is practical" names no time, so a pong
# later than this is reported as missing (.a), never as slow; .b is judged by order only.
PONG_BOUND = 5.0
PING_DATA = (b"", b"probe ping", bytes(range(125)))  # empty, text-like, the 125-byte maximum


@check(
    id="rfc6455.ping-pong",
    title="pings are answered with a pong of identical data by the server; the app never sees them",
    requirements=["ASGI-WS-06", "ASGI-WS-04"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 6455 5.5.2 Ping, 5.5.3 Pong; asgi-www.rst 'WebSocket'",
)
def ping_pong(ctx: CheckContext) -> None:
    """RFC 6455 5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
    response, unless it already received a Close frame." (ASGI-WS-06.a, within 5 s, the
    suite's bound); 5.5.3: "A Pong frame sent in response to a Ping frame must have identical
    "Application data" as found in the message body of the Ping frame being replied to." (.c),
    for an empty ping, a short one and one of 125 bytes (the largest a control frame may
    carry). asgi-www.rst: websocket.receive is "Sent to the application when a data message is
    received from the client." (.e: the app's journal holds no event for a ping, only the one
    data message sent after them; that message not arriving at all is ASGI-WS-04.b). "It
    SHOULD respond with Pong frame as soon as is practical." (.b): no time is named, so no
    bound judges it; what is judged is order. A Ping and then a text message go to the echo
    app: the text's echo has to pass through the app, the Pong only through the server, so an
    echo that arrives before the Pong shows the server answered the later frame first."""
    with ctx.case("a ping, then a text message"):
        _judge_pong_before_echo(ctx)
    session = open_websocket(ctx, WsRoute.RECEIVE_ONLY)
    websocket_scope(ctx, session)
    for data in PING_DATA:
        if any(f.requirement == "ASGI-WS-06.a" for f in ctx.findings):
            break  # a ping went unanswered: further pings would each wait out the bound
        with ctx.case(f"ping of {len(data)} bytes"):
            session.client.ping(data)
            sent = time.monotonic()
            got = session.client.until({"pong"}, PONG_BOUND)
            pong = next((item for item in got if item.kind == "pong"), None)
            ctx.require(pong is not None, "ASGI-WS-06.a",
                        f"no Pong within {PONG_BOUND:g}s of a Ping with {len(data)} bytes of "
                        f"data (got {[item.kind for item in got] or 'nothing'}): "
                        f"{received_text(session.conn)}")
            assert pong is not None
            ctx.require(pong.data == data, "ASGI-WS-06.c",
                        f"the Ping carried {data!r}; the Pong {pong.data!r} "
                        f"(after {pong.at - sent:.2f}s)")
    with ctx.case("the app sees no control frame"):
        session.client.send_text("after the pings")
        arrived = wait_app_message(ctx, session.rid, "websocket.receive", timeout=JOURNAL_BOUND)
        messages = app_messages(ctx, session.rid)
        session.client.close()
        ctx.require(arrived is not None, "ASGI-WS-04.b",
                    "a text message sent after the pings never reached the app")
        ctx.require([m.get("text") for m in messages] == ["after the pings"], "ASGI-WS-06.e",
                    f"after {len(PING_DATA)} pings and one text message the app received "
                    f"{messages!r}")


def _judge_pong_before_echo(ctx: CheckContext) -> None:
    """A Ping, then a text message, to the echo app: the Pong must not come after the echo."""
    session = open_websocket(ctx, WsRoute.ECHO)
    websocket_scope(ctx, session)
    session.client.ping(b"before the text")
    session.client.send_text("after the ping")
    got = session.client.until({"pong"}, PONG_BOUND)
    kinds = [item.kind for item in got]
    session.client.close()
    ctx.require("pong" in kinds, "ASGI-WS-06.a",
                f"no Pong within {PONG_BOUND:g}s of a Ping (got {kinds or 'nothing'}): "
                f"{received_text(session.conn)}")
    before = kinds[:kinds.index("pong")]
    if "text" in before:
        ctx.finding("ASGI-WS-06.b", "the client sent a Ping, then a text message: the app's "
                    "echo of the text arrived before the Pong, so the server answered the "
                    f"later frame, through the app, first (received {kinds}): "
                    f"{received_text(session.conn)}")
