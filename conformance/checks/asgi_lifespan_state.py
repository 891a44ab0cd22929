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
from conformance.verdicts import HarnessError, Level
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
    """GET /probe/state (on ``conn`` if given): what the app journalled of scope["state"].
    A request that never reaches the app leaves nothing to judge: a harness error."""
    rid = ctx.new_rid()
    if conn is None:
        conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", "/probe/state",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid)]))
    response = conn.read_response(timeout=5.0)
    entry = server.journal.wait_event(rid, "state", timeout=5.0)
    if entry is None:
        raise HarnessError(f"GET /probe/state never reached the app (the server answered "
                           f"{response.status or 'nothing'})")
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
    section="asgi-lifespan.rst 'Scope'; asgi.rst 'Applications', 'Version History'",
)
def scope_keys(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Scope: "type (*Unicode string*) -- "lifespan"." (ASGI-LIFE-02.c;
    asgi.rst: "In scopes, the type key must be a Unicode string", .b); "asgi["version"]
    (*Unicode string*) -- The version of the ASGI spec." (.d) and asgi.rst's "scope["asgi"]
    will also be present as a dictionary containing a scope["asgi"]["version"] key that
    corresponds to the ASGI version the server implements" (.e): the probe app is a single
    callable, and "3.0 (2019-03-04): Changed to single-callable application style" (.j), so
    the version is "3.0"; "asgi["spec_version"] (*Unicode string*) -- The version of this spec
    being used." (.i); "state Optional(*dict[Unicode string, Any]*) -- An empty namespace
    where the application can persist state to be used when handling subsequent requests."
    (.f). Definitions and two musts: all MUST."""
    server = lifespan_server(ctx, "lifespan-scope")
    entry = _lifespan_events(server, "lifespan-scope")[0]
    scope = entry["scope"]
    kind = scope.get("type")
    if not isinstance(kind, str):
        ctx.finding("ASGI-LIFE-02.b", f"lifespan scope['type'] is {kind!r}, not a str")
    elif kind != "lifespan":
        ctx.finding("ASGI-LIFE-02.c", f"lifespan scope['type'] is {kind!r}, not 'lifespan'")
    asgi = scope.get("asgi")
    ctx.require(isinstance(asgi, dict), "ASGI-LIFE-02.e",
                f"lifespan scope['asgi'] is {asgi!r}, not a dict")
    assert isinstance(asgi, dict)
    version = asgi.get("version")
    if not isinstance(version, str):
        ctx.finding("ASGI-LIFE-02.d", f"lifespan scope['asgi']['version'] is {version!r}, "
                                      "not a str")
    elif version != "3.0":
        ctx.finding("ASGI-LIFE-02.j", f"lifespan scope['asgi']['version'] is {version!r} "
                                      "although the server calls the app as a single callable "
                                      "(ASGI 3.0)")
    if "spec_version" in asgi and not isinstance(asgi["spec_version"], str):
        ctx.finding("ASGI-LIFE-02.i", f"lifespan scope['asgi']['spec_version'] is "
                                      f"{asgi['spec_version']!r}, not a str")
    if "state" in scope and entry["scope_types"]["state"] != "dict":
        ctx.finding("ASGI-LIFE-02.f", f"lifespan scope['state'] is a "
                                      f"{entry['scope_types']['state']}, not a dict")


@check(
    id="asgi-lifespan.same-event-loop",
    title="the lifespan scope and the requests run on the same event loop",
    requirements=["ASGI-LIFE-07"],
    level=Level.SHOULD,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Lifespan Protocol' (introduction)",
)
def same_event_loop(ctx: CheckContext) -> None:
    """asgi-lifespan.rst: "Lifespans should be executed once per event loop that will be
    processing requests." (ASGI-LIFE-07.a, SHOULD). The sentences after it ("In a
    multi-process environment there will be lifespan events in each process"; "The
    important part is that lifespans and requests are run in the same event loop") explain
    that should and add no keyword, so a request whose loop ran no lifespan is a SHOULD. The
    probe journals its running loop (process id and loop object) on lifespan.startup and on
    each of three requests (one sub-case each)."""
    server = lifespan_server(ctx, "lifespan-loop")
    startups = {e["loop"].split(":")[0]: e["loop"]
                for e in _lifespan_events(server, "lifespan-receive") if e.get("loop")}
    for number in range(1, 4):
        with ctx.case(f"request {number}"):
            entry, conn = _state_request(ctx, server)
            conn.close()
            pid = entry["loop"].split(":")[0]
            if pid not in startups:
                ctx.finding("ASGI-LIFE-07.a", f"the request ran in process {pid}, which "
                                              "received no lifespan.startup")
            elif entry["loop"] != startups[pid]:
                ctx.finding("ASGI-LIFE-07.a", f"the request ran on loop {entry['loop']}, the "
                                              f"lifespan scope on {startups[pid]}")


@check(
    id="asgi-lifespan.state",
    title="startup state reaches every request as a shallow copy",
    requirements=["ASGI-LIFE-08", "ASGI-SCOPE-08"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Lifespan State'; asgi-www.rst 'HTTP Connection Scope' (state)",
)
def state(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Lifespan State: "The server will ensure that a *shallow copy* of
    the namespace is passed into each subsequent request/response call into the
    application." (ASGI-SCOPE-08.a) and "The namespace is controlled completely by the ASGI
    application, the server will not interact with it other than to copy it." (.b);
    asgi-www.rst: "state Optional(*dict[Unicode string, Any]*) -- A copy of the namespace
    passed into the lifespan corresponding to this request." (ASGI-LIFE-08.c). All
    definitions of the feature: MUST where it is offered. The app stores a value and an
    object in the lifespan state at startup; every request (three sub-cases: a first, a
    second on the same connection, a third on a new one) must see both, the object itself,
    and no top-level key an earlier request added. A server that offers no state does not
    support the (optional) feature: unsupported."""
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
    added: set[str] = set()
    for label, entry in (("first request", first), ("second request, same connection", second),
                         ("third request, new connection", third)):
        with ctx.case(label):
            _judge_state(ctx, entry, shared, added)
        added.add(f"probe.added.{entry['rid']}")


def _judge_state(ctx: CheckContext, entry: dict[str, Any], shared: dict[int, Any],
                 added: set[str]) -> None:
    ctx.require(entry["present"], "ASGI-LIFE-08.c",
                "the request scope has no 'state' although the lifespan scope had one")
    if entry["startup"] != "set at startup":
        ctx.finding("ASGI-LIFE-08.c", f"state['probe.startup'] is {entry['startup']!r}, not "
                                      "the value the app stored at startup")
    if entry["shared_id"] != shared.get(entry["pid"]):
        ctx.finding("ASGI-SCOPE-08.b", "state['probe.shared'] is not the object stored at "
                                       "startup (a shallow copy keeps the same objects)")
    leaked = added & set(entry["keys"])
    if leaked:
        ctx.finding("ASGI-SCOPE-08.a", f"the request sees top-level state keys {sorted(leaked)} "
                                       "added by an earlier request (state is not copied per "
                                       "request)")
