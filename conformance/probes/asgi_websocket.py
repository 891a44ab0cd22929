"""The ASGI probe's WebSocket behaviours (asgi-www.rst "WebSocket"; asgi-extensions.rst
"Websocket Denial Response").

Every event the app receives and every message it sends is journalled under the request id of
the handshake's ``x-probe-id`` header (WS_RECEIVE, WS_SEND with whether send() raised), after
the scope (REQUEST). Behaviours are chosen by path (:class:`WsRoute`); query parameters shape
them:

    /ws/echo                 accept (``subprotocol=``, ``header=name:value`` repeated, sent
                             only where spec_version >= 2.1; ``delay=`` seconds first), then
                             echo each message in its own kind until websocket.disconnect
    /ws/close-before-accept  websocket.close before accepting (``code=``, ``reason=``); with
                             ``then=receive`` keep awaiting receive() and journal what comes
    /ws/deny                 the denial response (``status=``, ``parts=``) where
                             ``websocket.http.response`` is advertised, else a plain close
                             (``anyway=1``: the denial response all the same)
    /ws/close-after-accept   accept, optionally send one text (``send=``), then websocket.close
                             with ``code=`` / ``reason=`` when given (absent keys: defaults)
    /ws/send-after-close     accept, await websocket.disconnect, then send() once more
    /ws/send-sizes           accept, send one message per size in ``sizes=`` (``kind=text`` or
                             bytes) and the text SIZES_END, then echo until websocket.disconnect
    /ws/receive-only         accept, then only journal receive() events (with their arrival
                             time) until websocket.disconnect

A message larger than :data:`INLINE_LIMIT` is journalled as its kind, size and sha256, so the
journal stays small while the oracle can still compare it exactly.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio

from conformance.probes import journal
from conformance.probes.contract import Event, WsRoute, probe_query

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INLINE_LIMIT = 4096
# How long /ws/close-after-accept keeps awaiting receive() after its close (only so the
# disconnect is journalled too).
RECEIVE_AFTER_CLOSE_WAIT = 3.0
# How long /ws/close-before-accept?then=receive keeps awaiting receive() after its close. The
# clock starts before the server has even sent its 403, and the check closes the client only
# after it has read that answer (up to its own answer bound, 5 s) and, when the answer announced
# "close", the server's close (3 s), and then waits its own bound (5 s) from that close: this
# must outlast both on a loaded machine, so the server's time to deliver websocket.disconnect
# is the check's bound, not what is left of the app's. The app returns as soon as the
# disconnect comes.
CLOSED_BEFORE_ACCEPT_WAIT = 30.0
DENIAL_EXTENSION = "websocket.http.response"
# /ws/send-sizes ends its messages with this text, so the client knows it has seen them all.
SIZES_END = "probe: end of the sizes"
DENIAL_BODY_PART = b"denied part %d;"


def message_digest(message: Message) -> dict[str, Any]:
    """A received or sent message as journalled: every key as given (so a check sees which of
    text / bytes is set and their types), large payloads replaced by size and sha256."""
    entry: dict[str, Any] = {}
    for key, value in message.items():
        if isinstance(value, bytes | str) and key in ("text", "bytes") \
                and len(value) > INLINE_LIMIT:
            raw = value.encode("utf-8") if isinstance(value, str) else value
            entry[key] = {"kind": type(value).__name__, "size": len(value),
                          "sha256": hashlib.sha256(raw).hexdigest()}
        else:
            entry[key] = value
    return entry


def _query(scope: Scope) -> dict[str, list[str]]:
    return parse_qs(probe_query(scope.get("query_string") or b""), keep_blank_values=True)


class _Socket:
    """The app's side of one WebSocket: receive and send, each journalled."""

    def __init__(self, rid: str | None, receive: Receive, send: Send) -> None:
        self.rid, self._receive, self._send = rid, receive, send

    async def receive(self) -> Message:
        message = await self._receive()
        journal.record(Event.WS_RECEIVE, self.rid, message=message_digest(message),
                       at=time.monotonic())
        return message

    async def send(self, message: Message) -> bool:
        """Send and journal; False when send() raised (the exception is journalled)."""
        try:
            await self._send(message)
        except Exception as exc:  # noqa: BLE001 - what the server raised is the observation
            journal.record(Event.WS_SEND, self.rid, message=message_digest(message),
                           raised=type(exc).__name__, is_oserror=isinstance(exc, OSError),
                           error=str(exc)[:200])
            return False
        journal.record(Event.WS_SEND, self.rid, message=message_digest(message), raised=None)
        return True

    async def echo_until_disconnect(self) -> None:
        while True:
            message = await self.receive()
            if message.get("type") != "websocket.receive":
                return
            reply: Message = {"type": "websocket.send"}
            if message.get("bytes") is not None:
                reply["bytes"] = message["bytes"]
            else:
                reply["text"] = message.get("text")
            if not await self.send(reply):
                return


async def websocket(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    """The probe's answer to a ``websocket`` scope."""
    journal.record(Event.REQUEST, rid, scope=dict(scope),
                   scope_types={k: type(v).__name__ for k, v in scope.items()})
    ws = _Socket(rid, receive, send)
    connect = await ws.receive()
    if connect.get("type") != "websocket.connect":
        return
    query = _query(scope)
    path = scope.get("path", "")

    def one(name: str) -> str | None:
        return query[name][0] if name in query else None

    if path == WsRoute.CLOSE_BEFORE_ACCEPT:
        await ws.send(_close_message(one("code"), one("reason")))
        if one("then") == "receive":
            with anyio.move_on_after(CLOSED_BEFORE_ACCEPT_WAIT):
                while (await ws.receive()).get("type") != "websocket.disconnect":
                    pass
        return
    if path == WsRoute.DENY:
        await _deny(ws, scope, int(one("status") or 418), int(one("parts") or 3),
                    anyway=one("anyway") is not None)
        return

    if one("delay") is not None:
        # The app takes its time to accept: a server must not complete the handshake first.
        await anyio.sleep(float(one("delay") or 0))
    accept: Message = {"type": "websocket.accept"}
    if one("subprotocol") is not None:
        accept["subprotocol"] = one("subprotocol")
    if "header" in query and spec_version(scope) >= (2, 1):
        # "2.1: Added the headers key to the WebSocket Accept response": sending it to an
        # older server would be the app's error.
        accept["headers"] = [tuple(v.encode("latin-1") for v in item.split(":", 1))
                             for item in query["header"]]
    if not await ws.send(accept):
        return

    if path == WsRoute.CLOSE_AFTER_ACCEPT:
        if one("send") is not None:
            await ws.send({"type": "websocket.send", "text": one("send")})
        await ws.send(_close_message(one("code"), one("reason")))
        # Await the client's answer to the close so the disconnect is journalled too.
        with anyio.move_on_after(RECEIVE_AFTER_CLOSE_WAIT):
            while (await ws.receive()).get("type") != "websocket.disconnect":
                pass
    elif path == WsRoute.SEND_AFTER_CLOSE:
        while (await ws.receive()).get("type") != "websocket.disconnect":
            pass
        await ws.send({"type": "websocket.send", "text": "after the disconnect"})
    elif path == WsRoute.SEND_SIZES:
        kind = "text" if one("kind") == "text" else "bytes"
        for size in (int(s) for s in (one("sizes") or "").split(",") if s):
            payload: str | bytes = "t" * size if kind == "text" else b"b" * size
            if not await ws.send({"type": "websocket.send", kind: payload}):
                return
        await ws.send({"type": "websocket.send", "text": SIZES_END})
        await ws.echo_until_disconnect()
    elif path == WsRoute.RECEIVE_ONLY:
        while (await ws.receive()).get("type") != "websocket.disconnect":
            pass
    else:
        await ws.echo_until_disconnect()


def spec_version(scope: Scope) -> tuple[int, ...]:
    """The scope's asgi.spec_version as numbers ("2.0" when missing, as the spec says)."""
    asgi = scope.get("asgi")
    text = str((asgi.get("spec_version") if isinstance(asgi, dict) else None) or "2.0")
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (2, 0)


def _close_message(code: str | None, reason: str | None) -> Message:
    message: Message = {"type": "websocket.close"}
    if code is not None:
        message["code"] = int(code)
    if reason is not None:
        message["reason"] = reason
    return message


async def _deny(ws: _Socket, scope: Scope, status: int, parts: int, *,
                anyway: bool = False) -> None:
    """The denial response where the server advertises it; a plain close where it does not
    (the spec's 403), unless ``anyway``: then the denial is sent all the same, to see whether
    a server that does not advertise the extension implements it."""
    extensions = scope.get("extensions") or {}
    if DENIAL_EXTENSION not in extensions and not anyway:
        await ws.send({"type": "websocket.close"})
        return
    await ws.send({"type": "websocket.http.response.start", "status": status,
                   "headers": [(b"content-type", b"text/plain"), (b"x-denied", b"yes")]})
    for number in range(1, parts + 1):
        await ws.send({"type": "websocket.http.response.body",
                       "body": DENIAL_BODY_PART % number, "more_body": number < parts})


def denial_body(parts: int) -> bytes:
    """The body /ws/deny sends in ``parts`` parts."""
    return b"".join(DENIAL_BODY_PART % n for n in range(1, parts + 1))
