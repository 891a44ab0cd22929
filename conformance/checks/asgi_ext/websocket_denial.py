"""asgi-extensions.rst, "Websocket Denial Response"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.support.websocket import open_websocket, received_text, websocket_scope
from conformance.context import CheckContext
from conformance.probes.asgi_websocket import DENIAL_EXTENSION, denial_body
from conformance.probes.contract import WsRoute
from conformance.verdicts import Level

DENIAL_STATUS = 418
DENIAL_PARTS = 3
# The denial is answered at once; this only absorbs a loaded machine (the suite's bound).
DENIAL_BOUND = 5.0


@check(
    id="asgi-ext.websocket-denial",
    title="websocket.http.response, where advertised, sends the app's status, headers and body, "
          "then closes",
    requirements=["ASGI-EXT-01", "ASGI-WS-03"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-extensions.rst 'Websocket Denial Response'",
)
def websocket_denial(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Websocket Denial Response: "ASGI Servers that implement this
    extension will provide websocket.http.response in the extensions part of the scope"
    (ASGI-EXT-01.b: where the websocket scope does not advertise it, unsupported). Where it
    does, "This will allow the ASGI Framework to send HTTP response messages after the
    websocket.connect message." (ASGI-WS-03.b): the app answers the handshake with
    websocket.http.response.start (status 418, two headers) and a body in three
    websocket.http.response.body parts; ``status`` is "HTTP status code." (ASGI-EXT-01.f: the
    418 reaches the client, with the app's headers and the whole body), and "the server should
    send a HTTP response and then close the connection" (.d, SHOULD: the connection ends within
    5 s, the suite's bound, with no WebSocket frame after the response)."""
    session = open_websocket(ctx, f"{WsRoute.DENY}?status={DENIAL_STATUS}&parts={DENIAL_PARTS}",
                             timeout=DENIAL_BOUND)
    scope = websocket_scope(ctx, session)
    extensions = scope.get("extensions") or {}
    if DENIAL_EXTENSION not in extensions:
        session.conn.close()
        ctx.unsupported(f"the websocket scope's extensions do not advertise {DENIAL_EXTENSION!r}")
    hs = session.handshake
    with ctx.case("status, headers and body"):
        ctx.require(hs.status == DENIAL_STATUS and not hs.accepted, "ASGI-EXT-01.f",
                    f"the app denied the handshake with status {DENIAL_STATUS}; the server "
                    f"answered {hs.status or 'nothing'}: {received_text(session.conn)}")
        headers = {(name.lower(), value) for name, value in hs.headers}
        missing = {(b"x-denied", b"yes"), (b"content-type", b"text/plain")} - headers
        expected = denial_body(DENIAL_PARTS)
        if missing or hs.body != expected:
            ctx.finding("ASGI-WS-03.b", f"the app's denial response had headers x-denied: yes "
                        f"and content-type: text/plain and the body {expected!r}; the client "
                        f"got {'no ' + repr(sorted(missing)) + ' and ' if missing else ''}"
                        f"the body {hs.body!r}: {received_text(session.conn)}")
    with ctx.case("then the connection closes"):
        closed = session.conn.eof or session.conn.read_until_close(DENIAL_BOUND)
        ctx.require(closed, "ASGI-EXT-01.d",
                    f"the denial response was sent; the connection was still open "
                    f"{DENIAL_BOUND:g}s later")
