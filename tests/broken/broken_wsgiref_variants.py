"""Broken servers built on wsgiref, one wire-level defect each (tests/test_broken_wsgi.py).

Started as ``python broken_wsgiref_variants.py --variant NAME --host H --port P module:app``:

    no-100          speaks HTTP/1.1 but never sends "100 Continue" (WSGI-IN-07), and hands
                    the app chunk framing as wsgiref does (WSGI-IN-06)
    empty-chunk     chunked responses (HTTP/1.1) that send an empty block as a chunk of size
                    0, the last-chunk (WSGI-RESP-08)
    chunked-to-10   chunked responses to HTTP/1.0 clients too (WSGI-RESP-10)
    no-date         never adds a Date header (WSGI-RESP-14)
    lingers         keeps every connection open after the response (WSGI-RESP-09, too few)
    expect-417      speaks HTTP/1.1 and answers every Expect: 100-continue with 417
                    (Expectation Failed): the body never reaches the app (WSGI-IN-07)
    chunked-411     answers every chunked request with 411 (Length Required), as RFC 9112
                    6.3 allows (WSGI-IN-06)
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, make_server


class ChunkingHandler(ServerHandler):
    """Chunks every response without Content-Length; ``skip_empty`` is the correct part."""

    http_version = "1.1"
    skip_empty = True
    http11_only = True
    chunked = False

    def cleanup_headers(self) -> None:
        # wsgiref's Headers wraps the app's own list: work on a copy, or the fields added here
        # end up in the app's header constant (and in every later response of that app).
        self.headers = self.headers_class(list(self.headers.items()))
        super().cleanup_headers()
        modern = self.request_handler.request_version == "HTTP/1.1" or not self.http11_only
        if "Content-Length" not in self.headers and modern:
            self.chunked = True
            self.headers["Transfer-Encoding"] = "chunked"
        self.headers["Connection"] = "close"

    def write(self, data: bytes) -> None:
        if not self.headers_sent:
            self.cleanup_headers()
        if self.chunked:
            if not data and self.skip_empty:
                return None
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        super().write(data)

    def finish_content(self) -> None:
        super().finish_content()
        if self.chunked:
            self._write(b"0\r\n\r\n")
            self._flush()


class EmptyChunk(ChunkingHandler):
    skip_empty = False


class ChunkedTo10(ChunkingHandler):
    http11_only = False


class NoDate(ServerHandler):
    def send_preamble(self) -> None:
        self._write(f"HTTP/{self.http_version} {self.status}\r\n".encode("iso-8859-1"))


class Http11(ServerHandler):
    http_version = "1.1"


HANDLERS: dict[str, type[ServerHandler]] = {
    "no-100": Http11, "empty-chunk": EmptyChunk, "chunked-to-10": ChunkedTo10,
    "no-date": NoDate, "lingers": ServerHandler, "expect-417": Http11,
    "chunked-411": ServerHandler,
}
HTTP11_VARIANTS = frozenset({"no-100", "expect-417"})


def handler_for(variant: str) -> type[WSGIRequestHandler]:
    server_handler = HANDLERS[variant]

    class Handler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1" if variant in HTTP11_VARIANTS else "HTTP/1.0"

        def handle_expect_100(self) -> bool:
            if variant == "expect-417":
                self.send_error(417)
                return False  # the request goes no further
            return True  # the defect of "no-100": go on without sending the interim response

        def handle(self) -> None:
            # WSGIRequestHandler.handle, with the ServerHandler class of the variant.
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                return
            coding = self.headers.get("Transfer-Encoding", "").lower()
            if variant == "chunked-411" and "chunked" in coding:
                self.send_error(411)
                return
            handler = server_handler(self.rfile, self.wfile, self.get_stderr(),
                                     self.get_environ(), multithread=False)
            handler.request_handler = self
            handler.run(self.server.get_app())
            if variant == "lingers":
                self.wfile.flush()
                self.rfile.read()  # until the client goes away: the connection never closes

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=sorted(HANDLERS), required=True)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("app")
    args = parser.parse_args()
    module, _, attr = args.app.partition(":")
    app: Any = getattr(importlib.import_module(module), attr)
    with make_server(args.host, args.port, app, handler_class=handler_for(args.variant)) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
