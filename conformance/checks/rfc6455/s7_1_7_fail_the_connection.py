"""RFC 6455 7.1.7, "Fail the WebSocket Connection", for the client errors that oblige a server to
fail the connection (5.1 an unmasked frame, 5.2 a reserved opcode or RSV bit, 8.1 invalid UTF-8
in a text message): the connection ends, with a Close frame of an appropriate code, and the
offending data never reaches the app."""

from __future__ import annotations

import time

from conformance.catalogue import check
from conformance.checks.asgi_www.websocket_receive import app_messages
from conformance.checks.support.websocket import (
    open_websocket,
    received_text,
    wait_app_message,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.probes.contract import WsRoute
from conformance.verdicts import Level
from conformance.websocket_wire import (
    BINARY,
    INVALID_PAYLOAD,
    NO_STATUS_RECEIVED,
    PROTOCOL_ERROR,
    TEXT,
    frame,
)

# How long the suite waits for the server to end the connection: it acts on the frame at
# once; this only absorbs a loaded machine (the suite's bound).
FAIL_BOUND = 5.0
# How long the server has to act on the invalid frame before a valid message follows it.
FOLLOW_UP_AFTER = 1.0
# (sub-case, the frame, the sentence that obliges the server to fail, the codes appropriate)
ERRORS: tuple[tuple[str, bytes, str, tuple[int, ...]], ...] = (
    ("unmasked frame", frame(BINARY, b"unmasked", masked=False), "ASGI-WS-08.a",
     (PROTOCOL_ERROR,)),
    ("reserved opcode 0x3", frame(0x3, b"reserved"), "ASGI-WS-08.c", (PROTOCOL_ERROR,)),
    ("RSV1 set with no extension", frame(BINARY, b"rsv", rsv=4), "ASGI-WS-08.d",
     (PROTOCOL_ERROR,)),
    ("invalid UTF-8 in a text frame", frame(TEXT, b"caf\xc3\x28 invalid"), "ASGI-WS-08.e",
     (INVALID_PAYLOAD, PROTOCOL_ERROR)),
)


@check(
    id="rfc6455.fail-the-connection",
    title="an unmasked frame, a reserved opcode or RSV bit, invalid UTF-8: the server fails the "
          "connection and the app never gets the message",
    requirements=["ASGI-WS-08"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 6455 7.1.7 Fail the WebSocket Connection; 5.1; 5.2; 8.1",
)
def fail_the_connection(ctx: CheckContext) -> None:
    """RFC 6455 5.1: "The server MUST close the connection upon receiving a frame that is not
    masked." (ASGI-WS-08.a; the Close frame with 1002 is a MAY there, .b); 5.2: "If an unknown
    opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_." (.c) and
    the same for a nonzero RSV bit no negotiated extension defines (.d; the client offers no
    extension); 8.1: invalid UTF-8 in a text message (.e). To fail it, "the server MUST _Close
    the WebSocket Connection_" (7.1.7): the connection must end within 5 s (the suite's
    bound). 7.1.7: "the endpoint SHOULD send a Close frame with an appropriate status code
    (Section 7.4) before proceeding to _Close the WebSocket Connection_." (.f, SHOULD: 1002,
    and 1007 or 1002 for UTF-8; not owed for the unmasked frame, where 5.1 makes it a MAY), and
    "An endpoint MUST NOT continue to attempt to process data ... after being instructed to
    _Fail the WebSocket Connection_." (.g: the app gets no websocket.receive for the bad frame
    nor for a valid text message sent 1 s after it to a server that has not acted by then)."""
    for name, bad, ref, codes in ERRORS:
        with ctx.case(name):
            session = open_websocket(ctx, WsRoute.RECEIVE_ONLY)
            websocket_scope(ctx, session)
            session.client.send_raw(bad)
            # The follow-up goes only to a server that has not acted yet: sent into a closed
            # connection it would draw a TCP reset, which can discard the server's Close frame
            # before the client reads it.
            got = session.client.until({"eof"}, FOLLOW_UP_AFTER)
            if not (session.conn.eof or got):
                session.client.send_text("sent after the invalid frame")
            # Whatever came in that second (a Close frame, bytes no frame parses), the
            # connection gets FAIL_BOUND more to end: a server that sends its Close at once
            # and closes TCP after our echo is judged on the full bound, never on the 1 s.
            # ``until`` also stops at an "error" item, so read on to the deadline or the end.
            deadline = time.monotonic() + FAIL_BOUND
            while not (session.conn.eof or any(item.kind == "eof" for item in got)):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                more = session.client.until({"eof"}, left)
                if not more:
                    break
                got += more
            close = next((item for item in got if item.kind == "close"), None)
            ended = session.conn.eof or any(item.kind == "eof" for item in got)
            wait_app_message(ctx, session.rid, "websocket.disconnect", timeout=1.0)
            messages = app_messages(ctx, session.rid)
            if messages:
                # An unmasked frame is not one RFC 6455 5.1 says to _Fail the WebSocket
                # Connection_ for (.g): it says to close (.a), which processing it breaks.
                ctx.finding("ASGI-WS-08.a" if ref == "ASGI-WS-08.a" else "ASGI-WS-08.g",
                            f"after the {name} the app received "
                            f"{[_short(m) for m in messages]}")
            if not ended:
                ctx.finding(ref, f"after the {name} the connection was still open "
                            f"{FAIL_BOUND:g}s later; the server sent: "
                            f"{received_text(session.conn)}")
            elif close is None and ref != "ASGI-WS-08.a":
                ctx.finding("ASGI-WS-08.f", f"after the {name} the server closed the connection "
                            "without a Close frame")
            elif close is not None and close.code not in codes and ref != "ASGI-WS-08.a":
                # A Close frame with no body reads as 1005 (RFC 6455 7.1.5): no code was sent.
                said = "no status code" if close.code == NO_STATUS_RECEIVED else (
                    f"code {close.code}")
                ctx.finding("ASGI-WS-08.f", f"after the {name} the server's Close frame has "
                            f"{said}, not {' or '.join(map(str, codes))}")


def _short(message: dict[str, object]) -> str:
    text = repr(message)
    return text if len(text) <= 100 else text[:97] + "..."
