"""RFC 9110 7.8, "Upgrade": a server ignores Upgrade in an HTTP/1.0 request."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.probes.contract import Event, WsRoute
from conformance.verdicts import Level
from conformance.wire import escape_bytes, request_bytes

ANSWER_BOUND = 5.0  # the answer comes at once; this only absorbs a loaded machine
# RFC 6455 4.1's example key: any 16-byte nonce in base64 does.
WEBSOCKET_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


@check(
    id="rfc9110.upgrade-http10",
    title="an HTTP/1.0 request with Upgrade: websocket is not upgraded",
    requirements=["PROXY-08"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 9110 7.8 Upgrade",
)
def upgrade_http10(ctx: CheckContext) -> None:
    """RFC 9110 7.8: "A server that receives an Upgrade header field in an HTTP/1.0 request
    MUST ignore that Upgrade field." (PROXY-08.c: the reason nginx needs proxy_http_version
    1.1 to pass a WebSocket on). An HTTP/1.0 GET with every field of a WebSocket opening
    handshake, straight to the server: a 101, or the app getting a websocket scope, is an
    upgrade the server should have ignored; any ordinary response (the app's, or a 4xx) is
    ignoring it. WSGI has no upgrade, so the check runs on ASGI servers."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", WsRoute.ECHO, ctx.base_headers(rid) + [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", WEBSOCKET_KEY), ("Sec-WebSocket-Version", "13")],
        version="HTTP/1.0"))
    response = conn.read_response(timeout=ANSWER_BOUND)
    conn.close()
    entry = ctx.journal.wait_event(rid, Event.REQUEST, timeout=1.0)
    upgraded = entry is not None and entry["scope"].get("type") == "websocket"
    if response.status == 101 or upgraded:
        ctx.finding("PROXY-08.c", f"an HTTP/1.0 request with Upgrade: websocket got "
                    f"{response.status or 'no answer'}"
                    f"{' and reached the app as a websocket scope' if upgraded else ''}: "
                    f"{escape_bytes(response.raw[:300])}")
