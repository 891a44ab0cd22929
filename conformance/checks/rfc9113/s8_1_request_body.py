"""RFC 9113 8.1 "HTTP Message Framing" with asgi-www.rst "Request - receive event": the
request content reaches the app as the stream's DATA frames, and END_STREAM ends it (H2-02)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.h2_wire import H2Client
from conformance.probes.contract import Event
from conformance.verdicts import Level

PATH = "/h2/body"  # the probe's echo: journals each receive() and then the whole body
STEP_WAIT = 1.0  # seconds the app has to show a DATA frame before the next is sent
END_BOUND = 5.0  # seconds after END_STREAM for the app's last http.request (the suite's)
AFTER_RESET = 2.0  # seconds for the app's event after the suite gives a stalled stream up


def _receives(ctx: CheckContext, rid: str) -> list[dict[str, Any]]:
    return [e for e in ctx.journal.for_rid(rid) if e["event"] == Event.RECEIVE]


def _is_final(event: dict[str, Any]) -> bool:
    return event.get("type") == "http.request" and not event.get("more_body")


def _shown(events: list[dict[str, Any]]) -> str:
    return ", ".join(f"{e.get('type')}({e.get('size')} bytes, more_body "
                     f"{e.get('more_body')})" if e.get("type") == "http.request"
                     else str(e.get("type")) for e in events) or "none"


def _shown_up_to(sent: int) -> Callable[[list[dict[str, Any]]], bool]:
    """Whether the app's receive() events hold ``sent`` bytes, or ended the body."""
    def shown(events: list[dict[str, Any]]) -> bool:
        receives = [e for e in events if e["event"] == Event.RECEIVE]
        return sum(e.get("size") or 0 for e in receives) >= sent or any(map(_is_final,
                                                                             receives))
    return shown


def _send_stepwise(ctx: CheckContext, client: H2Client, stream_id: int, rid: str,
                   frames: list[bytes], empty_end: bool) -> None:
    """Send ``frames`` one at a time, END_STREAM on the last (or on an empty DATA frame
    after them), giving the app STEP_WAIT to show each one. An http.request with more_body
    False before END_STREAM was sent tells the app the body ended while the client still
    had content to send: .d (ends the sub-case)."""
    sent = 0
    for index, frame in enumerate(frames):
        last = index == len(frames) - 1 and not empty_end
        if index:
            events = ctx.journal.wait_for(_shown_up_to(sent), rid=rid, timeout=STEP_WAIT) or []
            finals = [e for e in events if e["event"] == Event.RECEIVE and _is_final(e)]
            ctx.require(not finals, "H2-02.d",
                        f"after {sent} of {sum(map(len, frames))} bytes in DATA frames "
                        "without END_STREAM, the app got an http.request with more_body "
                        f"False (events: {_shown(_receives(ctx, rid))})")
        client.send_data(stream_id, frame, end_stream=last)
        sent += len(frame)
    if empty_end:
        client.send_data(stream_id, b"", end_stream=True)


def _judge_end(ctx: CheckContext, client: H2Client, stream_id: int, rid: str,
               frames: list[bytes]) -> None:
    """After END_STREAM: one http.request with more_body False (.c), and the bodies add up
    to the DATA frames (.a)."""
    ctx.observed(rid, Event.REQUEST)  # a request that never reached the app has no events
    ended = ctx.journal.wait_for(
        lambda evs: any(e["event"] == Event.RECEIVE and (
            _is_final(e) or e.get("type") != "http.request") for e in evs),
        rid=rid, timeout=END_BOUND)
    if ended is None or not any(_is_final(e) for e in _receives(ctx, rid)):
        if ended is None:
            # Give the stream up, so that the app's pending receive() shows what it gets.
            client.reset(stream_id)
            ctx.journal.wait_for(lambda evs: any(
                e["event"] == Event.RECEIVE and e.get("type") != "http.request" for e in evs),
                rid=rid, timeout=AFTER_RESET)
        ctx.finding("H2-02.c", f"the request ended with END_STREAM after "
                               f"{sum(map(len, frames))} bytes of DATA; the app's receive() "
                               f"never gave more_body False (events: "
                               f"{_shown(_receives(ctx, rid))}"
                               + (f"; none within {END_BOUND:g}s, then the suite reset the "
                                  "stream)" if ended is None else ")"))
        return
    client.response(stream_id)
    body_entry = ctx.journal.wait_event(rid, Event.BODY, timeout=END_BOUND)
    body = body_entry.get("body") if body_entry else None
    expected = b"".join(frames)
    if body != expected:
        ctx.finding("H2-02.a", f"the DATA frames carried {expected!r} "
                               f"({[len(f) for f in frames]} bytes); the app's http.request "
                               f"bodies concatenate to {body!r} (events: "
                               f"{_shown(_receives(ctx, rid))})")


@check(
    id="rfc9113.request-body-data-frames",
    title="over HTTP/2 the http.request bodies are the stream's DATA frames; END_STREAM "
          "gives more_body False",
    requirements=["H2-02"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 9113 8.1; asgi-www.rst 'Request - receive event'",
    needs=("h2",),
)
def request_body_data_frames(ctx: CheckContext) -> None:
    """RFC 9113 8.1: "HTTP/2 uses DATA frames to carry message content." (H2-02.a) and
    "The request ends with a frame with the END_STREAM flag set" (.c); asgi-www.rst, Request:
    more_body "Signifies if there is additional content to come (as part of a Request
    message)." (.d). All definitions of what the server hands the app: MUST.

    Three sub-cases, each on a connection of its own, to the probe's echo (it journals every
    receive()): a body in three DATA frames, each sent once the app has shown the one before
    (or after 1 s), END_STREAM on the last; a body whose END_STREAM comes on an empty DATA
    frame; a POST whose HEADERS frame carries END_STREAM (no DATA). Findings: the
    concatenated bodies are not the DATA frames' content (.a); more_body False while the
    client had not yet sent END_STREAM (.d); no more_body False after END_STREAM, within 5 s
    or before another event (.c: when none came in 5 s the suite resets the stream and
    reports what the app got)."""
    for name, frames, empty_end in (("three DATA frames", [b"first-", b"second-", b"third"],
                                     False),
                                    ("END_STREAM on an empty DATA frame", [b"abc"], True),
                                    ("END_STREAM on HEADERS", [], False)):
        with ctx.case(name):
            # A connection per sub-case: a stream an earlier sub-case left open (its request
            # ended early) cannot stand in the way of this one's.
            client = ctx.http2()
            rid = ctx.new_rid()
            extra = [(b"content-type", b"application/octet-stream")]
            stream_id = client.request(ctx.h2_headers(rid, "POST", PATH, extra),
                                       end_stream=not frames)
            _send_stepwise(ctx, client, stream_id, rid, frames, empty_end)
            _judge_end(ctx, client, stream_id, rid, frames)
