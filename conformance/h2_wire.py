"""An HTTP/2 client on the suite's recorded socket layer (issue 11).

The ``h2`` library keeps the HTTP/2 state (HPACK, flow control, stream states) on a
:class:`wire.Connection`, so every byte sent and received is recorded as for HTTP/1.1. A
check that must send what a valid client never would (an upper-case field name, a
pseudo-header after a regular field, no :path) turns h2's outbound validation off for that
connection (``validate=False``); inbound validation is always off, so that whatever the server
sends is reported, never refused by the client. :attr:`H2Client.log` is a readable line per
frame-level event, kept in the check's details (binary frames as escaped bytes say little).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import hpack
import hyperframe.exceptions
import hyperframe.frame

from conformance.wire import Connection, WireTimeout

Headers = Sequence[tuple[bytes, bytes]]


@dataclass
class H2Stream:
    """What came back on one stream."""

    stream_id: int
    informational: list[list[tuple[bytes, bytes]]] = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] | None = None  # the final response's fields
    data_frames: list[bytes] = field(default_factory=list)
    trailers: list[tuple[bytes, bytes]] | None = None
    ended: bool = False  # END_STREAM received
    reset_code: int | None = None  # RST_STREAM received with this error code

    @property
    def status(self) -> int:
        for name, value in self.headers or []:
            if name == b":status":
                return int(value) if value.isdigit() else -1
        return 0

    @property
    def body(self) -> bytes:
        return b"".join(self.data_frames)

    @property
    def closed(self) -> bool:
        return self.ended or self.reset_code is not None

    def fields(self) -> list[tuple[bytes, bytes]]:
        """The response's regular (non-pseudo) fields."""
        return [(n, v) for n, v in self.headers or [] if not n.startswith(b":")]


class H2Client:
    """One HTTP/2 connection (prior knowledge on plain TCP, or TLS that selected h2)."""

    def __init__(self, conn: Connection, *, validate: bool = True) -> None:
        self.conn = conn
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=validate,
            normalize_outbound_headers=validate, validate_inbound_headers=False,
            normalize_inbound_headers=False))
        self.streams: dict[int, H2Stream] = {}
        self.log: list[str] = []
        self.goaway: int | None = None  # the error code of a GOAWAY received
        self.protocol_error = ""  # what h2 could not accept from the server
        # False once a check keeps the flow-control windows itself (use_window): received
        # DATA is then not acknowledged by WINDOW_UPDATE until the check opens the window.
        self.auto_window = True
        self.h2.initiate_connection()
        self._flush("-> connection preface, SETTINGS")

    # -- sending ----------------------------------------------------------------------------
    def _flush(self, what: str) -> None:
        data = self.h2.data_to_send()
        self.log.append(what)
        if data:
            try:
                self.conn.send(data)
            except OSError as exc:
                self.log.append(f"   (send failed: {exc})")

    def request(self, headers: Headers, body: bytes | Sequence[bytes] = b"", *,
                end_stream: bool = True) -> int:
        """Open a stream with ``headers`` (pseudo-headers first, as given) and send ``body``
        (one DATA frame, or one per item of a sequence); END_STREAM on the last frame unless
        ``end_stream`` is false. Returns the stream id."""
        stream_id = self.h2.get_next_available_stream_id()
        frames = [body] if isinstance(body, bytes) else list(body)
        frames = [f for f in frames if f]
        self.streams[stream_id] = H2Stream(stream_id)
        self.h2.send_headers(stream_id, list(headers),
                             end_stream=end_stream and not frames)
        self._flush(f"-> HEADERS stream {stream_id}: {_show(headers)}"
                    + (" END_STREAM" if end_stream and not frames else ""))
        for index, frame in enumerate(frames):
            self.send_data(stream_id, frame, end_stream=end_stream and index == len(frames) - 1)
        return stream_id

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = False) -> None:
        self.h2.send_data(stream_id, data, end_stream=end_stream)
        self._flush(f"-> DATA stream {stream_id}: {len(data)} bytes"
                    + (" END_STREAM" if end_stream else ""))

    def reset(self, stream_id: int, code: int = h2.errors.ErrorCodes.CANCEL) -> None:
        """RST_STREAM (CANCEL by default): the client gave the request up."""
        self.h2.reset_stream(stream_id, code)
        self._flush(f"-> RST_STREAM stream {stream_id}: {_code(code)}")

    # -- receiving --------------------------------------------------------------------------
    def pump(self, timeout: float) -> bool:
        """Read once (up to ``timeout``) and process what came; False at EOF or timeout."""
        try:
            data = self.conn.recv_some(timeout)
        except WireTimeout:
            return False
        if not data:
            self.log.append("<- connection closed")
            return False
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self.protocol_error = f"{type(exc).__name__}: {exc}"
            self.log.append(f"<- (not valid HTTP/2: {self.protocol_error})")
            return False
        for event in events:
            self._event(event)
        self._flush_quietly()
        return True

    def _flush_quietly(self) -> None:
        data = self.h2.data_to_send()
        if data:
            with contextlib.suppress(OSError):
                self.conn.send(data)

    def _stream(self, stream_id: int) -> H2Stream:
        return self.streams.setdefault(stream_id, H2Stream(stream_id))

    def _event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.InformationalResponseReceived):
            self._stream(event.stream_id).informational.append(list(event.headers))
            self.log.append(f"<- HEADERS stream {event.stream_id} (1xx): {_show(event.headers)}")
        elif isinstance(event, h2.events.ResponseReceived):
            self._stream(event.stream_id).headers = list(event.headers)
            self.log.append(f"<- HEADERS stream {event.stream_id}: {_show(event.headers)}")
        elif isinstance(event, h2.events.DataReceived):
            self._stream(event.stream_id).data_frames.append(bytes(event.data))
            if event.flow_controlled_length and self.auto_window:
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            self.log.append(f"<- DATA stream {event.stream_id}: {bytes(event.data)[:80]!r}"
                            f" ({len(event.data)} bytes)")
        elif isinstance(event, h2.events.TrailersReceived):
            self._stream(event.stream_id).trailers = list(event.headers)
            self.log.append(f"<- HEADERS stream {event.stream_id} (trailers): "
                            f"{_show(event.headers)}")
        elif isinstance(event, h2.events.StreamEnded):
            self._stream(event.stream_id).ended = True
            self.log.append(f"<- END_STREAM stream {event.stream_id}")
        elif isinstance(event, h2.events.StreamReset):
            self._stream(event.stream_id).reset_code = int(event.error_code or 0)
            self.log.append(f"<- RST_STREAM stream {event.stream_id}: {_code(event.error_code)}")
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = int(event.error_code or 0)
            self.log.append(f"<- GOAWAY: {_code(event.error_code)} last stream "
                            f"{event.last_stream_id} {event.additional_data or b''!r}")
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self.log.append("<- SETTINGS")

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Process frames until ``done()`` or the deadline; False if it never became true."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0 or self.conn.eof or self.protocol_error:
                return done()
            self.pump(left)
        return True

    def ended_early(self, stream: H2Stream, *, stream_end: bool = True) -> str | None:
        """Why a wait on ``stream`` ended before its deadline (None: it did not): the stream
        ended or was reset (when ``stream_end``: the wait looked at that), the connection
        closed, or the server sent what h2 could not accept; with the DATA bytes by then."""
        got = f"after {len(stream.body)} bytes of DATA"
        if stream_end and stream.reset_code is not None:
            return f"the stream was reset ({_code(stream.reset_code)}) {got}"
        if stream_end and stream.ended:
            return f"the stream ended {got}"
        if self.conn.eof:
            return f"the connection closed {got}"
        if self.protocol_error:
            return f"the server sent what is not valid HTTP/2 ({self.protocol_error}) {got}"
        return None

    def response(self, stream_id: int, timeout: float = 5.0) -> H2Stream:
        """Wait until the stream ends or is reset (or the deadline); what came either way."""
        stream = self._stream(stream_id)
        if not self.wait(lambda: stream.closed or self.goaway is not None, timeout):
            self.log.append(f"   (stream {stream_id} not closed within {timeout:.1f}s)")
        return stream

    def close(self) -> None:
        self.conn.close()

    # -- the frames as they came, and flow control kept by the check ------------------------
    def raw_frames(self) -> list[hyperframe.frame.Frame]:
        """Every complete frame the server sent on this connection, parsed from the recorded
        bytes by hyperframe alone: what h2's state machine refused (DATA beyond a window, DATA
        on a HEAD response) is still here, as it was on the wire."""
        data = memoryview(bytes(self.conn.received))
        frames: list[hyperframe.frame.Frame] = []
        offset = 0
        while len(data) - offset >= 9:
            try:
                frame, length = hyperframe.frame.Frame.parse_frame_header(
                    data[offset:offset + 9])
                if len(data) - offset - 9 < length:
                    break
                frame.parse_body(data[offset + 9:offset + 9 + length])
            except hyperframe.exceptions.HyperframeError:
                break
            frames.append(frame)
            offset += 9 + length
        return frames

    def data_on(self, stream_id: int) -> list[bytes]:
        """The payloads of the DATA frames the server sent on ``stream_id`` (raw_frames)."""
        return [bytes(frame.data) for frame in self.raw_frames()
                if isinstance(frame, hyperframe.frame.DataFrame)
                and frame.stream_id == stream_id]

    def header_blocks(self, stream_id: int) -> list[list[tuple[bytes, bytes]]]:
        """The field blocks the server sent on ``stream_id`` (HEADERS and its CONTINUATIONs),
        decoded from the raw frames with an HPACK decoder of their own: a response whose
        DATA h2's state machine refused (and so never reported its HEADERS) still shows.
        Empty if a block cannot be decoded."""
        decoder = hpack.Decoder()
        blocks: list[list[tuple[bytes, bytes]]] = []
        block = bytearray()
        owner: int | None = None  # the stream of the block being read (None: a PUSH_PROMISE)
        for frame in self.raw_frames():
            if isinstance(frame, hyperframe.frame.HeadersFrame):
                block, owner = bytearray(frame.data), frame.stream_id
            elif isinstance(frame, hyperframe.frame.PushPromiseFrame):
                block, owner = bytearray(frame.data), None
            elif isinstance(frame, hyperframe.frame.ContinuationFrame):
                block.extend(frame.data)
            else:
                continue
            if "END_HEADERS" in frame.flags:
                try:  # every block is decoded, in order: they share the dynamic table
                    fields = decoder.decode(bytes(block), raw=True)
                except hpack.HPACKError:
                    return []
                if owner == stream_id:
                    blocks.append([(bytes(n), bytes(v)) for n, v in fields])
        return blocks

    def use_window(self, size: int, timeout: float = 5.0) -> bool:
        """Advertise ``size`` as SETTINGS_INITIAL_WINDOW_SIZE and keep the windows from now on
        (no automatic WINDOW_UPDATE: :meth:`open_window` grants more). True once the server
        acknowledged the setting, so streams opened after it start with that window."""
        self.auto_window = False
        self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: size})
        self._flush(f"-> SETTINGS INITIAL_WINDOW_SIZE={size}")
        acked = self.wait(lambda: self.h2.local_settings.initial_window_size == size, timeout)
        self.log.append("<- SETTINGS ACK" if acked else
                        f"   (SETTINGS not acknowledged within {timeout:.1f}s)")
        return acked

    def open_window(self, stream_id: int, increment: int) -> None:
        """WINDOW_UPDATE ``increment`` for the stream and for the connection."""
        # The stream may have closed meanwhile: the connection's window is opened all the same.
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.h2.increment_flow_control_window(increment, stream_id=stream_id)
        self.h2.increment_flow_control_window(increment)
        self._flush(f"-> WINDOW_UPDATE stream {stream_id} and connection: +{increment}")


def _show(headers: Headers) -> str:
    return ", ".join(f"{n.decode('latin-1')}: {v.decode('latin-1')}" for n, v in headers)


def _code(code: int | None) -> str:
    try:
        return h2.errors.ErrorCodes(code or 0).name
    except ValueError:
        return f"error code {code}"
