"""PROXY-08: WebSocket through nginx with its documented upgrade mapping (proxy_http_version
1.1, Upgrade and Connection passed on): the handshake, messages both ways, the subprotocol,
close codes and reasons, a vanished client and an idle connection, end to end."""

from __future__ import annotations

import time

from conformance.catalogue import check
from conformance.checks.asgi_www.websocket_receive import Sent, exchange, read_data
from conformance.checks.support.websocket import (
    DisconnectRefs,
    declared_version,
    judge_disconnect,
    open_websocket,
    received_text,
    version_text,
    wait_app_message,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.probes.contract import WsRoute
from conformance.verdicts import Level

ANSWER_BOUND = 5.0  # the suite's bound for an answer that comes at once
ACCEPT_DELAY = 1.0  # the app waits this long before accepting
IDLE = 3.0  # an idle pause well inside nginx's proxy_read_timeout (30 s) and any server ping
# Differences of the shared message judge, as the PROXY-08 sentence each one breaks.
THROUGH_NGINX = {"ASGI-WS-04.h": "PROXY-08.g", "ASGI-WS-04.a": "PROXY-08.h"}


@check(
    id="deployment.websocket",
    title="WebSocket through nginx: handshake after the app's accept, messages both ways, "
          "subprotocol, close codes and reasons, a vanished client, an idle connection",
    requirements=["PROXY-08"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("nginx",),
    section="RFC 6455 1.7, 4.2.2, 5.5.1; asgi-www.rst 'WebSocket'; nginx WebSocket proxying",
)
def websocket_through_nginx(ctx: CheckContext) -> None:
    """RFC 6455 4.2.2: "If the server chooses to accept the incoming connection, it MUST reply
    with a valid HTTP response indicating the following." (PROXY-08.d: 101, Upgrade,
    Connection, the right Sec-WebSocket-Accept, checked by wsproto), and the server behind
    nginx must "not complete the handshake until it gets a reply" (.e: the app waits 1 s before
    accepting). Messages: websocket.receive is "Sent to the application when a data message is
    received from the client." (.f) and websocket.send "Sent by the application to send a
    data message to the client." (.g), whole (.h, SHOULD), text, bytes, empty and fragmented,
    and after an idle pause of 3 s (inside nginx's 30 s proxy_read_timeout). The subprotocol
    the app accepts reaches the client (.d). The app's close code (.i) and, from spec_version
    2.3, its reason (.j) reach the client; the client's close is answered with a Close frame
    (.k: "the endpoint MUST send a Close frame in response"), its code reaches the app (.l; no
    code: 1005, .m, SHOULD) and its reason is reported where it is lost (.n, INFO). A client
    that vanishes reaches the app as websocket.disconnect within 5 s (.l's event). Why nginx
    needs proxy_http_version 1.1 for this (.c) is judged on the server directly by
    rfc9110.upgrade-http10."""
    nginx = ctx.nginx("websocket")
    at = (nginx.host, nginx.port)
    # The idle connection is opened first and left alone while the first cases run on their
    # own connections; its case then waits out what is left of its pause, as long as ever.
    idle = open_websocket(ctx, WsRoute.ECHO, at=at)
    idle_since = time.monotonic()
    with ctx.case("handshake waits for the app's accept"):
        started = time.monotonic()
        session = open_websocket(ctx, f"{WsRoute.ECHO}?delay={ACCEPT_DELAY:g}&subprotocol=chat",
                                 subprotocols=["chat"], at=at,
                                 timeout=ACCEPT_DELAY + ANSWER_BOUND)
        websocket_scope(ctx, session)
        hs = session.handshake
        first = session.conn.arrivals[0][0] - started if session.conn.arrivals else None
        session.client.close()
        ctx.require(hs.accepted, "PROXY-08.d",
                    f"through nginx the handshake got {hs.status or 'no answer'} "
                    f"{'; '.join(hs.problems)}: {received_text(session.conn)}")
        if first is not None and first < ACCEPT_DELAY * 0.9:
            ctx.finding("PROXY-08.e", f"through nginx the 101 came {first:.2f}s after the "
                        f"handshake, before the app's accept ({ACCEPT_DELAY:g}s)")
        if hs.subprotocol != "chat":
            ctx.finding("PROXY-08.d", "the app accepted subprotocol 'chat'; through nginx the "
                        f"101 carried {hs.header(b'sec-websocket-protocol')!r}")
    with ctx.case("messages both ways"):
        for ref, text in exchange(ctx, [Sent("hello"), Sent(b"\x00bytes\xff"), Sent(""),
                                        Sent(b""), Sent("fragmented text", (3, 9))], at=at):
            ctx.finding(THROUGH_NGINX.get(ref, "PROXY-08.f"), text)
    with ctx.case("after an idle pause"):
        session = idle
        websocket_scope(ctx, session)
        time.sleep(max(IDLE - (time.monotonic() - idle_since), 0.0))
        session.client.send_text("after the pause")
        echoed = read_data(session.client, 1)
        session.client.close()
        ctx.require(echoed == ["after the pause"], "PROXY-08.g",
                    f"after {IDLE:g}s idle the echo of a text message came back as {echoed!r}: "
                    f"{received_text(session.conn)}")
    with ctx.case("the app closes with a code and a reason"):
        session = open_websocket(ctx, f"{WsRoute.CLOSE_AFTER_ACCEPT}?code=4001&reason=bye",
                                 at=at)
        scope = websocket_scope(ctx, session)
        close = next((i for i in session.client.until({"close"}, ANSWER_BOUND)
                      if i.kind == "close"), None)
        ctx.require(close is not None and close.code == 4001, "PROXY-08.i",
                    "the app closed with code 4001; through nginx the client got "
                    f"{'no Close frame' if close is None else f'code {close.code}'}: "
                    f"{received_text(session.conn)}")
        assert close is not None
        if declared_version(scope) >= (2, 3) and close.reason != "bye":
            ctx.finding("PROXY-08.j", f"spec_version {version_text(scope)}: the app closed "
                        f"with reason 'bye'; through nginx the client got {close.reason!r}")
    for name, code, reason in (("the client closes with a code and a reason", 4002, "done"),
                               ("the client closes without a code", None, "")):
        with ctx.case(name):
            _client_close(ctx, at, code, reason)
    with ctx.case("the client vanishes"):
        session = open_websocket(ctx, WsRoute.RECEIVE_ONLY, at=at)
        websocket_scope(ctx, session)
        session.conn.abort()
        ctx.require(wait_app_message(ctx, session.rid, "websocket.disconnect",
                                     timeout=ANSWER_BOUND) is not None, "PROXY-08.l",
                    "the client's connection to nginx was reset; no websocket.disconnect "
                    f"reached the app within {ANSWER_BOUND:g}s")


def _client_close(ctx: CheckContext, at: tuple[str, int], code: int | None,
                  reason: str) -> None:
    session = open_websocket(ctx, WsRoute.RECEIVE_ONLY, at=at)
    scope = websocket_scope(ctx, session)
    answer = session.client.close_handshake(code, reason, timeout=ANSWER_BOUND)
    got = wait_app_message(ctx, session.rid, "websocket.disconnect", timeout=ANSWER_BOUND)
    if answer is None:
        ctx.finding("PROXY-08.k", f"the client sent a Close frame; through nginx no Close frame "
                    f"came back within {ANSWER_BOUND:g}s: {received_text(session.conn)}")
    ctx.require(got is not None, "PROXY-08.l", "the client closed; no websocket.disconnect "
                f"reached the app within {ANSWER_BOUND:g}s")
    assert got is not None
    judge_disconnect(ctx, got[0], scope, code, reason,
                     DisconnectRefs("PROXY-08.l", "PROXY-08.m", "PROXY-08.n"),
                     where="through nginx ")
