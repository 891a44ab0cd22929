"""Deliberately broken stacks for the proxy checks (tests/test_broken_proxy.py).

Two kinds: wrappers around the probe apps that behave as a server with one proxy-related bug
would (loaded by wsgiref, gunicorn or uvicorn), and a small keep-alive WSGI server whose
framing bugs can be switched on (run as a script)::

    python broken_proxy.py --host H --port P --bugs chunk-http10,no-drain module:app

An ASGI app (a coroutine function) runs one request at a time as a WSGI one would
(_asgi_as_wsgi), so the same bugs apply to it.

    chunk-http10   answers an unsized response with chunked framing even to an HTTP/1.0
                   request (RFC 9112 6.1 forbids it)
    no-drain       keeps the connection open without reading the rest of an unread request
                   body, so the leftover bytes prefix the next request on the connection
    error-keepalive
                   ends a response cut short by an app error as if it were complete and keeps
                   the connection, whose next request then gets the failed request's error
                   (PEP 3333 only says the server should close: a SHOULD)
    no-close       after a close-delimited response (no Content-Length, not chunked) waits
                   for the client to close instead of closing (PROXY-01.g)
    head-body      sends a HEAD response's body too; it reaches nginx after the header
                   section, ahead of the next response on the connection (PROXY-06.e)
    bodiless-chunked
                   frames 204 and 304 responses chunked; their last chunk reaches nginx ahead
                   of the next response on the connection (PROXY-06.f)
    error-overlong answers an app error before the response with a 500 whose body its
                   Content-Length: 0 does not cover, and keeps the connection (PROXY-06.b)
    drop-length    drops the app's Content-Length from a response to an HTTP/1.0 request and
                   sends it close-delimited (PROXY-01.f: length-delimited was possible)
    no-log         traps an app error without logging it (PROXY-06.i); by default the server
                   prints the traceback to stderr
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import io
import os
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
from broken_wsgi import no_close as never_closes  # noqa: F401 - a stack of test_broken_proxy

from conformance.probes.asgi_app import app as asgi_probe
from conformance.probes.wsgi_app import app as wsgi_probe

StartResponse = Callable[..., Any]
LATE_DISCONNECT = 8.0  # seconds: after deployment.disconnect's 5 s bound, before its 20 s limit
# What a connection whose previous request failed mid-response answers next (error-keepalive).
STALE_ERROR = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21\r\n\r\n"
               b"earlier request error")


# -- WSGI wrappers ------------------------------------------------------------------------
def trusts_anyone(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """A server that believes X-Forwarded-For / -Proto from any peer (spoofable)."""
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded:
        environ["REMOTE_ADDR"] = forwarded.split(",")[0].strip()
    if environ.get("HTTP_X_FORWARDED_PROTO"):
        environ["wsgi.url_scheme"] = environ["HTTP_X_FORWARDED_PROTO"]
    return wsgi_probe(environ, start_response)


class _Lossy:
    """A wsgi.input that loses the first byte of every read (a broken body reader)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def read(self, size: int | None = -1) -> bytes:
        data = self.inner.read() if size is None or size < 0 else self.inner.read(size)
        return data[1:] if data else data

    def readline(self, size: int = -1) -> bytes:
        return self.inner.readline(size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self.inner.readlines(hint)

    def __iter__(self) -> Any:
        return iter(self.inner)


def lossy_input(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    environ["wsgi.input"] = _Lossy(environ["wsgi.input"])
    return wsgi_probe(environ, start_response)


def loses_script_name(environ: dict[str, Any],
                      start_response: StartResponse) -> Iterable[bytes]:
    """A server that strips its mount prefix from PATH_INFO without putting it in
    SCRIPT_NAME (the app can no longer reconstruct its URLs)."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/app/"):
        environ["PATH_INFO"] = path[len("/app"):]
    environ["SCRIPT_NAME"] = ""
    return wsgi_probe(environ, start_response)


class _DrainedOnClose:
    """Iterates the app's iterable; its close() first runs the iterable to its end, as a
    server that goes on producing a response after the client went away would."""

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner
        self._blocks = iter(inner)

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> bytes:
        return next(self._blocks)

    def close(self) -> None:
        for _ in self._blocks:
            pass
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def keeps_iterating(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """A server that calls close() only after iterating the app's stream to its end, even
    when the client is gone (late, not never: RFC 9112 9.5's SHOULD, not PEP 3333's MUST)."""
    return _DrainedOnClose(wsgi_probe(environ, start_response))


def aborts_on_app_error(environ: dict[str, Any],
                        start_response: StartResponse) -> Iterable[bytes]:
    """A server whose process dies (SIGABRT) on an app error before the response, after
    printing the traceback: as socketify's WSGI server does (uWS aborts when a handler
    returns without responding). Errors during the iteration are left to the server."""
    try:
        return wsgi_probe(environ, start_response)
    except RuntimeError:
        traceback.print_exc()
        sys.stderr.flush()
        os.abort()


def drops_query_when_proxied(environ: dict[str, Any],
                             start_response: StartResponse) -> Iterable[bytes]:
    """A server that loses the query string of requests that came through a proxy."""
    if "HTTP_X_FORWARDED_FOR" in environ:
        environ["QUERY_STRING"] = ""
    return wsgi_probe(environ, start_response)


def uds_empty_server_port(environ: dict[str, Any],
                          start_response: StartResponse) -> Iterable[bytes]:
    """A server on a Unix socket that gives SERVER_PORT as "" (PROXY-11.c)."""
    environ["SERVER_PORT"] = ""
    return wsgi_probe(environ, start_response)


class _ChunkFramed:
    """A wsgi.input that hands out the de-chunked body with its chunk framing put back."""

    def __init__(self, inner: Any) -> None:
        body = inner.read()
        self.data = io.BytesIO((b"%x\r\n%s\r\n" % (len(body), body) if body else b"")
                               + b"0\r\n\r\n")

    def read(self, size: int | None = -1) -> bytes:
        return self.data.read(-1 if size is None else size)

    def readline(self, size: int = -1) -> bytes:
        return self.data.readline(size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self.data.readlines(hint)

    def __iter__(self) -> Any:
        return iter(self.data)


def leaves_chunks_in_wsgi(environ: dict[str, Any],
                          start_response: StartResponse) -> Iterable[bytes]:
    """A WSGI server that hands the app a chunked request body with its chunk framing
    (PROXY-07.d)."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        environ["wsgi.input"] = _ChunkFramed(environ["wsgi.input"])
    return wsgi_probe(environ, start_response)


def _through_uwsgi(change: Callable[[dict[str, Any]], None]) -> Any:
    """The probe app under uWSGI, with ``change`` made to environ only for requests that came
    through the uwsgi protocol (nginx's uwsgi_params carry DOCUMENT_ROOT; uWSGI's own HTTP
    parser sets none): a server whose uwsgi-protocol path has one bug."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if "DOCUMENT_ROOT" in environ:
            change(environ)
        return wsgi_probe(environ, start_response)

    return app


def _drop_body(env: dict[str, Any]) -> None:
    env["wsgi.input"] = io.BytesIO(b"")


def _headers_as_bytes(env: dict[str, Any]) -> None:
    for key in [k for k in env if k.startswith("HTTP_X_") and k != "HTTP_X_PROBE_ID"]:
        env[key] = env[key].encode("latin-1")


def _drop_custom_headers(env: dict[str, Any]) -> None:
    for key in [k for k in env if k.startswith("HTTP_X_") and k != "HTTP_X_PROBE_ID"]:
        del env[key]


def _headers_as_utf8(env: dict[str, Any]) -> None:
    for key in [k for k in env if k.startswith("HTTP_")]:
        env[key] = env[key].encode("latin-1").decode("utf-8", "replace")


# WSGI-ENV-10.c: wsgi.url_scheme "https" on a plain connection (the server assumes that
# whatever speaks uwsgi to it terminated TLS).
uwsgi_https_scheme = _through_uwsgi(lambda env: env.update({"wsgi.url_scheme": "https"}))
# WSGI-IN-01.g: wsgi.input yields nothing of the body the uwsgi packet carried.
uwsgi_drops_body = _through_uwsgi(_drop_body)
# PROXY-12.a: SERVER_PROTOCOL (a CGI variable) left out.
uwsgi_no_server_protocol = _through_uwsgi(lambda env: env.pop("SERVER_PROTOCOL", None))
# PROXY-12.c: header variables given as bytes, not str.
uwsgi_bytes_headers = _through_uwsgi(_headers_as_bytes)
# PROXY-12.c: header values decoded as UTF-8 (with replacement), not latin-1.
uwsgi_utf8_headers = _through_uwsgi(_headers_as_utf8)
# PROXY-12.e: CONTENT_TYPE left out.
uwsgi_no_content_type = _through_uwsgi(lambda env: env.pop("CONTENT_TYPE", None))
# PROXY-12.f: PATH_INFO left percent-encoded (taken from REQUEST_URI).
uwsgi_raw_path = _through_uwsgi(
    lambda env: env.update(PATH_INFO=env.get("REQUEST_URI", "").partition("?")[0]))
# PROXY-12.g: the variables of headers the server does not know (X-*) left out.
uwsgi_drops_custom_headers = _through_uwsgi(_drop_custom_headers)


# -- ASGI wrappers ------------------------------------------------------------------------
async def no_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that never delivers http.disconnect: receive() just hangs."""

    async def held() -> dict[str, Any]:
        message = await receive()
        if message.get("type") == "http.disconnect":
            await anyio.sleep_forever()
        return message

    await asgi_probe(scope, held if scope["type"] == "http" else receive, send)


async def late_disconnect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that delivers http.disconnect, but only LATE_DISCONNECT seconds late."""

    async def late() -> dict[str, Any]:
        message = await receive()
        if message.get("type") == "http.disconnect":
            await anyio.sleep(LATE_DISCONNECT)
        return message

    await asgi_probe(scope, late if scope["type"] == "http" else receive, send)


async def holds_after_app_error(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that, when the app raises, prints the traceback but neither ends the
    response nor closes the connection: it waits for the client to go (as daphne does after
    an error mid-response, and socketify's ASGI server before and mid-response)."""
    try:
        await asgi_probe(scope, receive, send)
    except RuntimeError:
        if scope["type"] != "http":
            raise
        traceback.print_exc()
        while (await receive())["type"] != "http.disconnect":
            pass


def _is_chunked(scope: dict[str, Any]) -> bool:
    return any(bytes(n).lower() == b"transfer-encoding" and b"chunked" in bytes(v).lower()
               for n, v in scope.get("headers", []))


async def leaves_chunks_in(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server that hands the app a chunked request body with its chunk framing (asgi-www
    says it should de-chunk it: a SHOULD)."""
    if scope["type"] != "http" or not _is_chunked(scope):
        await asgi_probe(scope, receive, send)
        return

    async def framed() -> dict[str, Any]:
        message = await receive()
        if message.get("type") == "http.request":
            body = bytes(message.get("body", b""))
            data = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
            if not message.get("more_body", False):
                data += b"0\r\n\r\n"
            message = {**message, "body": data}
        return message

    await asgi_probe(scope, framed, send)


async def holds_body(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server whose send() keeps each http.response.body until the last one, which it sends
    with them all (PROXY-02.c)."""
    held: list[bytes] = []

    async def holding(message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.body":
            held.append(bytes(message.get("body", b"")))
            if message.get("more_body", False):
                return
            message = {**message, "body": b"".join(held)}
            held.clear()
        await send(message)

    await asgi_probe(scope, receive, holding)


async def fake_server_address(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server on a Unix socket that reports a made-up host and port as scope server."""
    if scope["type"] == "http":
        scope = {**scope, "server": ("localhost", 80)}
    await asgi_probe(scope, receive, send)


async def no_server_address(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A server on a Unix socket that leaves scope server out (asgi-www allows it: info)."""
    if scope["type"] == "http":
        scope = {key: value for key, value in scope.items() if key != "server"}
    await asgi_probe(scope, receive, send)


# -- a keep-alive WSGI server with switchable framing bugs ---------------------------------
class _Body:
    """wsgi.input: at most ``length`` bytes of ``stream``."""

    def __init__(self, stream: Any, length: int) -> None:
        self.stream, self.left = stream, length

    def read(self, size: int | None = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.stream.read(size)
        self.left -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        limit = self.left if size < 0 else min(size, self.left)
        data = self.stream.readline(limit) if limit > 0 else b""
        self.left -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def drain(self) -> None:
        while self.read(65536):
            pass


def _dechunk(rfile: Any) -> bytes:
    body = bytearray()
    while True:
        size = int(rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        body += rfile.read(size)
        rfile.readline(1024)


def _environ(method: str, target: str, version: str, headers: list[tuple[str, str]],
             peer: tuple[str, int], port: int) -> dict[str, Any]:
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port), "SERVER_PROTOCOL": version,
        "REMOTE_ADDR": peer[0], "REMOTE_PORT": str(peer[1]), "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _serve(sock: socket.socket, peer: tuple[str, int], app: Any, bugs: set[str],
           port: int) -> None:
    rfile = sock.makefile("rb")
    late = bytearray()  # bytes of the previous response that go out ahead of the next one
    poisoned = False  # error-keepalive: the previous request on it failed mid-response
    with sock:
        while True:
            parts = rfile.readline(65537).decode("latin-1").rstrip("\r\n").split(" ")
            if parts == [""]:
                return
            if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper():
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return
            method, target, version = parts
            headers = []
            while (line := rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers.append((name.strip(), value.strip()))
            environ = _environ(method, target, version, headers, peer, port)
            if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
                data = _dechunk(rfile)
                body = _Body(io.BytesIO(data), len(data))
                environ["CONTENT_LENGTH"] = str(len(data))
            else:
                body = _Body(rfile, int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = body
            keep = version == "HTTP/1.1" and "close" not in environ.get("HTTP_CONNECTION", "")
            if poisoned:
                sock.sendall(STALE_ERROR)
                poisoned, kept = False, True
            else:
                kept, poisoned = _respond(sock, app, environ, bugs, late)
            if not kept and "no-close" in bugs:
                while rfile.read(65536):  # wait for the client to close
                    pass
            if not kept or not keep:
                return
            if "no-drain" not in bugs:
                body.drain()


def _end_cut_short(sock: socket.socket, state: list[Any], blocks: list[bytes]) -> None:
    """error-keepalive: send what the app produced before it failed as a complete chunked
    response (last chunk included), as if nothing had gone wrong."""
    status, headers = state
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    payload = b"".join(blocks)
    sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode("latin-1")
                 + b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))


def _respond(sock: socket.socket, app: Any, environ: dict[str, Any], bugs: set[str],
             late: bytearray) -> tuple[bool, bool]:
    """Run the app and send its response, after the bytes ``late`` holds from the previous
    one (which the bugs head-body, bodiless-chunked and error-overlong leave there): (whether
    the connection may stay open, whether the next request on it is answered with this one's
    error: error-keepalive)."""
    ahead = bytes(late)
    late.clear()
    state: list[Any] = []
    blocks: list[bytes] = []
    try:
        result = app(environ, lambda status, headers, exc_info=None: state.extend(
            [status, headers]))
        try:
            blocks.extend(bytes(b) for b in result)
        finally:
            if hasattr(result, "close"):
                result.close()
    except Exception:
        if "no-log" not in bugs:
            traceback.print_exc()  # trap and log, as PEP 3333 asks (PROXY-06.i)
        if "error-keepalive" in bugs and state and blocks:
            _end_cut_short(sock, state, blocks)
            return True, True
        if "error-overlong" in bugs and not state:
            sock.sendall(ahead + b"HTTP/1.1 500 Internal Server Error\r\n"
                         b"Content-Length: 0\r\n\r\n")
            late += b"Internal Server Error\n"
            return True, False
        sock.sendall(ahead + b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        return False, False
    status, headers = state
    if "drop-length" in bugs and environ["SERVER_PROTOCOL"] == "HTTP/1.0":
        headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
    code = int(status.split()[0])
    names = {n.lower() for n, _ in headers}
    bodiless = environ["REQUEST_METHOD"] == "HEAD" or code in (204, 304)
    chunked = not bodiless and "content-length" not in names and (
        environ["SERVER_PROTOCOL"] == "HTTP/1.1" or "chunk-http10" in bugs)
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    if chunked or (code in (204, 304) and "bodiless-chunked" in bugs):
        head += "Transfer-Encoding: chunked\r\n"
    payload = b"".join(blocks)
    if environ["REQUEST_METHOD"] == "HEAD" and "head-body" in bugs:
        late += payload
    if code in (204, 304) and "bodiless-chunked" in bugs:
        late += b"0\r\n\r\n"
    if bodiless:
        payload = b""
    elif chunked:
        payload = (b"%x\r\n%s\r\n" % (len(payload), payload) if payload else b"") + b"0\r\n\r\n"
    sock.sendall(ahead + head.encode("latin-1") + b"\r\n" + payload)
    return bodiless or chunked or "content-length" in names, False


def _asgi_as_wsgi(asgi_app: Any) -> Any:
    """The ASGI app as a WSGI app for this server: the request's whole body in one
    http.request, the app's messages collected; an app error after the response start comes
    out of the iterable after the blocks sent before it, as a WSGI app's would."""

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = [(k[5:].lower().replace("_", "-").encode(), str(v).encode("latin-1"))
                   for k, v in environ.items() if k.startswith("HTTP_")]
        headers += [(k.lower().replace("_", "-").encode(), environ[k].encode("latin-1"))
                    for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)]
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                 "http_version": environ["SERVER_PROTOCOL"].partition("/")[2],
                 "method": environ["REQUEST_METHOD"], "scheme": "http",
                 "path": environ["PATH_INFO"], "raw_path": None, "root_path": "",
                 "query_string": environ["QUERY_STRING"].encode("latin-1"),
                 "headers": headers, "client": (environ["REMOTE_ADDR"],
                                                int(environ["REMOTE_PORT"])),
                 "server": (environ["SERVER_NAME"], int(environ["SERVER_PORT"]))}
        events = [{"type": "http.request", "body": environ["wsgi.input"].read(),
                   "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return events.pop() if events else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        error: Exception | None = None
        try:
            asyncio.run(asgi_app(scope, receive, send))
        except Exception as exc:
            error = exc
        start = next((m for m in sent if m["type"] == "http.response.start"), None)
        if start is None:
            raise error or RuntimeError("the ASGI app sent no http.response.start")
        code = int(start["status"])
        start_response(f"{code} {HTTPStatus(code).phrase}",
                       [(bytes(n).decode("latin-1"), bytes(v).decode("latin-1"))
                        for n, v in start.get("headers", [])])

        def blocks() -> Iterator[bytes]:
            for message in sent:
                if message["type"] == "http.response.body" and message.get("body"):
                    yield bytes(message["body"])
            if error is not None:
                raise error

        return blocks()

    return wsgi


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bugs", default="")
    parser.add_argument("app")
    args = parser.parse_args()
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    if inspect.iscoroutinefunction(app):
        app = _asgi_as_wsgi(app)
    bugs = set(filter(None, args.bugs.split(",")))
    listener = socket.create_server((args.host, args.port))
    while True:
        conn, peer = listener.accept()
        threading.Thread(target=_serve, args=(conn, peer, app, bugs, args.port),
                         daemon=True).start()


if __name__ == "__main__":
    main()
