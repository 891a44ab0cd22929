"""ASGI lifespan scope, event loop and state (asgi-lifespan.rst "Scope", "Lifespan State").

Each check starts its own server (the lifespan scope happens once per process), sends a few
requests to ``/probe/state`` and compares what the app journalled on the lifespan scope with
what it saw on the requests.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.probes.asgi_app import LIFESPAN_ENV
from conformance.servers import ServerUnderTest
from conformance.verdicts import Level
from conformance.wire import Connection, request_bytes

ASGI = ("asgi",)
# A server that runs the lifespan protocol has journalled its startup before it answered the
# readiness probe (ASGI-LIFE-01); the bound only absorbs a slow journal write.
LIFESPAN_WAIT = 2.0


def lifespan_server(ctx: CheckContext, label: str, mode: str = "normal") -> ServerUnderTest:
    """A fresh server whose app journalled its lifespan scope; unsupported when none came."""
    server = ctx.start_server(env={LIFESPAN_ENV: mode}, label=label)
    seen = server.journal.wait_for(
        lambda evs: any(e["event"] == "lifespan-send" for e in evs), rid=None,
        timeout=LIFESPAN_WAIT)
    if seen is None:
        ctx.unsupported("the server sent no lifespan scope (lifespan protocol not supported)")
    return server


def _lifespan_events(server: ServerUnderTest, name: str) -> list[dict[str, Any]]:
    return [e for e in server.journal.for_rid(None) if e["event"] == name]


def _state_request(ctx: CheckContext, server: ServerUnderTest, conn: Connection | None = None,
                   ) -> tuple[dict[str, Any], Connection]:
    rid = ctx.new_rid()
    if conn is None:
        conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", "/probe/state",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid)]))
    response = conn.read_response(timeout=5.0)
    ctx.expect(response.status == 200, f"/probe/state answered {response.status or 'nothing'}")
    entry = server.journal.wait_event(rid, "state", timeout=5.0)
    ctx.expect(entry is not None, "the request never reached the app")
    assert entry is not None
    entry["rid"] = rid
    return entry, conn


@check(
    id="asgi-lifespan.scope-keys",
    title="the lifespan scope has type \"lifespan\", asgi.version \"3.0\", and a dict state",
    requirements=["ASGI-LIFE-02"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Scope'",
)
def scope_keys(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Scope: ``type`` is ``"lifespan"``; ``asgi["version"]`` is the
    version of the ASGI spec ("3.0"); ``asgi["spec_version"]`` a str when present; ``state``
    (optional) "An empty namespace where the application can persist state to be used when
    handling subsequent requests", a dict."""
    server = lifespan_server(ctx, "lifespan-scope")
    entry = _lifespan_events(server, "lifespan-scope")[0]
    scope = entry["scope"]
    ctx.expect(scope.get("type") == "lifespan",
               f"lifespan scope['type'] is {scope.get('type')!r}, not 'lifespan'")
    asgi = scope.get("asgi")
    ctx.expect(isinstance(asgi, dict) and asgi.get("version") == "3.0",
               f"lifespan scope['asgi'] is {asgi!r}, expected version '3.0'")
    if "spec_version" in asgi:
        ctx.expect(isinstance(asgi["spec_version"], str),
                   f"lifespan scope['asgi']['spec_version'] is {asgi['spec_version']!r}")
    if "state" in scope:
        ctx.expect(entry["scope_types"]["state"] == "dict",
                   f"lifespan scope['state'] is a {entry['scope_types']['state']}, not a dict")


@check(
    id="asgi-lifespan.same-event-loop",
    title="the lifespan scope and the requests run on the same event loop",
    requirements=["ASGI-LIFE-07"],
    level=Level.SHOULD,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Scope'",
)
def same_event_loop(ctx: CheckContext) -> None:
    """asgi-lifespan.rst: "The lifespan scope exists for the duration of the event loop";
    an app that opens a connection pool at startup uses it from its request handlers, which
    only works when both run on one loop. The probe journals its running loop (process id
    and loop object) on lifespan.startup and on each request; a request's loop must be the
    loop of the lifespan scope in the same worker process."""
    server = lifespan_server(ctx, "lifespan-loop")
    startups = {e["loop"].split(":")[0]: e["loop"]
                for e in _lifespan_events(server, "lifespan-receive") if e.get("loop")}
    for _ in range(3):
        entry, conn = _state_request(ctx, server)
        conn.close()
        pid = entry["loop"].split(":")[0]
        ctx.expect(pid in startups,
                   f"the request ran in process {pid}, which received no lifespan.startup")
        ctx.expect(entry["loop"] == startups[pid],
                   f"the request ran on loop {entry['loop']}, the lifespan scope on "
                   f"{startups[pid]}")


@check(
    id="asgi-lifespan.state",
    title="startup state reaches every request as a shallow copy",
    requirements=["ASGI-LIFE-08", "ASGI-SCOPE-08"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Lifespan State'",
)
def state(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Lifespan State: "The server will ensure that a shallow copy of
    the namespace is passed into each subsequent request/response call into the
    application." The app stores a value and an object in the lifespan state at startup;
    every request must see both (the same object: a shallow copy), and a top-level key one
    request adds must be invisible to the next request on the same connection and on a new
    one. A server that offers no state at all does not support the (optional) feature."""
    server = lifespan_server(ctx, "lifespan-state")
    scope_entry = _lifespan_events(server, "lifespan-scope")[0]
    if "state" not in scope_entry["scope"]:
        ctx.unsupported("the lifespan scope has no 'state' (lifespan state not supported)")
    shared = {e["pid"]: e.get("shared_id") for e in _lifespan_events(server, "lifespan-send")
              if e.get("type") == "lifespan.startup.complete"}
    first, conn = _state_request(ctx, server)
    second, conn = _state_request(ctx, server, conn)
    conn.close()
    third, _ = _state_request(ctx, server)
    added = set()
    for label, entry in (("first request", first), ("second request, same connection", second),
                         ("third request, new connection", third)):
        ctx.expect(entry["present"], f"{label}: the request scope has no 'state' although "
                                     "the lifespan scope had one")
        ctx.expect(entry["startup"] == "set at startup",
                   f"{label}: state['probe.startup'] is {entry['startup']!r}, not the value "
                   "the app stored at startup")
        ctx.expect(entry["shared_id"] == shared.get(entry["pid"]),
                   f"{label}: state['probe.shared'] is not the object stored at startup "
                   "(a shallow copy keeps the same objects)")
        leaked = added & set(entry["keys"])
        ctx.expect(not leaked, f"{label}: sees top-level state keys {sorted(leaked)} added "
                               "by an earlier request (state is not copied per request)")
        added.add(f"probe.added.{entry['rid']}")
