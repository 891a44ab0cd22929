"""A deliberately lax HTTP/1.1 server for the framing checks (issue 4): threads, one socket per
client, just enough HTTP to run the probe WSGI app, and every classic parsing sin.

* Content-Length wins over Transfer-Encoding, and the connection is kept alive afterwards;
* chunk sizes parsed with int(x, 16) (accepts 0x1, +1, 1_0), the CRLF after chunk data skipped
  unchecked, "chunked" found anywhere in Transfer-Encoding (so "\\x0bchunked" counts);
* Content-Length parsed with int() (accepts +5, 1_0); a short body at EOF handed to the app;
* bare LF line ends, whitespace before the colon, lines without a colon silently dropped;
  no Host checks; any request-target, an absolute-form one passed on whole as the path;
* the body is read only if the app reads it, and never drained (so an unread body is parsed
  as the next request);
* Connection: close ignored; always keep-alive; chunked responses even to HTTP/1.0; a HEAD
  response still carries the body; 100 Continue sent whatever the version; Set-Cookie lines
  merged into one; no Date; a path that is not UTF-8 crashes the handler (500);
* a request head over 64 KiB makes the handler stop answering;
* with --reorder, two requests that arrive together are answered in reverse order.

Switches that make one part of it correct, or differently wrong, so that each level a check
can report shows up on some variant (tests/test_broken_http.py):

--wrap-chunk-size      chunk sizes wrap at 64 bits (2**68 reads as 0: a MUST broken)
--hold-on-eof          a client's half-close is not answered by closing (held 10 s)
--strict-te            Transfer-Encoding must end in chunked (else 400 and close), and wins
                       over Content-Length; a request with both, and HTTP/1.0 with
                       Transfer-Encoding, close after the response; still recovers
                       "\\x0bchunked" and accepts "chunked, chunked" and unknown codings
--te-501               with --strict-te: a coding other than chunked gets 501 and close
--te-keeps-cl          with --strict-te: a request with both is decoded by its chunked coding,
                       but the app's CONTENT_LENGTH is the Content-Length it overrides
--list-te-raw          with --strict-te: a Transfer-Encoding list (",chunked", "gzip, chunked")
                       is framed as chunked, but the app gets the chunked bytes undecoded
--both-rest-as-body    with --strict-te: a request with both Content-Length and chunked
                       Transfer-Encoding takes whatever is buffered after its head as its
                       body, undecoded (pyruvate 1.6.1), then closes (HTTP-02.c)
--chunk-ext-in-data    a chunk extension (a bare CR in it replaced with SP) is handed to the
                       app in front of its chunk's data
--strict-cl            Content-Length must be digits, duplicates equal (else 400 and close)
--raw-cl-list          with --strict-cl: a list of equal values ("5, 5", or two lines of 5)
                       frames the body by 5, but the app's CONTENT_LENGTH is "5, 5"
--strict-fields        whitespace before the colon gets 400 and close; CR and NUL in values
                       become SP; names are still not checked
--absolute-form        an absolute-form target is reduced to its path
--answer-absolute      an absolute-form target is answered 200 by the server itself (as if it
                       fetched the URL); the app never sees the request
--strict-target        a request-line with more than three parts, a control character, a
                       non-ASCII octet or a version other than HTTP/1.x gets 400 and close
--honour-close         Connection: close closes after the response (without saying so)
--join-duplicates      duplicate request fields are joined without a separator (5, 5 -> 55)
--oversize-answer      an oversized request-line gets 414, an oversized head 431; afterwards
                       every request gets 503 (it keeps no defence of its own)
--reject-but-stay      a line without a colon or a bad request-line gets 400 with
                       "Connection: close", and the next request is read anyway

Issue 13: switches that break one clause each (some only make one part right, to isolate it):

--date-asctime         responses carry a Date in the asctime format (HTTP-17.c)
--date-twice           responses carry two Date lines (HTTP-17.e)
--discard-head         a HEAD response's body is discarded (right; isolates the 204/304 rows)
--frame-all            204 and 304 responses are framed chunked like any other (HTTP-10.c,
                       HTTP-10.d, HTTP-10.g)
--framed-1xx           the 100 Continue carries Content-Length: 0 (HTTP-10.f)
--strict-expect        100 Continue only to HTTP/1.1 (right; isolates the Expect rows)
--expect-hang          HTTP/1.1 with Expect: 100-continue gets neither a 100 nor a final
                       status: the server waits for the client to leave (HTTP-12.a)
--continue-hang        the same after sending the 100 (HTTP-12.h)
--continue-hang-early  the same, only when the content came in the same read as the head
                       (pyruvate 1.6.1: HTTP-12.h in the sub-case "content with the head")
--expect-no-body       with Expect: 100-continue no 100 is sent and the app's wsgi.input is
                       empty: the expectation is left to the app (HTTP-12.c)
--expect-silent        with Expect: 100-continue no 100 is sent: the server waits for the
                       client to send the content anyway, then answers (HTTP-12.a; uWSGI)
--drain                an unread body is read and dropped after the response (right)
--one-shot             one request per connection, then close without "Connection: close"
                       (HTTP-13.c)
--last-of-read         of bodiless requests that arrive in one read, only the last is served:
                       the ones before it are dropped unanswered (bjoern 3.2.2: HTTP-14.a)
--announce-close       every response says "Connection: close"; the connection stays open
                       (HTTP-13.g)
--close-hold           Connection: close is answered with "close" and nothing more is read,
                       but the connection is held open (HTTP-15.a)
--close-late           Connection: close is answered with "close", and requests already
                       received are answered before the close (HTTP-15.b)
--reject-chunk-ext     a chunk with an extension, even a well-formed one, gets 400 (HTTP-01.f)
--cl-ows-ignored       a valid Content-Length whose optional whitespace is not exactly one SP
                       before the digits is dropped, as if absent: its body is read as the
                       next request (HTTP-04.e)
--fold-drop            an obs-fold continuation line is dropped, neither rejected nor replaced
                       with SP (HTTP-06.c)
--reject-open          an invalid request-line gets 400 without "close", and the connection
                       stays open (HTTP-08.h; with --strict-target)
--head-silent          a header section over 32 KiB gets no answer; the connection is closed
                       (HTTP-19.b)
--short-lines          a request-line over 4000 octets gets 414 (HTTP-19.d: 8000 should pass)
--segment-403          an oversized request-line gets 414 and an oversized head 431 (right),
                       and a path segment over 255 octets gets 403, as Apache answers a file
                       name it cannot map (right too: no limit on the request-line's length)
--continue-body        the 100 Continue carries two bytes of content (HTTP-10.e)
--continue-late        the 100 Continue is sent only once the body has arrived (HTTP-12.b)
--date                 the app's responses carry a valid Date; the server's own rejections
                       (400, 414, ...) still carry none (HTTP-17.a)

Started as ``python lax_server.py --host H --port P [switches] module:app`` by a target TOML.

For ASGI, ``hang_unknown_events`` wraps the ASGI probe app for a real server (uvicorn): a
send() of an event whose type the server does not know neither raises nor returns, and the
connection is left open (asgi.invalid-events: neither of the ways it accepts).
``complete_on_disconnect`` (HTTP-05.d and, its path decoded as latin-1, HTTP-09.c) and
``swallow_disconnect`` (HTTP-05.e: http.disconnect held back) wrap it the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import importlib
import io
import re
import socket
import socketserver
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

HEAD_LIMIT = 64 * 1024
LINE_LIMIT = 8 * 1024
SHORT_LINE = 4000  # --short-lines: below the 8000 octets RFC 9112 3 recommends
NAME_MAX = 255  # --segment-403: the longest path segment mapped (a file name, as on Linux)
HOLD_ON_EOF = 10.0  # seconds a --hold-on-eof connection stays open after the client's EOF
LINGER = 2.0  # seconds a deliberate close keeps reading what the client still sends
WITHHOLD_DISCONNECT = 4.0  # seconds swallow_disconnect holds http.disconnect back
REQUEST_LINE = re.compile(rb"^[!-~]+ [!-~]+ HTTP/1\.[01]$")
OPTIONS = argparse.Namespace()
POISONED: list[bool] = []  # --oversize-answer: set once an oversized request was answered


class Closed(Exception):
    pass


class Reject(Exception):
    """Answer ``status`` with Connection: close, then close (or, --reject-but-stay, go on)."""

    def __init__(self, status: str, stay: bool = False) -> None:
        super().__init__(status)
        self.status, self.stay = status, stay


class Reader:
    """Buffered reads from the client socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.eof = False
        self.recorded: bytearray | None = None  # the bytes consumed while recording

    def fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        self.eof = self.eof or not data
        return bool(data)

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > HEAD_LIMIT:
                raise OverflowError
            if not self.fill():
                raise Closed
        line, _, self.buf = self.buf.partition(b"\n")
        if self.recorded is not None:
            self.recorded += line + b"\n"
        return line.rstrip(b"\r")  # lax: bare LF is a line end too

    def read(self, size: int) -> bytes:
        while len(self.buf) < size and self.fill():
            pass
        data, self.buf = self.buf[:size], self.buf[size:]
        if self.recorded is not None:
            self.recorded += data
        return data


class LazyInput(io.RawIOBase):
    """wsgi.input reading Content-Length bytes straight from the socket, only when asked."""

    def __init__(self, reader: Reader, length: int) -> None:
        self.reader, self.left = reader, length

    def read(self, size: int | None = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.reader.read(size)
        self.left -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        return self.read(size)


def read_chunked(reader: Reader) -> bytes:
    body = b""
    while True:
        size_field, _, extension = reader.line().partition(b";")
        if OPTIONS.reject_chunk_ext and extension:
            raise Reject("400 Bad Request")  # even a well-formed, unknown extension
        size = int(size_field.strip(), 16)  # lax: 0x1, +1, 1_0 all parse
        if OPTIONS.wrap_chunk_size:
            size &= (1 << 64) - 1  # a C-style 64-bit size: 2**68 becomes 0
        if size <= 0:
            while reader.line():
                pass
            return body
        if OPTIONS.chunk_ext_in_data and extension:
            body += extension.replace(b"\r", b" ")  # the CR replaced, the extension kept
        body += reader.read(size)
        reader.read(2)  # lax: whatever follows the data is taken for its CRLF


def read_chunked_raw(reader: Reader) -> bytes:
    """Frame a chunked body, but return its bytes as sent (--list-te-raw)."""
    reader.recorded = bytearray()
    try:
        read_chunked(reader)
        return bytes(reader.recorded)
    finally:
        reader.recorded = None


def _request_line(reader: Reader) -> tuple[bytes, bytes, bytes]:
    try:
        line = reader.line()
        while not line:
            line = reader.line()
    except OverflowError:
        if (OPTIONS.oversize_answer or OPTIONS.short_lines or OPTIONS.head_silent
                or OPTIONS.segment_403):
            raise Reject("414 URI Too Long") from None
        raise
    limit = SHORT_LINE if OPTIONS.short_lines else LINE_LIMIT
    answers = (OPTIONS.oversize_answer or OPTIONS.short_lines or OPTIONS.head_silent
               or OPTIONS.segment_403)
    if answers and len(line) > limit:
        raise Reject("414 URI Too Long")
    if (OPTIONS.strict_target or OPTIONS.reject_but_stay) and not REQUEST_LINE.match(line):
        raise Reject("400 Bad Request", stay=OPTIONS.reject_but_stay or OPTIONS.reject_open)
    method, target, version = (line.split(b" ", 2) + [b"HTTP/1.0"])[:3]
    path = target.partition(b"?")[0]
    if OPTIONS.segment_403 and any(len(segment) > NAME_MAX for segment in path.split(b"/")):
        raise Reject("403 Forbidden")
    return method, target, version


def _field(field: bytes) -> tuple[str, str] | None:
    """One field line as (name, value); None for a line the lax server drops."""
    if b":" not in field:
        if OPTIONS.reject_but_stay:
            raise Reject("400 Bad Request", stay=True)
        return None  # lax: a line without a colon is dropped
    name, _, value = field.partition(b":")
    digits = value.strip(b" \t")
    if (OPTIONS.cl_ows_ignored and name.strip().lower() == b"content-length"
            and digits.isdigit() and value != b" " + digits):
        return None  # a valid value with other optional whitespace, taken for garbage
    if OPTIONS.strict_fields:
        if name != name.rstrip():
            raise Reject("400 Bad Request")
        value = value.replace(b"\r", b" ").replace(b"\x00", b" ")
    return name.strip().decode("latin-1"), value.strip().decode("latin-1")


def parse_head(reader: Reader) -> tuple[bytes, bytes, bytes, list[tuple[str, str]]]:
    method, target, version = _request_line(reader)
    headers: list[tuple[str, str]] = []
    size = 0
    while True:
        field = reader.line()
        size += len(field)
        if OPTIONS.head_silent and size > HEAD_LIMIT // 2:
            raise Closed  # no answer at all
        if (OPTIONS.oversize_answer or OPTIONS.segment_403) and size > HEAD_LIMIT // 2:
            raise Reject("431 Request Header Fields Too Large")
        if not field:
            return method, target, version, headers
        if field[:1] in (b" ", b"\t") and headers and OPTIONS.fold_drop:
            continue  # the continuation is lost: neither 400 nor SP
        if field[:1] in (b" ", b"\t") and headers:
            name, value = headers.pop()
            headers.append((name, value + " " + field.strip().decode("latin-1")))
            continue
        parsed = _field(field)
        if parsed is not None:
            headers.append(parsed)


def _fields(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Field values by lower-case name: the last wins, or --join-duplicates glues them."""
    fields: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        fields[key] = fields.get(key, "") + value if OPTIONS.join_duplicates else value
    return fields


def _content_length(headers: list[tuple[str, str]], fields: dict[str, str]) -> int:
    if not OPTIONS.strict_cl:
        return int(fields["content-length"])  # lax: +5 and 1_0 parse
    values = _content_length_values(headers)
    if not values or len(set(values)) > 1 or not all(v.isdigit() for v in values):
        raise Reject("400 Bad Request")
    return int(values[0])


def _content_length_values(headers: list[tuple[str, str]]) -> list[str]:
    return [v.strip() for name, line in headers if name.lower() == "content-length"
            for v in line.split(",") if v.strip()]


def _bodiless(headers: list[tuple[str, str]]) -> bool:
    """No Content-Length and no Transfer-Encoding: the request ends with its head."""
    return not {"content-length", "transfer-encoding"} & {n.lower() for n, _ in headers}


def _transfer_codings(fields: dict[str, str], version: bytes) -> bool:
    """Whether the body is chunked; --strict-te rejects what 6.3 says it must."""
    value = fields.get("transfer-encoding", "")
    if not OPTIONS.strict_te:
        return "chunked" in value.lower()  # lax: anywhere, even "\x0bchunked"
    codings = [c.strip().lower() for c in value.split(",") if c.strip()]  # strip() eats VT
    if not codings:
        return False
    if codings[-1] != "chunked":
        raise Reject("400 Bad Request")
    if OPTIONS.te_501 and any(c != "chunked" for c in codings):
        raise Reject("501 Not Implemented")
    return True


class Handler(socketserver.BaseRequestHandler):
    app: Callable[..., Any]
    reorder = False
    closing = False  # a request said Connection: close (--close-hold, --close-late)

    def handle(self) -> None:
        reader = Reader(self.request)
        try:
            self.serve(reader)
        except OverflowError:
            while reader.fill():  # lax: stop answering, swallow the rest
                reader.buf = b""
        except (Closed, OSError):
            pass
        except ValueError:
            self.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        if OPTIONS.hold_on_eof and reader.eof:
            time.sleep(HOLD_ON_EOF)  # the client is gone: the message was incomplete

    def linger(self) -> None:
        """Close in stages (RFC 9112 9.6): stop sending, then read what the client still
        sends, so that unread bytes do not reset the connection and destroy the answer."""
        try:
            self.request.shutdown(socket.SHUT_WR)
            self.request.settimeout(LINGER)
            while self.request.recv(65536):
                pass
        except OSError:
            pass

    def serve(self, reader: Reader) -> None:
        while True:
            try:
                if POISONED:
                    parse_head(reader)
                    self.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                    continue
                request = parse_head(reader)
                if OPTIONS.last_of_read and reader.buf and _bodiless(request[3]):
                    continue  # another request follows in the same read: this one is lost
                if self.reorder and reader.buf:
                    second = parse_head(reader)
                    self.respond(reader, *second)
                keep = self.respond(reader, *request)
                if OPTIONS.one_shot:
                    self.linger()  # served one: closed without announcing it
                    return
                if self.closing and OPTIONS.close_hold:
                    time.sleep(HOLD_ON_EOF)  # said close, read nothing more, did not close
                    return
                if self.closing and OPTIONS.close_late and reader.buf:
                    continue  # what was received already is answered before the close
                if not keep or (self.closing and OPTIONS.close_late):
                    self.linger()
                    return
            except Reject as rejection:
                close = "" if OPTIONS.reject_open else "Connection: close\r\n"
                self.send(f"HTTP/1.1 {rejection.status}\r\n{close}"
                          "Content-Length: 0\r\n\r\n".encode())
                if rejection.status[:3] in ("414", "431") and OPTIONS.oversize_answer:
                    POISONED.append(True)
                if not rejection.stay:
                    self.linger()
                    return

    def send(self, data: bytes) -> None:
        self.request.sendall(data)

    def respond(self, reader: Reader, method: bytes, target: bytes, version: bytes,
                headers: list[tuple[str, str]]) -> bool:
        """Answer one request; False when the connection is to be closed after it."""
        fields = _fields(headers)
        self.closing = self.closing or "close" in fields.get("connection", "").lower()
        expects = "100-continue" in fields.get("expect", "").lower()
        early = OPTIONS.continue_hang_early and 0 < int(
            fields.get("content-length", "0") or 0) <= len(reader.buf)
        if expects and (OPTIONS.expect_hang or OPTIONS.continue_hang or early) and (
                version == b"HTTP/1.1"):
            if OPTIONS.continue_hang or early:
                self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            while reader.fill():  # no final status: wait for the client to leave
                pass
            raise Closed
        if expects and not OPTIONS.expect_no_body and not OPTIONS.expect_silent and (
                version == b"HTTP/1.1" or not OPTIONS.strict_expect):
            framing = b"Content-Length: 0\r\n" if OPTIONS.framed_1xx else b""
            content = b"ok" if OPTIONS.continue_body else b""
            length = int(fields.get("content-length", "0") or 0)
            while OPTIONS.continue_late and len(reader.buf) < length and reader.fill():
                pass  # the client's body first, then the 100
            self.send(b"HTTP/1.1 100 Continue\r\n" + framing + b"\r\n" + content)
        is_chunked = _transfer_codings(fields, version)
        if OPTIONS.both_rest_as_body and is_chunked and "content-length" in fields:
            body, reader.buf = reader.buf, b""  # neither framing: the rest of the read
            stream, content_length = io.BytesIO(body), str(len(body))
        elif "content-length" in fields and not (OPTIONS.strict_te and is_chunked):
            length = _content_length(headers, fields)
            stream: io.RawIOBase | io.BytesIO = LazyInput(reader, length)
            content_length = str(length)
            if OPTIONS.raw_cl_list:  # framed by the one value, but handed on as sent
                content_length = ", ".join(_content_length_values(headers))
        elif is_chunked:
            listed = "," in fields.get("transfer-encoding", "")
            body = (read_chunked_raw(reader) if OPTIONS.list_te_raw and listed
                    else read_chunked(reader))
            stream, content_length = io.BytesIO(body), str(len(body))
            if OPTIONS.te_keeps_cl and "content-length" in fields:
                content_length = fields["content-length"]  # the length TE overrides
        else:
            stream, content_length = io.BytesIO(b""), ""
        if OPTIONS.expect_no_body and expects:
            stream = io.BytesIO(b"")  # the app is to send the 100 itself
        if OPTIONS.answer_absolute and target.lower().startswith((b"http://", b"https://")):
            self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nfetched\n")
            return True
        path_info, query = self.split_target(target)
        if path_info is None:
            return True
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
        if content_length:
            environ["CONTENT_LENGTH"] = content_length
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            elif key != "CONTENT_LENGTH":  # the length the server framed the body by, above
                environ["HTTP_" + key] = value
        self.run_app(environ, version)
        if OPTIONS.drain and isinstance(stream, LazyInput):
            stream.read()
        return self.keeps_open(fields, version)

    def keeps_open(self, fields: dict[str, str], version: bytes) -> bool:
        if OPTIONS.honour_close and "close" in fields.get("connection", "").lower():
            return False
        # --strict-te: an HTTP/1.0 message with Transfer-Encoding, and one with both
        # Transfer-Encoding and Content-Length, end the connection (RFC 9112 6.1).
        return not (OPTIONS.strict_te and "transfer-encoding" in fields
                    and (version.startswith(b"HTTP/1.0") or "content-length" in fields))

    def split_target(self, target: bytes) -> tuple[str | None, bytes]:
        """PATH_INFO and the query; None (after a 500) for a path that is not UTF-8."""
        if OPTIONS.absolute_form and target.lower().startswith((b"http://", b"https://")):
            parts = urlsplit(target)
            target = parts.path + (b"?" + parts.query if parts.query else b"")
        path, _, query = target.partition(b"?")
        try:
            # lax: a path that is not UTF-8 crashes the handler, answered 500
            return unquote_to_bytes(path).decode("utf-8").encode().decode("latin-1"), query
        except UnicodeDecodeError:
            self.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
            return None, query

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
        if OPTIONS.date_asctime:
            lines.append("Date: " + time.asctime(time.gmtime()))
        if OPTIONS.date:
            lines.append("Date: " + email.utils.formatdate(usegmt=True))
        if OPTIONS.date_twice:
            lines += ["Date: " + email.utils.formatdate(usegmt=True)] * 2
        if OPTIONS.announce_close or (self.closing and (OPTIONS.close_hold
                                                        or OPTIONS.close_late)):
            lines.append("Connection: close")
        chunked = not any(n.lower() == "content-length" for n, _ in headers) and (
            OPTIONS.frame_all or not status.startswith(("204", "304")))
        if chunked:  # lax: even for an HTTP/1.0 request
            lines.append("Transfer-Encoding: chunked")
            body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
        head = f"HTTP/1.1 {status}\r\n" + "".join(line + "\r\n" for line in lines) + "\r\n"
        if OPTIONS.discard_head and environ["REQUEST_METHOD"] == "HEAD":
            body = b""
        self.send(head.encode("latin-1") + body)  # lax: HEAD gets the body too


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


SWITCHES = ("wrap-chunk-size", "hold-on-eof", "strict-te", "te-501", "strict-cl",
            "strict-fields", "absolute-form", "strict-target", "honour-close",
            "join-duplicates", "oversize-answer", "reject-but-stay", "te-keeps-cl",
            "list-te-raw", "chunk-ext-in-data", "raw-cl-list", "answer-absolute",
            "date-asctime", "date-twice", "discard-head", "frame-all", "framed-1xx",
            "strict-expect", "expect-hang", "expect-silent", "continue-hang",
            "continue-hang-early", "expect-no-body", "drain", "one-shot", "last-of-read",
            "announce-close",
            "close-hold", "close-late",
            "reject-chunk-ext", "cl-ows-ignored", "fold-drop", "reject-open", "head-silent",
            "short-lines", "continue-body", "date", "continue-late", "both-rest-as-body",
            "segment-403")

# The event types an ASGI HTTP server knows (asgi-www.rst and its extensions).
KNOWN_SEND_TYPES = frozenset({
    "http.response.start", "http.response.body", "http.response.trailers",
    "http.response.early_hint", "http.response.pathsend", "http.response.zerocopysend",
    "http.response.push", "http.response.debug"})


async def hang_unknown_events(scope: dict[str, Any], receive: Callable[..., Any],
                              send: Callable[..., Any]) -> None:
    """The ASGI probe app, run by a real server whose send() hangs on an unknown event type:
    it neither raises nor returns, and the connection stays open."""
    import asyncio

    from conformance.probes.asgi_app import app

    async def hanging_send(message: dict[str, Any]) -> None:
        if scope["type"] == "http" and message.get("type") not in KNOWN_SEND_TYPES:
            await asyncio.Event().wait()  # never set
        await send(message)

    await app(scope, receive, hanging_send)


async def complete_on_disconnect(scope: dict[str, Any], receive: Callable[..., Any],
                                 send: Callable[..., Any]) -> None:
    """The ASGI probe app, run by a real server whose receive() hands an http.disconnect on as
    the end of the body (an empty http.request, more_body False): a body cut short by the
    client looks complete (HTTP-05.d). Its scope path is decoded as latin-1 (HTTP-09.c)."""
    from conformance.probes.asgi_app import app

    async def lying_receive() -> dict[str, Any]:
        message: dict[str, Any] = await receive()
        if scope["type"] == "http" and message.get("type") == "http.disconnect":
            return {"type": "http.request", "body": b"", "more_body": False}
        return message

    await app(latin1_path(scope), lying_receive, send)


async def swallow_disconnect(scope: dict[str, Any], receive: Callable[..., Any],
                             send: Callable[..., Any]) -> None:
    """The ASGI probe app, run by a real server whose receive() withholds http.disconnect for
    WITHHOLD_DISCONNECT seconds, past rfc9112.truncated-body's bound (reported as
    ASGI-HTTP-03.d, INFO: the bound is the suite's); not for ever, so that the server's
    shutdown does not wait on the app."""
    import asyncio

    from conformance.probes.asgi_app import app

    async def deaf_receive() -> dict[str, Any]:
        message: dict[str, Any] = await receive()
        if scope["type"] == "http" and message.get("type") == "http.disconnect":
            await asyncio.sleep(WITHHOLD_DISCONNECT)
        return message

    await app(scope, deaf_receive, send)


async def wrong_event_on_disconnect(scope: dict[str, Any], receive: Callable[..., Any],
                                    send: Callable[..., Any]) -> None:
    """The ASGI probe app, run by a real server whose receive() hands the app another event
    type where http.disconnect is owed (HTTP-05.e, whatever the timing)."""
    from conformance.probes.asgi_app import app

    async def wrong_receive() -> dict[str, Any]:
        message: dict[str, Any] = await receive()
        if scope["type"] == "http" and message.get("type") == "http.disconnect":
            return {"type": "http.request.aborted"}
        return message

    await app(scope, wrong_receive, send)


def latin1_path(scope: dict[str, Any]) -> dict[str, Any]:
    """The scope with its path's octets decoded as latin-1, not UTF-8 (HTTP-09.c:
    "/desync/%C3%A9" becomes "/desync/\u00c3\u00a9")."""
    if scope["type"] != "http":
        return scope
    # A path with a lone surrogate (%FF) is left as the server gave it.
    with contextlib.suppress(UnicodeEncodeError):
        return dict(scope, path=scope["path"].encode("utf-8").decode("latin-1"))
    return scope


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reorder", action="store_true")
    for switch in SWITCHES:
        parser.add_argument(f"--{switch}", action="store_true")
    parser.add_argument("app")
    args = parser.parse_args(namespace=OPTIONS)
    module, _, attr = args.app.partition(":")
    Handler.app = staticmethod(getattr(importlib.import_module(module), attr or "app"))
    Handler.reorder = args.reorder
    with Server((args.host, args.port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
