"""A deliberately naive asyncio WebSocket server for ASGI apps, with one switch per defect.

Without switches it does what RFC 6455 and the ASGI WebSocket spec ask of the parts the
WebSocket checks of rfc6455/ and the handshake look at: it completes the handshake when the app
accepts, answers pings, fails the connection on a protocol error with a Close frame of the
right code, and tells the app websocket.disconnect (1006 after a lost connection). Each switch
breaks one clause:

* ``--early-101``: the 101 goes out before the app's accept (ASGI-WS-02.a);
* ``--no-pong`` / ``--pong-empty``: pings go unanswered / get an empty pong (ASGI-WS-06.a, .c);
  ``--pong-after-data``: a pong waits for the app's next data message, or 1 s (ASGI-WS-06.b);
* ``--ping-to-app``: a ping reaches the app as a websocket.receive (ASGI-WS-06.e);
* ``--accept-unmasked``, ``--ignore-opcode``, ``--ignore-rsv``: the frame is processed as if
  valid (ASGI-WS-08.a, .c, .d); ``--replace-utf8``: invalid UTF-8 reaches the app with
  replacement characters (ASGI-WS-08.e, .g); ``--close-no-frame``: a protocol error closes the
  connection without a Close frame (ASGI-WS-08.f);
* ``--upgrade-http10``: an HTTP/1.0 request with Upgrade is upgraded (PROXY-08.c);
  ``--refuse-http10-upgrade``: it is answered 400 and never reaches the app, while the same
  request without Upgrade gets "200 ready" (hypercorn's answer; PROXY-08.c);
* ``--no-disconnect-on-reset``: a lost connection never reaches the app (ASGI-WS-05.a);
  ``--reset-code-1000``: it reaches the app as code 1000 (ASGI-WS-05.e);
* ``--app-close-no-frame``: the app's websocket.close ends TCP with no Close frame
  (ASGI-WS-03.f); ``--no-close-echo``: the client's Close frame is never answered (PROXY-08.k);
* ``--reject-fragments``: a fragmented message fails the connection (ASGI-WS-04.c);
  ``--first-fragment-only``: a fragmented message reaches the app as its first frame
  (ASGI-WS-04.a);
* ``--denial-keep-open``: after the denial response (websocket.http.response, which this
  server advertises) the connection stays open (ASGI-EXT-01.d);
* ``--accept-headers-200``: an accept with headers is answered "200 OK" with the upgrade
  fields, not a 101 (socketify's answer; ASGI-WS-02.j);
* ``--close-403-keep-open``: the 403 to a close before accept announces "Connection: close",
  yet the connection stays open until the app returns (hypercorn's; HTTP-13.g).

An HTTP request that is no upgrade gets "200 ready" (the harness's readiness poll) and never
reaches the app. Usage: python naive_websocket_server.py --host H --port P [switches] mod:attr
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import importlib
import struct
from typing import Any
from urllib.parse import unquote

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SWITCHES = ("early_101", "no_pong", "pong_empty", "ping_to_app", "accept_unmasked",
            "ignore_opcode", "ignore_rsv", "replace_utf8", "close_no_frame", "upgrade_http10",
            "no_disconnect_on_reset", "reset_code_1000", "app_close_no_frame", "no_close_echo",
            "reject_fragments", "first_fragment_only", "denial_keep_open",
            "pong_after_data", "accept_headers_200", "refuse_http10_upgrade",
            "close_403_keep_open")
OPTIONS = argparse.Namespace(**{name: False for name in SWITCHES})


def frame(opcode: int, payload: bytes) -> bytes:
    """A server frame: FIN, unmasked (RFC 6455 5.1)."""
    if len(payload) < 126:
        return struct.pack("!BB", 0x80 | opcode, len(payload)) + payload
    if len(payload) < 1 << 16:
        return struct.pack("!BBH", 0x80 | opcode, 126, len(payload)) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, len(payload)) + payload


class ProtocolError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Connection:
    def __init__(self, app: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 scope: dict[str, Any], key: bytes) -> None:
        self.app, self.reader, self.writer, self.scope, self.key = app, reader, writer, scope, key
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.handshake_sent = False
        self.closed = False
        self.held_pongs: list[bytes] = []  # --pong-after-data

    def _flush_pongs(self) -> None:
        for payload in self.held_pongs:
            self.writer.write(frame(0xA, payload))
        self.held_pongs.clear()

    def _handshake(self, subprotocol: str | None, headers: list[Any]) -> None:
        accept = base64.b64encode(hashlib.sha1(self.key + GUID).digest())
        status = (b"HTTP/1.1 200 OK" if headers and OPTIONS.accept_headers_200 else
                  b"HTTP/1.1 101 Switching Protocols")
        lines = [status, b"Upgrade: websocket",
                 b"Connection: Upgrade", b"Sec-WebSocket-Accept: " + accept]
        if subprotocol:
            lines.append(b"Sec-WebSocket-Protocol: " + subprotocol.encode())
        lines += [bytes(n) + b": " + bytes(v) for n, v in headers]
        self.writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        self.handshake_sent = True

    async def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            raise OSError("naive: connection closed")
        kind = message["type"]
        if kind == "websocket.accept":
            if not self.handshake_sent:
                self._handshake(message.get("subprotocol"), list(message.get("headers") or []))
        elif kind == "websocket.send":
            if message.get("bytes") is not None:
                self.writer.write(frame(0x2, message["bytes"]))
            else:
                self.writer.write(frame(0x1, message["text"].encode("utf-8")))
            self._flush_pongs()
        elif kind == "websocket.http.response.start":
            head = [f"HTTP/1.1 {message['status']} Denied".encode(),
                    *(bytes(n) + b": " + bytes(v) for n, v in message.get("headers") or [])]
            self.writer.write(b"\r\n".join(head) + b"\r\n\r\n")
            self.handshake_sent = True  # no 101 may follow
        elif kind == "websocket.http.response.body":
            self.writer.write(message.get("body", b""))
            if not message.get("more_body") and not OPTIONS.denial_keep_open:
                self.closed = True
                with contextlib.suppress(OSError):
                    await self.writer.drain()
                self.writer.close()
                return
        elif kind == "websocket.close":
            if not self.handshake_sent:
                self.writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n"
                                  b"connection: close\r\n\r\n")
                if OPTIONS.close_403_keep_open:
                    # The close waits for the app's return (run() closes the writer then).
                    self.handshake_sent = self.closed = True
                    with contextlib.suppress(OSError):
                        await self.writer.drain()
                    return
            else:
                code = message.get("code") or 1000
                reason = (message.get("reason") or "").encode()
                if not OPTIONS.app_close_no_frame:
                    self.writer.write(frame(0x8, struct.pack("!H", code) + reason))
            self.closed = True
            with contextlib.suppress(OSError):
                await self.writer.drain()
            self.writer.close()
            return
        with contextlib.suppress(OSError):
            await self.writer.drain()

    async def receive(self) -> dict[str, Any]:
        return await self.queue.get()

    async def run(self) -> None:
        await self.queue.put({"type": "websocket.connect"})
        if OPTIONS.early_101:
            self._handshake(None, [])
        app = asyncio.create_task(self.app(self.scope, self.receive, self.send))
        if OPTIONS.close_403_keep_open:
            app.add_done_callback(lambda _: self.writer.close())
        try:
            await self._read_frames()
        finally:
            self.closed = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(app, 5)

    async def _read_frames(self) -> None:
        parts: list[bytes] = []
        kind = 0
        while True:
            try:
                head = await self.reader.readexactly(2)
            except (asyncio.IncompleteReadError, ConnectionError):
                if not OPTIONS.no_disconnect_on_reset:
                    code = 1000 if OPTIONS.reset_code_1000 else 1006
                    await self.queue.put({"type": "websocket.disconnect", "code": code})
                return
            try:
                fin, opcode, payload = await self._frame(head)
            except ProtocolError as error:
                await self._fail(error.code)
                return
            if opcode == 0x9:
                if OPTIONS.ping_to_app:
                    await self.queue.put({"type": "websocket.receive", "bytes": payload})
                if OPTIONS.pong_after_data:
                    self.held_pongs.append(payload)
                    asyncio.get_running_loop().call_later(1.0, self._flush_pongs)
                elif not OPTIONS.no_pong:
                    self.writer.write(frame(0xA, b"" if OPTIONS.pong_empty else payload))
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                if not OPTIONS.no_close_echo:
                    self.writer.write(frame(0x8, payload[:2]))
                await self.queue.put({"type": "websocket.disconnect", "code": code,
                                      "reason": payload[2:].decode("utf-8", "replace")})
                self.writer.close()
                return
            if opcode in (0x1, 0x2):
                kind, parts = opcode, [payload]
            elif opcode == 0x0:
                if OPTIONS.reject_fragments:
                    await self._fail(1002)
                    return
                if not OPTIONS.first_fragment_only:
                    parts.append(payload)
            else:
                continue  # --ignore-opcode: an unknown frame is dropped
            if not fin:
                continue
            data = b"".join(parts)
            if kind == 0x2:
                await self.queue.put({"type": "websocket.receive", "bytes": data})
                continue
            try:
                text = data.decode("utf-8", "replace" if OPTIONS.replace_utf8 else "strict")
            except UnicodeDecodeError:
                await self._fail(1007)
                return
            await self.queue.put({"type": "websocket.receive", "text": text})

    async def _frame(self, head: bytes) -> tuple[bool, int, bytes]:
        fin, rsv, opcode = head[0] & 0x80, head[0] & 0x70, head[0] & 0x0F
        masked, length = head[1] & 0x80, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        key = await self.reader.readexactly(4) if masked else b""
        payload = await self.reader.readexactly(length)
        if key:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        if not masked and not OPTIONS.accept_unmasked:
            raise ProtocolError(1002)
        if rsv and not OPTIONS.ignore_rsv:
            raise ProtocolError(1002)
        if opcode not in (0x0, 0x1, 0x2, 0x8, 0x9, 0xA) and not OPTIONS.ignore_opcode:
            raise ProtocolError(1002)
        return bool(fin), opcode, payload

    async def _fail(self, code: int) -> None:
        if not OPTIONS.close_no_frame:
            self.writer.write(frame(0x8, struct.pack("!H", code)))
        await self.queue.put({"type": "websocket.disconnect", "code": code})
        with contextlib.suppress(OSError):
            await self.writer.drain()
        self.writer.close()


async def handle(app: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, version = (request_line.split(" ") + ["", "", ""])[:3]
    headers = [(n.strip().lower().encode("latin-1"), v.strip().encode("latin-1"))
               for n, _, v in (line.partition(":") for line in lines if line)]
    fields = dict(headers)
    upgrade = fields.get(b"upgrade", b"").lower() == b"websocket"
    if upgrade and version == "HTTP/1.0" and OPTIONS.refuse_http10_upgrade:
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()
        return
    if not upgrade or (version == "HTTP/1.0" and not OPTIONS.upgrade_http10):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nready\n")
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()
        return
    path, _, query = target.partition("?")
    peer, sock = writer.get_extra_info("peername"), writer.get_extra_info("sockname")
    scope = {
        "type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": version.removeprefix("HTTP/"), "scheme": "ws",
        "path": unquote(path), "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"), "root_path": "", "headers": headers,
        "client": [peer[0], peer[1]], "server": [sock[0], sock[1]],
        "subprotocols": [p.strip() for _, v in headers if _ == b"sec-websocket-protocol"
                         for p in v.decode("latin-1").split(",") if p.strip()],
        "extensions": {"websocket.http.response": {}},
    }
    await Connection(app, reader, writer, scope, fields.get(b"sec-websocket-key", b"")).run()


async def serve(host: str, port: int, app: Any) -> None:
    server = await asyncio.start_server(lambda r, w: handle(app, r, w), host, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    for name in SWITCHES:
        parser.add_argument("--" + name.replace("_", "-"), action="store_true")
    parser.add_argument("app")
    args = parser.parse_args()
    for name in SWITCHES:
        setattr(OPTIONS, name, getattr(args, name))
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    asyncio.run(serve(args.host, args.port, app))


if __name__ == "__main__":
    main()
