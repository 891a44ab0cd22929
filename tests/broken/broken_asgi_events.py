"""Deliberately broken ASGI stacks for the body, lifespan and extension checks: wrappers
around the probe app that act as a buggy server would, loaded by a real uvicorn through a target
TOML written by tests/test_broken_asgi.py. One defect per wrapper."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from conformance.probes.asgi_app import app as probe

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def loses_last_byte(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that drops the last byte of the request body (an off-by-one in its reader)."""

    async def lossy_receive() -> dict[str, Any]:
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body") \
                and message.get("body"):
            message = {**message, "body": message["body"][:-1]}
        return message

    await probe(scope, lossy_receive if scope["type"] == "http" else receive, send)


async def hangs_after_response(scope: Scope, receive: Receive, send: Send) -> None:
    """A server whose receive() after the response never returns (no http.disconnect)."""
    complete = False

    async def tracking_send(message: dict[str, Any]) -> None:
        nonlocal complete
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            complete = True

    async def hanging_receive() -> dict[str, Any]:
        if complete:
            await anyio.sleep_forever()
        return await receive()

    if scope["type"] != "http":
        await probe(scope, receive, send)
        return
    await probe(scope, hanging_receive, tracking_send)


async def claims_spec_24(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that advertises spec_version 2.4 but keeps the silent pre-2.4 send() after a
    disconnect (uvicorn's send is a no-op once the client is gone)."""
    if scope["type"] == "http":
        scope = {**scope, "asgi": {**scope["asgi"], "spec_version": "2.4"}}
    await probe(scope, receive, send)


async def bad_scope_extras(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that advertises every extension without implementing any (uvicorn rejects
    the events), offers tls on plain TCP and debug in production, and gives root_path as
    bytes."""
    if scope["type"] == "http" and scope.get("path") != "/probe/ready":
        scope = {**scope, "root_path": b"", "extensions": {
            "http.response.pathsend": {}, "http.response.zerocopysend": {},
            "http.response.trailers": {}, "http.response.early_hint": {},
            "http.response.debug": {},
            "tls": {"server_cert": None, "client_cert_chain": [], "client_cert_name": None,
                    "client_cert_error": None, "tls_version": None, "cipher_suite": None}}}
    await probe(scope, receive, send)


async def lifespan_version_2(scope: Scope, receive: Receive, send: Send) -> None:
    """A server whose lifespan scope says asgi.version 2.0."""
    if scope["type"] == "lifespan":
        scope = {**scope, "asgi": {**scope.get("asgi", {}), "version": "2.0"}}
    await probe(scope, receive, send)


_shared_state: dict[str, Any] | None = None


async def shared_state(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that hands every request the lifespan state itself, not a shallow copy."""
    global _shared_state
    if scope["type"] == "lifespan":
        _shared_state = scope.get("state")
    elif scope["type"] == "http" and _shared_state is not None:
        scope = {**scope, "state": _shared_state}
    await probe(scope, receive, send)


async def other_loop(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that runs request handlers on a different event loop (a thread) than the
    lifespan scope, bridging receive/send back to its own loop."""
    if scope["type"] != "http" or scope.get("path") != "/probe/state":
        await probe(scope, receive, send)
        return
    main = asyncio.get_running_loop()

    async def on_main_receive() -> dict[str, Any]:
        return await receive()

    async def on_main_send(message: dict[str, Any]) -> None:
        await send(message)

    async def bridged_receive() -> dict[str, Any]:
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(on_main_receive(), main))

    async def bridged_send(message: dict[str, Any]) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(on_main_send(message), main))

    await asyncio.to_thread(asyncio.run, probe(scope, bridged_receive, bridged_send))


async def completes_shutdown_early(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that treats lifespan.shutdown as done at once and exits without waiting for
    the app's lifespan.shutdown.complete."""
    if scope["type"] != "lifespan":
        await probe(scope, receive, send)
        return

    async def early_receive() -> dict[str, Any]:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
        return message

    async def swallow_shutdown(message: dict[str, Any]) -> None:
        if not message["type"].startswith("lifespan.shutdown"):
            await send(message)

    await probe(scope, early_receive, swallow_shutdown)


async def hides_shutdown_failed(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that treats lifespan.shutdown.failed as success (the message is never logged)."""
    if scope["type"] != "lifespan":
        await probe(scope, receive, send)
        return

    async def hide(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.shutdown.failed":
            message = {"type": "lifespan.shutdown.complete"}
        await send(message)

    await probe(scope, receive, hide)


async def swallows_exceptions(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that swallows an app exception and leaves the request hanging: it neither
    answers nor closes the connection (the application instance never ends)."""
    if scope["type"] != "http":
        await probe(scope, receive, send)
        return
    try:
        await probe(scope, receive, send)
    except Exception:  # noqa: BLE001 - the bug: swallowing it
        await anyio.sleep_forever()


async def ignores_root_path(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that accepts a root-path option but never reports it in root_path."""
    if scope["type"] == "http":
        scope = {**scope, "root_path": ""}
    await probe(scope, receive, send)


async def request_instead_of_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that answers a closed connection with an empty final http.request instead of
    http.disconnect (an app reading a body then takes a truncated body as complete)."""

    async def masking_receive() -> dict[str, Any]:
        message = await receive()
        if message["type"] == "http.disconnect":
            return {"type": "http.request", "body": b"", "more_body": False}
        return message

    await probe(scope, masking_receive if scope["type"] == "http" else receive, send)


async def lenient_event_order(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that validates every event dictionary (str header values raise, which
    uvicorn's h11 protocol does not do) but not their order: a body sent before the response
    start is silently dropped instead of raising."""
    if scope["type"] != "http":
        await probe(scope, receive, send)
        return
    started = False

    async def checking_send(message: dict[str, Any]) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            if any(not isinstance(v, bytes) for _, v in message.get("headers", [])):
                raise TypeError("header values must be bytes")
            started = True
        elif message["type"] == "http.response.body" and not started:
            return  # the bug: neither raised nor sent
        await send(message)

    await probe(scope, receive, checking_send)


async def skips_lifespan_shutdown(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that completes the lifespan shutdown itself on SIGTERM: the app is never
    sent lifespan.shutdown."""
    if scope["type"] != "lifespan":
        await probe(scope, receive, send)
        return

    async def hiding_receive() -> dict[str, Any]:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            await anyio.sleep_forever()
        return message

    await probe(scope, hiding_receive, send)


async def root_path_outside_path(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that reports a mount in root_path without including it in path."""
    if scope["type"] == "http" and scope.get("path") != "/probe/ready":
        scope = {**scope, "root_path": "/mount"}
    await probe(scope, receive, send)


async def ignores_early_hints(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that advertises early hints and accepts them, but never sends a 103 (the
    spec lets a server ignore them)."""
    if scope["type"] != "http":
        await probe(scope, receive, send)
        return
    scope = {**scope, "extensions": {**(scope.get("extensions") or {}),
                                     "http.response.early_hint": {}}}

    async def dropping_send(message: dict[str, Any]) -> None:
        if message["type"] != "http.response.early_hint":
            await send(message)

    await probe(scope, receive, dropping_send)


# Issue 13: one broken variant per clause (the clause each breaks is named in its docstring).
async def bodyless_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that, for a request without a body, answers receive() with http.disconnect
    instead of one empty http.request (ASGI-HTTP-01.a, ASGI-HTTP-01.b)."""
    framed = scope["type"] == "http" and any(
        name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])

    async def disconnect_receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    bodyless = scope["type"] == "http" and not framed and scope.get("path") != "/probe/ready"
    await probe(scope, disconnect_receive if bodyless else receive, send)


async def never_final(scope: Scope, receive: Receive, send: Send) -> None:
    """A server whose last http.request keeps more_body True, the body's end told by an
    http.disconnect after it (ASGI-HTTP-01.e)."""
    ended = False

    async def open_ended_receive() -> dict[str, Any]:
        nonlocal ended
        if ended:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body"):
            ended = True
            message = {**message, "more_body": True}
        return message

    await probe(scope, open_ended_receive if scope["type"] == "http" else receive, send)


async def length_on_204(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that adds Content-Length: 0 to a 204 response (ASGI-HTTP-10.f)."""

    async def sized_send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] == 204:
            headers = [(n, v) for n, v in message.get("headers", [])
                       if bytes(n).lower() != b"content-length"]
            message = {**message, "headers": [*headers, (b"content-length", b"0")]}
        await send(message)

    await probe(scope, receive, sized_send if scope["type"] == "http" else send)


def _lifespan_scope(change: Callable[[Scope], None]) -> Callable[..., Awaitable[None]]:
    """The lifespan scope altered before the probe's lifespan handler sees it (called
    directly: the probe dispatches on scope["type"])."""
    from conformance.probes.asgi_app import _lifespan

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await probe(scope, receive, send)
            return
        scope = dict(scope)
        change(scope)
        await _lifespan(scope, receive, send)

    return wrapped


class _StateObject(dict[str, Any]):
    """A state namespace of the server's own class, not a dict."""


# type as bytes (ASGI-LIFE-02.b); type "Lifespan" (ASGI-LIFE-02.c).
lifespan_type_bytes = _lifespan_scope(lambda s: s.update(type=b"lifespan"))
lifespan_type_capitalised = _lifespan_scope(lambda s: s.update(type="Lifespan"))
# asgi.version a float (ASGI-LIFE-02.d); asgi the version str, not a dict (ASGI-LIFE-02.e).
lifespan_version_float = _lifespan_scope(lambda s: s.update(asgi={**s["asgi"], "version": 3.0}))
lifespan_asgi_not_a_dict = _lifespan_scope(lambda s: s.update(asgi=s["asgi"]["version"]))
# state of a dict subclass (ASGI-LIFE-02.f); spec_version a float (ASGI-LIFE-02.i).
lifespan_state_subclass = _lifespan_scope(lambda s: s.update(state=_StateObject(s["state"])))
lifespan_spec_version_float = _lifespan_scope(
    lambda s: s.update(asgi={**s["asgi"], "spec_version": 2.0}))


async def deep_copied_state(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that deep-copies the lifespan state into each request (ASGI-SCOPE-08.b)."""
    import copy

    if scope["type"] == "http" and "state" in scope:
        scope = {**scope, "state": copy.deepcopy(scope["state"])}
    await probe(scope, receive, send)


async def fresh_request_state(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that gives each request an empty state, not a copy of the lifespan one
    (ASGI-LIFE-08.c)."""
    if scope["type"] == "http" and "state" in scope:
        scope = {**scope, "state": {}}
    await probe(scope, receive, send)


# The largest request body refuses_large_bodies lets through (the check sends up to 3 MiB).
BODY_LIMIT = 1024 * 1024


async def refuses_large_bodies(scope: Scope, receive: Receive, send: Send) -> None:
    """A server with a request-size limit: a Content-Length above 1 MiB is read and answered
    413, the app never called (ASGI-HTTP-01.j, the server's choice). The body is read first
    so the 413 is not lost to a reset of a connection with unread data."""
    length = next((int(v) for n, v in scope.get("headers", []) if n == b"content-length"), 0) \
        if scope["type"] == "http" else 0
    if length <= BODY_LIMIT:
        await probe(scope, receive, send)
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-length", b"0"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": b""})


async def raises_after_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """A server declaring spec_version 2.3 whose send() after the client left raises a
    RuntimeError, not a no-op nor the 2.4 OSError (ASGI-HTTP-04.d)."""
    gone = False

    async def noting_receive() -> dict[str, Any]:
        nonlocal gone
        message = await receive()
        gone = gone or message["type"] == "http.disconnect"
        return message

    async def raising_send(message: dict[str, Any]) -> None:
        if gone:
            raise RuntimeError("connection closed")
        await send(message)

    if scope["type"] != "http":
        await probe(scope, receive, send)
        return
    await probe(scope, noting_receive, raising_send)


async def final_body_continues(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that does not take more_body False as the end of the response: it frames the
    response itself (chunked, the app's Content-Length dropped) and keeps it open for the
    next body event (ASGI-HTTP-07.a; that event then reaches the wire, .b)."""
    finals = 0

    async def continuing_send(message: dict[str, Any]) -> None:
        nonlocal finals
        if message["type"] == "http.response.start":
            message = {**message, "headers": [(n, v) for n, v in message.get("headers", [])
                                              if n.lower() != b"content-length"]}
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            finals += 1
            if finals == 1:
                message = {**message, "more_body": True}
        await send(message)

    scripted = scope["type"] == "http" and scope.get("path") == "/probe/respond"
    await probe(scope, receive, continuing_send if scripted else send)


async def pending_receive_not_woken(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that notes the client's close but does not wake a receive() already pending:
    only the next call returns http.disconnect (ASGI-HTTP-03.b)."""
    gone = False

    async def stale_receive() -> dict[str, Any]:
        nonlocal gone
        if gone:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.disconnect":
            gone = True
            await anyio.sleep_forever()
        return message

    await probe(scope, stale_receive if scope["type"] == "http" else receive, send)
