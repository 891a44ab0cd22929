"""asgi-www.rst, "Receive - receive event" and "Send - send event": data messages, whole and in
order, with exactly one of text / bytes, both ways; fixed edge cases and generated sequences."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.catalogue import check
from conformance.checks.support.common import check_settings
from conformance.checks.support.websocket import (
    JOURNAL_BOUND,
    app_events,
    open_websocket,
    received_text,
    wait_app_message,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.probes.asgi_websocket import INLINE_LIMIT, SIZES_END
from conformance.probes.contract import WsRoute
from conformance.verdicts import Level
from conformance.websocket_wire import CONTINUATION, TEXT, WebSocketClient, frame

if TYPE_CHECKING:
    from hypothesis import strategies as st

# Payload sizes across the frame-length encodings of RFC 6455 5.2 (7-bit, 16-bit, 64-bit).
EDGE_SIZES = (0, 125, 126, 65535, 65536)
ECHO_BOUND = 5.0  # the echo comes at once; this only absorbs a loaded machine


@dataclass(frozen=True)
class Sent:
    """One data message the client sends: its payload and where it is cut into frames."""

    payload: str | bytes
    cuts: tuple[int, ...] = ()

    @property
    def kind(self) -> str:
        return "text" if isinstance(self.payload, str) else "bytes"

    def describe(self) -> str:
        shown = self.payload if len(self.payload) <= 40 else (
            f"{len(self.payload)} {'characters' if self.kind == 'text' else 'bytes'}")
        return f"{self.kind} {shown!r}" + (f" in frames cut at {list(self.cuts)}"
                                           if self.cuts else "")


def send(client: WebSocketClient, message: Sent) -> None:
    if isinstance(message.payload, str):
        client.send_text(message.payload, message.cuts)
    else:
        client.send_bytes(message.payload, message.cuts)


def as_journalled(payload: str | bytes) -> Any:
    """A payload the way the probe journals it (large ones as kind, size and sha256)."""
    if len(payload) <= INLINE_LIMIT:
        return payload
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    return {"kind": type(payload).__name__, "size": len(payload),
            "sha256": hashlib.sha256(raw).hexdigest()}


Difference = tuple[str, str]  # (sentence ref, what was wrong)


def judge_messages(sent: Sequence[Sent], got: Sequence[dict[str, Any]],
                   echoed: Sequence[Any]) -> list[Difference]:
    """Each sent message reached the app as one websocket.receive, in order, whole, with
    exactly one of text / bytes set and of the frame's type; and what the app received and
    echoed came back to the client as sent (the send direction, judged against what the app
    sent, so a message lost on the way in is not blamed on the way out)."""
    found: list[Difference] = []
    if len(got) != len(sent):
        found.append(("ASGI-WS-04.b", f"the client sent {len(sent)} data messages "
                      f"({', '.join(m.describe() for m in sent)}); the app received "
                      f"{len(got)} websocket.receive events: {[_short(e) for e in got]}"))
    else:
        for number, (message, event) in enumerate(zip(sent, got, strict=True), 1):
            found += _judge_one(f"message {number} ({message.describe()})", message, event)
    app_sent = [event.get("text") if event.get("text") is not None else event.get("bytes")
                for event in got]
    if [as_journalled(e) for e in echoed] != app_sent:
        found.append(("ASGI-WS-04.h", "the app sent back each message it received "
                      f"({[_short(v) for v in app_sent]}); the client got "
                      f"{[_short(e) for e in echoed]}"))
    return found


def _judge_one(where: str, message: Sent, event: dict[str, Any]) -> list[Difference]:
    text, data = event.get("text"), event.get("bytes")
    if (text is None) == (data is None):
        return [("ASGI-WS-04.e", f"{where}: websocket.receive has text={_short(text)} and "
                 f"bytes={_short(data)}; exactly one must be non-None")]
    if message.kind == "bytes" and data is None:
        return [("ASGI-WS-04.f", f"{where}: a binary message reached the app as "
                 f"text={_short(text)}")]
    if message.kind == "text" and text is None:
        return [("ASGI-WS-04.g", f"{where}: a text message reached the app as "
                 f"bytes={_short(data)}")]
    value = text if text is not None else data
    if value != as_journalled(message.payload):
        return [("ASGI-WS-04.a" if message.cuts else "ASGI-WS-04.d",
                 f"{where}: the app received {_short(value)}")]
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Sent after the messages of an exchange: its echo marks the end of the echoes, so a message
# the server lost is seen at once, without waiting out ECHO_BOUND for it.
END_OF_EXCHANGE = "probe: end of the exchange"


def exchange(ctx: CheckContext, messages: Sequence[Sent], *, tracked: bool = True,
             at: tuple[str, int] | None = None) -> list[Difference]:
    """Send ``messages`` to the echo (on the check's path, or ``at`` an nginx variant), then
    the end marker; the differences between what was sent and what the app received and
    echoed (the marker left out of both)."""
    session = open_websocket(ctx, WsRoute.ECHO, tracked=tracked, at=at)
    try:
        websocket_scope(ctx, session)
        for message in messages:
            send(session.client, message)
        session.client.send_text(END_OF_EXCHANGE)
        echoed = read_data(session.client, until=END_OF_EXCHANGE)
        got = wait_app_message(ctx, session.rid, "websocket.receive", count=len(messages) + 1,
                               timeout=JOURNAL_BOUND) or app_messages(ctx, session.rid)
        session.client.close()
    finally:
        if not tracked:
            session.conn.close()
    return judge_messages(messages, _without_marker(got, len(messages)),
                          _without_marker(echoed, len(messages)))


def _without_marker(items: list[Any], count: int) -> list[Any]:
    """What came before the end marker: the marker itself is dropped, also where the server
    changed it as it changed the messages (then it is the one item too many)."""
    if not items:
        return []
    last = items[-1]
    payloads = [last.get("text"), last.get("bytes")] if isinstance(last, dict) else [last]
    is_marker = any(p in (END_OF_EXCHANGE, END_OF_EXCHANGE.encode()) for p in payloads)
    return list(items[:-1]) if is_marker or len(items) == count + 1 else list(items)


def read_data(client: WebSocketClient, count: int = 0, *,
              until: str | None = None) -> list[str | bytes]:
    """The next ``count`` data messages, or those before the text ``until`` (pings and pongs
    skipped); fewer at a close, the end or the deadline."""
    data: list[str | bytes] = []
    while until is not None or len(data) < count:
        item = client.next(ECHO_BOUND)
        if item is None or item.kind in ("close", "eof", "error"):
            break
        # The marker may come back as bytes from a server that turns text into bytes.
        if until is not None and item.data in (until, until.encode()):
            break
        if item.kind in ("text", "bytes"):
            data.append(item.data)
    return data


def app_messages(ctx: CheckContext, rid: str) -> list[dict[str, Any]]:
    """The websocket.receive messages the app journalled so far."""
    return [e["message"] for e in app_events(ctx, rid)
            if e["message"].get("type") == "websocket.receive"]


def record(ctx: CheckContext, differences: list[Difference]) -> None:
    for ref, text in differences:
        ctx.finding(ref, text)


@check(
    id="asgi-www.ws-messages",
    title="text and bytes messages (empty, fragmented, at frame-length edges) reach the app whole, "
          "in order, with exactly one of text/bytes",
    requirements=["ASGI-WS-04"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Receive - receive event'; RFC 6455 5.4",
)
def ws_messages(ctx: CheckContext) -> None:
    """asgi-www.rst, Receive: "Sent to the application when a data message is received from the
    client." (ASGI-WS-04.b: one event per message), "Exactly one of bytes or text must be
    non-None." (.e), ``bytes`` "The message content, if it was binary mode" (.f), ``text``
    "The message content, if it was text mode" (.g); "WebSocket protocol servers should handle
    message fragmentation themselves, and deliver complete messages to the application." (.a,
    SHOULD); RFC 6455 5.4: "Clients and servers MUST support receiving both fragmented and
    unfragmented messages." (.c) and the message received is "the concatenation of the
    "Application data" of the fragments" (.d). Sub-cases: a text and a bytes message; empty
    text and empty bytes (messages too); a text message in three frames and one whose UTF-8
    sequence is cut between two frames; bytes of 0, 125, 126, 65535 and 65536 (the 7-, 16- and
    64-bit length encodings); the app's own messages of those sizes to the client. Every
    message is echoed by the app: Send is "Sent by the application to send a data message to
    the client." (.h: the client receives each one, of its kind, empty ones too)."""
    with ctx.case("text and bytes"):
        record(ctx, exchange(ctx, [Sent("hello"), Sent(b"\x00\x01binary\xff")]))
    with ctx.case("empty text and empty bytes"):
        record(ctx, exchange(ctx, [Sent(""), Sent(b"")]))
    with ctx.case("fragmented messages"):
        record(ctx, exchange(ctx, [Sent("fragmented message", (4, 11)),
                                   Sent(b"fragmented bytes", (1, 2))]))
    with ctx.case("UTF-8 cut between frames"):
        _utf8_across_frames(ctx)
    with ctx.case("sizes at the frame-length edges, client to app"):
        record(ctx, exchange(ctx, [Sent(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
                                   for size in EDGE_SIZES]))
    with ctx.case("sizes at the frame-length edges, app to client"):
        _app_sizes(ctx)


def _utf8_across_frames(ctx: CheckContext) -> None:
    """"café" with the two bytes of "é" in two frames: valid, since only the whole message
    must be UTF-8 (RFC 6455 8.1 judges the byte stream, not each frame)."""
    session = open_websocket(ctx, WsRoute.ECHO)
    websocket_scope(ctx, session)
    session.client.send_raw(frame(TEXT, b"caf\xc3", fin=False)
                            + frame(CONTINUATION, b"\xa9", fin=True))
    echoed = read_data(session.client, 1)
    closed = next((r for r in session.client.received if r.kind == "close"), None)
    got = wait_app_message(ctx, session.rid, "websocket.receive") or []
    session.client.close()
    if closed is not None:
        ctx.finding("ASGI-WS-04.c", f"the server closed with {closed.code} {closed.reason!r} on "
                    "a valid text message whose UTF-8 sequence spans two frames: "
                    f"{received_text(session.conn)}")
        return
    record(ctx, judge_messages([Sent("café", (4,))], got, echoed))


def _app_sizes(ctx: CheckContext) -> None:
    sizes = ",".join(str(size) for size in EDGE_SIZES)
    for kind in ("bytes", "text"):
        session = open_websocket(ctx, f"{WsRoute.SEND_SIZES}?sizes={sizes}&kind={kind}")
        websocket_scope(ctx, session)
        # The app ends its messages with the end marker (asgi_websocket.SIZES_END).
        got = read_data(session.client, until=SIZES_END)
        session.client.close()
        fill = "t" if kind == "text" else b"b"
        expected = [fill * size for size in EDGE_SIZES]
        if got != expected:
            ctx.finding("ASGI-WS-04.h", f"the app sent {kind} messages of {list(EDGE_SIZES)}; "
                        f"the client received {[_size_of(g) for g in got]}")


def _size_of(data: str | bytes) -> str:
    return f"{type(data).__name__} of {len(data)}"


def sent_messages() -> st.SearchStrategy[list[Sent]]:
    """Sequences of text (any Unicode, empty included) and bytes messages, some cut into
    frames: the valid traffic RFC 6455 allows a client."""
    from hypothesis import strategies as st

    text = st.text(max_size=300)
    data = st.binary(max_size=300)

    @st.composite
    def message(draw: st.DrawFn) -> Sent:
        payload: str | bytes = draw(st.one_of(text, data))
        cuts = draw(st.lists(st.integers(1, max(len(payload) - 1, 1)), max_size=3)
                    ) if len(payload) > 1 else []
        return Sent(payload, tuple(sorted(set(cuts))))

    return st.lists(message(), min_size=1, max_size=6)


@check(
    id="asgi-www.ws-generated-messages",
    title="generated sequences of text and bytes messages reach the app exactly and come back "
          "intact",
    requirements=["ASGI-WS-04"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Receive - receive event'; 'Send - send event'",
)
def ws_generated_messages(ctx: CheckContext) -> None:
    """The sentences of asgi-www.ws-messages, for generated traffic: sequences of text (any
    Unicode, including empty) and bytes messages, some cut into several frames, sent to the
    echo. The oracle is the traffic itself: the app's journal holds exactly the messages sent,
    in order, each with exactly one of text / bytes (ASGI-WS-04.b, .d, .e, .f, .g; .a where a
    message was fragmented), and the echo returns them intact. Hypothesis shrinks a failure to
    a minimal sequence."""
    from hypothesis import given

    failure: dict[str, Any] = {}

    @check_settings(ctx.harness.examples)
    @given(sent_messages())
    def property_(messages: list[Sent]) -> None:
        differences = exchange(ctx, messages, tracked=False)
        if differences:
            failure.update(messages=messages, differences=differences)
            raise _Mismatch(differences[0][1])

    try:
        property_()
    except _Mismatch:
        # Hypothesis has shrunk to a minimal sequence: sent once more, on the record, its
        # differences are the findings and its bytes the evidence.
        shown = ", ".join(m.describe() for m in failure["messages"])
        again = exchange(ctx, failure["messages"]) or failure["differences"]
        for ref, text in again:
            ctx.finding(ref, f"{text} (minimal generated sequence: {shown})")


class _Mismatch(Exception):
    """A generated sequence the server did not carry exactly (Hypothesis shrinks it)."""
