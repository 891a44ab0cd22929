"""The nginx deployment, a client abort through nginx reaches the app (PROXY-03)."""

from __future__ import annotations

import time
from typing import Any

from conformance.catalogue import check
from conformance.checks.asgi_www.disconnected_client import (
    SEND_BOUND,
    _at_least,
    _scope_of_another_request,
    _spec_version,
)
from conformance.checks.support.endless_stream import (
    DISCONNECT_CLOSE_BOUND,
    ENDLESS_PATH,
    ENDLESS_SECONDS,
)
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.verdicts import HarnessError, Level
from conformance.wire import request_bytes

# ASGI: the event loop sees the closed upstream socket at once, so http.disconnect later than
# this is slow (RFC 9112 9.5, SHOULD: no number); none within the limit is reported as not
# delivered. The probe app awaits receive() with no deadline of its own.
ASGI_DISCONNECT_BOUND = 5.0
ASGI_DISCONNECT_LIMIT = 20.0
# The response must start before there is anything to disconnect from. The WSGI probe's stream
# ends by itself after ENDLESS_SECONDS, so even a server that holds the whole stream back has
# sent its first bytes by then.
STARTED_BOUND = ENDLESS_SECONDS + 5.0
# WSGI: a server writes a block every 10 ms, so a write fails soon after nginx closed the
# upstream connection; a stream that still ran to its end this long after the abort was not
# stopped (PROXY-03.d). A stream ending sooner after the abort is not judged.
REACTION_BOUND = 1.5


ABORTED = "the client reset its connection to nginx"


def judge_disconnect_asgi(ctx: CheckContext, rid: str, since: float, what: str = ABORTED) -> None:
    """The ASGI app, awaiting receive(), must get http.disconnect after ``what`` (the
    client's abort, at monotonic time ``since``): none within ASGI_DISCONNECT_LIMIT is
    PROXY-03.b, later than ASGI_DISCONNECT_BOUND PROXY-03.d; then send() once more."""
    def delivered(events: list[dict[str, Any]]) -> bool:
        return any(e["event"] == Event.RECEIVE and e.get("type") == "http.disconnect"
                   for e in events)

    if ctx.journal.wait_for(delivered, rid=rid, timeout=ASGI_DISCONNECT_BOUND) is not None:
        send_after_disconnect(ctx, rid)
        return
    late = ctx.journal.wait_for(delivered, rid=rid,
                                timeout=ASGI_DISCONNECT_LIMIT - ASGI_DISCONNECT_BOUND)
    if late is None:
        ctx.finding("PROXY-03.b", f"the app, awaiting receive(), got no http.disconnect within "
                    f"{ASGI_DISCONNECT_LIMIT:g}s after {what}")
        return
    ctx.finding("PROXY-03.d", f"http.disconnect reached the app only "
                f"{time.monotonic() - since:.1f}s after {what} (more than "
                f"{ASGI_DISCONNECT_BOUND:g}s)")
    send_after_disconnect(ctx, rid)


def send_after_disconnect(ctx: CheckContext, rid: str) -> None:
    """The probe app calls send() once more after its http.disconnect: from spec_version 2.4
    the server should raise an OSError subclass (PROXY-03.c); below 2.4 the sentence did not
    exist yet, so nothing is judged."""
    with ctx.case("send() after the disconnect"):
        entry = ctx.journal.wait_event(rid, Event.SEND_AFTER_DISCONNECT, timeout=SEND_BOUND)
        version = _spec_version(_scope_of_another_request(ctx))
        if not _at_least(version, (2, 4)):
            return
        if entry is None:
            ctx.finding("PROXY-03.c", f"spec_version {version}: send() on the connection nginx "
                        f"closed had neither raised nor returned after {SEND_BOUND:g}s")
        elif not (entry["raised"] and entry["is_oserror"]):
            ctx.finding("PROXY-03.c", f"spec_version {version}: send() on the connection nginx "
                        "closed " + (f"raised {entry['error']}, not an OSError subclass"
                                     if entry["raised"] else "returned normally instead of "
                                     "raising an OSError subclass"))


def judge_disconnect_wsgi(ctx: CheckContext, rid: str, what: str = ABORTED) -> None:
    """close() must be called after ``what`` (PROXY-03.a, called right after it), before the
    app's stream ran to its end (PROXY-03.d otherwise, when the stream ended at least
    REACTION_BOUND after ``what``: the stream's ENDLESS_SECONDS run from its start, so a
    stream that started late ends soon after the abort and leaves too little time to tell)."""
    aborted = time.time()  # the journal's clock ("t")
    seen = ctx.journal.wait_for(lambda evs: any(e["event"] == Event.CLOSE for e in evs),
                                rid=rid, timeout=DISCONNECT_CLOSE_BOUND)
    if seen is None:
        ctx.finding("PROXY-03.a", f"close() was not called within {DISCONNECT_CLOSE_BOUND:g}s "
                    f"after {what}, although the app's stream ends by itself after "
                    f"{ENDLESS_SECONDS:g}s")
        return
    # The probe journals "endless-finished" only when its stream runs to its end: a server
    # that acted on the closed connection stops iterating (close()) before that.
    finished = next((e for e in ctx.journal.for_rid(rid)
                     if e["event"] == Event.ENDLESS_FINISHED), None)
    if finished is None:
        return
    after = finished["t"] - aborted
    if after < REACTION_BOUND:
        ctx.details["stream_ended_after_abort"] = (
            f"{after:.2f}s after {what}: less than {REACTION_BOUND:g}s to notice, not judged")
        return
    ctx.finding("PROXY-03.d", f"the server went on iterating the app's stream to its end "
                f"({after:.1f}s of blocks) after {what}, and called close() only then")


@check(
    id="deployment.disconnect",
    title="a client abort through nginx reaches the app (http.disconnect / close())",
    requirements=["PROXY-03"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    section="asgi-www.rst 'Disconnect - receive event'; PEP 3333 'Specification Details' "
            "(close()); RFC 9112 section 9.5",
)
def disconnect(ctx: CheckContext) -> None:
    """Through nginx (buffering off) the client resets its connection mid-response; nginx
    closes the upstream connection. WSGI, PEP 3333 (PROXY-03.a): close() "must" be called
    "upon completion of the current request", including one "terminated early due to an
    application error during iteration or an early disconnect of the browser"; the app's
    stream ends by itself after ENDLESS_SECONDS, so the request has completed by then and
    the bound is that plus support.endless_stream.CLOSE_BOUND. ASGI, asgi-www.rst (PROXY-03.b, a
    definition of the event the server produces): http.disconnect is "Sent to the
    application if receive is called after a response has been sent or after the HTTP
    connection has been closed." No spec gives a time bound: none within
    ASGI_DISCONNECT_LIMIT is reported on PROXY-03.b. A server that tells the app late
    (ASGI: after ASGI_DISCONNECT_BOUND; WSGI: close() only once the stream ran to its end)
    is reported on the promptness sentence of RFC 9112 9.5 (PROXY-03.d, SHOULD):
    "Implementations SHOULD constantly monitor open connections for a received closure
    signal". Once http.disconnect came, the ASGI app calls send() again (sub-case "send()
    after the disconnect"): asgi-www.rst (PROXY-03.c, SHOULD) "If send() is called on a closed
    connection the server should raise a server-specific subclass of OSError.", judged for a
    server whose scope declares spec_version 2.4 or later (where the sentence was
    introduced), as asgi-www.send-after-disconnect does on a direct connection."""
    rid = ctx.new_rid()
    asgi = ctx.target.interface == "asgi"
    target = Route.SEND_AFTER_DISCONNECT if asgi else ENDLESS_PATH
    conn = ctx.connect(timeout=STARTED_BOUND)
    conn.send(request_bytes("GET", target, ctx.base_headers(rid)))
    if not conn.read_until(b"started", timeout=STARTED_BOUND):
        # Not a disconnect matter (the streaming checks judge held-back blocks).
        raise HarnessError(f"the response to GET {target} did not start through nginx "
                           + (f"(the connection closed after {len(conn.received)} bytes)"
                              if conn.eof else f"within {STARTED_BOUND:g}s")
                           + ": nothing to disconnect from")
    conn.abort()
    aborted = time.monotonic()
    if asgi:
        judge_disconnect_asgi(ctx, rid, aborted)
    else:
        judge_disconnect_wsgi(ctx, rid)
