"""Deliberately broken WSGI stacks, one clause each (issue 13, items 1-3): like
broken_wsgi_pep.py, each wraps the probe app (run under wsgiref) so that the app meets what a
server with one specific bug would give it (tests/test_broken_wsgi.py)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from broken_wsgi_pep import (
    BodyStream,
    StartResponse,
    _FromStartWithClose,
    _holding_headers,
    _with_file_wrapper,
    probe,
)


class _ExhaustedRaises(BodyStream):
    """A read from the exhausted stream raises EOFError instead of returning b""
    (WSGI-IN-04.b)."""

    def read(self, size: int | None = -1) -> bytes:
        if self.buffer.tell() >= len(self.buffer.getbuffer()):
            raise EOFError("wsgi.input is exhausted")
        return self.buffer.read(size)


class _BinaryErrors:
    """wsgi.errors as a binary stream: write() takes bytes only (WSGI-ENV-11.c)."""

    def write(self, data: bytes) -> None:
        sys.stderr.buffer.write(data)

    def writelines(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        sys.stderr.flush()


def input_and_errors_streams(environ: dict[str, Any], start_response: StartResponse
                             ) -> Iterable[bytes]:
    """Two stream bugs for two checks: wsgi.input raises past the end (WSGI-IN-04.b) and
    wsgi.errors is binary (WSGI-ENV-11.c)."""
    environ["wsgi.input"] = _ExhaustedRaises(environ)
    environ["wsgi.errors"] = _BinaryErrors()
    return probe(environ, start_response)


def stops_at_empty_block(environ: dict[str, Any], start_response: StartResponse
                         ) -> Iterable[bytes]:
    """The response ends at the app's first empty block (WSGI-RESP-08.b)."""
    result = probe(environ, start_response)

    def until_empty() -> Iterator[bytes]:
        try:
            for block in result:
                if not block:
                    return
                yield block
        finally:
            getattr(result, "close", lambda: None)()

    return until_empty()


def _raises_on_exc_info(environ: dict[str, Any], start_response: StartResponse
                        ) -> Iterable[bytes]:
    """start_response raises whenever exc_info is given, also before any output
    (WSGI-RESP-02.f)."""

    def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None:
            raise RuntimeError("start_response: exc_info is not supported")
        return start_response(status, headers)

    return probe(environ, sr)


raises_on_exc_info = _holding_headers(_raises_on_exc_info)
# Longer than the check's wait for a response (scripted_responses.RESPONSE_BOUND, 5 s).
_HANG = 6.0


def hangs_on_app_error(environ: dict[str, Any], start_response: StartResponse
                       ) -> Iterable[bytes]:
    """An exception before any output is not trapped: the request gets neither a response nor
    a close until long after the client gave up (WSGI-RESP-13.a)."""
    try:
        return probe(environ, start_response)
    except Exception:
        time.sleep(_HANG)
        raise


class _NoBlockSize:
    """A file_wrapper that takes no block size: wrapper(filelike, 4096) raises TypeError
    (WSGI-FILE-01.b)."""

    def __init__(self, filelike: Any) -> None:
        self.filelike = filelike

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.filelike.read(8192), b"")

    def close(self) -> None:
        self.filelike.close()


class _FilenoPathCorrupts(_FromStartWithClose):
    """A file_wrapper whose fast path for real files (those with fileno()) sends each block
    upper-cased, not what read() gives; other objects are read correctly (WSGI-FILE-01.e)."""

    def __iter__(self) -> Iterator[bytes]:
        if not hasattr(self.filelike, "fileno"):
            return iter(lambda: self.filelike.read(self.blksize), b"")
        return (block.upper() for block in iter(lambda: self.filelike.read(self.blksize), b""))


class _NotIterable(_NoBlockSize):
    """A file_wrapper whose result has read() and close() but no __iter__: not an iterable
    (WSGI-FILE-01.d); the server then cannot send it."""

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        super().__init__(filelike)

    __iter__ = None  # type: ignore[assignment]


file_wrapper_no_block_size = _with_file_wrapper(_NoBlockSize)
file_wrapper_not_iterable = _with_file_wrapper(_NotIterable)
file_wrapper_corrupts = _with_file_wrapper(_FilenoPathCorrupts)
