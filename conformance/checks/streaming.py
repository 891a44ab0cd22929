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


def check_blocks_stream(ctx: CheckContext) -> None:
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=WAIT + 5)
    conn.send(request_bytes("GET", f"/probe/stream?blocks={BLOCKS}&wait={WAIT:g}",
                            ctx.base_headers(rid)))
    for number in range(1, BLOCKS + 1):
        marker = f"block-{number}\n".encode()
        arrived = conn.read_until(marker, timeout=WAIT + 3)
        ctx.expect(arrived, f"block {number} never reached the client "
                            f"({len(conn.received)} bytes received)")
        if number < BLOCKS:
            ctx.journal.open_gate(rid, number)
    events = ctx.journal.for_rid(rid)
    timeouts = [e["block"] for e in events if e["event"] == "gate-timeout"]
    ctx.expect(not timeouts,
               f"block(s) {timeouts} did not reach the client within {WAIT:g}s while the app "
               "waited before producing the next block: the response was buffered")
