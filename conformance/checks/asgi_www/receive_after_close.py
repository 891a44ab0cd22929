"""What the app's receive() returns after the client closed, within the suite's bound (no
checks here)."""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext
from conformance.probes.contract import Event

# The suite's own bound for http.disconnect after the client closed (no sentence gives one):
# a server learns of a closed connection from its event loop as soon as the socket reports
# EOF, and 5 s leaves room for a loaded 2-core machine. The probe app adds no wait of its own:
# it is already awaiting receive() when the client closes. A miss is reported, never failed.
DISCONNECT_BOUND = 5.0
NOT_WITHIN_BOUND = "ASGI-HTTP-03.d"  # promptness has no sentence: the suite's bound (INFO)


def _after_event(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The journal events that follow the first ``name`` event (all of them if none)."""
    index = next((i for i, e in enumerate(events) if e["event"] == name), -1)
    return events[index + 1:]


def wait_receive(ctx: CheckContext, rid: str, *, after: str,
                 final: bool = False) -> dict[str, Any] | None:
    """The first receive() event the app journalled after its ``after`` event, within
    DISCONNECT_BOUND; with ``final`` an http.request that still promises more body is passed
    over (it is part of the body being read, not the answer to the close)."""

    def answer(events: list[dict[str, Any]]) -> dict[str, Any] | None:
        for event in _after_event(events, after):
            if event["event"] != Event.RECEIVE:
                continue
            if final and event.get("type") == "http.request" and event.get("more_body"):
                continue
            return event
        return None

    events = ctx.journal.wait_for(lambda evs: answer(evs) is not None, rid=rid,
                                  timeout=DISCONNECT_BOUND)
    return answer(events) if events is not None else None
