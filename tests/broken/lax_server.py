"""A deliberately lax HTTP/1.1 server for the framing checks (issue 4): threads, one socket per
client, just enough HTTP to run the probe WSGI app, and every classic parsing sin.

* Content-Length wins over Transfer-Encoding, and the connection is kept alive afterwards;
* chunk sizes parsed with int(x, 16) (accepts 0x1, +1, 1_0), the CRLF after chunk data skipped
  unchecked, "chunked" found anywhere in Transfer-Encoding (so "\\x0bchunked" counts);
* Content-Length parsed with int() (accepts +5, 1_0); a short body at EOF handed to the app;
* bare LF line ends, whitespace before the colon, lines without a colon silently dropped;
  no Host checks; any request-target;
* the body is read only if the app reads it, and never drained (so an unread body is parsed
  as the next request);
* Connection: close ignored; always keep-alive; chunked responses even to HTTP/1.0; a HEAD
  response still carries the body; 100 Continue sent whatever the version; Set-Cookie lines
  merged into one; no Date; a path that is not UTF-8 crashes the handler (500);
* a request head over 64 KiB makes the handler stop answering;
* with --reorder, two requests that arrive together are answered in reverse order.

Started as ``python lax_server.py --host H --port P [--reorder] module:app`` by a target TOML.
"""

from __future__ import annotations

import argparse
import importlib
import io
import socket
import socketserver
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

HEAD_LIMIT = 64 * 1024


class Closed(Exception):
    pass


class Reader:
    """Buffered reads from the client socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > HEAD_LIMIT:
                raise OverflowError
            if not self.fill():
                raise Closed
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")  # lax: bare LF is a line end too

    def read(self, size: int) -> bytes:
        while len(self.buf) < size and self.fill():
            pass
        data, self.buf = self.buf[:size], self.buf[size:]
        return data


class LazyInput(io.RawIOBase):
    """wsgi.input reading Content-Length bytes straight from the socket, only when asked."""

    def __init__(self, reader: Reader, length: int) -> None:
        self.reader, self.left = reader, length

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.reader.read(size)
        self.left -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def read_chunked(reader: Reader) -> bytes:
    body = b""
    while True:
        size = int(reader.line().split(b";")[0].strip(), 16)  # lax: 0x1, +1, 1_0 all parse
        if size <= 0:
            while reader.line():
                pass
            return body
        body += reader.read(size)
        reader.read(2)  # lax: whatever follows the data is taken for its CRLF


def parse_head(reader: Reader) -> tuple[bytes, bytes, bytes, list[tuple[str, str]]]:
    line = reader.line()
    while not line:
        line = reader.line()
    method, target, version = (line.split(b" ", 2) + [b"HTTP/1.0"])[:3]
    headers: list[tuple[str, str]] = []
    while True:
        field = reader.line()
        if not field:
            return method, target, version, headers
        if field[:1] in (b" ", b"\t") and headers:
            name, value = headers.pop()
            headers.append((name, value + " " + field.strip().decode("latin-1")))
            continue
        if b":" not in field:
            continue  # lax: a line without a colon is dropped
        name, _, value = field.partition(b":")
        headers.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))


class Handler(socketserver.BaseRequestHandler):
    app: Callable[..., Any]
    reorder = False

    def handle(self) -> None:
        reader = Reader(self.request)
        try:
            while True:
                request = parse_head(reader)
                if self.reorder and reader.buf:
                    second = parse_head(reader)
                    self.respond(reader, *second)
                self.respond(reader, *request)
        except OverflowError:
            while reader.fill():  # lax: stop answering, swallow the rest
                reader.buf = b""
        except (Closed, OSError):
            pass
        except ValueError:
            self.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def send(self, data: bytes) -> None:
        self.request.sendall(data)

    def respond(self, reader: Reader, method: bytes, target: bytes, version: bytes,
                headers: list[tuple[str, str]]) -> None:
        fields = {name.lower(): value for name, value in headers}
        if "100-continue" in fields.get("expect", "").lower():
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "content-length" in fields:
            stream: io.RawIOBase | io.BytesIO = LazyInput(reader, int(fields["content-length"]))
            length = fields["content-length"]
        elif "chunked" in fields.get("transfer-encoding", "").lower():
            body = read_chunked(reader)
            stream, length = io.BytesIO(body), str(len(body))
        else:
            stream, length = io.BytesIO(b""), ""
        path, _, query = target.partition(b"?")
        try:
            # lax: a path that is not UTF-8 crashes the handler, answered 500
            path_info = unquote_to_bytes(path).decode("utf-8").encode().decode("latin-1")
        except UnicodeDecodeError:
            self.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
            return
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method.decode("latin-1"),
            "SCRIPT_NAME": "",
            "PATH_INFO": path_info,
            "QUERY_STRING": query.decode("latin-1"),
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": version.decode("latin-1")[:8],
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": stream,
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if length:
            environ["CONTENT_LENGTH"] = length
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ["HTTP_" + key] = value
        self.run_app(environ, version)

    def run_app(self, environ: dict[str, Any], version: bytes) -> None:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                           ) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return lambda data: None

        try:
            result = self.app(environ, start_response)
            body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
        except Exception:
            self.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
            return
        status, headers = started
        cookies = [v for n, v in headers if n.lower() == "set-cookie"]
        lines = [f"{n}: {v}" for n, v in headers if n.lower() != "set-cookie"]
        if cookies:
            lines.append("Set-Cookie: " + ", ".join(cookies))  # lax: merged
        chunked = not any(n.lower() == "content-length" for n, _ in headers) and not (
            status.startswith(("204", "304")))
        if chunked:  # lax: even for an HTTP/1.0 request
            lines.append("Transfer-Encoding: chunked")
            body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
        head = f"HTTP/1.1 {status}\r\n" + "".join(line + "\r\n" for line in lines) + "\r\n"
        self.send(head.encode("latin-1") + body)  # lax: HEAD gets the body too


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reorder", action="store_true")
    parser.add_argument("app")
    args = parser.parse_args()
    module, _, attr = args.app.partition(":")
    Handler.app = staticmethod(getattr(importlib.import_module(module), attr or "app"))
    Handler.reorder = args.reorder
    with Server((args.host, args.port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
