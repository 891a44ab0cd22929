"""PEP 3333, "Specification Details"."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import respond
from conformance.checks.support.endless_stream import (
    CLOSE_BOUND,
    DISCONNECT_CLOSE_BOUND,
    ENDLESS_PATH,
    ENDLESS_SECONDS,
    FIRST_BLOCK_BOUND,
)
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route
from conformance.verdicts import HarnessError, Level
from conformance.wire import Connection, request_bytes

# The keys /probe/taint adds to its environ after journalling it.
_TAINT_HTTP_KEY = "HTTP_X_CONFORMANCE_TAINT"
_TAINT_EXTRA_KEY = "conformance.taint"


@check(
    id="pep3333.fresh-dict",
    title="environ is a built-in dict; keys the app added do not reach the next request",
    requirements=["WSGI-ENV-01"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Specification Details' (environ must be a builtin Python dictionary)",
)
def fresh_dict(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "This object must be a builtin Python dictionary
    (*not* a subclass, UserDict or other dictionary emulation), and the application is allowed
    to modify the dictionary in any way it desires." (WSGI-ENV-01.a, MUST). The app adds
    HTTP_X_CONFORMANCE_TAINT and conformance.taint to one request's environ; the next request,
    on the same keep-alive connection and on a new one, is looked at. No sentence asks for a
    fresh dict as such: a leaked HTTP_ key breaks "The presence or absence of these variables
    should correspond with the presence or absence of the appropriate HTTP header in the
    request." (WSGI-ENV-01.b, SHOULD); a leaked key of another name is an extra key no sentence
    forbids, reported (WSGI-ENV-01.c, INFO)."""
    conn = ctx.connect()
    first = ctx.new_rid()
    conn.send(request_bytes("GET", Route.TAINT, ctx.base_headers(first)))
    response = conn.read_response()
    if not response.keeps_alive():
        # Nothing more is sent on it; a server that closes gracefully (gunicorn's sync worker)
        # would wait up to 2 s for the client's close before taking the new connection.
        conn.close()
    entry = ctx.observed(first)
    if not entry["environ_is_dict"]:
        ctx.finding("WSGI-ENV-01.a", f"environ is a {entry['environ_type']}, not a builtin "
                                     "dict")
    for where, rid in _followers(ctx, conn, keeps_alive=response.keeps_alive()):
        with ctx.case(where):
            _judge_leaks(ctx, where, ctx.observed(rid)["environ"])


def _followers(ctx: CheckContext, conn: Connection, *,
               keeps_alive: bool) -> list[tuple[str, str]]:
    """The requests sent after the tainted one: (where, request id)."""
    followers = []
    if keeps_alive:
        same = ctx.new_rid()
        try:
            conn.send(request_bytes("GET", "/after-taint", ctx.base_headers(same)))
            again = conn.read_response()
        except OSError:
            again = None
        # A server may close an idle connection it did not mark "close" (uWSGI's
        # --http-socket does); then there is no second request on it to look at.
        if again is not None and again.status:
            followers.append(("the same connection", same))
    followers.append(("a new connection", ctx.request("GET", "/after-taint").rid))
    return followers


def _judge_leaks(ctx: CheckContext, where: str, environ: dict[str, Any]) -> None:
    if _TAINT_HTTP_KEY in environ:
        ctx.finding("WSGI-ENV-01.b", f"the next request on {where} (sent without an "
                                     f"X-Conformance-Taint header) has {_TAINT_HTTP_KEY}: the "
                                     "key the app added to the previous request's environ")
    if _TAINT_EXTRA_KEY in environ:
        ctx.finding("WSGI-ENV-01.c", f"the next request on {where} has {_TAINT_EXTRA_KEY!r}, "
                                     "a key the app added to the previous request's environ")


def _expect_close(ctx: CheckContext, rid: str, situation: str,
                  bound: float = CLOSE_BOUND) -> None:
    """A finding unless close() is called within ``bound``. How many times it had been called
    when the first call was seen is recorded in the details: no sentence says it must not be
    called twice, so no finding rests on the count and a later second call is not waited for."""
    events = ctx.journal.wait_for(lambda evs: any(e["event"] == Event.CLOSE for e in evs), rid=rid,
                                  timeout=bound)
    if events is None:
        ctx.finding("WSGI-RESP-06.a", f"{situation}: the iterable's close() was not called "
                                      f"within {bound:g}s")
        return
    ctx.details["close_calls"] = sum(e["event"] == Event.CLOSE for e in events)


@check(
    id="pep3333.close-after-response",
    title="the iterable's close() is called after a normal response",
    requirements=["WSGI-RESP-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Specification Details' (close() of the returned iterable)",
)
def close_after_response(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "If the iterable returned by the application has a
    close() method, the server or gateway must call that method upon completion of the current
    request, whether the request was completed normally, or terminated early due to an
    application error during iteration or an early disconnect of the browser"
    (WSGI-RESP-06.a). No sentence forbids a second call: the number of calls is recorded."""
    exchange = ctx.request("GET", "/close/normal")
    ctx.details["status"] = exchange.response.status
    _expect_close(ctx, exchange.rid, "after a normal response")


@check(
    id="pep3333.close-after-error",
    title="the iterable's close() is called when iteration raises",
    requirements=["WSGI-RESP-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Specification Details' (close() ... application error during iteration)",
)
def close_after_error(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: close() must be called "whether the request was
    completed normally, or terminated early due to an application error during iteration"
    (WSGI-RESP-06.a)."""
    exchange = ctx.request("GET", Route.RAISE_IN_ITER)
    ctx.observed(exchange.rid, Event.RAISE.value)
    _expect_close(ctx, exchange.rid, "after an exception raised during iteration")


@check(
    id="pep3333.close-after-disconnect",
    title="the iterable's close() is called when the client goes away mid-stream",
    requirements=["WSGI-RESP-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Specification Details' (close() ... early disconnect of the browser)",
)
def close_after_disconnect(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: close() must be called when the request was
    "terminated early due to an application error during iteration or an early disconnect of
    the browser" (WSGI-RESP-06.a). The
    client resets the connection after the first block of an endless stream; the server
    notices on its next write and must call close(); at the latest when the stream ends by
    itself (after ENDLESS_SECONDS), so the bound is that plus CLOSE_BOUND."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=FIRST_BLOCK_BOUND)
    conn.send(request_bytes("GET", ENDLESS_PATH, ctx.base_headers(rid)))
    if not conn.read_until(b"started", timeout=FIRST_BLOCK_BOUND):
        raise HarnessError(f"the stream's first block did not arrive within "
                           f"{FIRST_BLOCK_BOUND:g}s: there was no stream to disconnect from")
    conn.abort()
    _expect_close(ctx, rid, "after the client reset the connection mid-stream (the app's "
                  f"stream ends by itself after {ENDLESS_SECONDS:g}s)",
                  bound=DISCONNECT_CLOSE_BOUND)


@check(
    id="pep3333.start-response-in-iterable",
    title="an iterable that calls start_response in its first __next__ works",
    requirements=["WSGI-RESP-03"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Specification Details' (AppClass; start_response called by the iterable)",
)
def start_response_in_iterable(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "this invocation may be performed by the iterable's
    first iteration, so servers must not assume that start_response() has been called before
    they begin iterating over the iterable" (WSGI-RESP-03.a; the PEP's AppClass example calls
    start_response in its first __next__)."""
    response = respond(ctx, "start-in-iter").response
    if not (response.status == 200 and response.header("x-started") == b"in-next"
            and response.body == b"started in __next__\n"):
        ctx.finding("WSGI-RESP-03.a", f"status {response.status}, X-Started "
                                      f"{response.header('x-started')!r}, body "
                                      f"{response.body!r}; expected the response started "
                                      "inside __next__")
