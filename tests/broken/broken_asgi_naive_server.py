"""A deliberately naive asyncio ASGI server: it trusts the app's events.

Wire-level bugs a wrapper around a real server cannot reproduce, all of them those of a server
that writes whatever the app sends:

* it copies the app's headers verbatim and adds its own ``Transfer-Encoding: chunked`` when
  there is no Content-Length (an app-sent Transfer-Encoding ends up doubled);
* it writes every body event, also after the final one, for HEAD and for 204/304;
* it never validates an event: unknown types are ignored, str header values encoded, CR LF
  written as is;
* when the app raises or returns without a response it just closes the connection;
* it reads the whole request body before it calls the app (allowed, RFC 9110 7.6: then a
  client that leaves mid-body leaves no app to tell).

Variant switches, one more defect each (off by default):

* ``--chunked raw`` hands a chunked request body to the app undecoded, chunk framing and
  all; ``--chunked 411`` refuses chunked request bodies with 411 (allowed; by default the
  server ignores Transfer-Encoding altogether); ``--chunked 501`` answers them 501 Not
  Implemented, a server that cannot parse the chunked coding;
* ``--early-hints`` advertises http.response.early_hint and sends a 103 without the links;
* ``--zerocopysend`` advertises http.response.zerocopysend, sends the file and then closes
  the application's file descriptor.

Usage: python broken_asgi_naive_server.py --host H --port P [switches] module:attr
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
from typing import Any
from urllib.parse import unquote

# The variant switches of this process, set once by main() (see the module docstring).
OPTIONS = argparse.Namespace(chunked="ignore", early_hints=False, zerocopysend=False)


def _b(value: Any) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


class _Exchange:
    """receive() and send() for one request, trusting every event the app sends."""

    def __init__(self, body: bytes, writer: asyncio.StreamWriter) -> None:
        self.body, self.writer = body, writer
        self.delivered = self.started = self.chunked = False

    async def receive(self) -> dict[str, Any]:
        if self.delivered:
            return {"type": "http.disconnect"}
        self.delivered = True
        return {"type": "http.request", "body": self.body, "more_body": False}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out = [b"HTTP/1.1 %d X" % message["status"]]
            names = set()
            for name, value in message.get("headers", []):
                names.add(_b(name).lower())
                out.append(_b(name) + b": " + _b(value))
            if b"content-length" not in names:
                out.append(b"transfer-encoding: chunked")
                self.chunked = True
            self.writer.write(b"\r\n".join(out) + b"\r\n\r\n")
            self.started = True
        elif message["type"] == "http.response.early_hint" and OPTIONS.early_hints:
            # The variant's defect: the app's links are dropped.
            self.writer.write(b"HTTP/1.1 103 Early Hints\r\n\r\n")
        elif message["type"] == "http.response.zerocopysend" and OPTIONS.zerocopysend:
            await self._body(_read_and_close(message["file"].fileno()), message)
        elif message["type"] == "http.response.body":
            await self._body(bytes(message.get("body", b"")), message)

    async def _body(self, data: bytes, message: dict[str, Any]) -> None:
        if self.chunked:
            if data:
                self.writer.write(b"%x\r\n" % len(data) + data + b"\r\n")
            if not message.get("more_body"):
                self.writer.write(b"0\r\n\r\n")
        else:
            self.writer.write(data)
        await self.writer.drain()


def _read_and_close(fd: int) -> bytes:
    """The file from its current position, then the descriptor closed (the variant's defect:
    closing is the application's job)."""
    data = bytearray()
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    return bytes(data)


async def _read_chunked_raw(reader: asyncio.StreamReader) -> bytes:
    """A chunked body as it came, chunk framing and all (the ``--chunked raw`` defect)."""
    raw = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        raw += line
        if int(line.split(b";")[0].strip(), 16) == 0:
            while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                raw += trailer
            return bytes(raw + b"\r\n")
        raw += await reader.readexactly(int(line.split(b";")[0].strip(), 16) + 2)


async def _lingering_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Close our side, then read what the client still sends until it closes (RFC 9112 9.6):
    closing at once would reset the connection and could lose the response."""
    await writer.drain()
    writer.write_eof()
    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        while await asyncio.wait_for(reader.read(65536), timeout=2.0):
            pass


def _extensions() -> dict[str, Any]:
    offered: dict[str, Any] = {}
    if OPTIONS.early_hints:
        offered["http.response.early_hint"] = {}
    if OPTIONS.zerocopysend:
        offered["http.response.zerocopysend"] = {}
    return offered


async def _handle(app: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    peer = writer.get_extra_info("peername")
    sock = writer.get_extra_info("sockname")
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head[:-4].split(b"\r\n")
            method, target, version = lines[0].split(b" ", 2)
            headers = [(n.strip().lower(), v.strip()) for n, _, v in
                       (line.partition(b":") for line in lines[1:])]
            length = int(dict(headers).get(b"content-length", b"0") or 0)
            try:  # the whole body before the app is called (a client may leave meanwhile)
                body = await reader.readexactly(length) if length else b""
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if dict(headers).get(b"transfer-encoding", b"").lower() == b"chunked":
                if OPTIONS.chunked in ("411", "501"):
                    writer.write(b"HTTP/1.1 411 Length Required\r\n" if OPTIONS.chunked == "411"
                                 else b"HTTP/1.1 501 Not Implemented\r\n")
                    writer.write(b"content-length: 0\r\nconnection: close\r\n\r\n")
                    await _lingering_close(reader, writer)
                    return
                if OPTIONS.chunked == "raw":
                    body = await _read_chunked_raw(reader)
            raw_path, _, query = target.partition(b"?")
            scope = {
                "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": version.decode().removeprefix("HTTP/"),
                "method": method.decode(), "scheme": "http",
                "path": unquote(raw_path.decode("latin-1")), "raw_path": raw_path,
                "query_string": query, "root_path": "", "headers": headers,
                "client": list(peer[:2]), "server": list(sock[:2]), "extensions": _extensions(),
            }
            exchange = _Exchange(body, writer)
            try:
                await app(scope, exchange.receive, exchange.send)
            except Exception:  # noqa: BLE001 - the naive server's whole error handling
                return
            if not exchange.started:
                return
            if any(n == b"connection" and v.lower() == b"close" for n, v in headers):
                return
    finally:
        writer.close()


async def _serve(app: Any, host: str, port: int) -> None:
    server = await asyncio.start_server(lambda r, w: _handle(app, r, w), host, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--chunked", choices=("ignore", "raw", "411", "501"), default="ignore")
    parser.add_argument("--early-hints", action="store_true")
    parser.add_argument("--zerocopysend", action="store_true")
    parser.add_argument("app")
    args = parser.parse_args()
    OPTIONS.chunked, OPTIONS.early_hints = args.chunked, args.early_hints
    OPTIONS.zerocopysend = args.zerocopysend
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    asyncio.run(_serve(app, args.host, args.port))


if __name__ == "__main__":
    main()
