"""A WebSocket client (RFC 6455) on the project's socket layer, for checks that must see and
shape the exact frames.

Valid traffic goes through wsproto (sans-IO): the opening handshake, text and binary messages
(whole or in fragments), pings, and the closing handshake. What a conforming client never
sends (an unmasked frame, invalid UTF-8 in a text frame, a reserved opcode, an oversize control
frame) is built by :func:`frame`, byte for byte as RFC 6455 section 5.2 lays a frame out, and
written to the same connection. Every byte in both directions stays on the underlying
:class:`conformance.wire.Connection`, so a finding can quote what the server really sent.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from conformance.wire import Connection, WireTimeout, parse_response

# RFC 6455 5.2 opcodes.
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
# RFC 6455 7.4.1 status codes the checks use.
NORMAL_CLOSURE, PROTOCOL_ERROR, NO_STATUS_RECEIVED, INVALID_PAYLOAD = 1000, 1002, 1005, 1007


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True,
          rsv: int = 0) -> bytes:
    """One frame exactly as RFC 6455 5.2 lays it out; nothing is validated, so an invalid frame
    can be built on purpose (``rsv`` is the three RSV bits as a number 0-7)."""
    first = (0x80 if fin else 0) | ((rsv & 0x7) << 4) | (opcode & 0xF)
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_payload(code: int | None, reason: str = "") -> bytes:
    """A close frame's body (RFC 6455 5.5.1): the code and the UTF-8 reason, or nothing."""
    return b"" if code is None else struct.pack("!H", code) + reason.encode("utf-8")


@dataclass
class Handshake:
    """What the server answered to the opening handshake."""

    accepted: bool = False
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    subprotocol: str | None = None
    body: bytes = b""  # the body of a rejection (a 403, or the denial extension's response)
    body_complete: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0  # from the request's last byte to the end of the answer

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Received:
    """One thing the server sent after the handshake: a whole message, a control frame, the end
    of the connection, or a protocol error in what it sent."""

    kind: str  # "text", "bytes", "ping", "pong", "close", "eof", "error"
    data: str | bytes = b""
    code: int | None = None
    reason: str = ""
    at: float = 0.0  # time.monotonic() on arrival


class WebSocketClient:
    """One client WebSocket over one :class:`Connection`."""

    def __init__(self, conn: Connection, *, answer_pings: bool = True) -> None:
        self.conn = conn
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.answer_pings = answer_pings
        self.received: list[Received] = []
        self._pending: list[Received] = []
        self._partial: dict[str, list[str | bytes]] = {"text": [], "bytes": []}
        self._handshake = Handshake()
        self._handshake_done = False
        self._handshake_sent = 0.0
        self.write_failed = False
        # A Close frame with no body goes out raw (wsproto always writes a code), so wsproto
        # does not know it was sent: without this the server's answering Close would be
        # answered with a second Close, which RFC 6455 5.5.1 asks only of an endpoint that
        # "did not previously send a Close frame".
        self._sent_raw_close = False

    # -- the opening handshake -------------------------------------------------------------
    def handshake(self, target: str, *, host: str, subprotocols: Sequence[str] = (),
                  headers: Iterable[tuple[bytes, bytes]] = (),
                  timeout: float = 5.0) -> Handshake:
        """Send the opening handshake (extra ``headers``: the x-probe-id, repeated
        Sec-WebSocket-Protocol lines, ...) and read the answer to its end: a 101, or a
        rejection and its body. Never raises on what the server sent."""
        self.send_handshake(target, host=host, subprotocols=subprotocols, headers=headers)
        return self.read_handshake(timeout)

    def send_handshake(self, target: str, *, host: str, subprotocols: Sequence[str] = (),
                       headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        """The first half of :meth:`handshake`: the request only."""
        request = Request(host=host, target=target, subprotocols=list(subprotocols),
                          extra_headers=list(headers))
        self._write(self.ws.send(request))
        self._handshake_sent = time.monotonic()

    def read_handshake(self, timeout: float) -> Handshake:
        """The second half of :meth:`handshake`: the answer, read to its end within
        ``timeout`` seconds from now."""
        deadline = time.monotonic() + timeout
        while not self._handshake_done:
            if not self._read(deadline):
                self._handshake.problems.append(
                    "the connection closed before the handshake was answered" if self.conn.eof
                    else f"no complete answer to the handshake within {timeout:.1f}s")
                break
        self._handshake.seconds = time.monotonic() - self._handshake_sent
        return self._handshake

    # -- sending ---------------------------------------------------------------------------
    def send_text(self, text: str, fragments: Sequence[int] = ()) -> None:
        """A text message, whole or cut into frames after the given character counts."""
        self._send_message(text, fragments, TextMessage)

    def send_bytes(self, data: bytes, fragments: Sequence[int] = ()) -> None:
        """A binary message, whole or cut into frames after the given byte counts."""
        self._send_message(data, fragments, BytesMessage)

    def _send_message(self, data: str | bytes, fragments: Sequence[int],
                      kind: type[TextMessage] | type[BytesMessage]) -> None:
        cuts = sorted({c for c in fragments if 0 < c < len(data)}) + [len(data)]
        start = 0
        for cut in cuts:
            piece = data[start:cut]
            self._write(self.ws.send(kind(data=piece,  # type: ignore[arg-type]
                                          message_finished=cut == len(data))))
            start = cut

    def ping(self, payload: bytes = b"probe") -> None:
        self._write(self.ws.send(Ping(payload=payload)))

    def close(self, code: int | None = NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake; ``code=None`` sends a close frame with no body (so the
        peer must report 1005, RFC 6455 7.1.5). On a connection that is not open (the
        handshake failed, or a close was already exchanged) only the socket is closed."""
        if self.ws.state is not ConnectionState.OPEN:
            self.conn.close()
            return
        if code is None:
            self.send_raw(frame(CLOSE, b""))
            self._sent_raw_close = True
            return
        self._write(self.ws.send(CloseConnection(code=code, reason=reason)))

    def close_handshake(self, code: int | None = NORMAL_CLOSURE, reason: str = "",
                        timeout: float = 5.0) -> Received | None:
        """Close as a client does (RFC 6455 7.1.1, 7.1.2): send the Close frame, wait for the
        server's, let the server close TCP first, then close our side. The server's Close
        frame, or None when none came within ``timeout``. A server may hold the app's
        websocket.disconnect until TCP is closed (the WebSocket Connection is Closed only
        then, 7.1.4), so a client that kept its socket open would delay it."""
        if self.ws.state is not ConnectionState.OPEN:
            self.conn.close()
            return None
        self.close(code, reason)
        got = self.until({"close"}, timeout)
        answer = next((item for item in got if item.kind == "close"), None)
        if answer is not None:
            self.until({"eof"}, timeout)
        self.conn.close()
        return answer

    def send_raw(self, data: bytes) -> None:
        """Bytes wsproto would never send (an invalid frame): written as they are."""
        self._write(data)

    def _write(self, data: bytes) -> None:
        """Write to the server. A server that has already closed the connection makes the
        write fail: that is something the server did, seen by the reads that follow, so it
        is noted (``write_failed``) and never an error of the check."""
        try:
            self.conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            self.write_failed = True

    # -- receiving -------------------------------------------------------------------------
    def next(self, timeout: float) -> Received | None:
        """The next whole message, control frame, close or end of connection; None when
        nothing came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self._pending:
            if not self._read(deadline):
                if self.conn.eof and not any(r.kind == "eof" for r in self.received):
                    self._deliver(Received("eof", at=time.monotonic()))
                    continue
                return None
        return self._pending.pop(0)

    def until(self, kinds: set[str], timeout: float) -> list[Received]:
        """Everything received until one of ``kinds`` (or the end, or the deadline)."""
        got: list[Received] = []
        deadline = time.monotonic() + timeout
        while (item := self.next(max(deadline - time.monotonic(), 0.0))) is not None:
            got.append(item)
            if item.kind in kinds or item.kind in ("eof", "error"):
                break
        return got

    def _read(self, deadline: float) -> bool:
        """Read once and process what came; False at the deadline or at EOF."""
        left = deadline - time.monotonic()
        if left <= 0 or self.conn.eof:
            return False
        try:
            data = self.conn.recv_some(left)
        except WireTimeout:
            return False
        try:
            self.ws.receive_data(data or None)
            for event in self.ws.events():
                # At the end of the stream wsproto makes up a CloseConnection(1006): no frame
                # the server sent, so it is not reported as one (the "eof" item says it).
                if not data and isinstance(event, CloseConnection):
                    continue
                self._handle(event)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            self._deliver(Received("error", data=str(exc), at=time.monotonic()))
            if not self._handshake_done:
                self._handshake.problems.append(f"invalid handshake answer: {exc}")
                self._handshake_done = True
        return bool(data)

    def _handle(self, event: Event) -> None:
        now = time.monotonic()
        hs = self._handshake
        if isinstance(event, AcceptConnection):
            hs.accepted, hs.status = True, 101
            hs.subprotocol = event.subprotocol
            hs.headers = self._head_fields()
            self._handshake_done = True
        elif isinstance(event, RejectConnection):
            hs.status = event.status_code
            hs.headers = self._head_fields()
            hs.body_complete = not event.has_body
            self._handshake_done = hs.body_complete
        elif isinstance(event, RejectData):
            hs.body += event.data
            hs.body_complete = event.body_finished
            self._handshake_done = event.body_finished
        elif isinstance(event, TextMessage | BytesMessage):
            kind = "text" if isinstance(event, TextMessage) else "bytes"
            self._partial[kind].append(event.data if isinstance(event.data, str)
                                       else bytes(event.data))
            if event.message_finished:
                pieces = self._partial[kind]
                whole = "".join(pieces) if kind == "text" else b"".join(pieces)  # type: ignore[arg-type]
                self._partial[kind] = []
                self._deliver(Received(kind, data=whole, at=now))
        elif isinstance(event, Ping):
            self._deliver(Received("ping", data=bytes(event.payload), at=now))
            if self.answer_pings:
                self._write(self.ws.send(event.response()))
        elif isinstance(event, Pong):
            self._deliver(Received("pong", data=bytes(event.payload), at=now))
        elif isinstance(event, CloseConnection):
            self._deliver(Received("close", code=event.code, reason=event.reason or "", at=now))
            # Complete the closing handshake as RFC 6455 5.5.1 asks of the receiver (unless
            # this client started it with a Close frame of its own).
            if not self._sent_raw_close:
                with contextlib.suppress(LocalProtocolError):
                    self._write(self.ws.send(event.response()))

    def _head_fields(self) -> list[tuple[bytes, bytes]]:
        """Every field line of the handshake's answer as sent (wsproto keeps only some)."""
        response, _ = parse_response(bytes(self.conn.received), method="GET", eof=False)
        return list(response.headers) if response is not None else []

    def _deliver(self, item: Received) -> None:
        self.received.append(item)
        self._pending.append(item)
