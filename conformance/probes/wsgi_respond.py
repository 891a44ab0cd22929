"""The probe's /probe/respond behaviour: responses shaped to test PEP 3333's response rules.

``mode`` (query parameter) selects the shape; whatever the server did to the app (raised at
start_response, accepted a second call, ...) is journalled as ``respond`` events.

    write-then-iter     write(b"written\\n"), then the iterable yields b"iterable\\n"
    replace-status      yields b"", then start_response(503, ..., exc_info), then a block
    start-in-iter       the iterable calls start_response in its first __next__ (AppClass)
    exc-after-headers   one block, then start_response(..., exc_info): must raise
    second-start        start_response twice without exc_info: the second must raise
    empty-blocks        b"", b"a", b"", b"", b"b", b"" without Content-Length
    too-many            Content-Length: 5, yields 8 bytes
    too-many-blocks     Content-Length: 5, yields b"12345", b"678", b"9ab", journalling each
                        block the server asks for (``produce`` events, block 1-3)
    too-many-write      Content-Length: 5, write(b"12345") then write(b"678"): each write()
                        journalled as a ``respond`` step (write-within, write-past)
    too-few             Content-Length: 10, yields 5 bytes
    no-length           two blocks, no Content-Length
    crlf-header         a header value with CR LF and a fake header after it
    crlf-status         a status with CR LF and a fake header after it
    non-latin1          a header value with U+20AC
    latin1-repeat       X-Latin1: LATIN1_VALUE (latin-1 characters 0x80-0xFF, \\xa0 and \\x85
                        at its edges) and two X-Repeat lines ("one", then "two")
    hop-by-hop          Transfer-Encoding: chunked from the app, body unchunked
    connection-fields   Connection, Keep-Alive, Proxy-Connection and Upgrade from the app
    raise-before        raises before start_response
    raise-after         Content-Length: 100, one block, then raises
    errors              writes arbitrary unicode to wsgi.errors
    os-environ          journals the names in the server process's os.environ
    file-wrapper        wsgi.file_wrapper on a file positioned at 4, Content-Length 8
                        (``kind=plain`` for an object without fileno())
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from conformance.probes import journal
from conformance.probes.contract import (
    CONNECTION_FIELDS,
    CONNECTION_FIELDS_BODY,
    LATIN1_HEADER_VALUE,
    REPEATED_HEADER,
    Event,
)

StartResponse = Callable[..., Any]
TEXT = [("Content-Type", "text/plain")]
FILE_CONTENT = b"0123456789abcdefghijklmnopqrstuvwxyz"
# A header value of ISO-8859-1 characters beyond ASCII (PEP 3333, Unicode Issues, of header
# strings: "they must either be ISO-8859-1 characters, or use :rfc:`2047` MIME encoding.");
# \xa0 and \x85 are whitespace to str.strip(), so it starts and ends with them.
LATIN1_VALUE = LATIN1_HEADER_VALUE
REPEATED = [(REPEATED_HEADER[0], value) for value in REPEATED_HEADER[1]]


def _try_start(rid: str | None, label: str, start_response: StartResponse, *args: Any) -> bool:
    """Call start_response; journal whether it raised (and what). True if it did not."""
    try:
        start_response(*args)
    except Exception as exc:
        exc_info = args[2] if len(args) > 2 else None
        same = exc_info is not None and exc is exc_info[1]
        journal.record(Event.RESPOND, rid, step=label, raised=repr(exc), reraised_original=same)
        return False
    journal.record(Event.RESPOND, rid, step=label, raised=None)
    return True


# The too-many-blocks response: block 1 alone fills the declared Content-Length of 5.
TOO_MANY_BLOCKS = (b"12345", b"678", b"9ab")


def _journalled_blocks(rid: str | None, items: Iterable[bytes]) -> Iterator[bytes]:
    """Yield ``items``, journalling each one the server asks for (PRODUCE, block 1, 2, ...)
    before it is produced, as /probe/stream does."""
    for number, block in enumerate(items, 1):
        journal.record(Event.PRODUCE, rid, block=number)
        yield block


def _try_write(rid: str | None, label: str, write: Any, data: bytes) -> bool:
    """Call the server's write(); journal whether it raised (and what). True if it did not."""
    try:
        write(data)
    except Exception as exc:
        journal.record(Event.RESPOND, rid, step=label, raised=repr(exc))
        return False
    journal.record(Event.RESPOND, rid, step=label, raised=None)
    return True


class _PlainFile:
    """A file-like object with read() and close() but no fileno() (FILE-01)."""

    def __init__(self, rid: str | None, data: bytes) -> None:
        self.rid, self.data, self.pos = rid, data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size is None or size < 0 else self.pos + size
        chunk, self.pos = self.data[self.pos:end], min(end, len(self.data))
        return chunk

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self.pos, len(self.data))[whence]
        self.pos = max(0, base + pos)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        journal.record(Event.FILE_CLOSE, self.rid)


class _TrackedFile:
    """A real file whose close() is journalled (the wrapper must pass close() on)."""

    def __init__(self, rid: str | None) -> None:
        self.rid = rid
        self.fh = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close(), via the server
        self.fh.write(FILE_CONTENT)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fh, name)

    def __iter__(self) -> Any:
        # A real file is iterable (by lines): a wrapper that hands the file back (uWSGI) must
        # not be failed for the proxy object lacking what the file has.
        return iter(self.fh)

    def close(self) -> None:
        journal.record(Event.FILE_CLOSE, self.rid)
        self.fh.close()


class _CloseSpy:
    """An empty file-like object that only notes whether its close() ran: the probe closes a
    wrapper around it itself, so that the wrapper's own close() (WSGI-FILE-01.g) is told apart
    from a server that never calls close() on what the app returned (WSGI-RESP-06.a)."""

    def __init__(self) -> None:
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        self.closed = True


class _StartsInNext:
    """PEP 3333's AppClass shape: start_response is called in the first __next__."""

    def __init__(self, rid: str | None, start_response: StartResponse) -> None:
        self.rid, self.start_response, self.done = rid, start_response, False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.done:
            raise StopIteration
        self.done = True
        self.start_response("200 OK", TEXT + [("X-Started", "in-next")])
        journal.record(Event.RESPOND, self.rid, step="started-in-next")
        return b"started in __next__\n"


def respond_behaviour(environ: dict[str, Any], start_response: StartResponse,
                      rid: str | None) -> Iterable[bytes]:
    from conformance.probes.wsgi_app import JournalledIterable, snapshot_environ

    journal.record(Event.REQUEST, rid, **snapshot_environ(environ))
    query = parse_qs(environ.get("QUERY_STRING", ""))
    mode = (query.get("mode") or [""])[0]
    kind = (query.get("kind") or ["real"])[0]

    def blocks(items: Iterable[bytes]) -> Iterable[bytes]:
        return JournalledIterable(rid, items)

    if mode == "write-then-iter":
        write = start_response("200 OK", TEXT)
        journal.record(Event.RESPOND, rid, step="write", callable=callable(write),
                       returned=repr(write)[:80])
        write(b"written\n")
        return blocks([b"iterable\n"])
    if mode == "replace-status":
        def replace() -> Iterator[bytes]:
            yield b""
            try:
                raise RuntimeError("probe: replace the status after an empty block")
            except RuntimeError:
                _try_start(rid, "replace", start_response, "503 Replaced",
                           TEXT + [("X-Replaced", "yes")], sys.exc_info())
            yield b"replaced\n"
        start_response("200 OK", TEXT + [("X-Original", "yes")])
        return blocks(replace())
    if mode == "start-in-iter":
        return _StartsInNext(rid, start_response)
    if mode == "exc-after-headers":
        def after() -> Iterator[bytes]:
            yield b"first block\n"
            try:
                raise RuntimeError("probe: error after the headers were sent")
            except RuntimeError:
                if not _try_start(rid, "exc-after-headers", start_response, "500 Late",
                                  TEXT, sys.exc_info()):
                    raise
            yield b"start_response did not raise\n"
        start_response("200 OK", TEXT)
        return blocks(after())
    if mode == "second-start":
        start_response("200 OK", TEXT)
        _try_start(rid, "second-start", start_response, "201 Second", TEXT)
        return blocks([b"after a second start_response\n"])
    if mode == "empty-blocks":
        start_response("200 OK", TEXT)
        return blocks([b"", b"a", b"", b"", b"b", b""])
    if mode == "too-many":
        start_response("200 OK", TEXT + [("Content-Length", "5")])
        return blocks([b"12345", b"678"])
    if mode == "too-many-blocks":
        start_response("200 OK", TEXT + [("Content-Length", "5")])
        return blocks(_journalled_blocks(rid, TOO_MANY_BLOCKS))
    if mode == "too-many-write":
        write = start_response("200 OK", TEXT + [("Content-Length", "5")])
        if _try_write(rid, "write-within", write, b"12345"):
            _try_write(rid, "write-past", write, b"678")
        return blocks([])
    if mode == "too-few":
        start_response("200 OK", TEXT + [("Content-Length", "10")])
        return blocks([b"12345"])
    if mode == "no-length":
        start_response("200 OK", TEXT)
        return blocks([b"one\n", b"two\n"])
    if mode in ("crlf-header", "crlf-status", "non-latin1"):
        status, headers = "200 OK", list(TEXT)
        if mode == "crlf-header":
            headers.append(("X-Value", "a\r\nX-Injected: yes"))
        elif mode == "crlf-status":
            status = "200 OK\r\nX-Injected: yes"
        else:
            headers.append(("X-Euro", "\u20ac"))
        if not _try_start(rid, mode, start_response, status, headers):
            start_response("500 Rejected", TEXT + [("Content-Length", "9")])
            return blocks([b"rejected\n"])
        return blocks([b"accepted\n"])
    if mode == "latin1-repeat":
        headers = TEXT + [("X-Latin1", LATIN1_VALUE), *REPEATED, ("Content-Length", "8")]
        if not _try_start(rid, mode, start_response, "200 OK", headers):
            start_response("500 Rejected", TEXT + [("Content-Length", "9")])
            return blocks([b"rejected\n"])
        return blocks([b"latin-1\n"])
    if mode == "hop-by-hop":
        if not _try_start(rid, mode, start_response, "200 OK",
                          TEXT + [("Transfer-Encoding", "chunked")]):
            start_response("500 Rejected", TEXT + [("Content-Length", "9")])
            return blocks([b"rejected\n"])
        return blocks([b"hello\n"])
    if mode == "connection-fields":
        if not _try_start(rid, mode, start_response, "200 OK",
                          TEXT + list(CONNECTION_FIELDS)
                          + [("Content-Length", str(len(CONNECTION_FIELDS_BODY)))]):
            start_response("500 Rejected", TEXT + [("Content-Length", "9")])
            return blocks([b"rejected\n"])
        return blocks([CONNECTION_FIELDS_BODY])
    if mode == "raise-before":
        raise RuntimeError("probe: deliberate error before start_response")
    if mode == "raise-after":
        length = [("Content-Length", "100")] if kind != "no-length" else []

        def then_raise() -> Iterator[bytes]:
            yield b"first block\n"
            journal.record(Event.RAISE, rid)
            raise RuntimeError("probe: deliberate error after output began")
        start_response("200 OK", TEXT + length)
        return blocks(then_raise())
    if mode == "errors":
        errors = environ["wsgi.errors"]
        try:
            errors.write("probe: caf\u00e9 \u20ac \u4e2d \U0001f600 \u0000 end\n")
            errors.writelines(["probe: \u2603\n", "probe: \U00010348\n"])
            errors.flush()
        except Exception as exc:
            journal.record(Event.RESPOND, rid, step="errors", raised=repr(exc))
        else:
            journal.record(Event.RESPOND, rid, step="errors", raised=None)
        start_response("200 OK", TEXT + [("Content-Length", "3")])
        return blocks([b"ok\n"])
    if mode == "os-environ":  # extra environ keys may be the process's OS environment
        journal.record(Event.RESPOND, rid, step="os-environ", keys=sorted(os.environ))
        start_response("200 OK", TEXT + [("Content-Length", "3")])
        return blocks([b"ok\n"])
    if mode == "file-wrapper":
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper is None:
            journal.record(Event.RESPOND, rid, step="file-wrapper", absent=True)
            start_response("200 OK", TEXT + [("Content-Length", "11")])
            return [b"no wrapper\n"]
        filelike: Any = _PlainFile(rid, FILE_CONTENT) if kind == "plain" else _TrackedFile(rid)
        filelike.seek(4)
        journal.record(Event.RESPOND, rid, step="file-wrapper", absent=False)
        start_response("200 OK", TEXT + [("Content-Length", "8")])
        # The side test first: a server that keeps one file per request (uWSGI's
        # wsgi_handlers.c) would otherwise drop the app's file for the spy.
        spy = _CloseSpy()
        try:
            closer = getattr(wrapper(spy, 4096), "close", None)
            if callable(closer):
                closer()
        except Exception as exc:  # the response below must not depend on this side test
            journal.record(Event.RESPOND, rid, step="file-wrapper-close", raised=repr(exc),
                           reached_file=False)
        else:
            journal.record(Event.RESPOND, rid, step="file-wrapper-close",
                           has_close=callable(closer), reached_file=spy.closed)
        result = wrapper(filelike, 4096)
        # "must return an iterable object": judged on its type, without calling __iter__
        # (which may already do the server's work).
        kind_of = type(result)
        iterable = callable(getattr(kind_of, "__iter__", None)) or hasattr(kind_of, "__getitem__")
        journal.record(Event.RESPOND, rid, step="file-wrapper-result", iterable=iterable,
                       type=type(result).__name__)
        return result
    start_response("400 Bad Request", TEXT + [("Content-Length", "13")])
    return [b"unknown mode\n"]
