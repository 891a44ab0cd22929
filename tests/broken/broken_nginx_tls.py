"""Deliberately broken stacks for the nginx-tls checks (tests/test_broken_nginx_tls.py):
wrappers around the probe apps that behave as a server with one bug each would, loaded by a
real server (uvicorn, gunicorn) started with its trust option, behind a real nginx that
terminates TLS and HTTP/2.

Each bug touches only what one check looks at, so one stack carries several:

    ignores trusted X-Forwarded-*   undoes what the server's trust option did (scheme back to
                                    http, client back to nginx's address)   nginx-tls-trusted
    believes anyone                 takes X-Forwarded-For / -Proto from any peer
                                                         nginx-tls-spoofing, nginx-tls-trusted
    rewrites Host                   ASGI: its own listening address; WSGI: the port dropped
                                                                           nginx-tls-host
    buffers the stream              holds /probe/stream's blocks until the last
                                                                           nginx-tls-streaming
    never tells of the disconnect   WSGI: the iterable's close() is never called (ASGI: the
                                    row uses broken_proxy.no_disconnect)  nginx-tls-disconnect
    ws scheme                       tells a WebSocket app "ws" where it was "wss"
                                                                           nginx-tls-websocket
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from conformance.probes.asgi_app import app as asgi_probe
from conformance.probes.contract import Route
from conformance.probes.wsgi_app import app as wsgi_probe

StartResponse = Callable[..., Any]
NGINX_ADDRESS = "127.0.0.1"


# -- ASGI -----------------------------------------------------------------------------------
def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _ignore_forwarded(scope: dict[str, Any]) -> None:
    """Undo the server's trust option where it applied (the values equal nginx's headers): a
    server whose option does nothing. A direct client's headers, which the option ignored,
    are left as they are."""
    proto, forwarded_for = _header(scope, b"x-forwarded-proto"), _header(scope, b"x-forwarded-for")
    if proto and scope.get("scheme") in (proto, {"https": "wss"}.get(proto)):
        scope["scheme"] = "http" if scope["type"] == "http" else "ws"
    client = scope.get("client")
    if forwarded_for and client and client[0] == forwarded_for.split(",")[-1].strip():
        scope["client"] = (NGINX_ADDRESS, 0)


def _rewrite_host(scope: dict[str, Any]) -> None:
    server = scope.get("server") or ("127.0.0.1", 0)
    own = f"{server[0]}:{server[1]}".encode()
    scope["headers"] = [(n, own if bytes(n).lower() == b"host" else v)
                        for n, v in scope.get("headers", [])]


def _holding(send: Any) -> Any:
    held: list[bytes] = []

    async def holding(message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.body":
            held.append(bytes(message.get("body", b"")))
            if message.get("more_body", False):
                return
            message = {**message, "body": b"".join(held)}
        await send(message)

    return holding


async def asgi_broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Ignores trusted X-Forwarded-* (http and websocket), rewrites Host, holds the stream's
    blocks."""
    if scope["type"] not in ("http", "websocket"):
        await asgi_probe(scope, receive, send)
        return
    scope = dict(scope)
    _ignore_forwarded(scope)
    if scope["type"] == "websocket":
        await asgi_probe(scope, receive, send)
        return
    _rewrite_host(scope)
    if scope.get("path") == Route.STREAM:
        send = _holding(send)
    await asgi_probe(scope, receive, send)


async def asgi_trusts_anyone(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Believes X-Forwarded-For / -Proto from any peer."""
    if scope["type"] == "http":
        scope = dict(scope)
        proto, forwarded_for = (_header(scope, b"x-forwarded-proto"),
                                _header(scope, b"x-forwarded-for"))
        if proto:
            scope["scheme"] = proto
        if forwarded_for:
            scope["client"] = (forwarded_for.split(",")[0].strip(), 0)
    await asgi_probe(scope, receive, send)


# -- WSGI -----------------------------------------------------------------------------------
class _WithoutClose:
    """Iterates the app's iterable but has no close()."""

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = iter(inner)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._inner)


def wsgi_broken(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Ignores a trusted X-Forwarded-Proto, drops the port from Host, buffers /probe/stream,
    never calls close() on /probe/endless."""
    proto = environ.get("HTTP_X_FORWARDED_PROTO")
    if proto and environ.get("wsgi.url_scheme") == proto:
        environ["wsgi.url_scheme"] = "http"
    environ["HTTP_HOST"] = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0]  # port lost
    path = environ.get("PATH_INFO")
    result = wsgi_probe(environ, start_response)
    if path == Route.STREAM:
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    if path == Route.ENDLESS:
        return _WithoutClose(result)
    return result
