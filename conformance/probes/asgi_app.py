"""The ASGI probe application (ASGI 3.0; HTTP and lifespan sub-specifications).

Behaviours are chosen by the request path (DESIGN.md decision 3):

    /probe/ready            200, journals nothing (readiness polls)
    /probe/stream           gated stream (see the WSGI probe): each http.response.body is a
                            block; the next one is sent once the client opened the gate
    /probe/wait-disconnect  sends the start and one block, then awaits receive() and journals
                            every event until http.disconnect
    /probe/receive-all      journals every receive() event (type, size, more_body) until the
                            body is complete or the client is gone, then answers
    anything else           echo: journal the scope and the request body events

Lifespan behaviour is chosen per server process by $CONFORMANCE_LIFESPAN, because the lifespan
scope comes before any request: ``normal`` (default), ``slow`` (startup takes 1.5 s),
``fail`` (lifespan.startup.failed), ``raise`` (an exception on the lifespan scope).

The app awaits only through anyio, so it runs on asyncio and trio servers alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio

from conformance.probes import journal

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LIFESPAN_ENV = "CONFORMANCE_LIFESPAN"
STARTUP_FAILED_MESSAGE = "probe: startup failed on purpose"


def snapshot_scope(scope: Scope) -> dict[str, Any]:
    """The scope as the app saw it, JSON-safe, with value types kept (bytes vs str, tuples)."""
    return {"scope": dict(scope), "scope_types": {k: type(v).__name__ for k, v in scope.items()}}


def _rid(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if bytes(name).lower() == journal.RID_HEADER.encode():
            return bytes(value).decode("latin-1")
    return None


def _param(scope: Scope, name: str, default: float) -> float:
    values = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1")).get(name)
    try:
        return float(values[0]) if values else default
    except ValueError:
        return default


async def _lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    mode = os.environ.get(LIFESPAN_ENV, "normal")
    journal.record("lifespan-scope", None, mode=mode, **snapshot_scope(scope))
    if mode == "raise":
        raise RuntimeError("probe: this app raises on the lifespan scope on purpose")
    while True:
        message = await receive()
        journal.record("lifespan-receive", None, message=message)
        if message["type"] == "lifespan.startup":
            if mode == "slow":
                await anyio.sleep(1.5)
            if mode == "fail":
                journal.record("lifespan-send", None, type="lifespan.startup.failed")
                await send({"type": "lifespan.startup.failed", "message": STARTUP_FAILED_MESSAGE})
                return
            state = scope.get("state")
            if isinstance(state, dict):
                state["probe.startup"] = "set at startup"
            journal.record("lifespan-send", None, type="lifespan.startup.complete")
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            journal.record("lifespan-send", None, type="lifespan.shutdown.complete")
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive, rid: str | None) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        journal.record("receive", rid, type=message.get("type"),
                       size=len(message.get("body", b"")),
                       more_body=message.get("more_body", False))
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return bytes(body)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _echo(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    journal.record("request", rid, **snapshot_scope(scope))
    body = await _read_body(receive, rid)
    journal.record("body", rid, body=body)
    await _respond(send, 200, b"echo\n")


async def _stream(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    journal.record("request", rid, **snapshot_scope(scope))
    blocks = int(_param(scope, "blocks", 3))
    wait = _param(scope, "wait", 5.0)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-accel-buffering", b"no")]})
    for number in range(1, blocks + 1):
        if number > 1:
            started = time.monotonic()
            while not journal.gate_is_open(rid or "", number - 1):
                if time.monotonic() - started > wait:
                    journal.record("gate-timeout", rid, block=number - 1, waited=wait)
                    break
                await anyio.sleep(0.005)
            else:
                journal.record("gate-open", rid, block=number - 1)
        journal.record("produce", rid, block=number)
        await send({"type": "http.response.body",
                    "body": f"block-{number}\n".encode() + b"." * 64 + b"\n",
                    "more_body": number < blocks})


async def _wait_disconnect(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    journal.record("request", rid)
    await _read_body(receive, rid)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"started\n", "more_body": True})
    journal.record("awaiting-receive", rid)
    message = await receive()
    journal.record("receive", rid, type=message.get("type"))


async def _receive_all(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    journal.record("request", rid)
    body = await _read_body(receive, rid)
    await _respond(send, 200, b"received %d bytes\n" % len(body))


BEHAVIOURS: dict[str, Callable[[Scope, Receive, Send, str | None], Awaitable[None]]] = {
    "/probe/stream": _stream,
    "/probe/wait-disconnect": _wait_disconnect,
    "/probe/receive-all": _receive_all,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(scope, receive, send)
        return
    if scope["type"] != "http":
        return
    if scope.get("path") == "/probe/ready":
        await _respond(send, 200, b"ready\n")
        return
    rid = _rid(scope)
    behaviour = BEHAVIOURS.get(scope.get("path", ""), _echo)
    try:
        await behaviour(scope, receive, send, rid)
    except Exception as exc:  # journal it, then let the server handle it as the spec says
        journal.record("app-exception", rid, error=repr(exc))
        raise
