"""Deliberately broken WSGI stacks for the input, response, environ-extra and file-wrapper
checks: each wraps the probe app (run under wsgiref) so that the app meets what a server with
one specific bug would give it (tests/test_broken_wsgi.py)."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from conformance.probes.wsgi_app import app as probe

StartResponse = Callable[..., Any]


class BodyStream:
    """A correct wsgi.input: the body read by CONTENT_LENGTH, EOF after it (like gunicorn's)."""

    def __init__(self, environ: dict[str, Any]) -> None:
        length = environ.get("CONTENT_LENGTH") or ""
        raw = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        self.buffer = io.BytesIO(raw)

    def read(self, size: int | None = -1) -> bytes:
        return self.buffer.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self.buffer.readline(size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self.buffer.readlines(hint)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.buffer)


class IterInBlocks(BodyStream):
    """Iteration yields fixed 8-byte blocks instead of lines."""

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.buffer.read(8), b"")


class ReadlineIgnoresSize(BodyStream):
    def readline(self, size: int | None = -1) -> bytes:
        return self.buffer.readline()


class ReadNeedsSize(BodyStream):
    """read() without an argument returns nothing (a server that wants a size)."""

    def read(self, size: int | None = -1) -> bytes:
        return b"" if size is None or size < 0 else self.buffer.read(size)


class ExhaustedReadlines(BodyStream):
    """readlines() on an exhausted stream returns [b""] instead of []."""

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self.buffer.readlines(hint) or [b""]


def _with_input(stream: type[BodyStream]) -> Callable[..., Iterable[bytes]]:
    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.input"] = stream(environ)
        return probe(environ, start_response)

    return wrapped


iter_in_blocks = _with_input(IterInBlocks)
readline_ignores_size = _with_input(ReadlineIgnoresSize)
read_needs_size = _with_input(ReadNeedsSize)
exhausted_readlines = _with_input(ExhaustedReadlines)


def write_after_iterable(environ: dict[str, Any], start_response: StartResponse
                         ) -> Iterable[bytes]:
    """write() data is held back and sent after the iterable's blocks."""
    held: list[bytes] = []

    def sr(*args: Any) -> Callable[[bytes], None]:
        start_response(*args)
        return held.append

    result = probe(environ, sr)
    try:
        return [b"".join(result) + b"".join(held)]
    finally:
        getattr(result, "close", lambda: None)()


def assumes_started(environ: dict[str, Any], start_response: StartResponse
                    ) -> Iterable[bytes]:
    """Treats an app that has not called start_response when it returns as broken."""
    called: list[bool] = []

    def sr(*args: Any) -> Any:
        called.append(True)
        return start_response(*args)

    result = probe(environ, sr)
    if not called:
        getattr(result, "close", lambda: None)()
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"start_response was not called\n"]
    return result


def swallows_late_exc_info(environ: dict[str, Any], start_response: StartResponse
                           ) -> Iterable[bytes]:
    """start_response with exc_info after the headers went out returns instead of raising."""

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        try:
            return start_response(status, headers, exc_info)
        except Exception:
            if exc_info is None:
                raise
            return lambda data: None

    return probe(environ, sr)


def ignores_second_start(environ: dict[str, Any], start_response: StartResponse
                         ) -> Iterable[bytes]:
    """A second start_response without exc_info is silently ignored."""
    state: dict[str, Any] = {}

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if "write" in state and exc_info is None:
            return state["write"]
        state["write"] = start_response(status, headers, exc_info)
        return state["write"]

    return probe(environ, sr)


def swallows_errors(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """An exception from the app before any output becomes a 200."""
    try:
        return probe(environ, start_response)
    except Exception:
        start_response("200 OK", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"everything is fine\n"]


class _AsciiErrors:
    """wsgi.errors that only takes ASCII (a byte stream with a strict ASCII encoding)."""

    def write(self, text: str) -> None:
        sys.stderr.write(text.encode("ascii").decode("ascii"))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        sys.stderr.flush()


def ascii_errors(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    environ["wsgi.errors"] = _AsciiErrors()
    return probe(environ, start_response)


def mixed_case_extra_key(environ: dict[str, Any], start_response: StartResponse
                         ) -> Iterable[bytes]:
    environ["MyServer.Connection"] = "extra key with capitals"
    return probe(environ, start_response)


class _FromStart:
    """A file_wrapper that rewinds the file and ignores close()."""

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike, self.blksize = filelike, blksize

    def __iter__(self) -> Iterator[bytes]:
        self.filelike.seek(0)
        return iter(lambda: self.filelike.read(self.blksize), b"")


def _with_file_wrapper(wrapper: type) -> Callable[[dict[str, Any], StartResponse],
                                                  Iterable[bytes]]:
    """The probe app, given ``wrapper`` as wsgi.file_wrapper instead of the server's."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.file_wrapper"] = wrapper
        return probe(environ, start_response)

    return app


rewinding_file_wrapper = _with_file_wrapper(_FromStart)


def _non_empty(result: Iterable[bytes]) -> Iterator[bytes]:
    """The app's blocks without the empty ones (closing the app's iterable at the end)."""
    try:
        yield from (block for block in result if block)
    finally:
        getattr(result, "close", lambda: None)()


def _holding_headers(app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
                     ) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """``app`` under a wsgiref that holds the headers until the first non-empty block (plain
    wsgiref sends them for an empty one, WSGI-RESP-02.b), so that only ``app``'s bug shows."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return _non_empty(app(environ, start_response))

    return wrapped


def _ignores_replacement(environ: dict[str, Any], start_response: StartResponse
                         ) -> Iterable[bytes]:
    """start_response(..., exc_info) returns normally but keeps the first status and headers
    (no replacement, although the headers were held)."""
    state: dict[str, Any] = {}

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and "write" in state:
            return state["write"]
        state["write"] = start_response(status, headers, exc_info)
        return state["write"]

    return probe(environ, sr)


ignores_replacement = _holding_headers(_ignores_replacement)


def raises_own_error(environ: dict[str, Any], start_response: StartResponse
                     ) -> Iterable[bytes]:
    """start_response with exc_info after the headers went out raises an exception of its own
    instead of re-raising the app's."""

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        try:
            return start_response(status, headers, exc_info)
        except Exception:
            if exc_info is None:
                raise
            raise OSError("headers already sent") from None

    return probe(environ, sr)


def _bare_cr(text: str) -> str:
    return text.replace("\r\n", "\r")


def bare_cr_headers(environ: dict[str, Any], start_response: StartResponse
                    ) -> Iterable[bytes]:
    """A server that "sanitises" CR LF in the status and header values by dropping the LF:
    the bare CR reaches the wire inside the field line."""

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        cleaned = [(name, _bare_cr(value)) for name, value in headers]
        return start_response(_bare_cr(status), cleaned, exc_info)

    return probe(environ, sr)


HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailers", "transfer-encoding", "upgrade"})


def drops_hop_by_hop(environ: dict[str, Any], start_response: StartResponse
                     ) -> Iterable[bytes]:
    """The app's hop-by-hop headers are dropped silently instead of raising (gunicorn's way):
    the wire stays clean."""

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP]
        return start_response(status, kept, exc_info)

    return probe(environ, sr)


class _FromStartWithClose(_FromStart):
    """A file_wrapper that rewinds the file but passes close() on."""

    def close(self) -> None:
        self.filelike.close()


rewinding_file_wrapper_with_close = _with_file_wrapper(_FromStartWithClose)


# Issue 13: one broken variant per clause (the clause each breaks is named in its docstring).
def returns_no_write(environ: dict[str, Any], start_response: StartResponse
                     ) -> Iterable[bytes]:
    """start_response returns None, not a write() callable (WSGI-RESP-01.a)."""

    def sr(*args: Any) -> None:
        start_response(*args)

    return probe(environ, sr)


def write_drops_data(environ: dict[str, Any], start_response: StartResponse
                     ) -> Iterable[bytes]:
    """write() accepts the bytes and sends nothing (WSGI-RESP-01.b)."""

    def sr(*args: Any) -> Callable[[bytes], None]:
        start_response(*args)
        return lambda data: None

    return probe(environ, sr)


class _NeedsFileno:
    """A file_wrapper that reads through fileno(): objects without one fail (WSGI-FILE-01.i)."""

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike, self.blksize = filelike, blksize

    def __iter__(self) -> Iterator[bytes]:
        import os

        fd = self.filelike.fileno()
        return iter(lambda: os.read(fd, self.blksize), b"")

    def close(self) -> None:
        self.filelike.close()


file_wrapper_needs_fileno = _with_file_wrapper(_NeedsFileno)


def strips_header_values(environ: dict[str, Any], start_response: StartResponse
                         ) -> Iterable[bytes]:
    """The server strips the app's header values with str.strip(), losing the edge \\xa0 and
    \\x85 of a latin-1 value (HTTP-16.f: a change that alters the response's semantics)."""

    def sr(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        return start_response(status, [(n, v.strip()) for n, v in headers], *exc_info)

    return probe(environ, sr)

