"""The lifespan checks' own servers and what their app journalled (no checks here).

Each lifespan check starts its own server (the lifespan scope happens once per process), with a
lifespan mode of the probe app ($CONFORMANCE_LIFESPAN), and reads the lifespan scope's journal
events; some compare them with what the app saw on requests to ``/probe/state``.
"""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext
from conformance.probes.asgi_app import LIFESPAN_ENV
from conformance.probes.contract import Event, Route
from conformance.servers import ServerUnderTest
from conformance.verdicts import HarnessError
from conformance.wire import Connection, request_bytes

# A server that runs the lifespan protocol has journalled its startup before it answered the
# readiness probe (ASGI-LIFE-01); the bound only absorbs a slow journal write.
LIFESPAN_WAIT = 2.0


def lifespan_server(ctx: CheckContext, label: str, mode: str = "normal") -> ServerUnderTest:
    """A fresh server whose app journalled its lifespan scope; unsupported when none came."""
    server = ctx.start_server(env={LIFESPAN_ENV: mode}, label=label)
    seen = server.journal.wait_for(
        lambda evs: any(e["event"] == Event.LIFESPAN_SEND for e in evs), rid=None,
        timeout=LIFESPAN_WAIT)
    if seen is None:
        ctx.unsupported("the server sent no lifespan scope (lifespan protocol not supported)")
    return server


def lifespan_events(server: ServerUnderTest, name: str) -> list[dict[str, Any]]:
    """The journal events named ``name`` of the lifespan scope (no request id)."""
    return [e for e in server.journal.for_rid(None) if e["event"] == name]


def first_index(events: list[dict[str, Any]], predicate: Any) -> int | None:
    """The position of the first event ``predicate`` holds for (journal order), if any."""
    return next((i for i, e in enumerate(events) if predicate(e)), None)


def state_request(ctx: CheckContext, server: ServerUnderTest, conn: Connection | None = None,
                  ) -> tuple[dict[str, Any], Connection]:
    """GET /probe/state (on ``conn`` if given): what the app journalled of scope["state"].
    A request that never reaches the app leaves nothing to judge: a harness error."""
    rid = ctx.new_rid()
    if conn is None:
        conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", Route.STATE,
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid)]))
    response = conn.read_response(timeout=5.0)
    entry = server.journal.wait_event(rid, Event.STATE, timeout=5.0)
    if entry is None:
        raise HarnessError(f"GET {Route.STATE} never reached the app (the server answered "
                           f"{response.status or 'nothing'})")
    entry["rid"] = rid
    return entry, conn
