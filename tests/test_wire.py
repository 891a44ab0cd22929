"""The raw HTTP/1.1 client in conformance/wire.py, checked against hand-made bytes, h11, a real
shell and a real TCP peer.

Everything the suite concludes about a server goes through these functions, so each test says
which property of the client it proves.
"""

from __future__ import annotations

import codecs
import socket
import string
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.wire import (
    Connection,
    Response,
    escape_bytes,
    parse_response,
    parse_responses,
    printf_reproducer,
    request_bytes,
)

# Bound for every blocking socket operation in this file: no test can hang longer than this.
TIMEOUT = 5.0


# --- request_bytes -------------------------------------------------------------------------------


def test_request_bytes_are_exactly_what_was_given() -> None:
    """request_bytes adds, re-cases and reorders nothing: odd case, repeats and order survive."""
    data = request_bytes(
        "get",
        "/a%2Fb?x=1",
        [("hOsT", "example"), (b"X-B", b"2"), ("x-a", "1"), ("X-B", "\xe9")],
        body=b"hello",
        version="HTTP/1.0",
    )
    assert data == (
        b"get /a%2Fb?x=1 HTTP/1.0\r\n"
        b"hOsT: example\r\n"
        b"X-B: 2\r\n"
        b"x-a: 1\r\n"
        b"X-B: \xe9\r\n"
        b"\r\n"
        b"hello"
    )


def test_request_bytes_without_headers_or_body() -> None:
    """No Host, no Content-Length, nothing implicit: just the request line and the blank line."""
    assert request_bytes("POST", b"*") == b"POST * HTTP/1.1\r\n\r\n"


# --- parse_response ------------------------------------------------------------------------------


def parse_ok(buf: bytes, **kwargs: Any) -> tuple[Response, int]:
    """parse_response that must have found at least a head."""
    resp, used = parse_response(buf, **kwargs)
    assert resp is not None
    return resp, used


def test_content_length_body() -> None:
    """Content-Length framing takes exactly that many bytes and leaves the rest unconsumed."""
    buf = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloEXTRA"
    resp, used = parse_ok(buf)
    assert (resp.version, resp.status, resp.reason) == ("HTTP/1.1", 200, "OK")
    assert resp.headers == [(b"Content-Length", b"5"), (b"X-A", b"b")]
    assert resp.header("x-a") == b"b"
    assert (resp.framing, resp.body, resp.complete, resp.problems) == (
        "content-length", b"hello", True, [])
    assert used == len(buf) - len(b"EXTRA")
    assert resp.raw == buf[:used]


def test_content_length_body_not_yet_complete() -> None:
    """A partial Content-Length body without EOF is incomplete but not a problem (more may come)."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel")
    assert (resp.body, resp.complete, resp.problems) == (b"hel", False, [])


def test_truncated_content_length_body_at_eof_is_reported() -> None:
    """With eof=True a short Content-Length body is incomplete and listed in problems."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel", eof=True)
    assert resp.complete is False
    assert resp.body == b"hel"
    assert any("closed before" in p for p in resp.problems)


def test_chunked_body_with_extensions_and_trailers() -> None:
    """Chunked framing: sizes in either hex case, chunk extensions ignored, trailers kept."""
    buf = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"A ; ext\r\n0123456789\r\n"
        b"0;last\r\nX-Trailer: yes\r\nX-Other:  two \r\n\r\n"
        b"NEXT"
    )
    resp, used = parse_ok(buf)
    assert resp.framing == "chunked"
    assert resp.body == b"hello0123456789"
    assert resp.complete is True
    assert resp.problems == []
    assert resp.trailers == [(b"X-Trailer", b"yes"), (b"X-Other", b"two")]
    assert buf[used:] == b"NEXT"


def test_chunked_body_waiting_for_last_chunk() -> None:
    """A chunked body without its zero-size chunk is incomplete, and reported at EOF only."""
    buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    resp, _ = parse_ok(buf)
    assert (resp.body, resp.complete, resp.problems) == (b"hello", False, [])
    resp, _ = parse_ok(buf, eof=True)
    assert resp.complete is False
    assert any("chunked" in p for p in resp.problems)


def test_invalid_chunk_size_is_reported_not_raised() -> None:
    """A chunk-size line that is not hex goes to problems; the parser never raises on it."""
    buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    resp, _ = parse_ok(buf)
    assert resp.complete is False
    assert any("invalid chunk size" in p for p in resp.problems)


def test_chunk_data_without_crlf_is_reported() -> None:
    """Chunk data longer than its declared size (no CRLF where it must be) is reported."""
    buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"
    resp, _ = parse_ok(buf)
    assert resp.complete is False
    assert any("not followed by CRLF" in p for p in resp.problems)


def test_close_delimited_body_complete_only_at_eof() -> None:
    """No Content-Length and no chunked: the body runs to EOF, so complete only with eof=True."""
    buf = b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nsome body"
    resp, used = parse_ok(buf)
    assert (resp.framing, resp.body, resp.complete, resp.problems) == (
        "close", b"some body", False, [])
    assert used == len(buf)
    resp, _ = parse_ok(buf, eof=True)
    assert (resp.framing, resp.body, resp.complete, resp.problems) == (
        "close", b"some body", True, [])


def test_head_response_has_no_body_despite_content_length() -> None:
    """A response to HEAD ends after the head; its Content-Length describes a GET's body."""
    buf = b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\nHTTP/1.1 200 OK\r\n"
    resp, used = parse_ok(buf, method="HEAD")
    assert (resp.framing, resp.body, resp.complete, resp.problems) == ("none", b"", True, [])
    assert buf[used:] == b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body(status: int) -> None:
    """204 and 304 responses end after the head, even with a Content-Length (RFC 9112 6.3)."""
    buf = f"HTTP/1.1 {status} X\r\nContent-Length: 3\r\n\r\n".encode() + b"abc"
    resp, used = parse_ok(buf, eof=True)
    assert (resp.status, resp.framing, resp.body, resp.complete, resp.problems) == (
        status, "none", b"", True, [])
    assert buf[used:] == b"abc"


def test_interim_100_then_final_200() -> None:
    """parse_responses returns the 100 and the 200; the 100 does not use up the request."""
    buf = (b"HTTP/1.1 100 Continue\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
           b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    responses = parse_responses(buf, ["POST", "HEAD"], eof=False)
    assert [r.status for r in responses] == [100, 200, 201]
    assert responses[0].complete and responses[0].body == b""
    assert responses[1].body == b"ok"
    assert all(r.problems == [] for r in responses)


def test_two_pipelined_responses() -> None:
    """parse_responses splits pipelined responses, each framed by its own request's method."""
    buf = (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
           b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n")
    first, second = parse_responses(buf, ["GET", "GET"], eof=False)
    assert (first.body, first.framing, first.complete) == (b"abc", "content-length", True)
    assert (second.body, second.framing, second.complete) == (b"de", "chunked", True)
    assert first.raw + second.raw == buf


def test_pipelined_head_then_get() -> None:
    """The first response answers a HEAD: its Content-Length must not swallow the second one."""
    buf = (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    first, second = parse_responses(buf, ["HEAD", "GET"], eof=False)
    assert (first.body, second.body) == (b"", b"abc")


def test_bare_lf_header_lines_are_reported() -> None:
    """A head whose lines end with bare LF is parsed (tolerantly) and the deviation reported."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\nContent-Length: 2\nX-A: 1\n\nok")
    assert (resp.status, resp.body, resp.complete) == (200, b"ok", True)
    assert resp.header("x-a") == b"1"
    assert "header lines end with bare LF" in resp.problems


def test_one_bare_lf_header_line_among_crlf_lines_is_reported() -> None:
    """RFC 9112 2.2: one bare LF line is as much a deviation as all of them."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok")
    assert resp.problems != []


@pytest.mark.parametrize("status_line", [
    b"HTTP/1.1 2000 OK", b"HTTP/1.1 OK", b"ICY 200 OK", b"HTTP/11 200 OK", b"garbage",
])
def test_invalid_status_line_is_reported(status_line: bytes) -> None:
    """A malformed status line yields a Response with status 0 and a problem, not an exception."""
    buf = status_line + b"\r\nContent-Length: 0\r\n\r\n"
    resp, used = parse_ok(buf)
    assert resp.status == 0
    assert any("invalid status line" in p for p in resp.problems)
    assert used == len(buf)


def test_malformed_header_line_is_reported() -> None:
    """A header line without a colon, or with space before it, is skipped and reported."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nNoColon\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n")
    assert resp.headers == [(b"Content-Length", b"0")]
    assert len([p for p in resp.problems if "malformed header" in p]) == 2


def test_no_head_yet_and_truncated_head_at_eof() -> None:
    """Without a blank line the head is not there yet (None), unless EOF came: then reported."""
    assert parse_response(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n") == (None, 0)
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n", eof=True)
    assert resp.complete is False
    assert any("incomplete response head" in p for p in resp.problems)


# --- keeps_alive ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("head", "keeps"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0", True),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0", False),
    (b"HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0", False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0", False),
    (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0", True),
    (b"HTTP/1.1 200 OK\r\nX-A: 1", False),  # close-delimited
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive", False),  # close-delimited
])
def test_keeps_alive(head: bytes, keeps: bool) -> None:
    """RFC 9112 9.3: 1.1 persists unless close; 1.0 only with keep-alive; EOF framing never."""
    resp, _ = parse_ok(head + b"\r\n\r\n", eof=True)
    assert resp.keeps_alive() is keeps


# --- parse_response against h11 ------------------------------------------------------------------

TCHAR = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
VCHAR = "".join(chr(c) for c in range(0x21, 0x7F))
# Names that change framing or persistence; the property chooses the framing itself.
FRAMING_NAMES = frozenset({b"content-length", b"transfer-encoding", b"connection", b"keep-alive",
                           b"te", b"trailer", b"upgrade"})


def field_values() -> st.SearchStrategy[bytes]:
    """Empty, or visible ASCII with inner spaces (RFC 9110 5.5 field-value, no obs-text)."""
    inner = st.text(VCHAR + " ", max_size=20)
    return st.just(b"") | st.builds(
        lambda a, mid, z: (a + mid + z).encode(), st.sampled_from(VCHAR), inner,
        st.sampled_from(VCHAR)) | st.sampled_from(VCHAR).map(str.encode)


def field_lists() -> st.SearchStrategy[list[tuple[bytes, bytes]]]:
    name = st.text(TCHAR, min_size=1, max_size=12).map(str.encode).filter(
        lambda n: n.lower() not in FRAMING_NAMES)
    return st.lists(st.tuples(name, field_values()), max_size=6)


@dataclass
class H11Response:
    """A response as h11 serialised it, with what was given to h11 to produce it."""

    method: str
    interim: bool
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    trailers: list[tuple[bytes, bytes]]
    wire: bytes = b""
    framing: str = "none"
    pieces: list[bytes] = field(default_factory=list)


@st.composite
def h11_responses(draw: st.DrawFn) -> H11Response:
    """A valid response chosen at random, serialised by h11 as the server side of a request."""
    method = "HEAD" if draw(st.integers(0, 3)) == 0 else "GET"
    # Mostly any final status; 204 and 304 (no body whatever the headers) one time in five.
    no_content = draw(st.integers(0, 4)) == 0
    status = draw(st.sampled_from([204, 304]) if no_content else st.integers(200, 599))
    no_body = method == "HEAD" or status in (204, 304)
    framing = "none" if no_body and status in (204, 304) else draw(
        st.sampled_from(["content-length", "chunked"]))
    body = b"" if no_body else draw(st.binary(max_size=300))
    headers = draw(field_lists())
    trailers = draw(field_lists()) if framing == "chunked" and not no_body else []
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    resp = H11Response(
        method=method,
        interim=draw(st.booleans()),
        status=status,
        reason=draw(st.text(VCHAR + " ", max_size=12)).encode(),
        # h11 keeps Content-Length where it is and writes Transfer-Encoding last, title-cased.
        headers=headers + ([(b"Content-Length", str(len(body)).encode())]
                           if framing == "content-length" else
                           [(b"Transfer-Encoding", b"chunked")] if framing == "chunked" else []),
        body=body,
        trailers=trailers,
        framing="none" if no_body else framing,
        pieces=pieces,
    )
    conn = h11.Connection(our_role=h11.SERVER)
    conn.receive_data(f"{method} / HTTP/1.1\r\nHost: example\r\n\r\n".encode())
    assert isinstance(conn.next_event(), h11.Request)
    assert isinstance(conn.next_event(), h11.EndOfMessage)
    wire = b""
    if resp.interim:
        wire += conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b""
    wire += conn.send(h11.Response(status_code=status, headers=resp.headers,
                                   reason=resp.reason)) or b""
    if not no_body:
        for piece in pieces:
            wire += conn.send(h11.Data(data=piece)) or b""
    wire += conn.send(h11.EndOfMessage(headers=trailers)) or b""
    resp.wire = wire
    return resp


@settings(max_examples=100, derandomize=True, deadline=None)
@given(h11_responses())
def test_parser_agrees_with_h11(expected: H11Response) -> None:
    """What h11 (a well-kept implementation) writes, parse_response reads back unchanged:
    status, reason, headers, body, trailers, complete and without problems, using every byte."""
    responses = parse_responses(expected.wire, [expected.method], eof=False)
    assert [r.status for r in responses] == [100] * expected.interim + [expected.status]
    assert b"".join(r.raw for r in responses) == expected.wire
    for resp in responses:
        assert resp.problems == []
        assert resp.complete is True
        assert resp.version == "HTTP/1.1"
    final = responses[-1]
    assert final.reason == expected.reason.decode("latin-1")
    assert final.headers == expected.headers
    assert final.framing == expected.framing
    assert final.body == expected.body
    assert final.trailers == expected.trailers
    # The final response parsed on its own gives the same answer.
    alone, used = parse_response(final.raw, method=expected.method)
    assert alone is not None and used == len(final.raw)
    assert (alone.status, alone.body, alone.complete, alone.problems) == (
        expected.status, expected.body, True, [])


# --- escape_bytes and printf_reproducer ----------------------------------------------------------


def printf_part(command: str) -> str:
    """The `printf '...'` half of a reproducer, without the `| nc ...` it pipes into."""
    head, sep, tail = command.rpartition(" | nc ")
    assert sep and tail.endswith("127.0.0.1 8000"), command
    return head


def run_printf(command: str) -> bytes:
    return subprocess.run(["sh", "-c", command], capture_output=True, check=True,
                          timeout=TIMEOUT).stdout


@settings(max_examples=50, derandomize=True, deadline=None)
@given(st.binary(max_size=200))
def test_printf_reproducer_sends_exactly_the_bytes(data: bytes) -> None:
    """A real POSIX sh `printf` given the reproducer's format outputs exactly the original bytes
    (quotes, backslashes, % and NUL followed by digits included)."""
    assert run_printf(printf_part(printf_reproducer(data, "127.0.0.1", 8000))) == data


def test_printf_reproducer_tricky_bytes() -> None:
    """The bytes a shell or printf would interpret: every one of the 256, plus % directives."""
    for data in (bytes(range(256)), b"%s%d%%\\n'\"$(x)`y`\x000\x0012\n7"):
        assert run_printf(printf_part(printf_reproducer(data, "127.0.0.1", 8000))) == data


@given(st.binary(max_size=500))
def test_escape_bytes_round_trips(data: bytes) -> None:
    """escape_bytes is lossless: unicode_escape-decoding it gives back the very same bytes, and
    it is plain printable ASCII."""
    text = escape_bytes(data)
    assert codecs.decode(text, "unicode_escape").encode("latin-1") == data
    assert all(0x20 <= ord(c) < 0x7F for c in text)


def test_escape_bytes_is_readable() -> None:
    """CR, LF and non-ASCII bytes are shown as escapes, printable ASCII as itself."""
    assert escape_bytes(b"GET / HTTP/1.1\r\n\xe9\\") == "GET / HTTP/1.1\\r\\n\\xe9\\\\"


# --- Connection against a real TCP peer ----------------------------------------------------------


class Peer:
    """A one-connection TCP server on 127.0.0.1 running ``handler(sock, results)`` in a thread."""

    def __init__(self, handler: Callable[[socket.socket, dict[str, Any]], None]) -> None:
        self.handler = handler
        self.results: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            sock, _ = self.listener.accept()
            with sock:
                sock.settimeout(TIMEOUT)
                self.handler(sock, self.results)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self) -> dict[str, Any]:
        """Wait (bounded) for the handler to finish; re-raise what it raised."""
        self.thread.join(TIMEOUT * 2)
        assert not self.thread.is_alive(), "peer thread did not finish"
        if self.error is not None:
            raise self.error
        return self.results

    def close(self) -> None:
        self.listener.close()


@contextmanager
def peer(handler: Callable[[socket.socket, dict[str, Any]], None]) -> Iterator[Peer]:
    server = Peer(handler)
    try:
        yield server
    finally:
        server.close()


def recv_until_eof(sock: socket.socket) -> bytes:
    """Everything the client sends until it half-closes or closes."""
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
    return bytes(data)


def test_send_split_writes_each_piece_and_peer_sees_all_bytes() -> None:
    """send_split cuts at the sorted, de-duplicated in-range offsets, one write per piece, and
    the peer receives every byte in order."""
    data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        results["data"] = recv_until_eof(sock)

    with peer(handler) as server, Connection("127.0.0.1", server.port, timeout=TIMEOUT) as conn:
        writes: list[bytes] = []
        real_send = conn.send

        def recording_send(piece: bytes) -> None:
            writes.append(piece)
            real_send(piece)

        conn.send = recording_send  # type: ignore[method-assign]
        conn.send_split(data, [7, 3, 3, 0, -1, len(data), 100])
        conn.shutdown_write()
        results = server.join()
    assert writes == [data[:3], data[3:7], data[7:]]
    assert bytes(conn.sent) == data
    assert results["data"] == data


def test_shutdown_write_half_closes() -> None:
    """After shutdown_write the peer's recv returns b"" and the client still reads the reply."""

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        results["data"] = recv_until_eof(sock)  # returns only once it saw b""
        sock.sendall(b"reply after EOF")

    with peer(handler) as server, Connection("127.0.0.1", server.port, timeout=TIMEOUT) as conn:
        conn.send(b"ping")
        conn.shutdown_write()
        assert conn.read_until_close(TIMEOUT) is True
        results = server.join()
    assert results["data"] == b"ping"
    assert bytes(conn.received) == b"reply after EOF"


def test_read_until_marker_and_deadline() -> None:
    """read_until returns True once the marker arrived (even split across writes) and False
    when the deadline passes without it, while the peer keeps the connection open."""
    sent_all = threading.Event()

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        sock.sendall(b"hello MA")
        sock.sendall(b"RKER and more")
        sent_all.set()
        results["client"] = recv_until_eof(sock)

    with peer(handler) as server, Connection("127.0.0.1", server.port, timeout=TIMEOUT) as conn:
        assert conn.read_until(b"MARKER", TIMEOUT) is True
        assert sent_all.wait(TIMEOUT)
        assert conn.read_until(b"NEVER", 0.2) is False
        assert conn.eof is False
        conn.shutdown_write()
        server.join()
    assert b"MARKER" in conn.received


def test_read_until_returns_false_at_eof() -> None:
    """read_until gives up with False when the peer closes before sending the marker."""

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        sock.sendall(b"no marker here")

    with peer(handler) as server, Connection("127.0.0.1", server.port, timeout=TIMEOUT) as conn:
        assert conn.read_until(b"MARKER", TIMEOUT) is False
        assert conn.eof is True
        server.join()


def test_read_until_close() -> None:
    """read_until_close is False while the peer holds the connection, True once it closes."""
    release = threading.Event()

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        sock.sendall(b"data then close")
        results["released"] = release.wait(TIMEOUT)

    with peer(handler) as server, Connection("127.0.0.1", server.port, timeout=TIMEOUT) as conn:
        assert conn.read_until_close(0.2) is False
        release.set()
        assert conn.read_until_close(TIMEOUT) is True
        assert conn.eof is True
        assert conn.recv_some() == b""
        results = server.join()
    assert results["released"] is True
    assert bytes(conn.received) == b"data then close"
    assert conn.arrivals and conn.arrivals[-1][1] == len(conn.received)


def test_read_response_skips_interim_and_waits_for_the_body() -> None:
    """read_response skips a 100 Continue, waits for a body sent in a later write, and the next
    call reads the next response on the same connection."""

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbo")
        sock.sendall(b"dy")
        sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        results["client"] = recv_until_eof(sock)

    with peer(handler) as server, Connection("127.0.0.1", server.port, timeout=TIMEOUT) as conn:
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        first = conn.read_response("POST", timeout=TIMEOUT)
        second = conn.read_response("GET", timeout=TIMEOUT)
        conn.shutdown_write()
        server.join()
    assert (first.status, first.body, first.complete, first.problems) == (200, b"body", True, [])
    assert (second.status, second.complete) == (404, True)


def test_read_response_reports_deadline() -> None:
    """read_response never hangs or raises: an unfinished response comes back with a problem."""

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        results["client"] = recv_until_eof(sock)

    with peer(handler) as server, Connection("127.0.0.1", server.port, timeout=TIMEOUT) as conn:
        resp = conn.read_response(timeout=0.3)
        conn.shutdown_write()
        server.join()
    assert resp.complete is False
    assert any("deadline" in p for p in resp.problems)


def test_abort_resets_the_connection() -> None:
    """abort() closes the client socket with a reset: the peer's recv fails with
    ConnectionResetError (or, on some stacks, sees EOF), and the client side is closed."""
    got_request = threading.Event()

    def handler(sock: socket.socket, results: dict[str, Any]) -> None:
        results["request"] = sock.recv(65536)
        got_request.set()
        try:
            results["after"] = sock.recv(65536)
        except ConnectionResetError as exc:
            results["after"] = exc

    with peer(handler) as server:
        conn = Connection("127.0.0.1", server.port, timeout=TIMEOUT)
        conn.send(b"x")
        assert got_request.wait(TIMEOUT)
        conn.abort()
        results = server.join()
    assert results["request"] == b"x"
    assert isinstance(results["after"], ConnectionResetError) or results["after"] == b""
    assert conn.closed is True
    assert conn.sock.fileno() == -1
    conn.abort()  # a second abort is harmless


def test_head_ending_in_bare_lf_then_crlf_is_found() -> None:
    """A header section whose last line ends in LF and whose empty line is CRLF still ends
    there (and the bare LF is reported), instead of waiting for a deadline."""
    resp, used = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok")
    assert resp is not None and resp.status == 200 and resp.body == b"ok" and used == 39
    assert any("bare LF" in p for p in resp.problems)


def test_chunked_body_is_the_one_encoder() -> None:
    """RFC 9112 7.1: chunk-size [chunk-ext] CRLF chunk-data CRLF ... last-chunk, empty trailer;
    the last size takes what the given sizes leave, and a zero size is skipped."""
    from conformance.wire import chunked_body

    assert chunked_body(b"") == b"0\r\n\r\n"
    assert chunked_body(b"hello") == b"5\r\nhello\r\n0\r\n\r\n"
    assert chunked_body(b"hello world", [5, 0, 1], [b";a=b"]) == (
        b"5;a=b\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n")
    assert chunked_body(b"x" * 26, [26], last_extension=b";end") == (
        b"1a\r\n" + b"x" * 26 + b"\r\n0;end\r\n\r\n")


# --- parse_response: framing and tolerance, case by case (RFC 9112 2, 5, 6.3, 7.1) ----------------


@pytest.mark.parametrize(("buf", "first"), [(b"\r\nHTTP/1.1 200 OK\r\n\r\n", b""),
                                           (b"\nHTTP/1.1 200 OK\r\n\r\n", b""),
                                           (b"\n\n", b""), (b"X\n\n", b"X")])
def test_a_head_whose_first_line_is_no_status_line_is_reported_at_once(buf: bytes,
                                                                       first: bytes) -> None:
    """RFC 9112 4: the first line of a response is its status-line. An empty line (or any line
    that is not a status-line) in its place is reported as soon as the empty line ending the
    head has arrived: the client does not wait for EOF, and the parser never raises."""
    resp, used = parse_ok(buf)
    assert resp.status == 0 and used == len(buf) and resp.raw == buf
    assert [p for p in resp.problems if p.startswith("invalid status line")] == [
        f"invalid status line {first!r}"]


def test_a_one_line_head_that_is_no_status_line_is_reported() -> None:
    """A head of one line (no fields) that is no status-line is reported, quoting that line."""
    resp, _ = parse_ok(b"garbage\r\n\r\n")
    assert resp.problems == ["invalid status line b'garbage'"]


def test_truncated_head_at_eof_keeps_the_bytes() -> None:
    """What arrived before the close is the evidence: it stays in ``raw``."""
    buf = b"HTTP/1.1 200 OK\r\nX-A"
    resp, used = parse_ok(buf, eof=True)
    assert (resp.raw, used, resp.status) == (buf, len(buf), 0)


def test_http_10_version_and_reason() -> None:
    """RFC 9112 4: HTTP-version is "HTTP/" DIGIT "." DIGIT, major then minor; the reason
    phrase is kept as sent (obs-text included, as latin-1)."""
    resp, _ = parse_ok(b"HTTP/1.0 404 Not \xe9 Found\r\nContent-Length: 0\r\n\r\n")
    assert (resp.version, resp.status, resp.reason) == ("HTTP/1.0", 404, "Not \xe9 Found")


def test_field_value_keeps_its_colons_and_loses_only_sp_and_htab() -> None:
    """RFC 9112 5.1: field-line = field-name ":" OWS field-value OWS: the first colon ends the
    name; OWS is SP and HTAB only (RFC 9110 5.6.3), so a stray CR the server put before the
    CRLF stays in the value, where a check can see it."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nLocation: \t http://h:80/a:b \t\r\n"
                       b"X-A: v\r\r\nContent-Length: 0\r\n\r\n")
    assert resp.headers[:2] == [(b"Location", b"http://h:80/a:b"), (b"X-A", b"v\r")]
    assert resp.header("x-missing") is None


def test_transfer_encoding_over_two_field_lines() -> None:
    """RFC 9110 5.3: field lines of one name combine into a comma-separated list, so
    "Transfer-Encoding: gzip" then "Transfer-Encoding: chunked" is "gzip, chunked": chunked is
    final (RFC 9112 6.3 item 4) and frames the body, without a problem."""
    buf = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: Chunked\r\n\r\n"
           b"2\r\nzz\r\n0\r\n\r\n")
    resp, used = parse_ok(buf)
    assert (resp.framing, resp.body, resp.complete, resp.problems, used) == (
        "chunked", b"zz", True, [], len(buf))


@pytest.mark.parametrize("coding", [b"gzip", b"chunked, gzip", b"chunked,gzip"])
def test_transfer_encoding_without_final_chunked_is_reported(coding: bytes) -> None:
    """RFC 9112 6.3 item 4: chunked must be the final transfer coding of a response that has
    a Transfer-Encoding; otherwise the framing is in doubt and that is reported."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + coding +
                       b"\r\n\r\n0\r\n\r\n", eof=True)
    assert f"Transfer-Encoding {coding.lower()!r} without final chunked" in resp.problems


def test_transfer_encoding_and_content_length_together_are_reported() -> None:
    """RFC 9112 6.2: a sender MUST NOT send Content-Length with Transfer-Encoding; chunked
    frames the body (6.3 item 3). Checks find this problem by its "both Transfer-Encoding"
    wording (asgi_www/response_start.py)."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked"
                       b"\r\n\r\n2\r\nok\r\n0\r\n\r\n")
    assert (resp.framing, resp.body, resp.complete) == ("chunked", b"ok", True)
    assert [p for p in resp.problems if "both Transfer-Encoding" in p] == [
        "both Transfer-Encoding and Content-Length in the response"]


@pytest.mark.parametrize(("lengths", "body"), [
    ([b"abc"], b""),  # not 1*DIGIT
    ([b"5", b"6"], b"hello"),  # two different values
    ([b"5, 5"], b""),  # a list, even of one value, is no 1*DIGIT
])
def test_invalid_content_length_is_reported_not_raised(lengths: list[bytes], body: bytes) -> None:
    """RFC 9112 6.3 item 5: a Content-Length that is not one valid number makes the framing
    unrecoverable; the parser reports it (and reads the first value if it is a number)."""
    fields = b"".join(b"Content-Length: " + v + b"\r\n" for v in lengths)
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\nhello")
    assert f"invalid Content-Length {lengths!r}" in resp.problems
    assert resp.body == body


def test_identical_repeated_content_length_is_accepted() -> None:
    """RFC 9110 8.6: repeated identical Content-Length values may be taken as one."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")
    assert (resp.body, resp.complete, resp.problems) == (b"ok", True, [])


def test_chunk_sizes_are_hexadecimal_in_either_case() -> None:
    """RFC 9112 7.1: chunk-size = 1*HEXDIG, and ABNF's HEXDIG letters are case-insensitive
    (RFC 5234 2.3): "10" is sixteen bytes, "a" and "A" ten."""
    data = b"0123456789abcdef"
    buf = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"10\r\n" + data + b"\r\na\r\n" + data[:10] + b"\r\nA\r\n" + data[:10] +
           b"\r\n0\r\n\r\n")
    resp, used = parse_ok(buf)
    assert (resp.body, resp.complete, resp.problems, used) == (
        data + data[:10] * 2, True, [], len(buf))


def test_several_chunk_extensions() -> None:
    """RFC 9112 7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ):
    any number of extensions follow the size, and a recipient ignores them."""
    buf = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;a=1;b=\"x;y\"\r\nhello\r\n0;c;d=2\r\n\r\n")
    resp, _ = parse_ok(buf)
    assert (resp.body, resp.complete, resp.problems) == (b"hello", True, [])


def test_trailer_fields_keep_their_values() -> None:
    """RFC 9112 7.1.2: trailer fields are field lines; the first colon ends the name and only
    OWS is trimmed, so a value keeps its colons and its letters."""
    buf = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"0\r\nX-Time: 12:30:00\r\nX-Sum: ABCDEFX\r\n\r\n")
    resp, _ = parse_ok(buf)
    assert resp.trailers == [(b"X-Time", b"12:30:00"), (b"X-Sum", b"ABCDEFX")]
    assert resp.complete is True


def test_chunked_body_still_arriving_is_incomplete_not_wrong() -> None:
    """Bytes of a chunked body that stop inside a chunk, before a chunk's CRLF or inside the
    trailer section are a body still arriving: what came so far is the body, incomplete, and
    no framing problem is reported until EOF."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for rest, body in [(b"3\r\nabc\r\na\r\n01234", b"abc01234"),
                       (b"3\r\nabc\r\n5\r\nhello", b"abchello"),
                       (b"3\r\nabc\r\n5\r\nhello\r", b"abchello"),
                       (b"3\r\nabc\r\n0\r\nX-T: 1\r\n", b"abc")]:
        resp, used = parse_ok(head + rest)
        assert (resp.body, resp.complete, resp.problems, used) == (
            body, False, [], len(head + rest)), rest


def test_chunk_data_followed_by_other_bytes_is_reported_at_once() -> None:
    """RFC 9112 7.1: chunk-data is followed by CRLF; two other bytes there are a framing error
    as soon as they arrive."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY")
    assert resp.complete is False
    assert any("not followed by CRLF" in p for p in resp.problems)


# --- parse_responses ----------------------------------------------------------------------------


def test_parse_responses_stops_at_an_incomplete_response() -> None:
    """An incomplete response ends the list: the bytes after it belong to its body (or are not
    there yet), never to a next response."""
    buf = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
           b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nHTTP/1.1 ")
    responses = parse_responses(buf, ["GET", "GET"], eof=False)
    assert [(r.status, r.complete) for r in responses] == [(200, True), (200, False)]
    assert parse_responses(b"HTTP/1.1 200 OK\r\n", ["GET"], eof=False) == []


def test_parse_responses_stops_after_garbage() -> None:
    """Bytes that are no response (status 0) end the list, reported once."""
    buf = b"garbage\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    responses = parse_responses(buf, ["GET", "GET"], eof=False)
    assert [r.status for r in responses] == [0]


def test_parse_responses_at_eof() -> None:
    """At EOF a close-delimited last body is complete (RFC 9112 6.3 item 8), and a single stray
    byte before the close is still listed, as an incomplete head."""
    buf = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n\r\nrest"
    first, second = parse_responses(buf, ["GET", "GET"], eof=True)
    assert (second.framing, second.body, second.complete) == ("close", b"rest", True)
    [stray] = parse_responses(b"H", ["GET"], eof=True)
    assert (stray.status, stray.raw) == (0, b"H")
    assert any("incomplete response head" in p for p in stray.problems)


def test_parse_responses_more_answers_than_requests() -> None:
    """A server that answers more than was asked (a desync) has every answer parsed; those
    beyond the requests are framed as answers to GET."""
    buf = (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
           b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb")
    assert [r.body for r in parse_responses(buf, [], eof=False)] == [b"a", b"b"]
    assert [r.body for r in parse_responses(buf, ["GET"], eof=False)] == [b"a", b"b"]


# --- keeps_alive and the reproducers ------------------------------------------------------------


@pytest.mark.parametrize("value", [b"close,foo", b"foo,close", b"foo ,\tclose"])
def test_connection_close_among_other_options(value: bytes) -> None:
    """RFC 9110 7.6.1: Connection is a comma-separated list (#connection-option, no space
    needed); "close" anywhere in it ends persistence (RFC 9112 9.6)."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nConnection: " + value +
                       b"\r\nContent-Length: 0\r\n\r\n")
    assert resp.keeps_alive() is False


def test_printf_reproducer_keeps_printable_ascii_readable() -> None:
    """The reproducer is read by people: printable ASCII (space included) stays itself, "%" is
    printf's "%%", and only ', \\, DEL and the control and 8-bit bytes become octal escapes."""
    data = b"GET /%41 HTTP/1.1\r\nX: ~'\\\x7f\xe9\r\n\r\n"
    assert printf_reproducer(data, "h", 1) == (
        "printf -- 'GET /%%41 HTTP/1.1\\015\\012X: ~\\047\\134\\177\\351\\015\\012\\015\\012'"
        " | nc -q 3 h 1")


@pytest.mark.parametrize("line", [b"zz ", b"1X", b"", b"-1", b"0x5", b"5 5"])
def test_chunk_size_lines_that_are_not_hex_are_reported_as_sent(line: bytes) -> None:
    """RFC 9112 7.1: chunk-size = 1*HEXDIG (then BWS and extensions): anything else is an
    invalid chunk size, quoted as it came (line end removed) for the finding's evidence."""
    resp, _ = parse_ok(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + line +
                       b"\r\nhello\r\n0\r\n\r\n")
    assert resp.complete is False
    assert resp.problems == [f"invalid chunk size line {line!r}"]


# --- when a pipelined exchange is over (checks/rfc9112/pipelined_exchanges.py) ------------------

_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
_MARKER = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\necho\n"


@pytest.mark.parametrize("received,over", [
    (_HEAD + b"echo\n" + _MARKER, True),  # HEAD's body leaked, then the marker's answer
    (_HEAD + b"\r\n" + _MARKER, True),  # a stray line end is bytes no response starts with
    (_HEAD + b"echo\n" + _MARKER[:-2], False),  # the marker's body not all in yet
    (_HEAD + b"echo\n" + _MARKER[:20], False),  # nor its head
    (_HEAD + b"echo\n", False),  # the marker answered alone, read as HEAD's: no second answer
    (_HEAD + _MARKER, False),  # no leak: the parse counts both answers itself
])
def test_marker_answer_after_leaked_bytes(received: bytes, over: bool) -> None:
    """A response to HEAD that leaks its body stops the parse at the leaked bytes; the
    pipelined marker's complete answer after them still ends the exchange (bodiless-responses
    then waits for nothing more), and only a complete one does."""
    from conformance.checks.rfc9112.pipelined_exchanges import marker_answered_after_leak

    responses = parse_responses(received, ["HEAD", "GET"], eof=False)
    assert marker_answered_after_leak(responses) is over


@pytest.mark.parametrize("seen,answered,lost", [
    ([False, True], 1, [0]),  # bjoern: the marker alone reached the app and was answered
    ([False, False, True], 1, [0, 1]),  # three in one write: only the last served
    ([True, False, True], 2, [1]),  # one in the middle dropped
    ([True, False], 1, []),  # the pipelined request unanswered: a close or stall, not a drop
    ([False, True], 2, []),  # every request answered (the first by the server itself)
    ([False, False], 0, []),  # the app saw none: nothing shows a later one was served
])
def test_dropped_pipelined_requests(seen: list[bool], answered: int, lost: list[int]) -> None:
    """A pipelined request the app never saw, sent before one it did see, with fewer answers
    than requests, was dropped: the answers sent are the later requests'."""
    from conformance.checks.rfc9112.pipelined_exchanges import dropped

    assert dropped(seen, answered) == lost


# What gevent's pywsgi sent on nginx's pooled connection after a HEAD: the HEAD's body, then
# its next response, relayed by nginx as HTTP/0.9 (no status line of nginx's own).
_LEAKED = (b"rid=a197ee6f2a3a4ff6\nHTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n"
           b"rid=baecffb8126b4a95\n")


@pytest.mark.parametrize("received,says", [
    (_LEAKED, "b'rid=a197ee6f2a3a4ff6\\nHTTP/1.1 200 OK\\r\\nContent-Length: 21\\r\\n\\r\\n"
              "rid=baecffb8126b4a95\\n' (81 bytes), which is not an HTTP response"),
    (b"", "no response within 8s"),
    (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad",
     "status 502 and body b'bad'"),
])
def test_pooled_desync_says_what_arrived(received: bytes, says: str) -> None:
    """deployment.pooled-desync quotes bytes that are not an HTTP response instead of calling
    them no response (D2)."""
    from conformance.checks.deployment.connection_reuse import what_arrived

    response = parse_response(received, method="GET", eof=True)[0] or Response()
    assert what_arrived(response) == says


@pytest.mark.parametrize("closed,answered_after,alone,end", [
    (False, True, False, "the connection stayed open, and the pipelined request's response "
                         "came after those bytes: a client reads the next response starting "
                         "at them"),
    (True, True, False, "the pipelined request's response came after those bytes, then the "
                        "server closed: a client reads the next response starting at them"),
    (True, False, False, "then the server closed the connection: no later response was read "
                         "from them"),
    (False, False, False, "the connection was left open with the pipelined request "
                          "unanswered: a client reads the next response starting at them"),
    (True, False, True, 'it was sent alone with "Connection: close", and the server closed '
                        "after it as asked"),
])
def test_a_leaked_body_says_whose_it_was_and_what_the_connection_did(
        closed: bool, answered_after: bool, alone: bool, end: str) -> None:
    """rfc9112.bodiless-responses: the app's body forwarded for HEAD is named as such, and the
    message says whether a later response was read from those bytes."""
    from conformance.checks.rfc9112.s6_3_message_body_length import _leak_message

    message = _leak_message("HEAD", 200, b"echo\n" + _MARKER, closed=closed,
                            answered_after=answered_after, alone=alone)
    assert message == ("the server forwarded the body the app returned for HEAD (b'echo\\n'): "
                       "after the 200 head came 'echo\\nHTTP/1.1 200 OK\\r\\nContent-Length: "
                       "5\\r\\n\\r\\necho\\n'; " + end)
    assert _leak_message("GET", 204, b"ok", closed=True, answered_after=False,
                         alone=False).startswith(
        "the 204 response carried body bytes: after the 204 head came 'ok'; then the server")


# --- what an HTTP/2 server answered a generated request (checks/rfc9113/s8_generated_requests.py)


class _QuietConnection:
    """Just enough of a Connection for an H2Client that is only told what came."""

    eof = False

    def send(self, data: bytes) -> None:
        pass


@pytest.mark.parametrize("came,said", [
    ({}, "server answered nothing within 3s"),
    ({"goaway": 1}, "server answered GOAWAY PROTOCOL_ERROR and no response"),
    ({"reset": 8}, "server answered RST_STREAM CANCEL and no response"),
    ({"reset": 0}, "server sent no response: the stream was reset (NO_ERROR) after 0 bytes of "
                   "DATA"),
    ({"eof": True}, "server closed the connection without a response"),
    ({"status": b"400"}, "server answered a 400 response with END_STREAM"),
])
def test_h2_answer_names_what_came(came: dict[str, Any], said: str) -> None:
    """A missing status is no silence: a GOAWAY, a reset or a close is named with its code
    (an immediate GOAWAY PROTOCOL_ERROR read as "nothing within 3s" was the audit's S3)."""
    from conformance.checks.rfc9113.s8_generated_requests import answer_on_stream
    from conformance.h2_wire import H2Client, H2Stream

    conn = _QuietConnection()
    client = H2Client(conn)  # type: ignore[arg-type]
    stream = H2Stream(1, reset_code=came.get("reset"))
    if "status" in came:
        stream.headers, stream.ended = [(b":status", came["status"])], True
    client.goaway = came.get("goaway")
    conn.eof = came.get("eof", False)
    assert answer_on_stream(client, stream) == said
