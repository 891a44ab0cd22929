"""Deliberately broken stacks for what the app learns about its peer and mount behind nginx
(tests/test_broken_proxy.py): wrappers around the probe apps that behave as a server with one
bug would, loaded by wsgiref or uvicorn. Each breaks one definition even for a request with no
forwarding header (deployment.forwarded-spoofing's first sub-case) or one split of a prefix
(deployment.prefix-mount)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from conformance.probes.asgi_app import app as asgi_probe
from conformance.probes.wsgi_app import app as wsgi_probe

StartResponse = Callable[..., Any]
# The peer's name where its address belongs: what a server that resolves the peer's address
# (as REMOTE_HOST would hold it) and stores the name in the address slot reports.
PEER_NAME = "localhost"


def remote_addr_is_a_name(environ: dict[str, Any],
                          start_response: StartResponse) -> Iterable[bytes]:
    """REMOTE_ADDR is the peer's host name, not its network address (PROXY-04.a)."""
    environ["REMOTE_ADDR"] = PEER_NAME
    return wsgi_probe(environ, start_response)


def url_scheme_always_https(environ: dict[str, Any],
                            start_response: StartResponse) -> Iterable[bytes]:
    """wsgi.url_scheme 'https' on a plain-HTTP connection (PROXY-04.f)."""
    environ["wsgi.url_scheme"] = "https"
    return wsgi_probe(environ, start_response)


async def client_is_a_name(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """scope client's host is the peer's host name, not its address (PROXY-04.d)."""
    if scope["type"] == "http" and scope.get("client"):
        scope = {**scope, "client": (PEER_NAME, scope["client"][1])}
    await asgi_probe(scope, receive, send)


async def scheme_always_https(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """scope scheme 'https' on a plain-HTTP connection (PROXY-04.e)."""
    if scope["type"] == "http":
        scope = {**scope, "scheme": "https"}
    await asgi_probe(scope, receive, send)


async def root_path_stripped_from_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server mounted at /app that strips root_path from path, so path no longer starts
    with root_path and neither nginx deployment gives back the client's path (PROXY-05.f)."""
    if scope["type"] == "http":
        path = scope["path"]
        scope = {**scope, "root_path": "/app",
                 "path": path[len("/app"):] if path.startswith("/app/") else path}
    await asgi_probe(scope, receive, send)


def server_name_is_product(environ: dict[str, Any],
                           start_response: StartResponse) -> Iterable[bytes]:
    """On a Unix socket, SERVER_NAME is the server's product name (no host to name):
    non-empty, but no server-name of RFC 3875 4.1.14 (PROXY-11.d)."""
    environ["SERVER_NAME"] = "BrokenServer/1.0"
    return wsgi_probe(environ, start_response)


async def claims_spec_2_4(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that declares asgi spec_version 2.4 but keeps send() on a closed connection a
    no-op (uvicorn's send() returns normally; it declares 2.3, where that is right): the 2.4
    sentence says it should raise an OSError subclass (PROXY-03.c)."""
    if scope["type"] == "http":
        scope = {**scope, "asgi": {**scope.get("asgi", {}), "spec_version": "2.4"}}
    await asgi_probe(scope, receive, send)
