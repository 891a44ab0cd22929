"""Streaming, shared by the WSGI and ASGI response checks: does each block reach the client
before the app produces the next one?

The probe app's /probe/stream produces block n+1 only once the harness opens gate n, which it
does as soon as block n has arrived on the socket; if a block does not arrive, the app gives up
waiting after ``wait`` seconds and journals a gate timeout. A buffering server therefore shows
up as a gate timeout in the journal, independent of machine speed: no arrival-time threshold.
"""

from __future__ import annotations

from conformance.context import CheckContext
from conformance.wire import request_bytes

BLOCKS = 3
WAIT = 4.0  # seconds the app waits for block n to arrive before producing block n+1
# How long the client waits for a block: longer than the app's own wait, so that a block the
# app produced late (after a gate timeout) still counts as arrived, only late.
ARRIVAL_BOUND = WAIT + 3


def check_blocks_stream(ctx: CheckContext, requirement: str) -> None:
    """Stream BLOCKS gated blocks; every block that did not arrive in time is a finding on
    ``requirement`` (a catalogue reference such as "ASGI-HTTP-05", chosen by the caller for
    its interface and path). The check goes on after a late block; a block that never
    arrived ends it, since the later blocks wait on its gate."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=ARRIVAL_BOUND + 2)
    conn.send(request_bytes("GET", f"/probe/stream?blocks={BLOCKS}&wait={WAIT:g}",
                            ctx.base_headers(rid)))
    for number in range(1, BLOCKS + 1):
        marker = f"block-{number}\n".encode()
        arrived = conn.read_until(marker, timeout=ARRIVAL_BOUND)
        ctx.require(arrived, requirement,
                    f"block {number} did not reach the client: "
                    + (f"the server closed the connection after {len(conn.received)} bytes"
                       if conn.eof else
                       f"not within {ARRIVAL_BOUND:g}s ({len(conn.received)} bytes received)")
                    + _through(ctx))
        if number < BLOCKS:
            ctx.journal.open_gate(rid, number)
    events = ctx.journal.for_rid(rid)
    timeouts = [e["block"] for e in events if e["event"] == "gate-timeout"]
    if timeouts:
        ctx.finding(requirement, f"block(s) {timeouts} did not reach the client within {WAIT:g}s "
                                 "while the app waited before producing the next block: the "
                                 f"response was held back{_through(ctx)}")


def _through(ctx: CheckContext) -> str:
    """Through nginx a held block may be nginx's doing as well as the server's: say so."""
    if ctx.via != "nginx":
        return ""
    return " (through nginx: nginx or the server held it; the direct cell tells which)"
