"""Whether the server decodes a valid chunked request body for the app at all: the
preliminary of the checks that judge malformed chunk sizes (RFC 9112 7.1)."""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.wire import Connection, chunked_body, request_bytes


def decodes_chunked(ctx: CheckContext) -> bool:
    """Whether a valid chunked body reaches the app decoded. A WSGI app reads the 5 decoded
    bytes with read(5) (the server need not give it a CONTENT_LENGTH), an ASGI app gets them
    as http.request events. A preliminary: kept out of the evidence, so the reproducer stays
    the finding's request."""
    wsgi = ctx.target.interface == "wsgi"
    rid = ctx.untracked_rid()
    conn = Connection(ctx.host, ctx.port, timeout=5.0)
    conn.send(request_bytes("POST", f"{Route.INPUT}?ops=read:5" if wsgi else Route.ECHO,
                            [("Host", f"{ctx.host}:{ctx.port}"), ("X-Probe-Id", rid),
                             ("Transfer-Encoding", "chunked"), ("Connection", "close")],
                            chunked_body(b"hello")))
    response = conn.read_response(method="POST", timeout=3.0)
    conn.close()
    if response.complete and response.status != 200 and not ctx.journal.saw(rid):
        # The server answered (mod_wsgi: 411) without calling the app, which journals the
        # request before it answers: no body step can follow, so none is waited for.
        return False
    entry = ctx.journal.wait_event(rid, Event.INPUT_STEP if wsgi else Event.BODY, timeout=2.0)
    return entry is not None and entry.get("result" if wsgi else "body") == b"hello"
