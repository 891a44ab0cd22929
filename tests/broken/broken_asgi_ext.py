"""Deliberately broken implementations of the ASGI HTTP extensions (asgi-extensions.rst), one
defect per switch, for tests/test_broken_asgi_ext.py.

Few servers offer pathsend, zerocopysend, trailers or early hints, so the extensions are built
here on the naive server (broken_asgi_naive_server.py, which writes whatever the app sends):
run as a script it is that server with the extensions below added. Off by default, each switch
offers one extension with one defect (or none):

* ``--trailers MODE``: ``always`` sends the trailers also without TE: trailers; ``drop``
  ends the chunked body without them; ``after-length`` frames the body by Content-Length and
  writes the trailer fields after it (where the next response should start);
* ``--pathsend`` sends the file;
* ``--zerocopysend MODE``: ``correct``; ``whole-file`` sends the whole file from its start,
  whatever the offset, count and current position; ``capped`` reads at most 4096 bytes;
* ``--early-hints MODE``: ``as-100`` sends the links in a 100, not a 103; ``after-final``
  sends the 103 after the final response; ``to-http10`` sends the 103 also to an HTTP/1.0
  client (otherwise hints to HTTP/1.0 clients are dropped);
* ``--head-body``: body events (also pathsend, zerocopysend) are written for HEAD too (by
  default this server sends no content for HEAD).

``advertised_oddly`` is a middleware for a real server (uvicorn) instead.

Usage: python broken_asgi_ext.py --host H --port P [switches] module:attr
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import importlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import broken_asgi_naive_server as naive

from conformance.probes.asgi_app import app as probe

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

OPTIONS = argparse.Namespace(trailers=None, pathsend=False, zerocopysend=None,
                             early_hints=None, head_body=False)
# The request being answered (method, version, TE), for the exchange's send().
REQUEST: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("request", default=None)
CAPPED_READ = 4096


def _b(value: Any) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


def _field_lines(headers: list[Any]) -> bytes:
    return b"".join(_b(name) + b": " + _b(value) + b"\r\n" for name, value in headers)


class _ExtExchange(naive._Exchange):
    """The naive exchange with the extensions of this process's switches."""

    def __init__(self, body: bytes, writer: asyncio.StreamWriter) -> None:
        super().__init__(body, writer)
        self.held_start: Message | None = None  # after-length: the head waits for the body
        self.trailers_declared = self.awaiting_trailers = False
        self.hints: list[bytes] = []  # after-final: written once the response is complete

    def _scope(self) -> Scope:
        return REQUEST.get() or {}

    def _te_trailers(self) -> bool:
        return any(name == b"te" and b"trailers" in value.lower()
                   for name, value in self._scope().get("headers", []))

    def _no_content(self) -> bool:
        return self._scope().get("method") == "HEAD" and not OPTIONS.head_body

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.trailers_declared = bool(message.get("trailers")) and bool(OPTIONS.trailers)
            if self.trailers_declared and OPTIONS.trailers == "after-length":
                self.held_start = message
                return
        elif kind == "http.response.early_hint" and OPTIONS.early_hints:
            await self._early_hint([_b(link) for link in message.get("links", [])])
            return
        elif kind == "http.response.pathsend" and OPTIONS.pathsend:
            await self._file_body(Path(message["path"]).read_bytes())
            return
        elif kind == "http.response.zerocopysend" and OPTIONS.zerocopysend:
            await self._file_body(_zero_copy_read(message))
            return
        elif kind == "http.response.trailers":
            await self._trailers(message)
            return
        elif kind == "http.response.body":
            await self._body_event(message)
            return
        await super().send(message)

    async def _early_hint(self, links: list[bytes]) -> None:
        link_lines = _field_lines([(b"link", link) for link in links])
        if self._scope().get("http_version") == "1.0" and OPTIONS.early_hints != "to-http10":
            return
        if OPTIONS.early_hints == "as-100":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n" + link_lines + b"\r\n")
        elif OPTIONS.early_hints == "after-final":
            self.hints.append(b"HTTP/1.1 103 Early Hints\r\n" + link_lines + b"\r\n")
        else:
            self.writer.write(b"HTTP/1.1 103 Early Hints\r\n" + link_lines + b"\r\n")
        await self.writer.drain()

    async def _file_body(self, data: bytes) -> None:
        await self._body_event({"type": "http.response.body", "body": data})

    async def _body_event(self, message: Message) -> None:
        data = _b(message.get("body", b""))
        final = not message.get("more_body")
        if self.held_start is not None:  # after-length: the head once the body is known
            start, self.held_start = self.held_start, None
            headers = [*start.get("headers", []), (b"content-length", str(len(data)).encode())]
            await super().send({**start, "headers": headers})
        if self._no_content():
            pass
        elif self.trailers_declared and self.chunked and final:
            if data:
                self.writer.write(b"%x\r\n" % len(data) + data + b"\r\n")
            send_them = OPTIONS.trailers == "always" or (
                OPTIONS.trailers != "drop" and self._te_trailers())
            # The last chunk; its trailer section follows with http.response.trailers.
            self.writer.write(b"0\r\n" if send_them else b"0\r\n\r\n")
            self.awaiting_trailers = send_them
        else:
            await super()._body(data, message)
        if final and self.hints:
            self.writer.write(b"".join(self.hints))
            self.hints.clear()
        await self.writer.drain()

    async def _trailers(self, message: Message) -> None:
        fields = _field_lines(message.get("headers", []))
        if self.awaiting_trailers:
            self.writer.write(fields + b"\r\n")
            self.awaiting_trailers = False
        elif OPTIONS.trailers == "after-length" and self._te_trailers():
            # The defect: trailer fields after a body framed by Content-Length.
            self.writer.write(fields + b"\r\n")
        await self.writer.drain()


def _zero_copy_read(message: Message) -> bytes:
    """The bytes zerocopysend sends under this process's switch (the descriptor is left
    open: closing it is the application's job)."""
    fd = message["file"].fileno()
    size = os.fstat(fd).st_size
    if OPTIONS.zerocopysend == "whole-file":
        return os.pread(fd, size, 0)
    offset, count = message.get("offset"), message.get("count")
    wanted = size if count is None else count
    if OPTIONS.zerocopysend == "capped":
        wanted = min(wanted, CAPPED_READ)
    if offset is not None:
        return os.pread(fd, wanted, offset)
    data = bytearray()
    while len(data) < wanted and (chunk := os.read(fd, wanted - len(data))):
        data += chunk
        if OPTIONS.zerocopysend == "capped":
            break
    return bytes(data)


def _extensions() -> dict[str, Any]:
    offered: dict[str, Any] = {}
    if OPTIONS.trailers:
        offered["http.response.trailers"] = {}
    if OPTIONS.pathsend:
        offered["http.response.pathsend"] = {}
    if OPTIONS.zerocopysend:
        offered["http.response.zerocopysend"] = {}
    if OPTIONS.early_hints:
        offered["http.response.early_hint"] = {}
    return offered


def _remembering(app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """The app, with the request's scope kept where the exchange's send() can see it."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        REQUEST.set(scope)
        await app(scope, receive, send)

    return wrapped


async def advertised_oddly(scope: Scope, receive: Receive, send: Send) -> None:
    """A middleware for uvicorn: pathsend offered under a value that is not a dict (True)
    and implemented (the file sent as an ordinary body); the debug extension offered in the
    normal configuration; tls offered on a plain TCP connection."""
    if scope["type"] != "http" or scope.get("path") == "/probe/ready":
        await probe(scope, receive, send)
        return
    scope = {**scope, "extensions": {
        **(scope.get("extensions") or {}), "http.response.pathsend": True,
        "http.response.debug": {},
        "tls": {"server_cert": None, "client_cert_chain": [], "client_cert_name": None,
                "client_cert_error": None, "tls_version": None, "cipher_suite": None}}}

    async def pathsending(message: Message) -> None:
        if message["type"] == "http.response.pathsend":
            message = {"type": "http.response.body",
                       "body": Path(message["path"]).read_bytes()}
        await send(message)

    await probe(scope, receive, pathsending)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--trailers", choices=("always", "drop", "after-length"))
    parser.add_argument("--pathsend", action="store_true")
    parser.add_argument("--zerocopysend", choices=("correct", "whole-file", "capped"))
    parser.add_argument("--early-hints", choices=("as-100", "after-final", "to-http10"))
    parser.add_argument("--head-body", action="store_true")
    parser.add_argument("app")
    args = parser.parse_args()
    for name in ("trailers", "pathsend", "zerocopysend", "early_hints", "head_body"):
        setattr(OPTIONS, name, getattr(args, name))
    # The naive server's own variant switches stay off; its exchange and extensions are ours.
    naive._Exchange = _ExtExchange
    naive._extensions = _extensions
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    asyncio.run(naive._serve(_remembering(app), args.host, args.port))


if __name__ == "__main__":
    main()
