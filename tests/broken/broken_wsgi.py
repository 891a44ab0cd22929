"""Deliberately broken WSGI stacks: each wraps the probe app so that the app sees (or the client
gets) what a server with one specific bug would produce. Loaded by a real server (wsgiref or
gunicorn) through a target TOML written by tests/test_broken_servers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from conformance.probes.wsgi_app import app as probe

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _rewrite(change: Callable[[dict[str, Any]], None]) -> App:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/probe/ready":
            change(environ)
        return probe(environ, start_response)

    return wrapped


_SHARED: dict[str, Any] = {}


def shared_environ(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A server that reuses one environ dict for every request (keys leak between requests)."""
    _SHARED.update(environ)
    return probe(_SHARED, start_response)


drop_query_string = _rewrite(lambda env: env.pop("QUERY_STRING", None))
server_port_int = _rewrite(lambda env: env.update(SERVER_PORT=int(env["SERVER_PORT"])))
protocol_always_11 = _rewrite(lambda env: env.update(SERVER_PROTOCOL="HTTP/1.1"))
wsgi_version_list = _rewrite(lambda env: env.update({"wsgi.version": [1, 0]}))


def _utf8_headers(env: dict[str, Any]) -> None:
    for key, value in list(env.items()):
        if key.startswith("HTTP_") or key == "PATH_INFO":
            env[key] = value.encode("latin-1").decode("utf-8", "replace")


utf8_decoded = _rewrite(_utf8_headers)
content_type_as_http = _rewrite(
    lambda env: env.update(HTTP_CONTENT_TYPE=env.get("CONTENT_TYPE", "")))


def no_close(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A server that never calls the iterable's close()."""
    return _WithoutClose(probe(environ, start_response))


class _WithoutClose:
    """Iterates the app's iterable but has no close() (a generator would forward it)."""

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = iter(inner)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._inner)


def buffered(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A server that collects the whole response before sending any of it."""
    result = probe(environ, start_response)
    try:
        return [b"".join(result)]
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
