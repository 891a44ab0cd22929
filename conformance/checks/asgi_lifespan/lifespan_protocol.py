"""asgi-lifespan.rst, "Lifespan Protocol" (the introduction)."""

from __future__ import annotations

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
    id="asgi-lifespan.same-event-loop",
    title="the lifespan scope and the requests run on the same event loop",
    requirements=["ASGI-LIFE-07"],
    level=Level.SHOULD,
    interfaces=("asgi",),
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
                for e in lifespan_events(server, Event.LIFESPAN_RECEIVE) if e.get("loop")}
    for number in range(1, 4):
        with ctx.case(f"request {number}"):
            entry, conn = state_request(ctx, server)
            conn.close()
            pid = entry["loop"].split(":")[0]
            if pid not in startups:
                ctx.finding("ASGI-LIFE-07.a", f"the request ran in process {pid}, which "
                                              "received no lifespan.startup")
            elif entry["loop"] != startups[pid]:
                ctx.finding("ASGI-LIFE-07.a", f"the request ran on loop {entry['loop']}, the "
                                              f"lifespan scope on {startups[pid]}")
