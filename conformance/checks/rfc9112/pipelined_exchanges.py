"""Pipelined exchanges on one connection (RFC 9112 9.3): a request sent with a follow-up
marker request in the same write, so a response that leaks bytes or a body parsed as a request
shows up; and the judge of pipelined requests a connection left unanswered."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from conformance.checks.support.final_responses import finals
from conformance.context import CheckContext
from conformance.desync import MARKER_PATH, announces_close, request_line
from conformance.wire import (
    Connection,
    Response,
    WireTimeout,
    parse_response,
    parse_responses,
)

READ = 3.0  # seconds for pipelined answers (or the close) on a correct server
RECV_STEP = 0.05  # seconds one read waits for bytes before the deadline is looked at again


def read_until_done(conn: Connection, done: Callable[[], bool], timeout: float,
                    methods: list[str]) -> None:
    """Read until ``done()`` holds, the server closes, or ``timeout`` seconds pass with no
    new complete final response to the pipelined requests (``methods``): the deadline runs
    afresh from each one, since a server can answer a pipelined request only after the
    answers before it, so each answer owed gets ``timeout`` from the moment it could first
    come (the send for the first)."""
    deadline = time.monotonic() + timeout
    answers = 0
    while not (conn.eof or done()):
        now = time.monotonic()
        count = sum(r.status >= 200 and r.complete
                    for r in parse_responses(bytes(conn.received), methods, eof=False))
        if count > answers:
            answers, deadline = count, max(deadline, now + timeout)
        if now >= deadline:
            return
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(min(RECV_STEP, max(deadline - now, 0.001)))


def marker_answered_after_leak(responses: list[Response]) -> bool:
    """The first response is complete, bytes that are no response follow it (a leaked body),
    and after them a complete final response starts: the pipelined marker's answer. The
    parse stops at the leaked bytes, so it never counts that answer itself."""
    if len(responses) < 2 or responses[0].status < 200 or not responses[0].complete:
        return False
    leaked = responses[1]
    if leaked.status:
        return False
    start = leaked.raw.find(b"HTTP/1.", 1)
    if start < 0:
        return False
    answer, _ = parse_response(leaked.raw[start:])
    return answer is not None and answer.status >= 200 and answer.complete


def pipeline(ctx: CheckContext, first: bytes, method: str, *, follow: bool = True,
             first_rid: str | None = None) -> tuple[Connection, list[Response], str]:
    """Send ``first`` and (optionally) a marker request in one write; read both answers or
    until the server closes. Returns the connection, the parsed responses, the marker id.
    ``first_rid`` (the first request's id): also done when the first response leaked bytes
    and the marker's complete answer follows them, once the app journalled the first
    request (so it was not the marker alone that the server answered): nothing more is
    owed, and a caller that finds the leak judges neither the close nor the count."""
    marker_rid = ctx.new_rid()
    host = f"{ctx.host}:{ctx.port}".encode()
    data = first + (request_line(b"GET", MARKER_PATH, host, marker_rid) if follow else b"")
    conn = ctx.connect(timeout=READ + 1)
    conn.send(data)
    wanted = 2 if follow else 1
    methods = [method, "GET"]

    def answered() -> bool:
        complete = [r for r in parse_responses(bytes(conn.received), methods, eof=False)
                    if r.status >= 200 and r.complete]
        if len(complete) >= wanted:
            return True
        if complete and not complete[0].keeps_alive():
            # It announced the close: read to the close to catch leaked bytes, bounded by
            # READ, the bound the HTTP-13.g finding names (a server that closes ends it).
            with contextlib.suppress(OSError):
                conn.read_until_close(timeout=READ)
            return True
        return (first_rid is not None and follow and marker_answered_after_leak(
                parse_responses(bytes(conn.received), methods, eof=False))
                and ctx.journal.saw(first_rid))

    read_until_done(conn, answered, READ, methods)
    responses = parse_responses(bytes(conn.received), methods, eof=conn.eof)
    return conn, responses, marker_rid


def dropped(seen: list[bool], answered: int) -> list[int]:
    """The positions of pipelined requests (in the order sent, ``seen``: whether the app
    journalled each) that the app never saw although a later one reached it, where fewer
    answers than requests came: the server dropped them unanswered (bjoern answers only the
    last request of one read), so the answers it sent belong to the later requests. A server
    that answered every request (a 400 of its own to an earlier one) dropped nothing."""
    if answered >= len(seen) or True not in seen:
        return []
    last_seen = len(seen) - 1 - seen[::-1].index(True)
    return [i for i in range(last_seen) if not seen[i]]


def unanswered(ctx: CheckContext, conn: Connection, responses: list[Response],
               wanted: int, what: str, *, closed_too: bool = False) -> None:
    """Fewer than ``wanted`` answers after a response that did not announce "close": the
    server promised persistence (9112 9.3: one that does not support it MUST send "close").
    Judged when the connection was left open after READ seconds, or with ``closed_too`` also
    when the server closed it with the pipelined request unanswered."""
    final = finals(responses)
    if not final or len(final) >= wanted or (conn.eof and not closed_too):
        return
    last = final[-1]
    if announces_close(last):
        if not conn.eof:
            ctx.finding("HTTP-13.g", f"{what}: the response announced \"Connection: close\", "
                                     f"but the connection was still open after {READ:g} s")
    elif last.keeps_alive():
        how = ("then the server closed the connection" if conn.eof else
               f"the connection was left open for {READ:g} s")
        ctx.finding("HTTP-13.c", f"{what}: the {last.version} response did not announce "
                                 f"\"close\", yet only {len(final)} of {wanted} pipelined "
                                 f"requests were answered and {how}")
