"""asgi-www.rst, "Connect - receive event", "Accept - send event" and "Close - send event": the
opening handshake waits for the app, and the app's accept or close is what the client gets."""

from __future__ import annotations

import time
from typing import Any

from conformance.catalogue import check
from conformance.checks.rfc9112.pipelined_exchanges import READ as CLOSE_BOUND
from conformance.checks.support.websocket import (
    JOURNAL_BOUND,
    Session,
    app_events,
    declared_version,
    open_websocket,
    open_websockets,
    received_text,
    version_text,
    wait_app_message,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.desync import announces_close
from conformance.probes.asgi_websocket import CLOSED_BEFORE_ACCEPT_WAIT
from conformance.probes.contract import Event, WsRoute
from conformance.verdicts import Level
from conformance.websocket_wire import NORMAL_CLOSURE, Handshake
from conformance.wire import Response

# The app sleeps this long before it accepts; a 101 that comes sooner was not the app's.
ACCEPT_DELAY = 1.0
# How long the suite waits for the answer to a close before accept, or for the close frame
# after the app's close: the app answers at once, so this only absorbs a loaded machine.
ANSWER_BOUND = 5.0
# How long the suite waits, from the client's close, for the app that closed before accepting
# to get websocket.disconnect: the server has it at once; this only absorbs a loaded machine.
# The app itself keeps awaiting receive() far longer (CLOSED_BEFORE_ACCEPT_WAIT).
DISCONNECT_BOUND = 5.0
# Before that close, a 403 that announced "close" gets CLOSE_BOUND (the bound of the suite's
# other HTTP-13.g findings) for the server to close: one that closes does so at once.
assert CLOSED_BEFORE_ACCEPT_WAIT > 2 * ANSWER_BOUND + CLOSE_BOUND + DISCONNECT_BOUND
ACCEPT_HEADERS = ((b"x-probe-a", b"1"), (b"x-probe-b", b"2"))


@check(
    id="asgi-www.ws-accept",
    title="no 101 before the app accepts; the accept's subprotocol and headers reach the client",
    requirements=["ASGI-WS-02"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Connect - receive event'; 'Accept - send event'",
)
def ws_accept(ctx: CheckContext) -> None:
    """asgi-www.rst, Connect: "The protocol server must send this message during the handshake
    phase of the WebSocket and not complete the handshake until it gets a reply" (ASGI-WS-02.a:
    the app waits 1 s before it accepts, so a 101 sooner than that was not its answer).
    Accept: ``subprotocol`` is "The subprotocol the server wishes to accept." (.c: it is the
    Sec-WebSocket-Protocol of the 101), and RFC 6455 4.2.2: "if the server does not wish to
    agree to one of the suggested subprotocols, it MUST NOT send back a
    |Sec-WebSocket-Protocol| header field in its response" (.e: an accept without one gives
    none). ``headers``: "Order must be preserved in the HTTP response." (.f), for servers
    whose spec_version is 2.1 or later (the probe sends no headers to older ones, .g); the
    accept is the server's choice to accept, and RFC 6455 4.2.2: "If the server chooses to
    accept the incoming connection, it MUST reply with a valid HTTP response indicating the
    following." whose first item is "A Status-Line with a 101 response code" (.j: an accept
    with headers answered 200, as socketify does)."""
    with ctx.case("the handshake waits for the app's accept"):
        started = time.monotonic()
        session = open_websocket(ctx, f"{WsRoute.ECHO}?delay={ACCEPT_DELAY:g}",
                                 timeout=ACCEPT_DELAY + ANSWER_BOUND)
        websocket_scope(ctx, session)
        arrivals = session.conn.arrivals
        first = arrivals[0][0] - started if arrivals else None
        session.client.close()
        # Early by more than a tenth of the delay: the app's accept cannot have come yet.
        if first is not None and first < ACCEPT_DELAY * 0.9:
            ctx.finding("ASGI-WS-02.a", f"the server answered the handshake {first:.2f}s "
                        f"after it was sent, while the app was still waiting "
                        f"{ACCEPT_DELAY:g}s before its accept: {received_text(session.conn)}")
    with ctx.case("accept with a subprotocol"):
        session = open_websocket(ctx, f"{WsRoute.ECHO}?subprotocol=superchat",
                                 subprotocols=["chat", "superchat"])
        websocket_scope(ctx, session)
        got = session.handshake.header(b"sec-websocket-protocol")
        session.client.close()
        ctx.require(session.handshake.status == 101 and got == b"superchat", "ASGI-WS-02.c",
                    "the app accepted with subprotocol 'superchat'; the server answered "
                    f"{session.handshake.status} with Sec-WebSocket-Protocol {got!r}: "
                    f"{received_text(session.conn)}")
    with ctx.case("accept without a subprotocol"):
        session = open_websocket(ctx, WsRoute.ECHO, subprotocols=["chat"])
        websocket_scope(ctx, session)
        got = session.handshake.header(b"sec-websocket-protocol")
        session.client.close()
        ctx.require(got is None, "ASGI-WS-02.e",
                    "the client offered 'chat' and the app accepted with no subprotocol; the "
                    f"server still sent Sec-WebSocket-Protocol: {got!r}")
    with ctx.case("accept with headers"):
        query = "&".join(f"header={n.decode()}:{v.decode()}" for n, v in ACCEPT_HEADERS)
        session = open_websocket(ctx, f"{WsRoute.ECHO}?{query}")
        scope = websocket_scope(ctx, session)
        session.client.close()
        if declared_version(scope) < (2, 1):
            return  # "2.1: Added the headers key to the WebSocket Accept response" (.g)
        ctx.require(session.handshake.status == 101, "ASGI-WS-02.j",
                    f"the app accepted with headers {list(ACCEPT_HEADERS)!r}; the server "
                    f"answered {session.handshake.status or 'nothing'}, not a 101: "
                    f"{received_text(session.conn)}")
        carried = [(n.lower(), v) for n, v in session.handshake.headers
                   if n.lower() in {name for name, _ in ACCEPT_HEADERS}]
        ctx.require(carried == list(ACCEPT_HEADERS), "ASGI-WS-02.f",
                    f"spec_version {version_text(scope)}: the app accepted with headers "
                    f"{list(ACCEPT_HEADERS)!r}; the 101 carried {carried!r}: "
                    f"{received_text(session.conn)}")


@check(
    id="asgi-www.ws-close",
    title="close before accept gives a 403 and no WebSocket; close after accept sends the app's "
          "code and reason",
    requirements=["ASGI-WS-03", "ASGI-WS-05", "HTTP-13"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Close - send event'",
)
def ws_close(ctx: CheckContext) -> None:
    """asgi-www.rst, Close: "If this is sent before the socket is accepted, the server must close
    the connection with a HTTP 403 error code (Forbidden), and not complete the WebSocket
    handshake" (ASGI-WS-03.a: a 403 within 5 s, and no 101 and no frame on the connection), with
    and without a code in the close; after that close the app keeps awaiting receive(), and
    Disconnect is "Sent to the application when either connection to the client is lost, either
    from the client closing the connection, the server closing the connection, or loss of the
    socket." (ASGI-WS-05.a: websocket.disconnect within 5 s of the client's close; the app
    awaits it far longer). RFC 9112 9.6: "A server that sends a "close" connection option MUST
    initiate closure of the connection (see below) after it sends the response containing the
    "close" connection option." (HTTP-13.g: a 403 with "Connection: close" after which the
    connection is still open 3 s later, before the client closes it; a 403 without "close"
    may keep the connection alive). "If this is sent after the socket is accepted, the server
    must close the socket with the close code passed in the message (or 1000 if none is
    specified)." (ASGI-WS-03.c), and ``reason`` is "A reason given for the closure" (.d, for
    servers whose spec_version is 2.3 or later: "2.3: Added the reason key to the WebSocket
    close event.", .e). RFC 6455 7.1.2: closing is done by sending "a Close control frame ...
    whose status code is set to /code/" (.f: a connection that ends with no Close frame at
    all)."""
    before = (("before accept", "?then=receive"), ("before accept, with a code", "?code=4003"))
    # Both handshakes go out at once, each bounded as before (a server that never answers one
    # costs its bound once, not twice).
    sessions = open_websockets(ctx, [f"{WsRoute.CLOSE_BEFORE_ACCEPT}{query}"
                                     for _, query in before], timeout=ANSWER_BOUND)
    for (name, query), session in zip(before, sessions, strict=True):
        with ctx.case(f"close {name}"):
            websocket_scope(ctx, session)
            hs = session.handshake
            completed = " (the handshake completed)" if hs.accepted else ""
            ctx.require(hs.status == 403 and not hs.accepted, "ASGI-WS-03.a",
                        f"the app closed before accepting; the server answered "
                        f"{hs.status or 'nothing'}{completed} {'; '.join(hs.problems)}: "
                        f"{received_text(session.conn)}")
            if "then=receive" in query:
                # The app keeps awaiting receive() after its close: the connection the server
                # closed must reach it as websocket.disconnect.
                # The wait is counted from the client's close, the last moment the server could
                # learn of it; the app is still awaiting receive() well past this bound.
                # Before it, a 403 that announced "close" must be followed by the server's close.
                _announced_close_kept(ctx, session)
                session.conn.close()
                disconnect = wait_app_message(ctx, session.rid, "websocket.disconnect",
                                              timeout=DISCONNECT_BOUND)
                ctx.require(disconnect is not None, "ASGI-WS-05.a",
                            "the app closed before accepting and kept awaiting receive(); no "
                            "websocket.disconnect reached it within "
                            f"{DISCONNECT_BOUND:g}s after the client closed the connection")
    for name, query, code, reason in (
            ("after accept, no code", "", NORMAL_CLOSURE, ""),
            ("after accept, code and reason", "?code=4001&reason=probe%20closing", 4001,
             "probe closing")):
        with ctx.case(f"close {name}"):
            session = open_websocket(ctx, f"{WsRoute.CLOSE_AFTER_ACCEPT}{query}")
            scope = websocket_scope(ctx, session)
            started = time.monotonic()
            got = session.client.until({"close"}, ANSWER_BOUND)
            close = next((item for item in got if item.kind == "close"), None)
            # The read stops early at the end of the connection or at bytes that are no
            # WebSocket frame (no Close frame can follow either): say so, not the full bound.
            last = got[-1] if got else None
            stopped = (f"then the read ended at {last.kind!r} after "
                       f"{max(last.at - started, 0.0):.1f}s"
                       if last is not None and last.kind in ("eof", "error")
                       else f"within {ANSWER_BOUND:g}s")
            ctx.require(close is not None, "ASGI-WS-03.f",
                        _no_close_frame(ctx, session, code, [item.kind for item in got],
                                        stopped))
            assert close is not None
            if close.code != code:
                ctx.finding("ASGI-WS-03.c", f"the app closed with "
                            f"{'no code' if not query else f'code {code}'}; the Close frame "
                            f"carried {close.code}")
            if reason and declared_version(scope) >= (2, 3) and close.reason != reason:
                ctx.finding("ASGI-WS-03.d", f"spec_version {version_text(scope)}: the app "
                            f"closed with reason {reason!r}; the Close frame carried "
                            f"{close.reason!r}")


def _announced_close_kept(ctx: CheckContext, session: Session) -> None:
    """A 403 with "Connection: close" must be followed by the server's close (HTTP-13.g): read
    until it, for CLOSE_BOUND, while the client still holds the connection (the client's own
    close would hide a server that never closes). A 403 without "close" is not judged: it may
    keep the connection alive for the next request."""
    hs = session.handshake
    if hs.status != 403 or not _announces_close(hs) or session.conn.eof:
        return
    conn = session.conn
    if conn.read_until_close(timeout=CLOSE_BOUND):
        return
    # Counted from the 403's last byte, which came before the read began.
    held = time.monotonic() - conn.arrivals[-1][0] if conn.arrivals else CLOSE_BOUND
    told = any(e["message"].get("type") == "websocket.disconnect"
               for e in app_events(ctx, session.rid))
    app = ("the app had already been given websocket.disconnect" if told else
           "the app was still running, awaiting receive(), with no websocket.disconnect")
    ctx.finding("HTTP-13.g", "the app closed before accepting; the server's 403 announced "
                             "\"Connection: close\", but the server had not closed the "
                             f"connection {held:.1f} s after the 403's last byte arrived "
                             f"(the client still held it open and {app}): "
                             f"{received_text(conn)}")


def _announces_close(hs: Handshake) -> bool:
    """The handshake's answer carries the "close" connection option (RFC 9112 9.6)."""
    return announces_close(Response(status=hs.status, headers=hs.headers))


def _no_close_frame(ctx: CheckContext, session: Session, code: int, kinds: list[str],
                    stopped: str) -> str:
    """What the client saw where the app's close after its accept should have become a Close
    frame. A handshake that never completed is named as such: the missing Close frame is not
    the whole story when not even the 101 came."""
    hs, conn = session.handshake, session.conn
    if hs.accepted:
        return (f"the app closed with code {code}; the server sent no Close frame "
                f"({kinds or 'nothing'}, {stopped}): {received_text(conn) or 'nothing received'}")
    said = f"the app sent {_app_sent(ctx, session.rid)}; the server sent no 101"
    if not conn.received:
        # Nothing to parse: the parser's "invalid handshake answer" would only mislead.
        ended = "closed the connection" if conn.eof else f"kept the connection open ({stopped})"
        return f"{said} and no Close frame: it {ended} without sending a byte"
    return (f"{said} (it answered {hs.status or 'no status'}; {'; '.join(hs.problems)}) and no "
            f"Close frame ({stopped}): {received_text(conn)}")


def _app_sent(ctx: CheckContext, rid: str) -> str:
    """The messages the app sent, as journalled, each with its code and whether send()
    raised: what the server was given to act on. The journal is awaited until the app's last
    send (its close, or a send that raised) is in it, so none is left out for being late."""

    def sends(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["event"] == Event.WS_SEND]

    def app_done(events: list[dict[str, Any]]) -> bool:
        return any(e.get("raised") or e["message"].get("type") == "websocket.close"
                   for e in sends(events))

    events = (ctx.journal.wait_for(app_done, rid=rid, timeout=JOURNAL_BOUND)
              or ctx.journal.for_rid(rid))
    said = []
    for entry in sends(events):
        message = entry["message"]
        code = f" (code {message['code']})" if "code" in message else ""
        raised = f" (send() raised {entry['raised']})" if entry.get("raised") else ""
        said.append(f"{message.get('type')}{code}{raised}")
    return " then ".join(said) or "nothing"
