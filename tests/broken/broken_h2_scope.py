"""Deliberately broken HTTP/2 stacks for tests/test_broken_h2_scope.py: the probe app under a
real hypercorn speaking HTTP/2 with prior knowledge, each stack breaking clauses of H2-01 or
H2-02 (one clause per defect, several defects per stack where they do not meet).

Most are wrappers that change what an HTTP/2 request's app sees (the scope, the receive()
events), as a server with that bug would hand it over; HTTP/1.1 requests (the harness's
readiness polls) are left alone. Two defects live in hypercorn's HTTP/2 layer itself and are
made there, in the worker process, when the app is first called (the lifespan scope, before
any connection): a server that accepts a Host field differing from :authority and hands the
app the Host, and one that tears the whole connection down when the client resets a stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio

from conformance.probes.asgi_app import app as probe

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _is_h2(scope: Scope) -> bool:
    return scope.get("type") == "http" and scope.get("http_version") == "2"


def _target(scope: Scope) -> bytes:
    """The :path hypercorn split into raw_path and query_string."""
    query = scope["query_string"]
    return scope["raw_path"] + (b"?" + query if query else b"")


def _scope_changed(change: Callable[[Scope], None]) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_h2(scope):
            scope = dict(scope)
            change(scope)
        await probe(scope, receive, send)
    return app


def _keys_a(scope: Scope) -> None:
    """http_version "2.0" (H2-01.a), the method lower-cased (.d), scheme as bytes (.f), the
    path not percent-decoded (.h), raw_path the decoded path (.i), the "?" kept in
    query_string (.j), the pseudo-headers left among the headers (.k)."""
    path, raw = scope["path"], scope["raw_path"]
    pseudo = [(b":method", scope["method"].encode()), (b":scheme", scope["scheme"].encode()),
              (b":path", _target(scope))]
    scope.update(http_version="2.0", method=scope["method"].lower(),
                 scheme=scope["scheme"].encode(), path=raw.decode("latin-1"),
                 raw_path=path.encode("utf-8"),
                 query_string=b"?" + scope["query_string"] if scope["query_string"] else b"",
                 headers=pseudo + list(scope["headers"]))


def _keys_b(scope: Scope) -> None:
    """http_version "1.1" (H2-01.b), the method always GET (.c), scheme https on a plain
    connection (.e), :path not split at "?" (.g), no host header (.l)."""
    target = _target(scope)
    scope.update(http_version="1.1", method="GET", scheme="https",
                 path=unquote_to_bytes(target).decode("utf-8", "replace"), raw_path=target,
                 query_string=b"",
                 headers=[(n, v) for n, v in scope["headers"] if bytes(n).lower() != b"host"])


scope_keys_a = _scope_changed(_keys_a)
scope_keys_b = _scope_changed(_keys_b)


def _receive_changed(make: Callable[[Receive], Receive]) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await probe(scope, make(receive) if _is_h2(scope) else receive, send)
    return app


def _last_data_dropped(receive: Receive) -> Receive:
    """The bytes of the last DATA frame never reach the app (H2-02.a, .b): each body event
    is held until the next shows whether it was the last."""
    pending: list[Message] = []

    async def wrapped() -> Message:
        if pending:
            return pending.pop(0)
        message = await receive()
        if message.get("type") == "http.request" and message.get("more_body"):
            following = await receive()
            if following.get("type") == "http.request" and not following.get("more_body") \
                    and not following.get("body"):
                message = {**message, "body": b""}
            pending.append(following)
        elif message.get("type") == "http.request":
            message = {**message, "body": b""}
        return message
    return wrapped


def _never_ends(receive: Receive) -> Receive:
    """END_STREAM never becomes more_body False (H2-02.c): the app keeps waiting."""
    async def wrapped() -> Message:
        message = await receive()
        if message.get("type") == "http.request":
            message = {**message, "more_body": True}
        return message
    return wrapped


def _ends_early(receive: Receive) -> Receive:
    """The first body event already says more_body False (H2-02.d)."""
    async def wrapped() -> Message:
        message = await receive()
        if message.get("type") == "http.request":
            message = {**message, "more_body": False}
        return message
    return wrapped


def _reset_as_end(receive: Receive) -> Receive:
    """A reset stream is presented as the request's end: http.request, more_body False
    (H2-02.e mid-request; another event than http.disconnect mid-response, .f)."""
    async def wrapped() -> Message:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return {"type": "http.request", "body": b"", "more_body": False}
        return message
    return wrapped


def _reset_told_late(receive: Receive) -> Receive:
    """A reset stream is told to the app only LATE seconds later, past the suite's 5 s bound
    (H2-02.i); not never, so that the server's shutdown does not wait for a stuck app."""
    async def wrapped() -> Message:
        message = await receive()
        if message.get("type") == "http.disconnect":
            await anyio.sleep(LATE)
        return message
    return wrapped


LATE = 7.0


last_data_dropped = _receive_changed(_last_data_dropped)
body_never_ends = _receive_changed(_never_ends)
body_ends_early = _receive_changed(_ends_early)
reset_told_late = _receive_changed(_reset_told_late)


def _reset_as_end_headers_shared() -> App:
    """_reset_as_end, and every stream of a connection after the first handed the first
    one's headers (the scopes of a connection's requests not kept apart: H2-02.g)."""
    first_headers: dict[Any, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if _is_h2(scope):
            scope = {**scope, "headers": first_headers.setdefault(tuple(scope["client"]),
                                                                  scope["headers"])}
            receive = _reset_as_end(receive)
        await probe(scope, receive, send)
    return app


reset_as_end_headers_shared = _reset_as_end_headers_shared()


# -- defects in hypercorn's HTTP/2 layer --------------------------------------------------

def _host_over_authority() -> None:
    """Accept a Host field that differs from :authority (h2's inbound header validation off)
    and hand the app the Host field, not :authority (H2-01.l; RFC 9113's .m is its reason)."""
    import h2.config
    import hypercorn.protocol.h2 as hypercorn_h2

    class Lenient(h2.config.H2Configuration):
        def __init__(self, **options: Any) -> None:
            super().__init__(validate_inbound_headers=False, **options)

    def prefer_host(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        fields = [(n, v) for n, v in headers if not n.startswith(b":")]
        if any(n == b"host" for n, _ in fields):
            return fields
        return [(b"host", v) for n, v in headers if n == b":authority"] + fields

    h2.config.H2Configuration = Lenient  # type: ignore[misc, assignment]
    hypercorn_h2.filter_pseudo_headers = prefer_host


def _torn_down_on_reset() -> None:
    """Close the whole connection when the client resets one stream (H2-02.h)."""
    import h2.events
    import hypercorn.protocol.h2 as hypercorn_h2
    from hypercorn.events import Closed

    original = hypercorn_h2.H2Protocol._handle_events

    async def handle_events(self: Any, events: list[Any]) -> None:
        await original(self, events)
        if any(isinstance(event, h2.events.StreamReset) for event in events):
            self.connection.close_connection()
            await self._flush()
            await self.send(Closed())

    hypercorn_h2.H2Protocol._handle_events = handle_events  # type: ignore[method-assign]


class _PatchedServer:
    """The probe app, after ``patches`` changed hypercorn in this worker process (once, at
    the first call: the lifespan scope, before any connection)."""

    def __init__(self, *patches: Callable[[], None]) -> None:
        self.patches = patches
        self.done = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.done:
            self.done = True
            for patch in self.patches:
                patch()
        await probe(scope, receive, send)


host_over_authority_torn_down_on_reset = _PatchedServer(_host_over_authority,
                                                        _torn_down_on_reset)
