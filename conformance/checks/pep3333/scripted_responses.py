"""The WSGI probe app's scripted responses (Route.RESPOND), asked for by checks of several
sections (no checks here).

The probe app's /probe/respond?mode=... shapes each response; what start_response did to the
app (returned, raised, re-raised the app's own exception) is journalled as ``respond`` events.
"""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext, Exchange
from conformance.probes.contract import Event, Route
from conformance.verdicts import HarnessError

STEP_BOUND = 5.0  # seconds for the app's journalled step; it runs right after the request
RESPONSE_BOUND = 5.0  # seconds ctx.request waits for a response (wire.Connection default)


def respond(ctx: CheckContext, mode: str, *, version: str = "HTTP/1.1",
            kind: str = "") -> Exchange:
    query = f"mode={mode}" + (f"&kind={kind}" if kind else "")
    return ctx.request("GET", f"{Route.RESPOND}?{query}", version=version)


def respond_step(ctx: CheckContext, rid: str, step: str) -> dict[str, Any] | None:
    """The app's journalled ``respond`` event for ``step``, or None when the app never got
    there within STEP_BOUND (a harness error if the request never reached the app at all)."""
    events = ctx.journal.wait_for(
        lambda evs: any(e["event"] == Event.RESPOND and e.get("step") == step for e in evs),
        rid=rid, timeout=STEP_BOUND)
    if events is None:
        ctx.observed(rid)  # a harness error naming the request if the app never saw it
        return None
    return next(e for e in events if e["event"] == Event.RESPOND and e.get("step") == step)


def required_step(ctx: CheckContext, rid: str, step: str) -> dict[str, Any]:
    """A step the probe journals before it returns to the server: missing means the suite
    could not run the check (the app itself failed), never a finding on the server."""
    found = respond_step(ctx, rid, step)
    if found is None:
        raise HarnessError(f"the probe app never journalled its {step!r} step within "
                           f"{STEP_BOUND:g}s although it received the request")
    return found
