"""RFC 9110 7.8, "Upgrade": a server ignores Upgrade in an HTTP/1.0 request."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.probes.contract import Event, WsRoute
from conformance.verdicts import Level
from conformance.wire import Response, escape_bytes

ANSWER_BOUND = 5.0  # the answer comes at once; this only absorbs a loaded machine
# The app journals a request before it answers, so once the answer is in its entry is too;
# this only absorbs a loaded machine (and is spent only when the entry never comes).
JOURNAL_BOUND = 1.0
# RFC 6455 4.1's example key: any 16-byte nonce in base64 does.
WEBSOCKET_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPGRADE_FIELDS: list[tuple[str | bytes, str | bytes]] = [
    ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", WEBSOCKET_KEY), ("Sec-WebSocket-Version", "13")]


def _outcome(response: Response, entry: dict[str, Any] | None) -> str:
    """What one request got, in words: the status and whether the app saw it."""
    status = response.status or "no answer"
    return f"{status} ({'the app saw it' if entry is not None else 'the app never saw it'})"


@check(
    id="rfc9110.upgrade-http10",
    title="an HTTP/1.0 request with Upgrade: websocket is served as if the field were absent",
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
    handshake, straight to the server, and a control: the same GET without the Upgrade,
    Connection and Sec-WebSocket-* fields. A 101, or the app getting a websocket scope, is an
    upgrade the server should have ignored. Ignoring the field is serving the request as if it
    were absent: when the control reaches the app, the request with Upgrade must reach it too
    (hypercorn hands it to its WebSocket layer, which refuses HTTP/1.0 with a 400 the app never
    sees), and its status must be the control's. WSGI has no upgrade, so the check runs on
    ASGI servers."""
    control = ctx.request("GET", WsRoute.ECHO, version="HTTP/1.0", timeout=ANSWER_BOUND)
    control_entry = ctx.journal.wait_event(control.rid, Event.REQUEST, timeout=JOURNAL_BOUND)
    upgrade = ctx.request("GET", WsRoute.ECHO, headers=UPGRADE_FIELDS, version="HTTP/1.0",
                          timeout=ANSWER_BOUND)
    # Wait for the entry only where one is due: the control's reached the app.
    entry = ctx.journal.wait_event(upgrade.rid, Event.REQUEST, timeout=JOURNAL_BOUND
                                   if control_entry is not None else 0.1)
    response = upgrade.response
    upgraded = entry is not None and entry["scope"].get("type") == "websocket"
    if response.status == 101 or upgraded:
        ctx.finding("PROXY-08.c", f"an HTTP/1.0 request with Upgrade: websocket got "
                    f"{response.status or 'no answer'}"
                    f"{' and reached the app as a websocket scope' if upgraded else ''}: "
                    f"{escape_bytes(response.raw[:300])}")
        return
    acted_on = ((control_entry is not None and entry is None)
                or response.status != control.response.status)
    if acted_on:
        ctx.finding("PROXY-08.c", f"an HTTP/1.0 request with Upgrade: websocket got "
                    f"{_outcome(response, entry)}, while the same request without the Upgrade, "
                    f"Connection and Sec-WebSocket-* fields got "
                    f"{_outcome(control.response, control_entry)}: the field was acted on, "
                    f"not ignored: {escape_bytes(response.raw[:300])}")
