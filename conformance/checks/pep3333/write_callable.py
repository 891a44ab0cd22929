"""PEP 3333, "The write() Callable"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import STEP_BOUND, respond, respond_step
from conformance.context import CheckContext
from conformance.verdicts import Level


@check(
    id="pep3333.write-before-iterable",
    title="start_response returns write(); written bytes precede the iterable's bytes",
    requirements=["WSGI-RESP-01"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'The write() Callable'; 'The start_response() Callable'",
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
