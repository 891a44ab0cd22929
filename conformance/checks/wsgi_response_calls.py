"""WSGI start_response() and write() (PEP 3333 "The start_response() Callable", "The write()
Callable", "Specification Details", "Error Handling").

The probe app's /probe/respond?mode=... shapes each response; what start_response did to the
app (returned, raised, re-raised the app's own exception) is journalled as ``respond`` events.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext, Exchange
from conformance.verdicts import Level

WSGI = ("wsgi",)


def respond(ctx: CheckContext, mode: str, *, version: str = "HTTP/1.1",
            kind: str = "") -> Exchange:
    query = f"mode={mode}" + (f"&kind={kind}" if kind else "")
    return ctx.request("GET", f"/probe/respond?{query}", version=version)


def respond_step(ctx: CheckContext, rid: str, step: str) -> dict[str, Any]:
    """The app's journalled ``respond`` event for ``step`` (harness error if it never came)."""
    events = ctx.journal.wait_for(
        lambda evs: any(e["event"] == "respond" and e.get("step") == step for e in evs),
        rid=rid, timeout=5.0)
    if events is None:
        ctx.observed(rid)  # a harness error naming the request if the app never saw it
        ctx.fail(f"the app never reached its {step!r} step: the server stopped iterating")
    return next(e for e in events if e["event"] == "respond" and e.get("step") == step)


@check(
    id="wsgi-response.write-before-iterable",
    title="start_response returns write(); written bytes precede the iterable's bytes",
    requirements=["WSGI-RESP-01"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable'; 'The write() Callable'",
)
def write_before_iterable(ctx: CheckContext) -> None:
    """PEP 3333, The write() Callable: "The write() callable is returned by the
    start_response() callable, and it accepts a single parameter: a bytestring to be written
    as part of the HTTP response body, that is treated exactly as though it had been yielded
    by the output iterable." The app writes b"written\\n" and returns [b"iterable\\n"]."""
    exchange = respond(ctx, "write-then-iter")
    step = respond_step(ctx, exchange.rid, "write")
    ctx.expect(step["callable"], f"start_response returned {step['returned']}, not a write() "
                                 "callable")
    response = exchange.response
    ctx.expect(response.status == 200, f"the response was {response.status or 'missing'}")
    ctx.expect(response.complete and response.body == b"written\niterable\n",
               f"body {response.body!r} (complete: {response.complete}); expected the written "
               "bytes, then the iterable's: b'written\\niterable\\n'")


@check(
    id="wsgi-response.headers-held-until-body",
    title="headers wait for the first non-empty block: the status can still be replaced",
    requirements=["WSGI-RESP-02"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable' (headers sent only after the first "
            "non-empty bytestring)",
)
def headers_held_until_body(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: the server must store the headers "to transmit
    only after the first iteration of the application return value that yields a non-empty
    bytestring ... This delaying of response header transmission is to ensure that buffered
    and asynchronous applications can replace their originally intended output with error
    output, up until the last possible moment." The app starts a 200, yields b"", then calls
    start_response("503 Replaced", ..., exc_info): the client must get the 503."""
    exchange = respond(ctx, "replace-status")
    step = respond_step(ctx, exchange.rid, "replace")
    ctx.expect(step["raised"] is None,
               f"start_response with exc_info after only b'' was yielded raised "
               f"{step['raised']}: the server treated the headers as already sent")
    response = exchange.response
    ctx.expect(response.status == 503 and response.header("x-replaced") == b"yes"
               and response.header("x-original") is None,
               f"the client got status {response.status} with X-Original "
               f"{response.header('x-original')!r}: the original headers were sent before "
               "any non-empty block")


@check(
    id="wsgi-response.start-response-in-iterable",
    title="an iterable that calls start_response in its first __next__ works",
    requirements=["WSGI-RESP-03"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Specification Details' (AppClass; start_response called by the iterable)",
)
def start_response_in_iterable(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "servers must not assume that start_response() has
    been called before they begin iterating over the iterable" (the PEP's AppClass example
    calls start_response in its first __next__)."""
    exchange = respond(ctx, "start-in-iter")
    response = exchange.response
    ctx.expect(response.status == 200 and response.header("x-started") == b"in-next"
               and response.body == b"started in __next__\n",
               f"status {response.status}, X-Started {response.header('x-started')!r}, body "
               f"{response.body!r}; expected the response started inside __next__")


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
    have already been sent, start_response must raise an error, and should re-raise using the
    exc_info tuple". The app yields a block, then calls start_response with exc_info: it
    must raise (MUST), and the exception should be the app's own (SHOULD: a warning)."""
    exchange = respond(ctx, "exc-after-headers")
    step = respond_step(ctx, exchange.rid, "exc-after-headers")
    ctx.expect(step["raised"] is not None,
               "start_response(..., exc_info) after the headers were sent returned normally; "
               "it must raise")
    if not step["reraised_original"]:
        ctx.warn(f"start_response raised {step['raised']} instead of re-raising the app's "
                 "exception (exc_info[1])")


@check(
    id="wsgi-response.second-start-response",
    title="a second start_response without exc_info is an error",
    requirements=["WSGI-RESP-05"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable' (exc_info)",
)
def second_start_response(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: "It is a fatal error to call start_response
    without the exc_info argument if start_response has already been called within the
    current invocation of the application"; the server must raise it to the app."""
    exchange = respond(ctx, "second-start")
    step = respond_step(ctx, exchange.rid, "second-start")
    ctx.expect(step["raised"] is not None,
               "a second start_response call without exc_info returned normally "
               f"(the client got {exchange.response.status})")
