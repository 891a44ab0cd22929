"""asgi-www.rst "Response Body - send event" over HTTP/2, and RFC 9113 5.2 "Flow Control"
(H2-05): each http.response.body goes out as DATA before the app produces the next, and never
beyond the window the client gave.

The probe app's gated stream (checks/support/streaming.py has the mechanism): block n+1 is
produced only once the client opened gate n, which it does as soon as block n arrived in a
DATA frame; a block held back shows as a gate timeout in the journal, not as a time measured
here.
"""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.support.streaming import ARRIVAL_BOUND, BLOCKS, WAIT
from conformance.context import CheckContext
from conformance.h2_wire import H2Client, H2Stream
from conformance.probes.contract import Event, Route
from conformance.verdicts import HarnessError, Level

# The stream window of the flow-control sub-case: smaller than one block, so every block
# needs WINDOW_UPDATEs to get through.
SMALL_WINDOW = 40
SETTLE = 0.3  # seconds the client waits, with its window used up, for DATA that must not come


def _block(number: int) -> bytes:
    """Block ``number`` of /probe/stream as the probe app produces it."""
    return f"block-{number}\n".encode() + b"." * 64 + b"\n"


EXPECTED = b"".join(_block(n) for n in range(1, BLOCKS + 1))


def _unchunked(body: bytes) -> bytes | None:
    """``body`` decoded as the HTTP/1.1 chunked coding, or None when it is not that."""
    out, rest = bytearray(), body
    while True:
        size_line, crlf, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            return None
        if not crlf:
            return None
        if size == 0:
            return bytes(out)
        out += rest[:size]
        rest = rest[size + 2:]


def _judge_body(ctx: CheckContext, label: str, stream: H2Stream) -> None:
    """The DATA of a complete stream against the app's three blocks."""
    if stream.body == EXPECTED:
        return
    if _unchunked(stream.body) == EXPECTED:
        ctx.finding("H2-05.c", f"{label}: the DATA frames carry the app's blocks in the "
                               f"HTTP/1.1 chunked coding ({stream.body[:40]!r}...), not as the "
                               "content itself")
    else:
        ctx.finding("H2-05.b", f"{label}: the DATA frames add up to {len(stream.body)} bytes "
                               f"{stream.body[:100]!r}, not the app's {len(EXPECTED)} bytes "
                               f"of {BLOCKS} blocks")


def _gated_blocks(ctx: CheckContext) -> None:
    client = ctx.http2(timeout=ARRIVAL_BOUND + 2)
    rid = ctx.new_rid()
    stream_id = client.request(
        ctx.h2_headers(rid, "GET", f"{Route.STREAM}?blocks={BLOCKS}&wait={WAIT:g}"))
    stream = client.streams[stream_id]
    for number in range(1, BLOCKS + 1):
        marker = f"block-{number}\n".encode()

        def arrived(marker: bytes = marker) -> bool:
            return marker in stream.body

        came = client.wait(arrived, ARRIVAL_BOUND)
        # The wait ends early only when the connection closed or was not valid HTTP/2.
        early = None if came else client.ended_early(stream, stream_end=False)
        ctx.require(came, "H2-05.a",
                    f"block {number} did not reach the client: {early}" if early else
                    f"block {number} did not reach the client within {ARRIVAL_BOUND:g}s "
                    f"({len(stream.body)} bytes of DATA came)")
        if number < BLOCKS:
            ctx.journal.open_gate(rid, number)
    client.response(stream_id, ARRIVAL_BOUND)
    timeouts = [e["block"] for e in ctx.journal.for_rid(rid) if e["event"] == Event.GATE_TIMEOUT]
    if timeouts:
        ctx.finding("H2-05.a", f"block(s) {timeouts} did not reach the client as DATA within "
                               f"{WAIT:g}s while the app waited before producing the next "
                               "block: the response was held back")
    if stream.ended:
        _judge_body(ctx, "gated blocks", stream)


def _within_window(ctx: CheckContext, client: H2Client, stream_id: int, granted: int) -> bool:
    """A finding when the server sent more DATA on the stream than the client allowed."""
    sent = sum(len(d) for d in client.data_on(stream_id))
    if sent > granted:
        ctx.finding("H2-05.d", f"the server sent {sent} bytes of DATA on the stream while the "
                               f"client's window allowed {granted} (initial window "
                               f"{SMALL_WINDOW}, then WINDOW_UPDATEs)")
        return False
    return True


def _small_window(ctx: CheckContext) -> None:
    """The client advertises a stream window of SMALL_WINDOW bytes and opens it by that much
    each time the server has used it up; the gates open as blocks arrive."""
    client = ctx.http2(timeout=ARRIVAL_BOUND + 2)
    if not client.use_window(SMALL_WINDOW):
        raise HarnessError(f"the server did not acknowledge SETTINGS_INITIAL_WINDOW_SIZE="
                           f"{SMALL_WINDOW} within 5 s: the window the check relies on is "
                           "not known to be in force")
    rid = ctx.new_rid()
    stream_id = client.request(
        ctx.h2_headers(rid, "GET", f"{Route.STREAM}?blocks={BLOCKS}&wait={WAIT:g}"))
    stream = client.streams[stream_id]
    granted, opened = SMALL_WINDOW, 0

    def progress() -> bool:
        """The stream closed, the window is used up, or the next gate's block came."""
        return (stream.closed or len(stream.body) >= granted
                or (opened + 1 < BLOCKS and f"block-{opened + 1}\n".encode() in stream.body))

    while not stream.closed and not client.protocol_error:
        if not client.wait(progress, ARRIVAL_BOUND):
            break  # nothing more came within the bound although the window was open
        for number in range(opened + 1, BLOCKS):
            if f"block-{number}\n".encode() in stream.body:
                ctx.journal.open_gate(rid, number)
                opened = number
        if len(stream.body) >= granted and not stream.closed:
            # The window is used up: whatever comes now, before the update, is beyond it.
            client.wait(lambda: stream.closed or client.protocol_error != "", SETTLE)
            if not _within_window(ctx, client, stream_id, granted):
                return
            client.open_window(stream_id, SMALL_WINDOW)
            granted += SMALL_WINDOW
    if not _within_window(ctx, client, stream_id, granted):
        return
    ctx.details["small_window"] = {"granted": granted, "received": len(stream.body),
                                   "ended": stream.ended}
    if not stream.ended:
        ctx.finding("H2-05.a", f"with a {SMALL_WINDOW}-byte window opened as it was used, "
                               f"the response stopped after {len(stream.body)} bytes of DATA "
                               f"for {ARRIVAL_BOUND:g}s although the window allowed "
                               f"{granted}; the app's body is {len(EXPECTED)} bytes")
        return
    _judge_body(ctx, f"a {SMALL_WINDOW}-byte window", stream)


@check(
    id="rfc9113.streaming",
    title="over HTTP/2 each http.response.body reaches the client as DATA before the next "
          "is produced, within the client's flow-control window",
    requirements=["H2-05"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 9113 5.2.1, 8.1; asgi-www.rst 'Response Body - send event'",
    needs=("h2",),
)
def streaming(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Body: "Protocol servers must flush any data passed to them into
    the send buffer before returning from a send call." (H2-05.a) and body is "Concatenated
    onto any previous body values sent in this connection scope." (.b, a definition); RFC
    9113 8.1: "HTTP/2 uses DATA frames to carry message content." (.c); 5.2.1: "A sender MUST
    respect flow-control limits imposed by a receiver." (.d).

    Two sub-cases. Gated blocks: each of the app's three blocks must arrive in DATA before
    the app produces the next (a gate timeout in the journal, or a block that never came, is
    .a); the DATA must add up to the app's blocks (.b), the HTTP/1.1 chunked coding inside
    DATA is .c. A small window: the client advertises SETTINGS_INITIAL_WINDOW_SIZE 40 (less
    than one block) and sends a WINDOW_UPDATE of 40 each time the server has used the window
    up, after waiting 0.3 s for DATA beyond it: DATA beyond the window is .d; a response that
    stops for 7 s while the window is open is .a (held back); one that ends without adding
    up to the app's blocks (what did not fit the window thrown away) is .b. The flow-control
    wait is the client's doing, so a gate timeout there is not judged."""
    with ctx.case("gated blocks"):
        _gated_blocks(ctx)
    with ctx.case("a small flow-control window"):
        _small_window(ctx)
