"""Response-side behaviours of the ASGI probe app (asgi.rst "Error Handling"; asgi-www.rst
"Response Start", "Response Body"; asgi-extensions.rst).

``/probe/respond?case=<name>`` runs one case of :data:`RESPONSE_CASES`; ``/probe/ext?kind=<name>``
uses one HTTP extension. Every invalid or suspicious send() is wrapped: the probe journals
whether the server raised (``send-result``) and, where the spec wants nothing on the wire,
carries :data:`MARKER` so the check can look for it in the bytes the client received.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
import sniffio

from conformance.probes import journal
from conformance.probes.contract import (
    CONNECTION_FIELDS,
    CONNECTION_FIELDS_BODY,
    LATIN1_HEADER_VALUE,
    REPEATED_HEADER,
    Event,
    probe_query,
)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Bytes that must never reach the client when the server does its job.
MARKER = b"PROBE-MUST-NOT-APPEAR"
# The file pathsend / zerocopysend send: this module's own source, which a check can read too.
EXT_FILE = os.path.abspath(__file__)
EARLY_HINT_LINK = b"</probe-style.css>; rel=preload; as=style"
TRAILER = (b"x-probe-trailer", b"trailer-value")
# Header bytes 0x80-0xFF (obs-text, RFC 9110 5.5), \xa0 and \x85 at the edges (whitespace to
# str.strip() after a latin-1 decode), and one name in two lines, values in this order.
LATIN1_VALUE = LATIN1_HEADER_VALUE.encode("latin-1")
REPEATED = [(REPEATED_HEADER[0].lower().encode(), value.encode())
            for value in REPEATED_HEADER[1]]


def loop_identity() -> str:
    """The running event loop as "<pid>:<library>:<id>", comparable across journal events."""
    library = sniffio.current_async_library()
    if library == "trio":
        import trio

        token: object = trio.lowlevel.current_trio_token()
    else:
        import asyncio

        token = asyncio.get_running_loop()
    return f"{os.getpid()}:{library}:{id(token)}"


def _query(scope: Scope, name: str) -> str:
    values = parse_qs(probe_query(scope.get("query_string", b""))).get(name)
    return values[0] if values else ""


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _try(send: Send, message: Message, rid: str | None, step: str,
               reraise: bool = False) -> bool:
    """send(message); journal whether the server raised. True when it raised; with
    ``reraise`` the server's exception then propagates, as out of an ordinary app."""
    try:
        await send(message)
    except Exception as exc:  # noqa: BLE001 - what the server raised is the observation
        journal.record(Event.SEND_RESULT, rid, step=step, raised=True, error=type(exc).__name__)
        if reraise:
            raise
        return True
    journal.record(Event.SEND_RESULT, rid, step=step, raised=False, error=None)
    return False


def _start(status: int = 200, headers: list[Any] | None = None, **extra: Any) -> Message:
    return {"type": "http.response.start", "status": status,
            "headers": headers if headers is not None else [(b"content-type", b"text/plain")],
            **extra}


def _body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


async def _app_te(scope: Scope, send: Send, rid: str | None) -> None:
    # The app claims chunked framing; the server must frame the response itself.
    await send(_start(headers=[(b"content-type", b"text/plain"),
                               (b"transfer-encoding", b"chunked")]))
    await send(_body(b"part-one;", more=True))
    await send(_body(b"part-two"))


async def _app_te_cl(scope: Scope, send: Send, rid: str | None) -> None:
    # Both framings from the app: the server must ignore the Transfer-Encoding.
    await send(_start(headers=[(b"content-type", b"text/plain"), (b"content-length", b"17"),
                               (b"transfer-encoding", b"chunked")]))
    await send(_body(b"part-one;", more=True))
    await send(_body(b"part-two"))


async def _connection_fields(scope: Scope, send: Send, rid: str | None) -> None:
    # Connection-specific fields from the app: over HTTP/2 the server must drop them.
    fields = [(name.lower().encode(), value.encode()) for name, value in CONNECTION_FIELDS]
    await send(_start(headers=[(b"content-type", b"text/plain"),
                               (b"content-length", str(len(CONNECTION_FIELDS_BODY)).encode()),
                               *fields]))
    await send(_body(CONNECTION_FIELDS_BODY))


async def _latin1_repeat(scope: Scope, send: Send, rid: str | None) -> None:
    await _try(send, _start(headers=[(b"content-type", b"text/plain"), (b"content-length", b"8"),
                                     (b"x-latin1", LATIN1_VALUE), *REPEATED]),
               rid, "latin1-repeat", reraise=True)
    await send(_body(b"latin-1\n"))


async def _after_final(scope: Scope, send: Send, rid: str | None) -> None:
    await send(_start(headers=[(b"content-type", b"text/plain"), (b"content-length", b"6")]))
    await send(_body(b"final\n"))
    await _try(send, _body(MARKER), rid, "body-after-final")


async def _invalid(scope: Scope, send: Send, rid: str | None) -> None:
    """One invalid event. When send() raises, the exception propagates out of the app (as
    it would out of any app that does not expect it); when the server accepted the event,
    the app finishes an ordinary response so the wire shows what the server made of it."""
    kind = _query(scope, "kind")
    ok_headers = [(b"content-type", b"text/plain"), (b"content-length", b"5")]
    if kind == "unknown-type":
        await _try(send, {"type": "http.response.probe-bogus", "body": MARKER}, rid, kind, True)
    elif kind == "body-before-start":
        await _try(send, _body(MARKER), rid, kind, True)
    elif kind == "start-twice":
        await send(_start(headers=ok_headers))
        await _try(send, _start(201, [(b"x-probe", MARKER)]), rid, kind, True)
        await send(_body(b"done\n"))
        return
    elif kind == "str-header":
        await _try(send, _start(headers=ok_headers + [(b"x-probe", MARKER.decode())]), rid,
                   kind, True)
        await send(_body(b"done\n"))
        return
    elif kind == "crlf-header":
        await _try(send, _start(headers=ok_headers + [(b"x-probe", b"ok\r\n" + MARKER +
                                                         b": injected")]), rid, kind, True)
        await send(_body(b"done\n"))
        return
    else:
        raise ValueError(f"unknown invalid-event kind {kind!r}")
    await send(_start(headers=ok_headers))
    await send(_body(b"done\n"))


async def _raise_before_start(scope: Scope, send: Send, rid: str | None) -> None:
    raise RuntimeError("probe: raising before http.response.start on purpose")


async def _raise_after_start(scope: Scope, send: Send, rid: str | None) -> None:
    await send(_start(headers=[(b"content-type", b"text/plain"), (b"content-length", b"100")]))
    await send(_body(b"partial\n", more=True))
    # Let the first bytes reach the client before the failure.
    await anyio.sleep(0.2)
    raise RuntimeError("probe: raising after http.response.start on purpose")


async def _no_response(scope: Scope, send: Send, rid: str | None) -> None:
    return


async def _with_body(scope: Scope, send: Send, rid: str | None) -> None:
    """A body where the status (204, 304) or the method (HEAD) allows none."""
    status = int(_query(scope, "status") or 200)
    headers = [(b"content-type", b"text/plain")]
    if status == 200:
        headers.append((b"content-length", str(len(MARKER)).encode()))
    await send(_start(status, headers))
    await send(_body(MARKER))


RESPONSE_CASES: dict[str, Callable[[Scope, Send, str | None], Awaitable[None]]] = {
    "app-te": _app_te,
    "app-te-cl": _app_te_cl,
    "connection-fields": _connection_fields,
    "latin1-repeat": _latin1_repeat,
    "after-final": _after_final,
    "invalid": _invalid,
    "raise-before-start": _raise_before_start,
    "raise-after-start": _raise_after_start,
    "no-response": _no_response,
    "with-body": _with_body,
}


async def respond(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    case = _query(scope, "case")
    journal.record(Event.REQUEST, rid, case=case, method=scope.get("method"))
    await _drain(receive)
    await RESPONSE_CASES[case](scope, send, rid)
    journal.record(Event.APP_RETURNED, rid, case=case)


async def ext(scope: Scope, receive: Receive, send: Send, rid: str | None) -> None:
    """Use one HTTP extension, whether or not the server advertised it."""
    kind = _query(scope, "kind")
    journal.record(Event.REQUEST, rid, kind=kind, extensions=scope.get("extensions"))
    await _drain(receive)
    size = os.path.getsize(EXT_FILE)
    file_headers = [(b"content-type", b"text/plain"), (b"content-length", str(size).encode())]
    if kind == "pathsend":
        await send(_start(headers=file_headers))
        await _try(send, {"type": "http.response.pathsend", "path": EXT_FILE}, rid, kind)
    elif kind == "zerocopysend":
        with open(EXT_FILE, "rb") as fh:
            await send(_start(headers=file_headers))
            await _try(send, {"type": "http.response.zerocopysend", "file": fh}, rid, kind)
            try:
                os.fstat(fh.fileno())
                still_open = True
            except OSError:
                still_open = False
            journal.record(Event.FD_AFTER_SEND, rid, open=still_open)
    elif kind == "trailers":
        await send(_start(headers=[(b"content-type", b"text/plain"),
                                   (b"trailer", TRAILER[0])], trailers=True))
        await send(_body(b"body-before-trailers\n"))
        await _try(send, {"type": "http.response.trailers", "headers": [TRAILER],
                          "more_trailers": False}, rid, kind)
    elif kind == "early-hint":
        await _try(send, {"type": "http.response.early_hint", "links": [EARLY_HINT_LINK]},
                   rid, kind)
        await send(_start(headers=[(b"content-type", b"text/plain"),
                                   (b"content-length", b"6")]))
        await send(_body(b"final\n"))
    else:
        raise ValueError(f"unknown extension kind {kind!r}")
    journal.record(Event.APP_RETURNED, rid, kind=kind)
