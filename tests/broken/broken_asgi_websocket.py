"""Deliberately broken WebSocket stacks: the ASGI probe under a real server (uvicorn), wrapped
in a middleware that breaks one clause of the ASGI WebSocket spec the way a server could
(each attribute is one variant; HTTP and lifespan scopes pass through untouched)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from conformance.probes.asgi_app import app as probe

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Change = Callable[[Message], Message | None]  # None drops the message


def websocket_variant(*, scope: Callable[[Scope], Scope] | None = None,
                      incoming: Change | None = None, outgoing: Change | None = None) -> App:
    """The probe, with its websocket scope, the events it receives and the messages it sends
    changed as a broken server would."""

    async def app(s: Scope, receive: Receive, send: Send) -> None:
        if s["type"] != "websocket":
            await probe(s, receive, send)
            return

        async def changed_receive() -> Message:
            while True:
                message = await receive()
                changed = incoming(message) if incoming else message
                if changed is not None:
                    return changed

        async def changed_send(message: Message) -> None:
            changed = outgoing(message) if outgoing else message
            if changed is not None:
                await send(changed)

        await probe(scope(dict(s)) if scope else s, changed_receive, changed_send)

    return app


def _merge_duplicates(s: Scope) -> Scope:
    """Repeated header lines joined into one, as a dict-based server would."""
    merged: dict[bytes, bytes] = {}
    for name, value in s["headers"]:
        merged[bytes(name)] = merged[bytes(name)] + b"," + bytes(value) \
            if bytes(name) in merged else bytes(value)
    return {**s, "headers": list(merged.items())}


def _last_subprotocol_line(s: Scope) -> Scope:
    """Only the last Sec-WebSocket-Protocol line counts."""
    lines = [bytes(v) for n, v in s["headers"] if bytes(n).lower() == b"sec-websocket-protocol"]
    last = lines[-1].decode() if lines else ""
    return {**s, "subprotocols": [p.strip() for p in last.split(",") if p.strip()]}


def _without(key: str) -> Callable[[Message], Message]:
    def change(message: Message) -> Message:
        return {k: v for k, v in message.items() if k != key}
    return change


def _only(kind: str, change: Change) -> Change:
    def apply(message: Message) -> Message | None:
        return change(message) if message.get("type") == kind else message
    return apply


def _drop_empty(message: Message) -> Message | None:
    payload = message.get("text") if message.get("text") is not None else message.get("bytes")
    return None if payload in ("", b"") else message


def _text_as_bytes(message: Message) -> Message:
    if message.get("text") is None:
        return message
    return {"type": message["type"], "bytes": message["text"].encode()}


def _both_keys(message: Message) -> Message:
    return {**message, "bytes": b"", "text": "also text"} if "bytes" in message else message


def _code_1006(message: Message) -> Message:
    return {**message, "code": 1006}


class _DropAllButLastBodyPart:
    """The denial response's body parts: only the last one is sent."""

    def __call__(self, message: Message) -> Message | None:
        if message.get("type") == "websocket.http.response.body" and message.get("more_body"):
            return None
        return message


class _SilentAfterDisconnect:
    """send() after websocket.disconnect returns instead of raising (the app never knows)."""

    def wrap(self) -> App:
        async def app(s: Scope, receive: Receive, send: Send) -> None:
            if s["type"] != "websocket":
                await probe(s, receive, send)
                return

            async def quiet_send(message: Message) -> None:
                try:
                    await send(message)
                except Exception:  # noqa: BLE001 - swallowing it is the defect
                    return

            await probe(s, receive, quiet_send)

        return app


class _AcceptBeforeTheApp:
    """The handshake is completed on connect, before the app has answered (the app's own
    accept is then dropped)."""

    def wrap(self) -> App:
        async def app(s: Scope, receive: Receive, send: Send) -> None:
            if s["type"] != "websocket":
                await probe(s, receive, send)
                return
            first = await receive()
            await send({"type": "websocket.accept"})
            replayed = [first]

            async def replay() -> Message:
                return replayed.pop() if replayed else await receive()

            async def drop_accept(message: Message) -> None:
                if message.get("type") != "websocket.accept":
                    await send(message)

            await probe(s, replay, drop_accept)

        return app


class _AcceptInsteadOfClose:
    """A close before accept completes the handshake and then closes (no 403)."""

    def wrap(self) -> App:
        async def app(s: Scope, receive: Receive, send: Send) -> None:
            accepted = False

            async def upgrade_first(message: Message) -> None:
                nonlocal accepted
                if message.get("type") == "websocket.accept":
                    accepted = True
                elif message.get("type") == "websocket.close" and not accepted:
                    accepted = True
                    await send({"type": "websocket.accept"})
                await send(message)

            await probe(s, receive, upgrade_first if s["type"] == "websocket" else send)

        return app


merges_duplicate_headers = websocket_variant(scope=_merge_duplicates)
last_subprotocol_line = websocket_variant(scope=_last_subprotocol_line)
scheme_http = websocket_variant(scope=lambda s: {**s, "scheme": "http"})
no_root_path = websocket_variant(scope=lambda s: {**s, "root_path": ""})
drops_subprotocol = websocket_variant(outgoing=_only("websocket.accept", _without("subprotocol")))
drops_accept_headers = websocket_variant(outgoing=_only("websocket.accept", _without("headers")))
drops_close_code = websocket_variant(outgoing=_only("websocket.close", _without("code")))
drops_close_reason = websocket_variant(outgoing=_only("websocket.close", _without("reason")))
drops_empty_messages = websocket_variant(incoming=_only("websocket.receive", _drop_empty))
text_as_bytes = websocket_variant(incoming=_only("websocket.receive", _text_as_bytes))
both_keys = websocket_variant(incoming=_only("websocket.receive", _both_keys))
skips_empty_sends = websocket_variant(outgoing=_only("websocket.send", _drop_empty))
disconnect_code_1006 = websocket_variant(incoming=_only("websocket.disconnect", _code_1006))
# Declares spec 2.5 (the reason key's version) and still drops the client's reason.
disconnect_without_reason = websocket_variant(
    scope=lambda s: {**s, "asgi": {**s["asgi"], "spec_version": "2.5"}},
    incoming=_only("websocket.disconnect", _without("reason")))
denial_last_part_only = websocket_variant(outgoing=_DropAllButLastBodyPart())
silent_send_after_disconnect = _SilentAfterDisconnect().wrap()
accepts_before_the_app = _AcceptBeforeTheApp().wrap()
accepts_instead_of_403 = _AcceptInsteadOfClose().wrap()
