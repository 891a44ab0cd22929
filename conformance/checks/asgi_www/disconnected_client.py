"""asgi-www.rst, "Disconnected Client - send exception"."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_www.receive_after_close import (
    DISCONNECT_BOUND,
    NOT_WITHIN_BOUND,
    wait_receive,
)
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level
from conformance.wire import request_bytes

# How long send() on the closed connection may take: a no-op or a raise is immediate, and the
# probe app does nothing between its receive() and that send().
SEND_BOUND = 3.0


def _spec_version(scope: dict[str, Any]) -> str:
    asgi = scope.get("asgi") or {}
    return str(asgi.get("spec_version") or "2.0")


def _at_least(version: str, wanted: tuple[int, int]) -> bool:
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


@check(
    id="asgi-www.send-after-disconnect",
    title="send() after the client disconnected raises OSError (spec_version >= 2.4) or is a no-op",
    requirements=["ASGI-HTTP-04", "ASGI-HTTP-03"],
    level=Level.SHOULD,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Disconnected Client - send exception'",
)
def send_after_disconnect(ctx: CheckContext) -> None:
    """asgi-www.rst, Disconnected Client: "If send() is called on a closed connection the
    server should raise a server-specific subclass of OSError. This is not guaranteed,
    however, especially on older ASGI server implementations (it was introduced in spec
    version 2.4)." asgi.rst, Error Handling: "If no error condition is specified, the send
    awaitable callable should act as a no-op." The app streams, the client closes, the app's
    receive() returns, and the app calls send() again.

    Judged against the scope's asgi.spec_version: from 2.4 send() should raise an OSError
    subclass (ASGI-HTTP-04.a, SHOULD); below 2.4 it should be a no-op, so raising something
    other than the 2.4 OSError breaks ASGI-HTTP-04.d (SHOULD); a send() still pending after
    3 s is neither. No receive() answer within 5 s of the close leaves send() untried: that
    is reported with the bound (ASGI-HTTP-03.d, INFO)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", Route.SEND_AFTER_DISCONNECT, ctx.base_headers(rid)))
    ctx.observed(rid, Event.AWAITING_RECEIVE)
    conn.read_until(b"started", timeout=1.0)
    conn.close()
    ctx.require(wait_receive(ctx, rid, after=Event.AWAITING_RECEIVE) is not None, NOT_WITHIN_BOUND,
                f"no http.disconnect within {DISCONNECT_BOUND:g}s after the client closed "
                "mid-response (no spec sentence gives a bound; this is the suite's), so the app "
                "never called send() after it")
    entry = ctx.journal.wait_event(rid, Event.SEND_AFTER_DISCONNECT, timeout=SEND_BOUND)
    version = _spec_version(_scope_of_another_request(ctx))
    if entry is None:
        ctx.finding("ASGI-HTTP-04.a" if _at_least(version, (2, 4)) else "ASGI-HTTP-04.d",
                    f"spec_version {version}: send() on the closed connection had neither "
                    f"raised nor returned after {SEND_BOUND:g}s")
    elif _at_least(version, (2, 4)) and not (entry["raised"] and entry["is_oserror"]):
        ctx.finding("ASGI-HTTP-04.a", f"spec_version {version}: send() after disconnect "
                    + (f"raised {entry['error']}, not an OSError subclass" if entry["raised"]
                       else "returned normally instead of raising an OSError subclass"))
    elif entry["raised"] and not entry["is_oserror"]:
        ctx.finding("ASGI-HTTP-04.d", f"spec_version {version}: send() after disconnect raised "
                                      f"{entry['error']}; below 2.4 it should be a no-op (or, "
                                      "at most, raise the 2.4 OSError)")


def _scope_of_another_request(ctx: CheckContext) -> dict[str, Any]:
    """The scope of a fresh request (its asgi.spec_version is what the server declares)."""
    rid = ctx.new_rid()
    ctx.request("GET", "/scope/spec-version", rid=rid)
    scope: dict[str, Any] = ctx.observed(rid)["scope"]
    return scope
