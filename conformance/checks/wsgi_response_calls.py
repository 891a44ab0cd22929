"""WSGI start_response() and write() (PEP 3333 "The start_response() Callable", "The write()
Callable", "Specification Details", "Error Handling").

The probe app's /probe/respond?mode=... shapes each response; what start_response did to the
app (returned, raised, re-raised the app's own exception) is journalled as ``respond`` events.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext, Exchange
from conformance.verdicts import HarnessError, Level

WSGI = ("wsgi",)
STEP_BOUND = 5.0  # seconds for the app's journalled step; it runs right after the request


def respond(ctx: CheckContext, mode: str, *, version: str = "HTTP/1.1",
            kind: str = "") -> Exchange:
    query = f"mode={mode}" + (f"&kind={kind}" if kind else "")
    return ctx.request("GET", f"/probe/respond?{query}", version=version)


def respond_step(ctx: CheckContext, rid: str, step: str) -> dict[str, Any] | None:
    """The app's journalled ``respond`` event for ``step``, or None when the app never got
    there within STEP_BOUND (a harness error if the request never reached the app at all)."""
    events = ctx.journal.wait_for(
        lambda evs: any(e["event"] == "respond" and e.get("step") == step for e in evs),
        rid=rid, timeout=STEP_BOUND)
    if events is None:
        ctx.observed(rid)  # a harness error naming the request if the app never saw it
        return None
    return next(e for e in events if e["event"] == "respond" and e.get("step") == step)


def required_step(ctx: CheckContext, rid: str, step: str) -> dict[str, Any]:
    """A step the probe journals before it returns to the server: missing means the suite
    could not run the check (the app itself failed), never a finding on the server."""
    found = respond_step(ctx, rid, step)
    if found is None:
        raise HarnessError(f"the probe app never journalled its {step!r} step within "
                           f"{STEP_BOUND:g}s although it received the request")
    return found


@check(
    id="wsgi-response.write-before-iterable",
    title="start_response returns write(); written bytes precede the iterable's bytes",
    requirements=["WSGI-RESP-01"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable'; 'The write() Callable'",
)
def write_before_iterable(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "The start_response callable must return a
    write(body_data) callable that takes one positional parameter: a bytestring to be written
    as part of the HTTP response body." (WSGI-RESP-01.a). The write() Callable: the bytestring
    is "treated exactly as though it had been yielded by the output iterable" (WSGI-RESP-01.b)
    and "before write() returns, it must guarantee that the passed-in bytestring was either
    completely sent to the client, or that it is buffered for transmission while the
    application proceeds onward" (WSGI-RESP-01.c), so it precedes the iterable's bytes. The app
    writes b"written\\n" and returns [b"iterable\\n"]."""
    exchange = respond(ctx, "write-then-iter")
    step = respond_step(ctx, exchange.rid, "write")
    # The app journals the step after start_response returned; without it there is no write.
    ctx.require(step is not None, "WSGI-RESP-01.a",
                f"start_response did not return to the app within {STEP_BOUND:g}s (the client "
                f"got {exchange.response.status or 'no response'})")
    assert step is not None  # require() ended the check otherwise
    ctx.require(step["callable"], "WSGI-RESP-01.a",
                f"start_response returned {step['returned']}, not a write() callable")
    response = exchange.response
    wanted = b"written\niterable\n"
    if response.complete and response.body == wanted:
        return
    ref = "WSGI-RESP-01.c" if sorted(response.body.splitlines()) == sorted(
        wanted.splitlines()) else "WSGI-RESP-01.b"
    ctx.finding(ref, f"status {response.status or 'none'}, body {response.body!r} (complete: "
                     f"{response.complete}); expected the written bytes, then the iterable's: "
                     f"{wanted!r}")


@check(
    id="wsgi-response.headers-held-until-body",
    title="headers wait for the first non-empty block: the status can still be replaced",
    requirements=["WSGI-RESP-02", "WSGI-RESP-08"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable' (headers sent only after the first "
            "non-empty bytestring)",
)
def headers_held_until_body(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: "response headers must not be sent until there
    is actual body data available, or until the application's returned iterable is exhausted"
    (WSGI-RESP-02.c); Error Handling: "If no output has been written when an exception
    occurs, the call to start_response will return normally" (WSGI-RESP-02.f, a definition);
    and "If exc_info is supplied, and no HTTP headers have been output yet, start_response
    should replace the currently-stored HTTP response headers with the newly-supplied ones"
    (WSGI-RESP-02.e, SHOULD). The app starts a 200 with X-Original, yields b"", then calls
    start_response("503 Replaced", [X-Replaced], exc_info) and yields a block. A raise means
    the server took b"" for output and sent (or held as sent) the headers (WSGI-RESP-02.c,
    MUST); a client that still gets the 200 or X-Original means
    the replacement did not happen (SHOULD: from the bytes alone the suite cannot tell a
    replacement ignored from headers sent early). A server that stops iterating after b"" does
    not treat the later non-empty output "normally" (WSGI-RESP-08.b)."""
    exchange = respond(ctx, "replace-status")
    step = respond_step(ctx, exchange.rid, "replace")
    ctx.require(step is not None, "WSGI-RESP-08.b",
                f"the app's iterable was not asked for a block after b'' within "
                f"{STEP_BOUND:g}s: the server stopped iterating at the empty block")
    assert step is not None  # require() ended the check otherwise
    # After a raise the app went on under the original status: nothing more to compare.
    ctx.require(step["raised"] is None, "WSGI-RESP-02.c",
                f"start_response with exc_info after only b'' was yielded raised "
                f"{step['raised']}: the server treated the headers as already sent")
    response = exchange.response
    replaced = response.status == 503 and response.header("x-replaced") == b"yes"
    if not replaced or response.header("x-original") is not None:
        ctx.finding("WSGI-RESP-02.e", f"start_response(..., exc_info) returned normally after "
                                      f"only b'' was yielded, but the client got status "
                                      f"{response.status or 'none'} with X-Original "
                                      f"{response.header('x-original')!r} and X-Replaced "
                                      f"{response.header('x-replaced')!r}: the stored headers "
                                      "were not replaced")


@check(
    id="wsgi-response.start-response-in-iterable",
    title="an iterable that calls start_response in its first __next__ works",
    requirements=["WSGI-RESP-03"],
    level=Level.MUST,
    interfaces=WSGI,
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


@check(
    id="wsgi-response.exc-info-after-headers",
    title="start_response with exc_info after headers were sent raises (re-raises exc_info)",
    requirements=["WSGI-RESP-04"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable' (exc_info); 'Error Handling'",
)
def exc_info_after_headers(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: "if exc_info is provided, and the HTTP headers
    have already been sent, start_response must raise an error" (WSGI-RESP-04.a, MUST) "and
    should re-raise using the exc_info tuple" (WSGI-RESP-04.b, SHOULD). The app yields a
    block, then calls start_response with exc_info."""
    exchange = respond(ctx, "exc-after-headers")
    step = respond_step(ctx, exchange.rid, "exc-after-headers")
    if step is None:
        raise HarnessError(f"the app's iterable was not asked for a second block within "
                           f"{STEP_BOUND:g}s after its first one: start_response with "
                           "exc_info could not be called after the headers were sent")
    if step["raised"] is None:
        ctx.finding("WSGI-RESP-04.a", "start_response(..., exc_info) after the headers were "
                                      "sent returned normally; it must raise")
    elif not step["reraised_original"]:
        ctx.finding("WSGI-RESP-04.b", f"start_response raised {step['raised']} instead of "
                                      "re-raising the app's exception (exc_info[1])")


@check(
    id="wsgi-response.second-start-response",
    title="a second start_response without exc_info is an error",
    requirements=["WSGI-RESP-05"],
    level=Level.INFO,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable' (exc_info)",
)
def second_start_response(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: "it is a fatal error to call start_response
    without the exc_info argument if start_response has already been called within the
    current invocation of the application", and "See the example CGI gateway above for an
    illustration of the correct logic." (WSGI-RESP-05.c): the example's start_response
    raises on such a call. The fatal error is the application's (WSGI-RESP-05.a binds the
    application) and the pointer to the example has no keyword, so a server that lets the
    call pass is reported (INFO), not failed."""
    exchange = respond(ctx, "second-start")
    step = required_step(ctx, exchange.rid, "second-start")
    if step["raised"] is None:
        ctx.finding("WSGI-RESP-05.c", "a second start_response call without exc_info returned "
                                      f"normally (the client got {exchange.response.status})")
