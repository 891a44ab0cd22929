"""Deliberately broken lifespan handling: wrappers around the probe app that act as a buggy
server would, loaded by a real uvicorn (``--lifespan on``) through a target TOML written by
tests/test_broken_asgi_ext.py. One defect per wrapper; the clause each breaks is named in its
docstring."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable
from typing import Any

from conformance.probes.asgi_app import app as probe
from conformance.probes.contract import Route

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_events: dict[str, asyncio.Event] = {}


def _event(name: str) -> asyncio.Event:
    """One event per process and name, made on the server's loop at first use."""
    return _events.setdefault(name, asyncio.Event())


async def startup_after_first_request(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that starts serving at once and hands the app lifespan.startup only after
    the first request reached it (ASGI-LIFE-01.a). To uvicorn the startup looks complete
    at once, so it serves; the app's own lifespan.startup.complete goes nowhere."""
    served = _event("served")
    if scope["type"] == "http":
        try:
            await probe(scope, receive, send)
        finally:
            if scope.get("path") != Route.READY:
                served.set()
        return
    if scope["type"] != "lifespan":
        await probe(scope, receive, send)
        return
    startup = await receive()
    await send({"type": "lifespan.startup.complete"})
    held = True

    async def late_receive() -> Message:
        nonlocal held
        if held:
            held = False
            await served.wait()
            return startup
        return await receive()

    async def to_server(message: Message) -> None:
        if message["type"] != "lifespan.startup.complete":
            await send(message)

    await probe(scope, late_receive, to_server)


async def mapping_scope_stateless_requests(scope: Scope, receive: Receive,
                                           send: Send) -> None:
    """A server whose lifespan scope is a read-only mapping, not a dict (ASGI-LIFE-02.a),
    and whose request scopes have no state although the lifespan scope had one
    (ASGI-LIFE-08.b). Two checks, one defect each."""
    if scope["type"] == "lifespan":
        await probe(types.MappingProxyType(dict(scope)), receive, send)  # type: ignore[arg-type]
        return
    if scope["type"] == "http":
        scope = {key: value for key, value in scope.items() if key != "state"}
    await probe(scope, receive, send)


async def state_only_in_requests(scope: Scope, receive: Receive, send: Send) -> None:
    """A server whose request scopes have a state but whose lifespan scope has none: the
    feature without its lifespan half (ASGI-LIFE-02.g)."""
    if scope["type"] == "lifespan":
        scope = {key: value for key, value in scope.items() if key != "state"}
    await probe(scope, receive, send)


async def shutdown_while_in_flight(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that sends the app lifespan.shutdown while a streamed response is still in
    flight on an open connection (ASGI-LIFE-05.a); its own later shutdown then finds the
    lifespan scope over."""
    in_flight = _event("in-flight")
    if scope["type"] == "http" and scope.get("path") == Route.STREAM:

        async def marking_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body":
                in_flight.set()

        await probe(scope, receive, marking_send)
        return
    if scope["type"] != "lifespan":
        await probe(scope, receive, send)
        return
    started = False

    async def early_receive() -> Message:
        nonlocal started
        if not started:
            started = True
            return await receive()
        await in_flight.wait()
        return {"type": "lifespan.shutdown"}

    async def to_server(message: Message) -> None:
        if not message["type"].startswith("lifespan.shutdown"):
            await send(message)

    await probe(scope, early_receive, to_server)
