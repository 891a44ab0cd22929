"""A raw HTTP/1.1 client that sends exact bytes and reports exactly what came back.

Conformance lives in the bytes (DESIGN.md decision 2), so this client never normalises what it
sends and never rejects what it receives. A connection records every byte in both directions
with arrival times; :func:`parse_response` is a tolerant RFC 9112 response parser that
describes what the server really sent, including framing errors, instead of raising.

Message framing follows RFC 9112 section 6.3 ("Message Body Length"):
  1. responses to HEAD and 1xx/204/304 responses have no body;
  2. Transfer-Encoding with chunked as final coding: chunked body (section 7.1);
  3. a valid Content-Length: that many bytes;
  4. otherwise the body runs until the server closes the connection.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

CRLF = b"\r\n"
_STATUS_LINE = re.compile(rb"^HTTP/(\d)\.(\d) (\d{3})(?: ([^\r\n]*))?\r?$")


class WireTimeout(Exception):
    """The peer sent nothing more within the deadline."""


def request_bytes(
    method: str | bytes,
    target: str | bytes,
    headers: Sequence[tuple[str | bytes, str | bytes]] | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    """Build a request exactly as given: no header is added, reordered or re-cased."""

    def b(value: str | bytes) -> bytes:
        return value if isinstance(value, bytes) else value.encode("latin-1")

    lines = [b" ".join([b(method), b(target), b(version)])]
    lines += [b(name) + b": " + b(value) for name, value in headers or []]
    return CRLF.join(lines) + CRLF + CRLF + body


def chunked_body(body: bytes, sizes: Sequence[int] | None = None,
                 extensions: Sequence[bytes] = (), last_extension: bytes = b"") -> bytes:
    """``body`` in RFC 9112 7.1 chunked coding, ending in the last-chunk and an empty trailer.

    ``sizes`` are the chunk sizes in order (the last chunk takes whatever they leave; None: one
    chunk); ``extensions[i]`` (a chunk-ext such as b";a=b") goes after chunk i's size, and
    ``last_extension`` after the last-chunk's 0. The one encoder of the suite: checks,
    strategies and the oracle all frame bodies with it."""
    cuts = list(sizes or [])
    if sum(cuts) < len(body):
        cuts.append(len(body) - sum(cuts))
    out, start = bytearray(), 0
    for index, size in enumerate(cuts):
        if size <= 0:
            continue
        ext = extensions[index] if index < len(extensions) else b""
        out += b"%x" % size + ext + CRLF + body[start:start + size] + CRLF
        start += size
    return bytes(out) + b"0" + last_extension + CRLF + CRLF


@dataclass
class Response:
    """One response as the server sent it. ``problems`` lists every deviation from RFC 9112."""

    version: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    raw: bytes = b""
    framing: str = "none"  # content-length | chunked | close | none
    complete: bool = False
    problems: list[str] = field(default_factory=list)
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def keeps_alive(self) -> bool:
        """RFC 9112 9.3: does the server keep the connection open after this response?"""
        tokens = {t.strip().lower() for v in self.header_all("connection") for t in v.split(b",")}
        if self.version == "HTTP/1.1":
            return b"close" not in tokens and self.framing != "close"
        return b"keep-alive" in tokens and self.framing != "close"

    def header(self, name: str) -> bytes | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[bytes]:
        key = name.lower().encode("latin-1")
        return [v for n, v in self.headers if n.lower() == key]


def _split_head(buf: bytes) -> tuple[bytes, int] | None:
    """Find the end of the header section: the first empty line, whether its line ends are
    CRLF or bare LF (tolerated here, reported by the caller). Returns (head, body start)."""
    start = 0
    while True:
        end = buf.find(b"\n", start)
        if end < 0:
            return None
        if start > 0 and buf[start:end] in (b"", b"\r"):
            return buf[:start], end + 1
        start = end + 1


def _parse_chunked(buf: bytes, start: int, problems: list[str]) -> tuple[bytes, int, bool, list]:
    """Decode a chunked body from buf[start:]; returns body, end offset, complete, trailers."""
    body = bytearray()
    pos = start
    while True:
        line_end = buf.find(b"\n", pos)
        if line_end < 0:
            return bytes(body), len(buf), False, []
        size_line = buf[pos:line_end].rstrip(b"\r")
        size_text = size_line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
            problems.append(f"invalid chunk size line {size_line!r}")
            return bytes(body), len(buf), False, []
        size = int(size_text, 16)
        pos = line_end + 1
        if size == 0:
            trailers: list[tuple[bytes, bytes]] = []
            while True:
                line_end = buf.find(b"\n", pos)
                if line_end < 0:
                    return bytes(body), len(buf), False, trailers
                line = buf[pos:line_end].rstrip(b"\r")
                pos = line_end + 1
                if not line:
                    return bytes(body), pos, True, trailers
                name, _, value = line.partition(b":")
                trailers.append((name.strip(), value.strip()))
        if len(buf) < pos + size + 2:
            body += buf[pos : pos + size]
            return bytes(body), len(buf), False, []
        body += buf[pos : pos + size]
        pos += size
        if buf[pos : pos + 2] != CRLF:
            problems.append(f"chunk data not followed by CRLF at offset {pos}")
            return bytes(body), len(buf), False, []
        pos += 2


def parse_response(
    buf: bytes, *, method: str = "GET", eof: bool = False
) -> tuple[Response | None, int]:
    """Parse one response from the start of ``buf``.

    Returns (response, bytes consumed). The response is None when not even a status line and
    header section is there yet. ``eof`` says the server closed the connection, which completes
    a close-delimited body and marks anything else truncated.
    """
    head = _split_head(buf)
    if head is None:
        if eof and buf:
            problem = f"incomplete response head: {buf[:200]!r}"
            return Response(raw=buf, problems=[problem]), len(buf)
        return None, 0
    head_bytes, body_start = head
    problems: list[str] = []
    raw_lines = head_bytes.split(b"\n")[:-1]
    if any(not line.endswith(b"\r") for line in raw_lines):
        problems.append("header lines end with bare LF")
    lines = [line.removesuffix(b"\r") for line in raw_lines]
    match = _STATUS_LINE.match(lines[0])
    resp = Response()
    if not match:
        problems.append(f"invalid status line {lines[0][:200]!r}")
        resp.raw, resp.problems = buf, problems
        return resp, len(buf)
    resp.version = f"HTTP/{match.group(1).decode()}.{match.group(2).decode()}"
    resp.status = int(match.group(3))
    resp.reason = (match.group(4) or b"").decode("latin-1")
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            problems.append(f"malformed header line {line[:200]!r}")
            continue
        resp.headers.append((name, value.strip(b" \t")))

    no_body = method.upper() == "HEAD" or resp.status < 200 or resp.status in (204, 304)
    transfer = b",".join(resp.header_all("transfer-encoding")).lower()
    lengths = resp.header_all("content-length")
    if no_body:
        resp.framing, end, resp.complete = "none", body_start, True
    elif transfer:
        if transfer.split(b",")[-1].strip() != b"chunked":
            problems.append(f"Transfer-Encoding {transfer!r} without final chunked")
        if lengths:
            problems.append("both Transfer-Encoding and Content-Length in the response")
        resp.framing = "chunked"
        resp.body, end, resp.complete, resp.trailers = _parse_chunked(buf, body_start, problems)
    elif lengths:
        if len(set(lengths)) > 1 or not lengths[0].isdigit():
            problems.append(f"invalid Content-Length {lengths!r}")
        digits = lengths[0] if lengths[0].isdigit() else b"0"
        size = int(digits)
        resp.framing = "content-length"
        resp.body = buf[body_start : body_start + size]
        resp.complete = len(resp.body) == size
        end = body_start + len(resp.body)
    else:
        resp.framing = "close"
        resp.body = buf[body_start:]
        resp.complete = eof
        end = len(buf)
    if eof and not resp.complete:
        problems.append(f"connection closed before the {resp.framing} body was complete")
    resp.raw = buf[:end]
    resp.problems = problems
    return resp, end


def parse_responses(buf: bytes, methods: list[str], *, eof: bool) -> list[Response]:
    """Parse successive responses (interim 1xx ones included) to pipelined requests."""
    responses: list[Response] = []
    pos = 0
    pending = list(methods)
    while pos < len(buf):
        method = pending[0] if pending else "GET"
        resp, used = parse_response(buf[pos:], method=method, eof=eof)
        if resp is None or used == 0:
            break
        responses.append(resp)
        pos += used
        if resp.status >= 200 and pending:
            pending.pop(0)
        if not resp.complete or not resp.status:
            break
    return responses


class Connection:  # pragma: no mutate block (sockets: not a pure part)
    """One TCP connection that keeps every byte sent and received, with arrival times."""

    def __init__(self, host: str, port: int, *, timeout: float = 5.0,
                 tls: ssl.SSLContext | None = None, source: str | None = None) -> None:
        """``tls``: speak TLS with this client context (the recorded bytes are the plaintext
        inside TLS); the handshake's failure raises ssl.SSLError, an OSError. ``source``:
        the local address to connect from (another loopback address than 127.0.0.1, so that
        a server sees a client that is not nginx)."""
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source is not None else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            try:
                self.sock = tls.wrap_socket(self.sock, server_hostname=host)
            except OSError:
                self.sock.close()
                raise
        self.local_port: int = self.sock.getsockname()[1]
        # What the TLS handshake negotiated (empty on plain TCP): version, cipher, ALPN.
        self.tls_session: dict[str, str | None] = {}
        if isinstance(self.sock, ssl.SSLSocket):
            cipher = self.sock.cipher()
            self.tls_session = {"version": self.sock.version(),
                                "cipher": cipher[0] if cipher else None,
                                "alpn": self.sock.selected_alpn_protocol()}
        self.sent = bytearray()
        self.received = bytearray()
        self.arrivals: list[tuple[float, int]] = []  # (monotonic time, bytes received so far)
        self.eof = False
        self.closed = False
        self._read_pos = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += data

    def send_split(self, data: bytes, cuts: list[int], pause: float = 0.0, *,
                   tolerate_close: bool = False) -> None:
        """Send ``data`` in separate writes cut at the given offsets (TCP_NODELAY is on).
        ``tolerate_close``: a server may answer before the whole request is in (a 400, a 411)
        and close, and then the rest cannot be sent; its answer is what counts."""
        start = 0
        try:
            for cut in sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]:
                self.send(data[start:cut])
                start = cut
                if pause:
                    time.sleep(pause)
        except OSError:
            if not tolerate_close:
                raise

    def shutdown_write(self) -> None:
        """Half-close: the server sees EOF on its read side, we can still read."""
        self.sock.shutdown(socket.SHUT_WR)

    def recv_some(self, timeout: float | None = None) -> bytes:
        """Wait for the next bytes; b"" means the server closed. Raises WireTimeout."""
        if self.eof:
            return b""
        self.sock.settimeout(self.timeout if timeout is None else max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise WireTimeout(f"nothing received within {timeout or self.timeout:.1f}s") from None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            data = b""  # a TLS alert or a bad record ends the connection as a reset does
        if not data:
            self.eof = True
            return b""
        self.received += data
        self.arrivals.append((time.monotonic(), len(self.received)))
        return data

    def read_until(self, marker: bytes, timeout: float) -> bool:
        """Read until ``marker`` appears in the received bytes; False on EOF or deadline."""
        deadline = time.monotonic() + timeout
        while marker not in self.received:
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                return False
            try:
                if not self.recv_some(left):
                    return marker in self.received
            except WireTimeout:
                return False
        return True

    def read_response(self, method: str = "GET", timeout: float | None = None,
                      skip_interim: bool = True) -> Response:
        """Read the next response after the previous one read on this connection.

        Returns whatever arrived (possibly incomplete, with problems) when the server closes
        or the deadline passes; never raises on bad bytes.
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            resp, used = parse_response(bytes(self.received[self._read_pos :]), method=method,
                                        eof=self.eof)
            if resp is not None and (resp.complete or self.eof or not resp.status):
                self._read_pos += used
                if skip_interim and 100 <= resp.status < 200 and resp.status != 101:
                    continue
                return resp
            if resp is None and self.eof:
                # Closed with nothing (more) sent: waiting out the deadline would learn nothing.
                return Response(problems=["the server closed the connection without a response"])
            left = deadline - time.monotonic()
            if left <= 0:
                pending = bytes(self.received[self._read_pos :])
                partial = resp or Response(raw=pending)
                partial.problems.append(
                    f"no complete response within the deadline; got {len(pending)} bytes")
                return partial
            try:
                self.recv_some(left)
            except WireTimeout:
                continue

    def read_until_close(self, timeout: float) -> bool:
        """Read until the server closes; True if it did within the deadline."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.recv_some(left)
            except WireTimeout:
                return False
        return True

    def abort(self) -> None:
        """Close with a TCP reset (SO_LINGER 0), as a client that vanished would."""
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def escape_bytes(data: bytes) -> str:
    """Bytes as readable text: printable ASCII kept, everything else as \\r \\n \\xNN escapes."""
    return data.decode("latin-1").encode("unicode_escape").decode("ascii")


def printf_reproducer(data: bytes, host: str, port: int) -> str:
    """A one-line shell reproducer that sends exactly ``data``."""
    escaped = "".join(
        chr(b) if 0x20 <= b < 0x7F and chr(b) not in "'\\%" else
        ("%%" if chr(b) == "%" else f"\\{b:03o}")
        for b in data
    )
    # "--": a format starting with "-" would otherwise be read as an option.
    return f"printf -- '{escaped}' | nc -q 3 {host} {port}"
