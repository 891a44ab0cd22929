"""A response with a pipelined follow-up request behind it, and the stray bytes that show a
response left something on the connection (no checks here).

The probe app (``/probe/respond?case=...``, conformance/probes/asgi_respond.py) sends the
events; the client reads the bytes. Where a response could leave stray bytes behind, a
pipelined follow-up request on the same connection shows whether the next response still
starts where it should.
"""

from __future__ import annotations

from conformance.checks.support.common import problems_text
from conformance.context import CheckContext
from conformance.probes.asgi_respond import MARKER
from conformance.probes.contract import Route
from conformance.wire import Connection, Response, request_bytes

FOLLOW_UP_BODY = b"ready\n"


def pipelined(ctx: CheckContext, method: str, target: str,
              rid: str) -> tuple[Connection, Response, Response | None]:
    """Send ``method target`` and a follow-up GET /probe/ready in one write; both responses
    (the second None when the server closed after the first, which is valid framing)."""
    first = request_bytes(method, target, ctx.base_headers(rid))
    follow = request_bytes("GET", Route.READY, [("Host", f"{ctx.host}:{ctx.port}"),
                                                ("Connection", "close")])
    conn = ctx.connect()
    conn.send(first + follow)
    response = conn.read_response(method=method, timeout=5.0)
    second = None
    if response.complete and response.keeps_alive() and not conn.eof:
        second = conn.read_response(timeout=5.0)
    elif response.complete and not conn.eof:
        conn.read_until_close(timeout=2.0)
    return conn, response, second


def stray_bytes(conn: Connection, second: Response | None) -> list[str]:
    """What shows bytes left where none belong: the app's marker on the wire, or a pipelined
    follow-up whose response does not start where the first one ended."""
    return [found for found in (marker_on_wire(conn), follow_up_misplaced(conn, second))
            if found]


def marker_on_wire(conn: Connection) -> str | None:
    """The app's marker bytes among what the client received (content that was sent)."""
    if MARKER in bytes(conn.received):
        return f"the app's bytes {MARKER!r} reached the client"
    return None


def follow_up_misplaced(conn: Connection, second: Response | None) -> str | None:
    """A pipelined follow-up whose response does not start where the first one ended (the
    first was not terminated where its framing says)."""
    # (A server may close instead of answering the pipelined request: nothing stray.)
    closed_instead = second is not None and second.status == 0 and not second.raw and conn.eof
    answered = second is not None and second.status == 200 and second.body == FOLLOW_UP_BODY
    if second is not None and not closed_instead and not answered:
        return (f"the pipelined follow-up request got status {second.status}, body "
                f"{second.body[:60]!r} ({problems_text(second)}), not 200 "
                f"{FOLLOW_UP_BODY!r}: bytes were left on the connection before it")
    return None
