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
    100-on-read     speaks HTTP/1.1, sends "100 Continue" when the app first reads, but that
                    read returns b"" at once instead of waiting for the body (WSGI-IN-07.e)
    100-silent      sends "100 Continue", then never a final response, and keeps the
                    connection open (WSGI-IN-07.i; threaded, so one such request blocks no other)
    no-last-chunk   chunked responses (HTTP/1.1) that never send the last-chunk (WSGI-RESP-10.d)
    double-chunked  keeps the app's Transfer-Encoding: chunked and adds its own: the response
                    declares chunking twice over a body chunked once (WSGI-RESP-12.f, as
                    gevent.pywsgi; run under python -O, which strips wsgiref's hop-by-hop
                    assertion)
    chunked-twice   the same, and the body really chunked twice (WSGI-RESP-12.e; python -O)
    last-chunk-on-error
                    chunked responses that end with the last-chunk also when the app raised
                    mid-body (WSGI-RESP-13.b)
    cl-keeps-iterating
                    cuts the body at the app's Content-Length (the wire is right) and raises
                    on the app's write() past it, but asks for every block (WSGI-RESP-09.a)
    cl-write-returns
                    cuts the body at the app's Content-Length and stops iterating once it is
                    filled, but the app's write() past it returns normally (WSGI-RESP-09.a)
"""

from __future__ import annotations

import argparse
import importlib
import io
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server


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


class NoLastChunk(ChunkingHandler):
    def finish_content(self) -> None:
        ServerHandler.finish_content(self)  # the defect: no b"0\r\n\r\n" after the chunks


class DoubleChunked(ChunkingHandler):
    def cleanup_headers(self) -> None:
        from_app = "Transfer-Encoding" in self.headers
        super().cleanup_headers()  # replaces the app's field with the server's own
        if from_app and self.chunked:
            self.headers.add_header("Transfer-Encoding", "chunked")  # the defect: both kept


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class ChunkedTwice(DoubleChunked):
    """Applies the chunked coding twice, as both fields declare (the defect)."""

    def write(self, data: bytes) -> None:
        if not self.headers_sent:
            self.cleanup_headers()
        if not self.chunked:
            super().write(data)
        elif data:
            ServerHandler.write(self, _chunk(_chunk(data)))

    def finish_content(self) -> None:
        ServerHandler.finish_content(self)
        if self.chunked:
            self._write(_chunk(b"0\r\n\r\n") + b"0\r\n\r\n")
            self._flush()


class LastChunkOnError(ChunkingHandler):
    def handle_error(self) -> None:
        started = self.headers_sent
        super().handle_error()
        if started and self.chunked:  # the defect: the cut body is framed as complete
            self._write(b"0\r\n\r\n")
            self._flush()


class _ContinueOnRead:
    """wsgi.input that sends "100 Continue" on the first read, which then returns b"" at once
    (the defect: it does not wait for the body the 100 invites)."""

    def __init__(self, rfile: Any, wfile: Any) -> None:
        self.rfile, self.wfile, self.continued = rfile, wfile, False

    def read(self, size: int = -1) -> bytes:
        if not self.continued:
            self.continued = True
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
            return b""
        return self.rfile.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self.rfile.readline(size)


class ChunkedTo10(ChunkingHandler):
    http11_only = False


class NoDate(ServerHandler):
    def send_preamble(self) -> None:
        self._write(f"HTTP/{self.http_version} {self.status}\r\n".encode("iso-8859-1"))


class Http11(ServerHandler):
    http_version = "1.1"


class EmptyResult500(ServerHandler):
    """An app's empty list ends in the server's 500 instead of the app's headers (as
    hypercorn's WSGI wrapper, which sends a body with no response start)."""

    def finish_response(self) -> None:
        if isinstance(self.result, list) and not self.result:
            raise RuntimeError("broken: no block to send the headers with")
        super().finish_response()


class TruncatesAtLength(ServerHandler):
    """Drops body bytes past the app's Content-Length, silently: the wire is right."""

    def room(self) -> int | None:
        """Bytes the app's Content-Length still allows; None without one."""
        declared = self.headers.get("Content-Length") if self.headers is not None else None
        if declared is None:
            return None
        return int(declared) - (self.bytes_sent if self.headers_sent else 0)

    def write(self, data: bytes) -> None:
        room = self.room()
        super().write(data if room is None else data[:max(room, 0)])


class KeepsIterating(TruncatesAtLength):
    """The app's write() past Content-Length raises (right); the blocks of the iterable are
    cut silently and asked for to the end (the defect)."""

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        super().start_response(status, headers, exc_info)
        return self.app_write

    def app_write(self, data: bytes) -> None:
        room = self.room()
        if room is not None and len(data) > room:
            raise ValueError("broken: write() past the declared Content-Length")
        self.write(data)


class WriteReturns(TruncatesAtLength):
    """Stops iterating once the declared bytes are sent (right); the app's write() past
    them returns normally (the defect)."""

    def finish_response(self) -> None:
        # BaseHandler.finish_response, with a break once Content-Length is filled.
        try:
            for data in self.result:
                self.write(data)
                if self.room() == 0:
                    break
            self.finish_content()
        except BaseException:
            if hasattr(self.result, "close"):
                self.result.close()
            raise
        else:
            self.close()


class ContinueOnRead(Http11):
    def get_stdin(self) -> Any:
        if self.base_env.get("HTTP_EXPECT", "").lower() == "100-continue":
            return _ContinueOnRead(self.stdin, self.stdout)
        return self.stdin


HANDLERS: dict[str, type[ServerHandler]] = {
    "no-100": Http11, "empty-chunk": EmptyChunk, "chunked-to-10": ChunkedTo10,
    "no-date": NoDate, "lingers": ServerHandler, "expect-417": Http11,
    "chunked-411": ServerHandler, "100-on-read": ContinueOnRead, "100-silent": Http11,
    "no-last-chunk": NoLastChunk, "double-chunked": DoubleChunked,
    "chunked-twice": ChunkedTwice,
    "last-chunk-on-error": LastChunkOnError, "empty-result-500": EmptyResult500,
    "cl-keeps-iterating": KeepsIterating, "cl-write-returns": WriteReturns,
}
HTTP11_VARIANTS = frozenset({"no-100", "expect-417", "100-on-read", "100-silent"})


def handler_for(variant: str) -> type[WSGIRequestHandler]:
    server_handler = HANDLERS[variant]

    class Handler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1" if variant in HTTP11_VARIANTS else "HTTP/1.0"

        def handle_expect_100(self) -> bool:
            if variant == "expect-417":
                self.send_error(417)
                return False  # the request goes no further
            if variant == "100-silent":
                return super().handle_expect_100()  # sends the 100 at once
            # "no-100": go on without the interim response; "100-on-read": the input sends it
            return True

        def handle(self) -> None:
            # WSGIRequestHandler.handle, with the ServerHandler class of the variant.
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                return
            coding = self.headers.get("Transfer-Encoding", "").lower()
            if variant == "chunked-411" and "chunked" in coding:
                self.send_error(411)
                return
            # "100-silent": the app runs, its response goes nowhere, the connection stays open.
            expects = self.headers.get("Expect", "").lower() == "100-continue"
            silent = variant == "100-silent" and expects
            handler = server_handler(self.rfile, io.BytesIO() if silent else self.wfile,
                                     self.get_stderr(), self.get_environ(), multithread=False)
            handler.request_handler = self
            handler.run(self.server.get_app())
            if variant == "lingers" or silent:
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
    # Threaded where a request is left hanging on purpose: the next one must not wait for it.
    server_class = ThreadingWSGIServer if args.variant == "100-silent" else WSGIServer
    with make_server(args.host, args.port, app, server_class=server_class,
                     handler_class=handler_for(args.variant)) as srv:
        srv.serve_forever()


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


if __name__ == "__main__":
    main()
