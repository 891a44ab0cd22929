"""asgi-extensions.rst, "Websocket Denial Response"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.support.websocket import (
    JOURNAL_BOUND,
    Session,
    received_text,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.probes.asgi_websocket import DENIAL_EXTENSION, denial_body
from conformance.probes.contract import Event, WsRoute
from conformance.verdicts import Level
from conformance.websocket_wire import WebSocketClient

DENIAL_STATUS = 418
DENIAL_PARTS = 3
# The denial is answered at once; this only absorbs a loaded machine (the suite's bound).
DENIAL_BOUND = 5.0
# How long the answer is read where the scope does not advertise the extension: for the
# evidence only (the check is unsupported whatever the answer).
EVIDENCE_READ = 0.5


@check(
    id="asgi-ext.websocket-denial",
    title="websocket.http.response, where advertised, sends the app's status, headers and body, "
          "then closes",
    requirements=["ASGI-EXT-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-extensions.rst 'Websocket Denial Response'",
)
def websocket_denial(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Websocket Denial Response: "ASGI Servers that implement this
    extension will provide websocket.http.response in the extensions part of the scope"
    (ASGI-EXT-01.b: where the websocket scope does not advertise it, unsupported, unless the
    app's denial, sent all the same, reaches the client: then the server implements the
    extension without providing it in the scope, a fail). Where it
    does, the app answers the handshake with websocket.http.response.start (status 418, two
    headers) and a body in three websocket.http.response.body parts, messages "with a
    structure that matches the http.response.start and http.response.body messages": so
    ``status`` is "HTTP status code." (ASGI-EXT-01.f: the 418 reaches the client), the headers'
    "Order must be preserved in the HTTP response." (.h: both arrive, in order), and each body
    is "Concatenated onto any previous body values sent in this connection scope." (.g: the
    client gets all three parts). "the server should send a HTTP response and then close the
    connection" (.d, SHOULD: the connection ends within 5 s, the suite's bound)."""
    rid, conn = ctx.new_rid(), ctx.connect(timeout=DENIAL_BOUND)
    client = WebSocketClient(conn)
    client.send_handshake(f"{WsRoute.DENY}?status={DENIAL_STATUS}&parts={DENIAL_PARTS}",
                          host=f"{ctx.host}:{ctx.port}", headers=[(b"x-probe-id", rid.encode())])
    # The app's scope says whether the extension is there before the server answers: where it
    # is not, no verdict depends on the answer, read only briefly for the evidence (a server
    # that keeps its refusal open would otherwise hold the check for the whole bound). An app
    # never called: the answer gets its whole bound, and websocket_scope judges as always.
    entry = ctx.journal.wait_event(rid, Event.REQUEST, timeout=JOURNAL_BOUND)
    early = entry["scope"] if entry else None
    unadvertised = (isinstance(early, dict) and early.get("type") == "websocket"
                    and DENIAL_EXTENSION not in (early.get("extensions") or {}))
    session = Session(rid, conn, client,
                      client.read_handshake(EVIDENCE_READ if unadvertised else DENIAL_BOUND))
    scope = websocket_scope(ctx, session)
    extensions = scope.get("extensions") or {}
    if DENIAL_EXTENSION not in extensions:
        session.conn.close()
        with ctx.case("implemented but not advertised"):
            if _implemented_unadvertised(ctx):
                return
        ctx.unsupported(f"the websocket scope's extensions do not advertise {DENIAL_EXTENSION!r}")
    hs = session.handshake
    with ctx.case("status, headers and body"):
        ctx.require(hs.status == DENIAL_STATUS and not hs.accepted, "ASGI-EXT-01.f",
                    f"the app denied the handshake with status {DENIAL_STATUS}; the server "
                    f"answered {hs.status or 'nothing'}: {received_text(session.conn)}")
        sent = [(b"content-type", b"text/plain"), (b"x-denied", b"yes")]
        got = [(name.lower(), value) for name, value in hs.headers
               if name.lower() in {n for n, _ in sent}]
        if got != sent:
            ctx.finding("ASGI-EXT-01.h", f"the app's denial response had the headers {sent!r}, "
                        f"in this order; the client got {got!r}: {received_text(session.conn)}")
        expected = denial_body(DENIAL_PARTS)
        if hs.body != expected:
            ctx.finding("ASGI-EXT-01.g", f"the app sent the denial body in {DENIAL_PARTS} "
                        f"parts, {expected!r} together; the client got {hs.body!r}: "
                        f"{received_text(session.conn)}")
    with ctx.case("then the connection closes"):
        closed = session.conn.eof or session.conn.read_until_close(DENIAL_BOUND)
        ctx.require(closed, "ASGI-EXT-01.d",
                    f"the denial response was sent; the connection was still open "
                    f"{DENIAL_BOUND:g}s later")


def _implemented_unadvertised(ctx: CheckContext) -> bool:
    """The app sends the denial although the scope does not offer it: a server that lacks the
    extension raises or ends the connection (its own 403 or 500); one that delivers the app's
    418 with its X-Denied header implements it without advertising it (ASGI-EXT-01.b, the
    finding; True)."""
    rid, conn = ctx.new_rid(), ctx.connect(timeout=DENIAL_BOUND)
    client = WebSocketClient(conn)
    client.send_handshake(f"{WsRoute.DENY}?status={DENIAL_STATUS}&parts=1&anyway=1",
                          host=f"{ctx.host}:{ctx.port}", headers=[(b"x-probe-id", rid.encode())])
    hs = client.read_handshake(DENIAL_BOUND)
    conn.close()
    if hs.status == DENIAL_STATUS and hs.header(b"x-denied") == b"yes":
        ctx.finding("ASGI-EXT-01.b", f"the websocket scope's extensions do not advertise "
                    f"{DENIAL_EXTENSION!r}, yet the app's websocket.http.response.start "
                    f"({DENIAL_STATUS}, X-Denied: yes) reached the client: "
                    f"{received_text(conn)}")
        return True
    return False
