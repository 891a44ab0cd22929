"""The ASGI probe application (ASGI 3.0; HTTP and lifespan sub-specifications).

Behaviours are chosen by the request path (DESIGN.md decision 3):

    /probe/ready            200, journals nothing (readiness polls)
    /probe/stream           gated stream (see the WSGI probe): each http.response.body is a
                            block; the next one is sent once the client opened the gate
    /probe/wait-disconnect  sends the start and one block, then awaits receive() and journals
                            every event until http.disconnect (a receive() still pending
                            after 8 s is given up for a fresh call: receive-again)
    /probe/receive-all      journals every receive() event (type, size, more_body) until the
                            body is complete or the client is gone, then a body summary (size,
                            sha256), then answers; with ?after=1 it then calls receive() once
                            more (bounded) and journals what came back
    /probe/send-after-disconnect  like wait-disconnect, then calls send() once more and
                            journals whether it raised (and what)
    /probe/respond?case=... response-side cases (see :data:`RESPONSE_CASES` in
                            asgi_respond.py): app-sent Transfer-Encoding, sends after the final
                            body, invalid events, exceptions, bodies on HEAD/204/304
    /probe/ext?kind=...     uses one HTTP extension (pathsend, trailers, early-hint,
                            zerocopysend; zerocopysend-range with offset and count,
                            zerocopysend-seeked from a position the app seeked to)
    /probe/state            journals scope["state"] as seen, then adds a top-level key to it
    anything else           echo: journal the scope and the request body events

WebSocket scopes go to asgi_websocket.py (its routes: :class:`WsRoute`).

Lifespan behaviour is chosen per server process by $CONFORMANCE_LIFESPAN, because the lifespan
scope comes before any request: ``normal`` (default), ``slow`` (startup takes 1.5 s),
``fail`` (lifespan.startup.failed), ``raise`` (an exception on the lifespan scope),
``slow-shutdown`` (shutdown takes 1 s before lifespan.shutdown.complete), ``shutdown-fail``
(lifespan.shutdown.failed). Lifespan and request events carry the identity of the running
event loop (``loop``: pid and loop object id) so checks can compare them.

The app awaits only through anyio, so it runs on asyncio and trio servers alike.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio

from conformance.probes import journal
from conformance.probes.asgi_respond import EXT_FILE, ext, loop_identity, respond
from conformance.probes.asgi_websocket import websocket
from conformance.probes.contract import ECHO_BODY, Event, Route, probe_query
from conformance.probes.proxy_probes import ASGI_BEHAVIOURS

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LIFESPAN_ENV = "CONFORMANCE_LIFESPAN"
STARTUP_FAILED_MESSAGE = "probe: startup failed on purpose"
SHUTDOWN_FAILED_MESSAGE = "probe: shutdown failed on purpose"
# How long the app waits for the extra receive() after a complete response (?after=1).
AFTER_RESPONSE_WAIT = 5.0
# How long /probe/wait-disconnect leaves its receive() pending before it gives up on it and
# calls receive() afresh (journalled as RECEIVE_AGAIN): well past the checks' own 5 s bound
# for http.disconnect (counted from the close, which comes up to 1 s after the app awaits),
# so an answer within that bound is always the pending call's.
PENDING_RECEIVE_WAIT = 8.0
# The part of EXT_FILE that /probe/ext?kind=zerocopysend-range asks for (offset, count), and
# where zerocopysend-seeked leaves the file's position (ASGI-EXT-05).
ZEROCOPY_OFFSET = 100
ZEROCOPY_COUNT = 200


def snapshot_scope(scope: Scope) -> dict[str, Any]:
    """The scope as the app saw it, JSON-safe, with value types kept (bytes vs str, tuples),
    and the scope's own class ("scope must be a dict.": a mapping of another class is kept
    apart)."""
    return {"scope": dict(scope), "scope_types": {k: type(v).__name__ for k, v in scope.items()},
            "scope_class": type(scope).__name__, "scope_is_dict": isinstance(scope, dict)}


def _as_bytes(value: Any) -> bytes | None:
    """A header name, value or query string as bytes, whatever type the server gave (a str
    is taken as latin-1 text); None when it is neither bytes-like nor str. Only for the
    probe's own routing: the scope is journalled as the server gave it, and the checks judge
    the types."""
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    try:
        return bytes(memoryview(value))
    except TypeError:
        return None


def _rid(scope: Scope) -> str | None:
    """The request id of the x-probe-id header. The probe app must never crash on what a
    server hands it (str header names, entries that are not pairs, no list at all): it finds
    its id where it can and journals the scope as given."""
    try:
        entries = list(scope.get("headers") or [])
    except TypeError:
        return None
    for entry in entries:
        try:
            name, value = entry
        except (TypeError, ValueError):
            continue
        name_bytes, value_bytes = _as_bytes(name), _as_bytes(value)
        if name_bytes is not None and value_bytes is not None \
                and name_bytes.lower() == journal.RID_HEADER.encode():
            return value_bytes.decode("latin-1")
    return None


def _param(scope: Scope, name: str, default: float) -> float:
    query = _as_bytes(scope.get("query_string", b"")) or b""
    values = parse_qs(probe_query(query)).get(name)
    try:
        return float(values[0]) if values else default
    except ValueError:
        return default


async def _lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    mode = os.environ.get(LIFESPAN_ENV, "normal")
    journal.record(Event.LIFESPAN_SCOPE, None, mode=mode, **snapshot_scope(scope))
    if mode == "raise":
        raise RuntimeError("probe: this app raises on the lifespan scope on purpose")
    while True:
        message = await receive()
        journal.record(Event.LIFESPAN_RECEIVE, None, message=message, loop=loop_identity())
        if message["type"] == "lifespan.startup":
            if mode == "slow":
                await anyio.sleep(1.5)
            if mode == "fail":
                journal.record(Event.LIFESPAN_SEND, None, type="lifespan.startup.failed")
                await send({"type": "lifespan.startup.failed", "message": STARTUP_FAILED_MESSAGE})
                return
            state = scope.get("state")
            shared: dict[str, Any] = {}
            if isinstance(state, dict):
                state["probe.startup"] = "set at startup"
                state["probe.shared"] = shared
            journal.record(Event.LIFESPAN_SEND, None, type="lifespan.startup.complete",
                           shared_id=id(shared))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown" and mode == "shutdown-fail":
            journal.record(Event.LIFESPAN_SEND, None, type="lifespan.shutdown.failed")
            await send({"type": "lifespan.shutdown.failed", "message": SHUTDOWN_FAILED_MESSAGE})
            return
        elif message["type"] == "lifespan.shutdown":
            if mode == "slow-shutdown":
                # The app's own cleanup time: the server must wait for it (ASGI-LIFE-05).
                await anyio.sleep(1.0)
            journal.record(Event.LIFESPAN_SEND, None, type="lifespan.shutdown.complete")
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive, rid: str | None) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        journal.record(Event.RECEIVE, rid, type=message.get("type"),
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
    journal.record(Event.REQUEST, rid, **snapshot_scope(scope))
    body = await _read_body(receive, rid)
    journal.record(Event.BODY, rid, body=body)
    await _respond(send, 200, ECHO_BODY)


async def _stream(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    journal.record(Event.REQUEST, rid, **snapshot_scope(scope))
    blocks = int(_param(scope, "blocks", 3))
    wait = _param(scope, "wait", 5.0)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-accel-buffering", b"no")]})
    for number in range(1, blocks + 1):
        if number > 1:
            started = time.monotonic()
            while not journal.gate_is_open(rid or "", number - 1):
                if time.monotonic() - started > wait:
                    journal.record(Event.GATE_TIMEOUT, rid, block=number - 1, waited=wait)
                    break
                await anyio.sleep(0.005)
            else:
                journal.record(Event.GATE_OPEN, rid, block=number - 1)
        journal.record(Event.PRODUCE, rid, block=number)
        await send({"type": "http.response.body",
                    "body": f"block-{number}\n".encode() + b"." * 64 + b"\n",
                    "more_body": number < blocks})


async def _wait_disconnect(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    journal.record(Event.REQUEST, rid)
    await _read_body(receive, rid)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"started\n", "more_body": True})
    journal.record(Event.AWAITING_RECEIVE, rid)
    with anyio.move_on_after(PENDING_RECEIVE_WAIT) as pending:
        message = await receive()
    if pending.cancel_called:
        # The pending receive() never answered: a fresh call that answers at once tells a
        # server that knew of an event (the close) but did not give it to the call awaiting
        # it (ASGI-HTTP-03.b). The fresh call has no deadline of its own, like the first: a
        # late http.disconnect stays the late one deployment.disconnect reports.
        started = time.monotonic()
        message = await receive()
        journal.record(Event.RECEIVE_AGAIN, rid, type=message.get("type"),
                       waited=time.monotonic() - started)
    journal.record(Event.RECEIVE, rid, type=message.get("type"))


async def _receive_all(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    journal.record(Event.REQUEST, rid)
    body = await _read_body(receive, rid)
    journal.record(Event.BODY_SUMMARY, rid, size=len(body), sha256=hashlib.sha256(body).hexdigest())
    await _respond(send, 200, b"received %d bytes\n" % len(body))
    if _param(scope, "after", 0):
        with anyio.move_on_after(AFTER_RESPONSE_WAIT) as waited:
            message = await receive()
        if waited.cancel_called:
            journal.record(Event.AFTER_RESPONSE, rid, type=None, waited=AFTER_RESPONSE_WAIT)
        else:
            journal.record(Event.AFTER_RESPONSE, rid, type=message.get("type"))


async def _send_after_disconnect(scope: Scope, receive: Receive, send: Send,
                                 rid: str | None) -> None:
    await _wait_disconnect(scope, receive, send, rid)
    try:
        await send({"type": "http.response.body", "body": b"after-disconnect\n",
                    "more_body": True})
    except BaseException as exc:  # noqa: BLE001 - what the server raised is the observation
        journal.record(Event.SEND_AFTER_DISCONNECT, rid, raised=True, error=type(exc).__name__,
                       is_oserror=isinstance(exc, OSError))
        return
    journal.record(Event.SEND_AFTER_DISCONNECT, rid, raised=False, error=None, is_oserror=False)


async def _state(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    state = scope.get("state")
    await _read_body(receive, rid)
    if not isinstance(state, dict):
        journal.record(Event.STATE, rid, present=False, loop=loop_identity())
    else:
        journal.record(Event.STATE, rid, present=True, keys=sorted(str(k) for k in state),
                       startup=state.get("probe.startup"),
                       shared_id=id(state.get("probe.shared")), loop=loop_identity())
        # A top-level key that the next request must not see (ASGI-SCOPE-08).
        state[f"probe.added.{rid}"] = True
    await _respond(send, 200, b"state\n")


async def _ext(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    """The zerocopysend keys (offset, count, the file's current position), else ext()."""
    kind = parse_qs(probe_query(_as_bytes(scope.get("query_string", b"")) or b"")).get(
        "kind", [""])[0]
    if kind not in ("zerocopysend-range", "zerocopysend-seeked"):
        await ext(scope, receive, send, rid)
        return
    journal.record(Event.REQUEST, rid, kind=kind, extensions=scope.get("extensions"))
    await _read_body(receive, rid)
    with open(EXT_FILE, "rb") as fh:
        message: Message = {"type": "http.response.zerocopysend", "file": fh}
        if kind == "zerocopysend-range":
            message.update(offset=ZEROCOPY_OFFSET, count=ZEROCOPY_COUNT)
        else:
            fh.seek(ZEROCOPY_OFFSET)
        # No Content-Length: the body's end is the server's framing, so extra bytes show.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        try:
            await send(message)
        except Exception as exc:  # noqa: BLE001 - what the server raised is the observation
            journal.record(Event.SEND_RESULT, rid, step=kind, raised=True,
                           error=type(exc).__name__)
            return
        journal.record(Event.SEND_RESULT, rid, step=kind, raised=False, error=None)


async def _status(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    """Answer ?code= (204/304 without body or framing) with ?cookies= Set-Cookie fields."""
    journal.record(Event.REQUEST, rid)
    code = int(_param(scope, "code", 200))
    headers = [(b"set-cookie", f"probe{n}=v{n}; Path=/".encode())
               for n in range(int(_param(scope, "cookies", 0)))]
    body = b"" if code in (204, 304) or code < 200 else b"ok\n"
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _no_read(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    """Answer at once without reading the request body (HTTP-12, HTTP-13)."""
    journal.record(Event.REQUEST, rid)
    await _respond(send, 200, b"no-read\n")


BEHAVIOURS: dict[str, Callable[[Scope, Receive, Send, str | None], Awaitable[None]]] = {
    Route.STREAM: _stream,
    Route.FRAMING_STATUS: _status,
    Route.NO_READ: _no_read,
    Route.WAIT_DISCONNECT: _wait_disconnect,
    Route.RECEIVE_ALL: _receive_all,
    Route.SEND_AFTER_DISCONNECT: _send_after_disconnect,
    Route.STATE: _state,
    Route.RESPOND: respond,
    Route.EXT: _ext,
}
BEHAVIOURS.update(ASGI_BEHAVIOURS)  # /probe/whoami, status, error, digest (PROXY-*)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope.get("type") not in ("lifespan", "websocket", "http"):
        # No type key, or a type the probe does not understand (a bytes b"http", "HTTP"):
        # journalled for the checks of ASGI-SCOPE-01, then rejected as asgi.rst asks
        # ("Applications should actively reject any protocol that they do not understand
        # with an `Exception`").
        journal.record(Event.REQUEST, _rid(scope), **snapshot_scope(scope))
        raise ValueError(f"probe: scope type {scope.get('type')!r} not understood")
    if scope["type"] == "lifespan":
        await _lifespan(scope, receive, send)
        return
    if scope["type"] == "websocket":
        await websocket(scope, receive, send, _rid(scope))
        return
    if scope["type"] != "http":
        return
    if scope.get("path") == Route.READY:
        await _respond(send, 200, b"ready\n")
        return
    rid = _rid(scope)
    behaviour = BEHAVIOURS.get(scope.get("path", ""), _echo)
    try:
        await behaviour(scope, receive, send, rid)
    except Exception as exc:  # journal it, then let the server handle it as the spec says
        journal.record(Event.APP_EXCEPTION, rid, error=repr(exc))
        raise
