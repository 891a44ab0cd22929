"""A small ASGI server speaking HTTP/2 with prior knowledge (RFC 9113 3.3), for
tests/test_broken_h2_wire.py: one switch per defect, so that each clause of the HTTP/2 wire
checks (rfc9113.*: H2-03..H2-06) is shown failing on a real socket with real frames.

The ``h2`` library keeps the frame layer (HPACK, stream states, flow-control accounting);
this server validates requests itself, so that a switch can let a malformed one through.
Without switches it is meant to pass those checks (a self-test; the real proof of passing is
hypercorn). Switches:

* ``--pass-connection-fields``: the app's Connection, Keep-Alive, Proxy-Connection,
  Transfer-Encoding and Upgrade reach the HEADERS frame (by default they are dropped);
* ``--body-for-bodiless``: DATA for HEAD, 204 and 304 (by default none);
* ``--length-on-204``: a content-length field of its own on a 204 response;
* ``--chunk-bodies``: the body goes out chunk-framed inside the DATA frames, as an HTTP/1.1
  server would write it;
* ``--malformed MODE``: what a malformed request gets: ``reset`` (RST_STREAM PROTOCOL_ERROR,
  the default), ``goaway`` (GOAWAY PROTOCOL_ERROR, the connection closed), ``answer-reset``
  (a 400 HEADERS frame, then RST_STREAM), ``accept`` (handed to the app like any request);
* ``--buffer-body``: the response body is held until the app's last body event;
* ``--window MODE``: ``respect`` (default) waits for WINDOW_UPDATE; ``ignore`` writes DATA
  beyond the client's window (raw frames past h2's accounting); ``drop`` throws away what
  the window has no room for;
* ``--trailers MODE``: http.response.trailers is advertised; ``correct`` (default) sends
  the trailers as a final HEADERS frame with END_STREAM after TE: trailers only; ``always``
  also without TE: trailers; ``as-data`` writes the trailer fields as DATA; ``none`` does not
  advertise the extension.

Anything but the connection preface is answered as HTTP/1.1 (``/probe/ready`` 200, anything
else 505), which is all the harness's readiness poll needs. No lifespan protocol.

Usage: python naive_h2_server.py --host H --port P [switches] module:attr
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.stream
from hyperframe.frame import DataFrame

Scope = dict[str, Any]
Message = dict[str, Any]
App = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
               Awaitable[None]]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# RFC 9113 8.2.2: "Connection header field and those listed as having connection-specific
# semantics in Section 7.6.1 of [HTTP]".
CONNECTION_SPECIFIC = frozenset({b"connection", b"keep-alive", b"proxy-connection",
                                 b"transfer-encoding", b"upgrade"})
MANDATORY_PSEUDO = (b":method", b":scheme", b":path")
OPTIONS = argparse.Namespace(pass_connection_fields=False, body_for_bodiless=False,
                             length_on_204=False,
                             chunk_bodies=False, malformed="reset", buffer_body=False,
                             window="respect", trailers="correct")


def malformation(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why a request's field block is malformed (RFC 9113 8.1.1, 8.2, 8.3), or None."""
    regular_seen = False
    for name, value in headers:
        if any(0x41 <= byte <= 0x5A for byte in name):
            return f"upper-case field name {name!r}"
        if name.startswith(b":"):
            if regular_seen:
                return f"pseudo-header {name!r} after a regular field"
        else:
            regular_seen = True
        if name in CONNECTION_SPECIFIC or (name == b"te" and value != b"trailers"):
            return f"connection-specific field {name!r}"
    names = {name for name, _ in headers}
    missing = [p for p in MANDATORY_PSEUDO if p not in names]
    return f"missing {missing}" if missing else None


@dataclass
class Stream:
    stream_id: int
    headers: list[tuple[bytes, bytes]]
    events: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    window: asyncio.Event = field(default_factory=asyncio.Event)
    received: int = 0
    closed: bool = False  # reset, or the response ended
    started: bool = False
    status: int = 0
    trailers_declared: bool = False
    held: bytearray = field(default_factory=bytearray)  # --buffer-body

    def field(self, name: bytes) -> bytes | None:
        return next((v for n, v in self.headers if n == name), None)

    @property
    def no_content(self) -> bool:
        return self.field(b":method") == b"HEAD" or self.status in (204, 304)


class Connection:
    def __init__(self, app: App, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.app, self.reader, self.writer = app, reader, writer
        # Validation is this server's (malformation()); h2 only frames.
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_inbound_headers=False,
            normalize_inbound_headers=False, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        self.streams: dict[int, Stream] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def serve(self) -> None:
        try:
            first = await self.reader.readexactly(len(PREFACE))
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        if first != PREFACE:
            await self.http1(first)
            return
        self.h2.initiate_connection()
        self.flush()
        data = first
        while data:
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError:
                self.flush()
                break
            for event in events:
                self.handle(event)
            self.flush()
            try:
                data = await self.reader.read(65536)
            except ConnectionError:
                break
        for stream in self.streams.values():
            self.disconnect(stream)
        self.writer.close()

    async def http1(self, first: bytes) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                                 ConnectionError):
            head = first + await self.reader.readuntil(b"\r\n\r\n")
            ready = head.startswith(b"GET /probe/ready ")
            self.writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n"
                              b"\r\nready\n" if ready else
                              b"HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-length: 0\r\n"
                              b"connection: close\r\n\r\n")
            await self.writer.drain()
        self.writer.close()

    # -- frames from the client ------------------------------------------------------------
    def handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = [(bytes(n), bytes(v)) for n, v in event.headers or []]
            stream = Stream(event.stream_id, headers)
            self.streams[event.stream_id] = stream
            if malformation(headers) and OPTIONS.malformed != "accept":
                self.reject(stream)
                return
            task = asyncio.ensure_future(self.run_app(stream))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if event.flow_controlled_length:
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    self.h2.acknowledge_received_data(event.flow_controlled_length,
                                                      event.stream_id)
            if stream is not None and not stream.closed:
                stream.received += len(event.data)
                stream.events.put_nowait({"type": "http.request", "body": bytes(event.data),
                                          "more_body": True})
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is None or stream.closed:
                return
            length = stream.field(b"content-length")
            if (OPTIONS.malformed != "accept" and length is not None
                    and stream.field(b":method") != b"HEAD" and int(length) != stream.received):
                # RFC 9113 8.1.1: the content-length disagrees with the DATA frames.
                self.reject(stream)
                return
            stream.events.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        elif isinstance(event, h2.events.StreamReset):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                self.disconnect(stream)
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            for stream in self.streams.values():
                stream.window.set()

    def reject(self, stream: Stream) -> None:
        """A malformed request, as --malformed says."""
        if OPTIONS.malformed == "goaway":
            self.h2.close_connection(h2.errors.ErrorCodes.PROTOCOL_ERROR)
            self.flush()
            self.writer.close()
        else:
            if OPTIONS.malformed == "answer-reset" and not stream.started:
                self.h2.send_headers(stream.stream_id, [(b":status", b"400"),
                                                        (b"content-length", b"0")])
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.h2.reset_stream(stream.stream_id, h2.errors.ErrorCodes.PROTOCOL_ERROR)
            self.flush()
        self.disconnect(stream)

    def disconnect(self, stream: Stream) -> None:
        if not stream.closed:
            stream.closed = True
            stream.events.put_nowait({"type": "http.disconnect"})
        stream.window.set()

    # -- the application ---------------------------------------------------------------------
    def scope(self, stream: Stream) -> Scope:
        raw = stream.field(b":path") or b"/"
        path, _, query = raw.partition(b"?")
        sockname = self.writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        peername = self.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        extensions: dict[str, Any] = {}
        if OPTIONS.trailers != "none":
            extensions["http.response.trailers"] = {}
        return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
                "http_version": "2", "method": (stream.field(b":method") or b"GET").decode(),
                "scheme": (stream.field(b":scheme") or b"http").decode(),
                "path": unquote(path.decode("latin-1")), "raw_path": path,
                "query_string": query, "root_path": "",
                "headers": [(n, v) for n, v in stream.headers if not n.startswith(b":")],
                "client": list(peername[:2]), "server": list(sockname[:2]),
                "extensions": extensions}

    async def run_app(self, stream: Stream) -> None:
        async def receive() -> Message:
            return await stream.events.get()

        async def send(message: Message) -> None:
            await self.app_send(stream, message)

        try:
            await self.app(self.scope(stream), receive, send)
        except Exception:  # noqa: BLE001 - an app error ends its stream, not the server
            if not stream.started and not stream.closed:
                self.h2.send_headers(stream.stream_id, [(b":status", b"500")], end_stream=True)
            elif not stream.closed:
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    self.h2.reset_stream(stream.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
            self.flush()
            self.disconnect(stream)

    async def app_send(self, stream: Stream, message: Message) -> None:
        if stream.closed:
            raise OSError("the stream is closed")
        kind = message["type"]
        if kind == "http.response.start":
            stream.started, stream.status = True, int(message["status"])
            stream.trailers_declared = bool(message.get("trailers"))
            fields = [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers", [])]
            if not OPTIONS.pass_connection_fields:
                fields = [(n, v) for n, v in fields if n not in CONNECTION_SPECIFIC]
            if OPTIONS.length_on_204 and stream.status == 204:
                fields.append((b"content-length", b"0"))
            self.h2.send_headers(stream.stream_id,
                                 [(b":status", str(stream.status).encode()), *fields])
            self.flush()
        elif kind == "http.response.body":
            await self.body(stream, bytes(message.get("body", b"")),
                            not message.get("more_body", False))
        elif kind == "http.response.trailers":
            if message.get("more_trailers"):
                return
            await self.trailers(stream, [(bytes(n).lower(), bytes(v))
                                         for n, v in message.get("headers", [])])

    async def body(self, stream: Stream, data: bytes, final: bool) -> None:
        if stream.no_content and not OPTIONS.body_for_bodiless:
            data = b""
        if OPTIONS.buffer_body:
            stream.held += data
            if not final:
                return
            data, stream.held = bytes(stream.held), bytearray()
        if OPTIONS.chunk_bodies:
            data = (b"%x\r\n%s\r\n" % (len(data), data) if data else b"") + (
                b"0\r\n\r\n" if final else b"")
        end = final and not stream.trailers_declared
        await self.send_data(stream, data, end)
        if end:
            self.disconnect(stream)

    async def trailers(self, stream: Stream, fields: list[tuple[bytes, bytes]]) -> None:
        allowed = stream.field(b"te") == b"trailers" or OPTIONS.trailers == "always"
        if allowed and OPTIONS.trailers == "as-data":
            await self.send_data(stream, b"".join(n + b": " + v + b"\r\n" for n, v in fields),
                                 True)
        elif allowed:
            self.h2.send_headers(stream.stream_id, fields, end_stream=True)
            self.flush()
        else:
            await self.send_data(stream, b"", True)
        self.disconnect(stream)

    async def send_data(self, stream: Stream, data: bytes, end: bool) -> None:
        """DATA frames within the client's window (as --window says), END_STREAM on the last."""
        sid = stream.stream_id
        if OPTIONS.window == "ignore":
            # Past h2's accounting: the frames go straight onto the socket.
            self.writer.write(DataFrame(sid, data, flags={"END_STREAM"} if end else set())
                              .serialize())
            return
        while True:
            room = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if data and room <= 0:
                if OPTIONS.window == "drop":
                    data = b""
                    continue
                stream.window.clear()
                await stream.window.wait()
                if stream.closed:
                    return
                continue
            chunk, data = data[:room], data[room:]
            self.h2.send_data(sid, chunk, end_stream=end and not data)
            self.flush()
            await self.writer.drain()
            if not data:
                return


async def serve(app: App, host: str, port: int) -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await Connection(app, reader, writer).serve()

    server = await asyncio.start_server(accept, host, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--pass-connection-fields", action="store_true")
    parser.add_argument("--body-for-bodiless", action="store_true")
    parser.add_argument("--length-on-204", action="store_true")
    parser.add_argument("--chunk-bodies", action="store_true")
    parser.add_argument("--malformed", choices=("reset", "goaway", "answer-reset", "accept"),
                        default="reset")
    parser.add_argument("--buffer-body", action="store_true")
    parser.add_argument("--window", choices=("respect", "ignore", "drop"), default="respect")
    parser.add_argument("--trailers", choices=("correct", "always", "as-data", "none"),
                        default="correct")
    parser.add_argument("app")
    args = parser.parse_args()
    for name in vars(OPTIONS):
        setattr(OPTIONS, name, getattr(args, name))
    # h2 checks a request's content-length against its DATA on its own (a connection error,
    # before this server sees the END_STREAM); the check is this server's, as --malformed says.
    h2.stream.H2Stream._track_content_length = (  # type: ignore[method-assign]
        lambda self, length, end_stream: None)
    module, _, attr = args.app.partition(":")
    app = getattr(importlib.import_module(module), attr)
    asyncio.run(serve(app, args.host, args.port))


if __name__ == "__main__":
    main()
