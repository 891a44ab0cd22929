"""The WSGI probe application (PEP 3333), loaded by the server under test.

One app, behaviours chosen by the request path (DESIGN.md decision 3):

    /probe/ready            200, journals nothing (readiness polls)
    /probe/taint            like echo, then adds a key to environ (WSGI-ENV-01)
    /probe/stream           gated stream: block i+1 is produced only once the client has
                            opened gate i, or after ``wait`` seconds (journalled as a timeout);
                            ``empty=1``: an empty block first, then block 1 waits for gate 0
    /probe/raise-in-iter    yields one block, then raises from the iterable
    /probe/endless          yields blocks until the client goes away (or 20 s)
    /probe/input            runs the wsgi.input operations named by ``ops`` (see wsgi_input.py)
    /probe/respond          a response shaped by ``mode`` (see wsgi_respond.py)
    anything else           echo: journal the environ and the body read by CONTENT_LENGTH

Every response iterable journals ``close`` each time the server calls close().
Query parameters of /probe/ paths tune a behaviour (``blocks``, ``wait``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from conformance.probes import journal
from conformance.probes.contract import ECHO_BODY, Event, Route
from conformance.probes.proxy_probes import WSGI_BEHAVIOURS
from conformance.probes.wsgi_input import input_behaviour
from conformance.probes.wsgi_respond import respond_behaviour

StartResponse = Callable[..., Any]

_STREAM_OBJECTS = ("wsgi.input", "wsgi.errors", "wsgi.file_wrapper")


def snapshot_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """What the app saw, JSON-safe, with the types the spec constrains."""
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if key in _STREAM_OBJECTS:
            values[key] = {"__object__": type(value).__name__}
        else:
            values[key] = value
    return {
        "environ": values,
        "environ_type": f"{type(environ).__module__}.{type(environ).__qualname__}",
        "environ_is_dict": type(environ) is dict,
        "value_types": {k: type(v).__name__ for k, v in environ.items()},
        "errors_api": {
            name: callable(getattr(environ.get("wsgi.errors"), name, None))
            for name in ("write", "writelines", "flush")
        },
        # PEP 3333's method table for wsgi.input (WSGI-IN-01.a).
        "input_api": {
            name: callable(getattr(environ.get("wsgi.input"), name, None))
            for name in ("read", "readline", "readlines", "__iter__")
        },
    }


class JournalledIterable:
    """A response iterable that journals every close() call (WSGI-RESP-06)."""

    def __init__(self, rid: str | None, blocks: Iterable[bytes]) -> None:
        self.rid = rid
        self._blocks = iter(blocks)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._blocks)

    def close(self) -> None:
        journal.record(Event.CLOSE, self.rid)


def _param(environ: dict[str, Any], name: str, default: float) -> float:
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    try:
        return float(values[0]) if values else default
    except ValueError:
        return default


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read CONTENT_LENGTH bytes, parsed as strictly as RFC 9110 8.6 writes it (1*DIGIT).

    Python's int() also takes "+5", " 5", "8_0": a probe that read by such a value would
    make a server that merely passed an invalid field on look as if it had framed by it."""
    field = str(environ.get("CONTENT_LENGTH") or "")
    length = int(field) if field.isascii() and field.isdigit() else 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _read_whole_body(environ: dict[str, Any]) -> bytes | None:
    """The body as a PEP 3333 app may read it: by CONTENT_LENGTH when set, else to EOF only
    under wsgi.input_terminated (the PEP leaves reading a body of unknown length undefined);
    None when neither holds (a chunked body without either is unreadable, WSGI-IN-06)."""
    if str(environ.get("CONTENT_LENGTH") or "").strip():
        return _read_body(environ)
    if not environ.get("wsgi.input_terminated"):
        return None
    blocks: list[bytes] = []
    # Capped, so an input that never reports EOF cannot keep the app reading forever.
    while sum(map(len, blocks)) < 1 << 20 and (block := environ["wsgi.input"].read(65536)):
        blocks.append(block)
    return b"".join(blocks)


def _echo(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    journal.record(Event.REQUEST, rid, **snapshot_environ(environ))
    body = _read_whole_body(environ)
    # The journal keeps bytes and bytearray alike: the type is what WSGI-IN-01.d is about.
    journal.record(Event.BODY, rid, body=body or b"", readable=body is not None,
                   body_type=type(body).__name__)
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(ECHO_BODY)))])
    return JournalledIterable(rid, [ECHO_BODY])


def _stream(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    blocks = int(_param(environ, "blocks", 3))
    wait = _param(environ, "wait", 5.0)
    journal.record(Event.REQUEST, rid, **snapshot_environ(environ))

    empty_first = _param(environ, "empty", 0) > 0

    def produce() -> Iterator[bytes]:
        if empty_first:  # WSGI-RESP-02: b"" first; PRODUCE 0 = the server asked for more
            yield b""
            journal.record(Event.PRODUCE, rid, block=0)
        for number in range(1, blocks + 1):
            if number > 1 or empty_first:
                started = time.monotonic()
                while not journal.gate_is_open(rid or "", number - 1):
                    if time.monotonic() - started > wait:
                        journal.record(Event.GATE_TIMEOUT, rid, block=number - 1, waited=wait)
                        break
                    time.sleep(0.005)
                else:
                    journal.record(Event.GATE_OPEN, rid, block=number - 1)
            journal.record(Event.PRODUCE, rid, block=number)
            yield f"block-{number}\n".encode() + b"." * 64 + b"\n"

    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Accel-Buffering", "no")])
    return JournalledIterable(rid, produce())


def _raise_in_iter(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    journal.record(Event.REQUEST, rid)

    def produce() -> Iterator[bytes]:
        yield b"first block\n"
        journal.record(Event.RAISE, rid)
        raise RuntimeError("probe: deliberate error during iteration")

    start_response("200 OK", [("Content-Type", "text/plain")])
    return JournalledIterable(rid, produce())


def _endless(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    journal.record(Event.REQUEST, rid)
    limit = _param(environ, "seconds", 20.0)

    def produce() -> Iterator[bytes]:
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < limit:
            count += 1
            if count == 1:
                yield b"started\n" + b"x" * 8192
            else:
                time.sleep(0.01)
                yield b"x" * 8192
        journal.record(Event.ENDLESS_FINISHED, rid, blocks=count)

    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return JournalledIterable(rid, produce())


def _taint(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    result = _echo(environ, start_response, rid)
    environ["conformance.taint"] = "set by a previous request"
    environ["HTTP_X_CONFORMANCE_TAINT"] = "set by a previous request"
    return result


def _status(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    """Answer ?code= (204/304 without body or framing) with ?cookies= Set-Cookie fields."""
    journal.record(Event.REQUEST, rid)
    code = int(_param(environ, "code", 200))
    headers = [("Set-Cookie", f"probe{n}=v{n}; Path=/") for n in range(int(
        _param(environ, "cookies", 0)))]
    # ?blocks=0: no block, as an empty list (len() 0), the way apps commonly answer a 204
    # (PEP 3333: "The returned iterable may be empty"): any framing field is the server's.
    empty_list = _param(environ, "blocks", 1) == 0
    body = b"" if code in (204, 304) or code < 200 or empty_list else b"ok\n"
    if body:
        headers.append(("Content-Length", str(len(body))))
    start_response(f"{code} Probe", headers)
    if empty_list:
        return []
    # One (empty) block rather than none: servers must send the headers either way
    # (PEP 3333), but the framing checks test 204/304 framing, not that rule.
    return JournalledIterable(rid, [body])


def _no_read(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    """Answer at once without reading the request body (HTTP-12, HTTP-13)."""
    journal.record(Event.REQUEST, rid)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "8")])
    return JournalledIterable(rid, [b"no-read\n"])


def _read_all(
    environ: dict[str, Any], start_response: StartResponse, rid: str | None
) -> Iterable[bytes]:
    """Echo, reading the body to its end where the server terminates wsgi.input (a chunked
    body has no CONTENT_LENGTH): the framing checks need the server to parse the body."""
    journal.record(Event.REQUEST, rid, **snapshot_environ(environ))
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        # Capped: a server whose input never reports EOF (werkzeug's DechunkedInput inside a
        # truncated 2**68-byte chunk) must not keep the app reading forever.
        blocks: list[bytes] = []
        while sum(map(len, blocks)) < 1 << 20 and (block := stream.read(65536)):
            blocks.append(block)
        body = b"".join(blocks)
    else:
        body = _read_body(environ)
    journal.record(Event.BODY, rid, body=body)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return JournalledIterable(rid, [b"echo\n"])


BEHAVIOURS: dict[str, Callable[[dict[str, Any], StartResponse, str | None], Iterable[bytes]]] = {
    Route.TAINT: _taint,
    Route.FRAMING_STATUS: _status,
    Route.NO_READ: _no_read,
    Route.READ_ALL: _read_all,
    Route.STREAM: _stream,
    Route.RAISE_IN_ITER: _raise_in_iter,
    Route.ENDLESS: _endless,
    Route.INPUT: input_behaviour,
    Route.RESPOND: respond_behaviour,
}
BEHAVIOURS.update(WSGI_BEHAVIOURS)  # /probe/whoami, status, error, digest (PROXY-*)


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == Route.READY:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [b"ready\n"]
    rid = environ.get("HTTP_X_PROBE_ID")
    behaviour = BEHAVIOURS.get(path, _echo)
    try:
        return behaviour(environ, start_response, rid)
    except Exception as exc:  # journal it, then let the server handle it as the spec says
        journal.record(Event.APP_EXCEPTION, rid, error=repr(exc))
        # Not the exception's text: whether the *server* logged it is judged by looking for
        # that text in its log (deployment.pooled-desync, PROXY-06.i), which this line, in
        # the same log, would otherwise always satisfy.
        print(f"probe app error: {type(exc).__name__} (journalled)", file=sys.stderr)
        raise
