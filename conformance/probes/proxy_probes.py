"""Probe behaviours for the proxy checks (PROXY-*), for both probe apps.

    /probe/whoami           answers "rid=<request id>" with a Content-Length, never reads the
                            request body (so a body is left unread on the connection)
    /probe/status?code=N    answers status N with no body and no framing headers (204, 304)
    /probe/error            raises before responding; ?after_start=1 (ASGI): after sending the
                            start with Content-Length 64 and 8 of those bytes
    /probe/digest           reads the whole body (WSGI: CONTENT_LENGTH, else to EOF when
                            wsgi.input_terminated is true) and journals its size, sha256 and
                            first HEAD_BYTES bytes (to tell chunk framing the server left in)

Registered into the probe apps' BEHAVIOURS tables; only the journal is imported here, so the
probe apps can import this module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from conformance.probes import journal
from conformance.probes.contract import Event, Route, probe_query

StartResponse = Callable[..., Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ERROR_CONTENT_LENGTH = 64
HEAD_BYTES = 16  # of the body the app read, journalled with its digest


def _query(raw: str, name: str) -> str:
    values = parse_qs(raw).get(name)
    return values[0] if values else ""


def _status_line(code: int) -> str:
    return {204: "204 No Content", 304: "304 Not Modified"}.get(code, f"{code} Status")


# -- WSGI ---------------------------------------------------------------------------------
def wsgi_whoami(environ: dict[str, Any], start_response: StartResponse,
                rid: str | None) -> Iterable[bytes]:
    journal.record(Event.WHOAMI, rid, method=environ.get("REQUEST_METHOD"))
    payload = f"rid={rid}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(payload)))])
    return [payload]


def wsgi_status(environ: dict[str, Any], start_response: StartResponse,
                rid: str | None) -> Iterable[bytes]:
    code = int(_query(environ.get("QUERY_STRING", ""), "code") or 204)
    journal.record(Event.STATUS, rid, code=code)
    start_response(_status_line(code), [("X-Probe-Status", str(code))])
    return []


def wsgi_error(environ: dict[str, Any], start_response: StartResponse,
               rid: str | None) -> Iterable[bytes]:
    journal.record(Event.ERROR, rid)
    raise RuntimeError("probe: deliberate error before the response")


def wsgi_digest(environ: dict[str, Any], start_response: StartResponse,
                rid: str | None) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    # str(): read the body even where a server breaks the str type (PEP 3333 "CGI-defined
    # variables must be native strings"); pep3333.optional-cgi-keys judges the type, and a
    # probe that crashed on it would blame the body's transport (as _read_body in wsgi_app).
    length_field = str(environ.get("CONTENT_LENGTH") or "")
    digest, size, head = hashlib.sha256(), 0, b""
    if length_field.isdigit():
        how, remaining = "content-length", int(length_field)
        while remaining > 0:
            block = stream.read(min(remaining, 65536))
            if not block:
                break
            digest.update(block)
            head += block[:HEAD_BYTES - len(head)]
            size += len(block)
            remaining -= len(block)
    elif environ.get("wsgi.input_terminated"):
        how = "input-terminated"
        while block := stream.read(65536):
            digest.update(block)
            head += block[:HEAD_BYTES - len(head)]
            size += len(block)
    else:
        how = "none"  # no length and no end marker: the app may not read (PEP 3333)
    journal.record(Event.BODY_SUMMARY, rid, size=size, sha256=digest.hexdigest(), how=how,
                   head=head)
    payload = f"{size} {digest.hexdigest()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(payload)))])
    return [payload]


WSGI_BEHAVIOURS: dict[str, Any] = {
    Route.WHOAMI: wsgi_whoami,
    Route.STATUS: wsgi_status,
    Route.ERROR: wsgi_error,
    Route.DIGEST: wsgi_digest,
}


# -- ASGI ---------------------------------------------------------------------------------
def _scope_query(scope: dict[str, Any], name: str) -> str:
    return _query(probe_query(scope.get("query_string", b"")), name)


async def asgi_whoami(scope: dict[str, Any], receive: Receive, send: Send,
                      rid: str | None) -> None:
    journal.record(Event.WHOAMI, rid, method=scope.get("method"))
    payload = f"rid={rid}\n".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def asgi_status(scope: dict[str, Any], receive: Receive, send: Send,
                      rid: str | None) -> None:
    code = int(_scope_query(scope, "code") or 204)
    journal.record(Event.STATUS, rid, code=code)
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"x-probe-status", str(code).encode())]})
    await send({"type": "http.response.body", "body": b""})


async def asgi_error(scope: dict[str, Any], receive: Receive, send: Send,
                     rid: str | None) -> None:
    journal.record(Event.ERROR, rid)
    if _scope_query(scope, "after_start"):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(ERROR_CONTENT_LENGTH).encode())]})
        await send({"type": "http.response.body", "body": b"partial\n", "more_body": True})
    raise RuntimeError("probe: deliberate error in the app")


async def asgi_digest(scope: dict[str, Any], receive: Receive, send: Send,
                      rid: str | None) -> None:
    digest, size, head = hashlib.sha256(), 0, b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        body = message.get("body", b"")
        digest.update(body)
        head += body[:HEAD_BYTES - len(head)]
        size += len(body)
        if not message.get("more_body", False):
            break
    journal.record(Event.BODY_SUMMARY, rid, size=size, sha256=digest.hexdigest(), how="asgi",
                   head=head)
    payload = f"{size} {digest.hexdigest()}\n".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


ASGI_BEHAVIOURS: dict[str, Any] = {
    Route.WHOAMI: asgi_whoami,
    Route.STATUS: asgi_status,
    Route.ERROR: asgi_error,
    Route.DIGEST: asgi_digest,
}
