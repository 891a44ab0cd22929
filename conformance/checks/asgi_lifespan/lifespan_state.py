"""asgi-lifespan.rst, "Lifespan State"."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_lifespan.lifespan_servers import (
    lifespan_events,
    lifespan_server,
    state_request,
)
from conformance.context import CheckContext
from conformance.probes.contract import Event
from conformance.verdicts import Level


@check(
    id="asgi-lifespan.state",
    title="startup state reaches every request as a shallow copy",
    requirements=["ASGI-LIFE-08", "ASGI-SCOPE-08"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Lifespan State'; asgi-www.rst 'HTTP Connection Scope' (state)",
)
def state(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Lifespan State: "The server will ensure that a *shallow copy* of the
    namespace is passed into each subsequent request/response call into the application."
    (ASGI-SCOPE-08.a) and "The namespace is controlled completely by the ASGI application,
    the server will not interact with it other than to copy it." (.b); asgi-www.rst: "state
    Optional(*dict[Unicode string, Any]*) -- A copy of the namespace passed into the
    lifespan corresponding to this request." (ASGI-LIFE-08.c). All definitions of the
    feature: MUST where it is offered. A request scope without state breaks "passed into
    each subsequent request/response call" (ASGI-LIFE-08.b); one whose state lacks the value
    stored at startup is no copy of the namespace (.c). The app stores a value and an object
    in the lifespan state at startup; every request (three sub-cases: a first, a second on
    the same connection, a third on a new one) must see both, the object itself, and no
    top-level key an earlier request added. A server that offers no state does not support the
    (optional) feature: unsupported."""
    server = lifespan_server(ctx, "lifespan-state")
    scope_entry = lifespan_events(server, Event.LIFESPAN_SCOPE)[0]
    if "state" not in scope_entry["scope"]:
        ctx.unsupported("the lifespan scope has no 'state' (lifespan state not supported)")
    shared = {e["pid"]: e.get("shared_id") for e in lifespan_events(server, Event.LIFESPAN_SEND)
              if e.get("type") == "lifespan.startup.complete"}
    first, conn = state_request(ctx, server)
    second, conn = state_request(ctx, server, conn)
    conn.close()
    third, _ = state_request(ctx, server)
    added: set[str] = set()
    for label, entry in (("first request", first), ("second request, same connection", second),
                         ("third request, new connection", third)):
        with ctx.case(label):
            _judge_state(ctx, entry, shared, added)
        added.add(f"probe.added.{entry['rid']}")


def _judge_state(ctx: CheckContext, entry: dict[str, Any], shared: dict[int, Any],
                 added: set[str]) -> None:
    ctx.require(entry["present"], "ASGI-LIFE-08.b",
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
