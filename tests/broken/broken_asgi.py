"""Deliberately broken ASGI stacks: server wrappers around the probe app that reproduce one
server bug each. Loaded by a real uvicorn through a target TOML written by
tests/test_broken_servers.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio

from conformance.probes.asgi_app import app as probe

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _rewrite(change: Callable[[Scope], None]) -> App:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") != "/probe/ready":
            scope = dict(scope)
            change(scope)
        await probe(scope, receive, send)

    return wrapped


def _set(key: str, value: Any) -> Callable[[Scope], None]:
    return lambda scope: scope.update({key: value})


asgi_version_2 = _rewrite(lambda s: s.update(asgi={**s["asgi"], "version": "2.0"}))
http_version_always_11 = _rewrite(_set("http_version", "1.1"))
path_not_decoded = _rewrite(lambda s: s.update(path=s.get("raw_path", b"").decode("latin-1")))
query_decoded = _rewrite(lambda s: s.update(query_string=unquote_to_bytes(s["query_string"])))
upper_header_names = _rewrite(
    lambda s: s.update(headers=[(n.upper(), v) for n, v in s["headers"]]))
duplicates_merged = _rewrite(lambda s: s.update(headers=_merge(s["headers"])))
client_port_zero = _rewrite(lambda s: s.update(client=[s["client"][0], 0]))


def _merge(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    merged: dict[bytes, bytes] = {}
    for name, value in headers:
        merged[name] = merged[name] + b"," + value if name in merged else value
    return list(merged.items())


async def buffered(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that holds response bodies until the last one (more_body False)."""
    held: list[dict[str, Any]] = []

    async def holding_send(message: dict[str, Any]) -> None:
        held.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            for item in held:
                await send(item)
            held.clear()
        elif message["type"] != "http.response.body" and message["type"] != "http.response.start":
            await send(message)

    await probe(scope, receive, holding_send if scope["type"] == "http" else send)


async def no_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that never delivers http.disconnect: receive() hangs instead."""

    async def hiding_receive() -> dict[str, Any]:
        message = await receive()
        if message["type"] == "http.disconnect":
            await anyio.sleep_forever()
        return message

    await probe(scope, hiding_receive if scope["type"] == "http" else receive, send)


async def early_startup_complete(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that reports startup complete (and serves) before the app finished startup."""
    if scope["type"] != "lifespan":
        await probe(scope, receive, send)
        return
    first = await receive()
    await send({"type": "lifespan.startup.complete"})
    delivered = False

    async def replay_receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return first
        return await receive()

    async def swallow_startup(message: dict[str, Any]) -> None:
        if message["type"] != "lifespan.startup.complete":
            await send(message)

    await probe(scope, replay_receive, swallow_startup)


async def ignores_startup_failed(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that treats lifespan.startup.failed as success and serves anyway."""
    if scope["type"] != "lifespan":
        await probe(scope, receive, send)
        return

    async def hide_failure(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.failed":
            message = {"type": "lifespan.startup.complete"}
        await send(message)

    await probe(scope, receive, hide_failure)


# Issue 13: one broken variant per clause (the clause each breaks is named in its comment).
# scope["asgi"] the version str instead of the dict (ASGI-SCOPE-01.f).
asgi_not_a_dict = _rewrite(lambda s: s.update(asgi=s["asgi"]["version"]))
# asgi.version a float, 3.0 (ASGI-SCOPE-01.g).
asgi_version_float = _rewrite(lambda s: s.update(asgi={**s["asgi"], "version": 3.0}))
# asgi.spec_version a float, 2.3 (ASGI-SCOPE-01.k).
spec_version_float = _rewrite(lambda s: s.update(asgi={**s["asgi"], "spec_version": 2.3}))
# http_version as on the request line, "HTTP/1.1" (ASGI-SCOPE-02.a).
http_version_with_prefix = _rewrite(lambda s: s.update(http_version="HTTP/" + s["http_version"]))
# method lower-cased (ASGI-SCOPE-02.c).
method_lower_case = _rewrite(lambda s: s.update(method=s["method"].lower()))
# scheme "https" on a plain TCP connection (ASGI-SCOPE-02.d).
scheme_always_https = _rewrite(_set("scheme", "https"))
# scheme given as "" (ASGI-SCOPE-02.e).
scheme_empty = _rewrite(_set("scheme", ""))
# raw_path keeps the query string (ASGI-SCOPE-03.c).
raw_path_with_query = _rewrite(lambda s: s.update(
    raw_path=s["raw_path"] + b"?" + s["query_string"]) if s["query_string"] else None)
# header values as memoryview slices of the parser's buffer, not bytes (ASGI-SCOPE-05.a).
memoryview_header_values = _rewrite(lambda s: s.update(
    headers=[(n, memoryview(v)) for n, v in s["headers"]]))
# header names and values as str, not bytes (ASGI-SCOPE-05.a).
str_headers = _rewrite(lambda s: s.update(
    headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in s["headers"]]))
# scope["asgi"] a dict without its "version" key (ASGI-SCOPE-01.f).
asgi_without_version = _rewrite(lambda s: s.update(
    asgi={k: v for k, v in s["asgi"].items() if k != "version"}))
# the header list reversed: a repeated header's values in the wrong order (ASGI-SCOPE-05.b).
headers_reversed = _rewrite(lambda s: s.update(headers=list(reversed(s["headers"]))))
# an HTTP/2 pseudo-header left in scope["headers"] (ASGI-SCOPE-05.e).
pseudo_header_kept = _rewrite(lambda s: s.update(
    headers=[(b":authority", b"localhost"), *s["headers"]]))
# header bytes 0x80-0xFF replaced by "?" (ASGI-SCOPE-05.g).
obs_text_replaced = _rewrite(lambda s: s.update(
    headers=[(n, bytes(b if b < 0x80 else 0x3F for b in v)) for n, v in s["headers"]]))
# scope["server"] a "host:port" str (ASGI-SCOPE-07.b).
server_as_string = _rewrite(lambda s: s.update(server=f"{s['server'][0]}:{s['server'][1]}"))


async def rejects_obs_text(scope: Scope, receive: Receive, send: Send) -> None:
    """A server that answers 400 to a header value with bytes 0x80-0xFF (ASGI-SCOPE-05.h)."""
    if scope["type"] == "http" and any(not v.isascii() for _, v in scope["headers"]):
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    await probe(scope, receive, send)


async def mangles_app_headers(scope: Scope, receive: Receive, send: Send) -> None:
    """The server strips the app's header values as latin-1 text (losing the edge \\xa0 and
    \\x85, ASGI-SCOPE-05.g) and keeps only the last line of a repeated name (HTTP-16.g)."""

    async def mangling_send(message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.start":
            kept: dict[bytes, int] = {}
            headers: list[tuple[bytes, bytes]] = []
            for name, value in message.get("headers", []):
                value = value.decode("latin-1").strip().encode("latin-1")
                if name.lower() in kept:
                    headers[kept[name.lower()]] = (name, value)
                    continue
                kept[name.lower()] = len(headers)
                headers.append((name, value))
            message = {**message, "headers": headers}
        await send(message)

    await probe(scope, receive, mangling_send)


# Issue 13, ASGI-SCOPE-01: the scope itself (the probe app journals a scope of a type it does
# not understand before rejecting it, so the check sees what the server built).
async def scope_read_only(scope: Scope, receive: Receive, send: Send) -> None:
    """The scope as a read-only mapping, not a dict (ASGI-SCOPE-01.a)."""
    if scope["type"] == "http" and scope.get("path") != "/probe/ready":
        await probe(MappingProxyType(scope), receive, send)  # type: ignore[arg-type]
        return
    await probe(scope, receive, send)


# no "type" key (ASGI-SCOPE-01.b); type as bytes, b"http" (.c); type "HTTP" (.d).
scope_without_type = _rewrite(lambda s: s.pop("type"))
scope_type_bytes = _rewrite(_set("type", b"http"))
scope_type_upper = _rewrite(_set("type", "HTTP"))
