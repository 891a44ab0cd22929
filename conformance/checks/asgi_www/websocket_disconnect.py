"""asgi-www.rst, "Disconnect - receive event" (WebSocket) and "Disconnected Client - send
exception": what the app is told when the client closes or vanishes, and what send() does
after that."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.support.websocket import (
    DisconnectRefs,
    declared_version,
    judge_disconnect,
    open_websocket,
    version_text,
    wait_app_message,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.probes.contract import Event, WsRoute
from conformance.verdicts import Level

# How long the suite waits for websocket.disconnect after the client's close or reset: the
# server learns of it at once; this only absorbs a loaded machine (the suite's bound).
DISCONNECT_BOUND = 5.0
SEND_BOUND = 3.0  # send() after the disconnect raises or returns at once


@check(
    id="asgi-www.ws-disconnect",
    title="websocket.disconnect carries the client's close code (1005 when none) and reason; a TCP "
          "reset yields it too (1006)",
    requirements=["ASGI-WS-05"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Disconnect - receive event' (WebSocket)",
)
def ws_disconnect(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnect: "Sent to the application when either connection to the client
    is lost, either from the client closing the connection, the server closing the connection,
    or loss of the socket." (ASGI-WS-05.a, within 5 s, the suite's bound); ``code`` is "The
    WebSocket close code, as per the WebSocket spec." (.b) and "If no code was received in the
    frame from the client, the server should set this to 1005" (.c, SHOULD; RFC 6455 7.1.5's
    definition, .d, is what that should points at); after a TCP reset no Close frame was
    received, so the close code "is considered to be 1006" (RFC 6455 7.1.5, .e; the 1005 of
    ASGI's rule for a missing code is accepted too, since that rule can be read to cover a
    connection lost with no frame); ``reason`` is
    "A reason given for the disconnect" (.f): the UTF-8 data after the code in the client's
    Close frame (.h), for servers whose spec_version is 2.5 or later ("2.5: Added the reason
    key to the WebSocket disconnect event.", .g). The app awaits receive() on /ws/receive-only
    throughout; the client closes as a client does (it waits for the server's Close frame and
    for the server to close TCP, then closes its own socket), since a server may hold the
    disconnect until the connection is closed (RFC 6455 7.1.4)."""
    for name, code, reason in (("close with a code and a reason", 4002, "client done"),
                               ("close without a code", None, "")):
        with ctx.case(name):
            session = open_websocket(ctx, WsRoute.RECEIVE_ONLY)
            scope = websocket_scope(ctx, session)
            session.client.close_handshake(code, reason, timeout=DISCONNECT_BOUND)
            got = wait_app_message(ctx, session.rid, "websocket.disconnect",
                                   timeout=DISCONNECT_BOUND)
            ctx.require(got is not None, "ASGI-WS-05.a",
                        f"the client sent a Close frame ({'no code' if code is None else code}); "
                        f"no websocket.disconnect reached the app within {DISCONNECT_BOUND:g}s")
            assert got is not None
            judge_disconnect(ctx, got[0], scope, code, reason,
                             DisconnectRefs("ASGI-WS-05.b", "ASGI-WS-05.c", "ASGI-WS-05.f"))
    with ctx.case("TCP reset"):
        session = open_websocket(ctx, WsRoute.RECEIVE_ONLY)
        websocket_scope(ctx, session)
        session.conn.abort()
        got = wait_app_message(ctx, session.rid, "websocket.disconnect",
                               timeout=DISCONNECT_BOUND)
        ctx.require(got is not None, "ASGI-WS-05.a",
                    "the client's TCP connection was reset; no websocket.disconnect reached the "
                    f"app (awaiting receive()) within {DISCONNECT_BOUND:g}s")
        assert got is not None
        # 1006 is RFC 6455's code for a connection lost without a Close frame; ASGI's "If no
        # code was received in the frame from the client ... 1005" can be read to cover it too.
        # Either reading passes; any other code is neither.
        if got[0].get("code") not in (1005, 1006):
            ctx.finding("ASGI-WS-05.e", "the connection was reset with no Close frame; "
                        f"websocket.disconnect has code {got[0].get('code')!r}, neither 1006 "
                        "(RFC 6455 7.1.5) nor the 1005 of ASGI's rule for a missing code")


@check(
    id="asgi-www.ws-send-after-close",
    title="send() after websocket.disconnect raises an OSError subclass (spec_version >= 2.4)",
    requirements=["ASGI-WS-07"],
    level=Level.SHOULD,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Disconnected Client - send exception'",
)
def ws_send_after_close(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnected Client: "If send() is called on a closed connection the
    server should raise a server-specific subclass of OSError." (ASGI-WS-07.a, SHOULD), for
    servers whose spec_version is 2.4 or later ("2.4: Calling send() on a closed connection
    should raise an error", .b: below 2.4 a send() that returns is allowed; asgi.rst's no-op).
    The client closes; the app, after its websocket.disconnect, sends once more."""
    session = open_websocket(ctx, WsRoute.SEND_AFTER_CLOSE)
    scope = websocket_scope(ctx, session)
    session.client.close_handshake(1000, "", timeout=DISCONNECT_BOUND)
    got = wait_app_message(ctx, session.rid, "websocket.disconnect", timeout=DISCONNECT_BOUND)
    if got is None:
        ctx.unsupported(f"no websocket.disconnect within {DISCONNECT_BOUND:g}s after the "
                        "client's close (asgi-www.ws-disconnect judges that), so the app never "
                        "called send() after it")
    sends = ctx.journal.wait_for(
        lambda events: any(e["event"] == Event.WS_SEND
                           and e["message"].get("type") == "websocket.send" for e in events),
        rid=session.rid, timeout=SEND_BOUND)
    version = version_text(scope)
    if sends is None:
        ctx.finding("ASGI-WS-07.a", f"spec_version {version}: send() on the closed connection "
                    f"had neither raised nor returned after {SEND_BOUND:g}s")
        return
    entry = next(e for e in sends if e["event"] == Event.WS_SEND
                 and e["message"].get("type") == "websocket.send")
    if entry["raised"] and not entry["is_oserror"]:
        ctx.finding("ASGI-WS-07.a", f"spec_version {version}: send() after the disconnect "
                    f"raised {entry['raised']}: {entry['error']}, not an OSError subclass")
    elif not entry["raised"] and declared_version(scope) >= (2, 4):
        ctx.finding("ASGI-WS-07.a", f"spec_version {version}: send() after the disconnect "
                    "returned normally instead of raising an OSError subclass")
