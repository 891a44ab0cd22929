"""PEP 3333, "Optional Platform-Specific File Handling"."""

from __future__ import annotations

import time

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import RESPONSE_BOUND, required_step
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.probes.wsgi_respond import FILE_CONTENT
from conformance.verdicts import Level
from conformance.wire import Connection, Response, WireTimeout, request_bytes

_START, _LENGTH = 4, 8  # the probe positions the file at 4 and declares Content-Length 8
_EXPECTED = FILE_CONTENT[_START:_START + _LENGTH]
_CLOSE_BOUND = 3.0  # seconds for the file's close() once the response was sent
# The same wait where no finding rests on it (the wrapper's own close() was seen to reach the
# file): it only decides the "close_not_called" detail.
_DETAIL_CLOSE_WINDOW = 1.0
# Bytes past the declared Content-Length (uWSGI sends the whole file): after the response,
# read until the server closes or this long passes with nothing more, within _SURPLUS_BOUND.
_SURPLUS_QUIET = 0.5
_SURPLUS_BOUND = 2.0
# nginx's error-log words for an upstream body longer than its Content-Length (which nginx
# cuts off, so the client cannot see it).
_NGINX_MORE_DATA = 'upstream sent more data than specified in "Content-Length"'



def _from_the_file(body: bytes) -> bool:
    """Bytes of the file, only from the wrong position or to the wrong length."""
    return bool(body) and body in FILE_CONTENT


@check(
    id="pep3333.file-wrapper",
    title="wsgi.file_wrapper sends from the file's position up to Content-Length; close() "
          "reaches the file; objects without fileno() work",
    requirements=["WSGI-FILE-01"],
    # An optional feature: where offered, its MUST sentences fail like a MUST.
    level=Level.OPTIONAL,
    interfaces=("wsgi",),
    section="PEP 3333 'Optional Platform-Specific File Handling'",
)
def file_wrapper(ctx: CheckContext) -> None:
    """PEP 3333, Optional Platform-Specific File Handling: servers "may expose this
    functionality via an optional wsgi.file_wrapper key in the environ" (absent: unsupported).
    Where it is offered: "In other words, transmission should begin at the current position
    within the "file" at the time that transmission begins, and continue until the end is
    reached, or until Content-Length bytes have been written." (WSGI-FILE-01.f, SHOULD);
    "If the server or gateway supplies wsgi.file_wrapper, it must be a callable that accepts
    one required positional parameter, and one optional positional parameter."
    (WSGI-FILE-01.b, MUST: the probe calls it with the block size as its second positional
    argument), and "The callable must return an iterable object" (WSGI-FILE-01.d, MUST: the
    probe journals whether the type of what it returned is iterable); "Apart from the handling
    of close(), the semantics of returning a file wrapper from the application should be the
    same as if the application had returned iter(filelike.read, '')." (WSGI-FILE-01.e,
    SHOULD); "the iterable returned by wsgi.file_wrapper must have a
    close() method that invokes the original file-like object's close() method"
    (WSGI-FILE-01.g, MUST); and for an object without fileno() "the wsgi.file_wrapper must
    still return an iterable that wraps read() and close()" (WSGI-FILE-01.i, MUST). A real file
    and a file-like object without fileno() are two sub-cases."""
    for kind in ("real", "plain"):
        what = "a real file" if kind == "real" else "a file-like object without fileno()"
        with ctx.case(what):
            rid, response, surplus, overrun = _fetch(ctx, kind)
            if required_step(ctx, rid, "file-wrapper").get("absent"):
                ctx.unsupported("the server offers no wsgi.file_wrapper")
            # The probe's last step is wsgi.file_wrapper(filelike, 4096): an exception the
            # app raised after it journalled the step is that call refusing its arguments.
            raised = [e for e in ctx.journal.for_rid(rid)
                      if e["event"] == Event.APP_EXCEPTION]
            ctx.require(not raised, "WSGI-FILE-01.b",
                        f"wsgi.file_wrapper(filelike, 4096) for {what} raised "
                        f"{raised[0]['error'] if raised else ''}: the block size is an "
                        "optional positional parameter")
            result = next((e for e in ctx.journal.for_rid(rid)
                           if e["event"] == Event.RESPOND
                           and e.get("step") == "file-wrapper-result"), None)
            if result is not None and not result["iterable"]:
                ctx.finding("WSGI-FILE-01.d", f"wsgi.file_wrapper(filelike, 4096) for {what} "
                                              f"returned a {result['type']}, which is not "
                                              "iterable")
            _judge_body(ctx, response, surplus, kind, what, overrun)
            # The probe also closed a second wrapper itself (journalled before it returned to
            # the server): where that reached its file, the wrapper's close() does what .g
            # asks, and a file left open means the server never called close() on what the
            # app returned (WSGI-RESP-06.a, judged by pep3333.close-after-response), not this
            # sentence; then the wait below decides only a detail.
            detail_only = _direct_close_reached_file(ctx, rid)
            closed = ctx.journal.wait_for(
                lambda evs: any(e["event"] == Event.FILE_CLOSE for e in evs), rid=rid,
                timeout=_DETAIL_CLOSE_WINDOW if detail_only else _CLOSE_BOUND)
            if closed is None and (detail_only or _direct_close_reached_file(ctx, rid)):
                ctx.details.setdefault("close_not_called", []).append(what)
            elif closed is None:
                ctx.finding("WSGI-FILE-01.g", f"the file's close() was not called within "
                                              f"{_CLOSE_BOUND:g}s of the response (through the "
                                              f"wrapper's close()) for {what}")


def _direct_close_reached_file(ctx: CheckContext, rid: str) -> bool:
    """Whether the probe's own close() of a second wrapper reached its file, as journalled."""
    direct = next((e for e in ctx.journal.for_rid(rid) if e["event"] == Event.RESPOND
                   and e.get("step") == "file-wrapper-close"), None)
    return direct is not None and bool(direct["reached_file"])


def _fetch(ctx: CheckContext, kind: str) -> tuple[str, Response, bytes, str | None]:
    """GET the file-wrapper response for ``kind``: the request id, the response as its own
    framing delimits it, whatever the server sent after that, and (through nginx, which cuts
    a body at its Content-Length) nginx's error-log line saying the server sent more."""
    front = ctx.front
    logged = len(front.error_log().splitlines()) if front is not None else 0
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=RESPONSE_BOUND)
    conn.send(request_bytes("GET", f"{Route.RESPOND}?mode=file-wrapper&kind={kind}",
                            ctx.base_headers(rid)))
    response = conn.read_response(timeout=RESPONSE_BOUND)
    surplus = _bytes_after(conn, response) if response.complete else b""
    conn.close()
    overrun = None
    if front is not None:
        overrun = next((line for line in front.error_log().splitlines()[logged:]
                        if _NGINX_MORE_DATA in line), None)
    return rid, response, surplus, overrun


def _bytes_after(conn: Connection, response: Response) -> bytes:
    """The bytes that followed the (first, complete) response on ``conn``: read until the
    server closes, or _SURPLUS_QUIET passes without more, or _SURPLUS_BOUND in all."""
    deadline = time.monotonic() + _SURPLUS_BOUND
    while not conn.eof and (left := deadline - time.monotonic()) > 0:
        try:
            conn.recv_some(min(_SURPLUS_QUIET, left))
        except WireTimeout:
            break
    return bytes(conn.received)[len(response.raw):]


def _judge_body(ctx: CheckContext, response: Response, surplus: bytes, kind: str,
                what: str, overrun: str | None) -> None:
    """The body as it went on the wire: the response's declared Content-Length of bytes and
    any that followed them (one request was sent, so nothing else may follow); through
    nginx, which cuts the body at Content-Length, what its error log says the server sent."""
    sent = response.body + surplus
    if response.status == 200 and sent == _EXPECTED:
        if overrun is not None:
            ctx.finding("WSGI-FILE-01.f", f"{what} at position {_START} with Content-Length "
                        f"{_LENGTH}: the client got {sent!r}, but nginx cut the server's body "
                        f"at the declared length; its error log: {overrun.split('] ', 1)[-1]}")
        return
    past = (f"{len(sent)} body bytes {sent!r}, {len(surplus)} of them past the declared "
            f"Content-Length" if surplus else f"body {response.body!r}")
    message = (f"{what} at position {_START} with Content-Length {_LENGTH}: status "
               f"{response.status or 'none'}, {past}, expected {_EXPECTED!r}")
    if response.status == 200 and _from_the_file(sent):
        ctx.finding("WSGI-FILE-01.f", message)
    else:
        ctx.finding("WSGI-FILE-01.i" if kind == "plain" else "WSGI-FILE-01.e", message)
