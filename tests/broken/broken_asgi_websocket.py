"""Deliberately broken WebSocket stacks: the ASGI probe under a real server (uvicorn), wrapped
in middlewares that each break one clause of the ASGI WebSocket spec the way a server could.
HTTP and lifespan scopes pass through untouched. A stack (the module attributes at the end)
combines middlewares whose defects are judged in different sub-cases or checks, so every
clause a row of tests/test_broken_websocket.py asserts comes from one middleware (one server
start per stack keeps `make test` short)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import reduce
from typing import Any
from urllib.parse import unquote_to_bytes

from conformance.probes.asgi_app import app as probe

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Middleware = Callable[[App], App]
Change = Callable[[Message], Message | None]  # None drops the message


def changing(*, scope: Callable[[Scope], Scope] | None = None, incoming: Change | None = None,
             outgoing: Change | None = None) -> Middleware:
    """A middleware that changes a websocket scope, the events the app receives, or the
    messages it sends, as a broken server would."""

    def middleware(inner: App) -> App:
        async def app(s: Scope, receive: Receive, send: Send) -> None:
            if s["type"] != "websocket":
                await inner(s, receive, send)
                return

            async def changed_receive() -> Message:
                while True:
                    changed = incoming(await receive()) if incoming else await receive()
                    if changed is not None:
                        return changed

            async def changed_send(message: Message) -> None:
                changed = outgoing(message) if outgoing else message
                if changed is not None:
                    await send(changed)

            await inner(scope(dict(s)) if scope else s, changed_receive, changed_send)

        return app

    return middleware


def stack(*middlewares: Middleware) -> App:
    """The probe inside the middlewares (the first one outermost)."""
    return reduce(lambda app, middleware: middleware(app), reversed(middlewares), probe)


# -- scope ------------------------------------------------------------------------------
def _merge_duplicates(s: Scope) -> Scope:
    """Repeated header lines joined into one, as a dict-based server would."""
    merged: dict[bytes, bytes] = {}
    for name, value in s["headers"]:
        key = bytes(name)
        merged[key] = merged[key] + b"," + bytes(value) if key in merged else bytes(value)
    return {**s, "headers": list(merged.items())}


def _last_subprotocol_line(s: Scope) -> Scope:
    """Only the last subprotocol offered is kept, as a server that reads only the last
    Sec-WebSocket-Protocol line would (hypercorn's defect; uvicorn's wsproto scope carries no
    Sec-WebSocket-* lines to read, so the list itself is cut)."""
    return {**s, "subprotocols": list(s.get("subprotocols") or [])[-1:]}


merges_duplicate_headers = changing(scope=_merge_duplicates)
last_subprotocol_line = changing(scope=_last_subprotocol_line)
scheme_http = changing(scope=lambda s: {**s, "scheme": "http"})
no_root_path = changing(scope=lambda s: {**s, "root_path": ""})
declares_spec_2_5 = changing(scope=lambda s: {**s, "asgi": {**s["asgi"], "spec_version": "2.5"}})
type_bytes = changing(scope=lambda s: {**s, "type": b"websocket"})
scheme_empty = changing(scope=lambda s: {**s, "scheme": ""})
path_not_decoded = changing(scope=lambda s: {**s, "path": s["raw_path"].decode("latin-1")})
raw_path_decoded = changing(scope=lambda s: {**s, "raw_path": unquote_to_bytes(s["raw_path"])})
no_raw_path = changing(scope=lambda s: {k: v for k, v in s.items() if k != "raw_path"})
# The denial response still delivered (uvicorn implements it), its extension no longer in the
# scope (ASGI-EXT-01.b).
hides_denial_extension = changing(scope=lambda s: {**s, "extensions": {
    k: v for k, v in (s.get("extensions") or {}).items() if k != "websocket.http.response"}})
query_decoded = changing(scope=lambda s: {
    **s, "query_string": unquote_to_bytes(s["query_string"].replace(b"+", b" "))})
headers_reversed = changing(scope=lambda s: {**s, "headers": list(reversed(s["headers"]))})
header_names_upper = changing(scope=lambda s: {
    **s, "headers": [(bytes(n).upper(), v) for n, v in s["headers"]]})
pseudo_header = changing(scope=lambda s: {
    **s, "headers": [(b":authority", b"127.0.0.1"), *s["headers"]]})
client_port_str = changing(scope=lambda s: {**s, "client": (s["client"][0], str(s["client"][1]))})
server_port_off = changing(scope=lambda s: {**s, "server": (s["server"][0], s["server"][1] + 1)})


# -- messages ---------------------------------------------------------------------------
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


def _all_but_last_body_part(message: Message) -> Message | None:
    """Of a denial body sent in parts only the last is sent (granian's defect)."""
    if message.get("type") == "websocket.http.response.body" and message.get("more_body"):
        return None
    return message


def _bytes_as_text(message: Message) -> Message:
    if message.get("bytes") is None:
        return message
    return {"type": message["type"], "text": message["bytes"].decode("latin-1")}


def _corrupt_payload(message: Message) -> Message:
    if message.get("text"):
        return {**message, "text": message["text"] + "~"}
    if message.get("bytes"):
        return {**message, "bytes": message["bytes"] + b"~"}
    return message


def _denial_status_403(message: Message) -> Message:
    return {**message, "status": 403}


def _denial_headers_reversed(message: Message) -> Message:
    return {**message, "headers": list(reversed(list(message.get("headers") or [])))}


drops_subprotocol = changing(outgoing=_only("websocket.accept", _without("subprotocol")))
drops_accept_headers = changing(outgoing=_only("websocket.accept", _without("headers")))
drops_close_code = changing(outgoing=_only("websocket.close", _without("code")))
drops_close_reason = changing(outgoing=_only("websocket.close", _without("reason")))
drops_empty_messages = changing(incoming=_only("websocket.receive", _drop_empty))
text_as_bytes = changing(incoming=_only("websocket.receive", _text_as_bytes))
both_keys = changing(incoming=_only("websocket.receive", _both_keys))
# daphne's defect: an empty text or bytes message from the app is never sent.
skips_empty_sends = changing(outgoing=_only("websocket.send", _drop_empty))
# hypercorn's defect: the client's close code is lost (1006 instead).
disconnect_code_1006 = changing(
    incoming=_only("websocket.disconnect", lambda m: {**m, "code": 1006}))
disconnect_without_reason = changing(incoming=_only("websocket.disconnect", _without("reason")))
denial_last_part_only = changing(outgoing=_all_but_last_body_part)
bytes_as_text = changing(incoming=_only("websocket.receive", _bytes_as_text))
corrupts_payload = changing(incoming=_only("websocket.receive", _corrupt_payload))
denial_status_403 = changing(outgoing=_only("websocket.http.response.start", _denial_status_403))
denial_headers_reversed = changing(
    outgoing=_only("websocket.http.response.start", _denial_headers_reversed))


# -- the handshake and send() -------------------------------------------------------------
def silent_send_after_disconnect(inner: App) -> App:
    """send() after websocket.disconnect returns instead of raising (the app never knows)."""

    async def app(s: Scope, receive: Receive, send: Send) -> None:
        async def quiet_send(message: Message) -> None:
            try:
                await send(message)
            except Exception:  # noqa: BLE001 - swallowing it is the defect
                return

        await inner(s, receive, quiet_send if s["type"] == "websocket" else send)

    return app


def adds_subprotocol(inner: App) -> App:
    """An accept without a subprotocol still answers with the client's first one."""

    async def app(s: Scope, receive: Receive, send: Send) -> None:
        offered = list(s.get("subprotocols") or []) if s["type"] == "websocket" else []

        async def with_subprotocol(message: Message) -> None:
            if message.get("type") == "websocket.accept" and offered \
                    and not message.get("subprotocol"):
                message = {**message, "subprotocol": offered[0]}
            await send(message)

        await inner(s, receive, with_subprotocol)

    return app


def accepts_before_the_app(inner: App) -> App:
    """The handshake is completed on connect, before the app answers (its own accept is then
    dropped)."""

    async def app(s: Scope, receive: Receive, send: Send) -> None:
        if s["type"] != "websocket":
            await inner(s, receive, send)
            return
        replayed = [await receive()]
        await send({"type": "websocket.accept"})

        async def replay() -> Message:
            return replayed.pop() if replayed else await receive()

        async def drop_accept(message: Message) -> None:
            if message.get("type") != "websocket.accept":
                await send(message)

        await inner(s, replay, drop_accept)

    return app


def accepts_instead_of_403(inner: App) -> App:
    """A close before accept completes the handshake and then closes (no 403)."""

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

        await inner(s, receive, upgrade_first if s["type"] == "websocket" else send)

    return app


# -- the stacks (one defect per check in each) ------------------------------------------------
lax_a = stack(merges_duplicate_headers, drops_subprotocol, drops_close_code, text_as_bytes,
              disconnect_code_1006, silent_send_after_disconnect, denial_last_part_only)
lax_b = stack(last_subprotocol_line, no_root_path, drops_accept_headers, adds_subprotocol,
              drops_close_reason, drops_empty_messages, declares_spec_2_5,
              disconnect_without_reason, denial_status_403)
lax_c = stack(scheme_http, accepts_before_the_app, accepts_instead_of_403, both_keys,
              skips_empty_sends)
# Every scope key of its own sub-case wrong at once (each judged apart), and bytes as text.
lax_d = stack(scheme_empty, path_not_decoded, raw_path_decoded, query_decoded,
              headers_reversed, header_names_upper, pseudo_header, client_port_str,
              server_port_off, bytes_as_text)
lax_e = stack(no_raw_path, corrupts_payload, denial_headers_reversed)
lax_type = stack(type_bytes)
lax_unadvertised = stack(hides_denial_extension)
# Through nginx: the 101 before the app's accept, the app's empty messages never sent, its
# close code dropped, the client's close code lost; then payloads changed, the close reason
# dropped, and (spec 2.5 declared) the client's close reason lost.
lax_proxy = stack(accepts_before_the_app, text_as_bytes, skips_empty_sends, drops_close_code,
                  disconnect_code_1006)
lax_proxy_b = stack(corrupts_payload, drops_close_reason, declares_spec_2_5,
                    disconnect_without_reason)
