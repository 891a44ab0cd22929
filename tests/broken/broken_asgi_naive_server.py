"""A deliberately naive asyncio ASGI server: it trusts the app's events.

Wire-level bugs a wrapper around a real server cannot reproduce, all of them those of a server
that writes whatever the app sends:

* it copies the app's headers verbatim and adds its own ``Transfer-Encoding: chunked`` when
  there is no Content-Length (an app-sent Transfer-Encoding ends up doubled);
* it writes every body event, also after the final one, for HEAD and for 204/304;
* it never validates an event: unknown types are ignored, str header values encoded, CR LF
  written as is;
* when the app raises or returns without a response it just closes the connection.

Usage: python broken_asgi_naive_server.py --host H --port P module:attr
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from typing import Any
from urllib.parse import unquote


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
        elif message["type"] == "http.response.body":
            data = bytes(message.get("body", b""))
            if self.chunked:
                if data:
                    self.writer.write(b"%x\r\n" % len(data) + data + b"\r\n")
                if not message.get("more_body"):
                    self.writer.write(b"0\r\n\r\n")
            else:
                self.writer.write(data)
            await self.writer.drain()


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
            body = await reader.readexactly(length) if length else b""
            raw_path, _, query = target.partition(b"?")
            scope = {
                "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": version.decode().removeprefix("HTTP/"),
                "method": method.decode(), "scheme": "http",
                "path": unquote(raw_path.decode("latin-1")), "raw_path": raw_path,
                "query_string": query, "root_path": "", "headers": headers,
                "client": list(peer[:2]), "server": list(sock[:2]), "extensions": {},
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
    parser.add_argument("app")
    args = parser.parse_args()
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    asyncio.run(_serve(app, args.host, args.port))


if __name__ == "__main__":
    main()
