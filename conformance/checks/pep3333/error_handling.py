"""PEP 3333, "Error Handling"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import RESPONSE_BOUND, respond
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import Response


@check(
    id="pep3333.app-exception",
    title="an app exception is trapped: no hang before output; a short body's connection is "
          "closed",
    requirements=["WSGI-RESP-13", "WSGI-RESP-09"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Error Handling'; 'Handling the Content-Length Header'",
)
def app_exception(ctx: CheckContext) -> None:
    """PEP 3333, Error Handling: "Servers should trap and log any exception that aborts an
    application or the iteration of its return value." (WSGI-RESP-13.a, SHOULD): a request
    left without a response and without a close is an exception not trapped, and so is a
    server process that exits on it (its exit status is read, direct and through nginx,
    whose 502 would otherwise hide the crash). Which response
    the client gets when the app fails before any output is left open: a 5xx is the class by
    which "the server is aware that it has erred" (WSGI-RESP-13.h, a definition), but no
    sentence obliges it, so another answer is reported (INFO). After output began, "The server
    or gateway can then trap this (fatal) exception and abort the response." (WSGI-RESP-13.b,
    INFO): a chunked response ended with its last-chunk is reported, not failed; RFC 9112 6.3
    "a server SHOULD generate encoding or length-delimited messages whenever possible"
    (WSGI-RESP-13.g, SHOULD): an HTTP/1.1 response without Content-Length sent close-delimited
    (chunked was possible) hides the cut from the client. With a
    declared Content-Length of 100 and 12 bytes sent, Handling the Content-Length Header:
    "if the application does not provide *enough* data to meet its stated Content-Length, the
    server should close the connection" (WSGI-RESP-09.b, SHOULD)."""
    with ctx.case("raise before start_response"):
        _judge_before_output(ctx)
    # Through nginx the client's connection is nginx's, which answers and re-frames by itself:
    # what the server did with its own connection shows only direct.
    if ctx.via == "direct":
        with ctx.case("raise after 12 of 100 declared bytes"):
            _judge_short_body(ctx)
        with ctx.case("raise mid-body without Content-Length"):
            _judge_chunked_abort(ctx)


def _judge_before_output(ctx: CheckContext) -> None:
    exchange = respond(ctx, "raise-before")
    before = exchange.response
    died = ctx.server_exit_status()
    if died is not None:
        # Through nginx the client gets nginx's 502 either way: the server's exit shows it.
        ctx.finding("WSGI-RESP-13.a", f"the server process exited (status {died}) on the "
                                      "exception before any output: it was not trapped "
                                      f"(the client got {before.status or 'no response'})")
    elif not before.status and not exchange.connection.eof:
        ctx.finding("WSGI-RESP-13.a", f"an exception before any output got neither a response "
                                      f"nor a close within {RESPONSE_BOUND:g}s: the request "
                                      "was left hanging")
    elif not (500 <= before.status < 600 and before.complete):
        ctx.finding("WSGI-RESP-13.h", f"an exception before any output gave "
                                      f"{before.status or 'no response'} (complete: "
                                      f"{before.complete}); a 5xx is the status class for it")


def _judge_short_body(ctx: CheckContext) -> None:
    exchange = respond(ctx, "raise-after")
    after = exchange.response
    if not exchange.connection.eof:
        ctx.finding("WSGI-RESP-09.b", f"the connection was still open {RESPONSE_BOUND:g}s after "
                                      f"the app failed 12 bytes into a declared 100-byte body "
                                      f"(got {len(after.body)} body bytes)")
    elif after.complete:
        ctx.finding("WSGI-RESP-13.b", f"an exception after 12 of 100 declared bytes gave a "
                                      f"complete-looking response ({after.status}, "
                                      f"{len(after.body)} bytes)")


def _judge_chunked_abort(ctx: CheckContext) -> None:
    chunked: Response = respond(ctx, "raise-after", kind="no-length").response
    if chunked.framing == "chunked" and chunked.complete:
        ctx.finding("WSGI-RESP-13.b", "an exception mid-body gave a chunked response ended with "
                                      "its last-chunk: the client cannot tell the body was cut "
                                      "short")
    elif chunked.version == "HTTP/1.1" and chunked.framing == "close":
        # An HTTP/1.1 response to an HTTP/1.1 request could have been chunked: "whenever
        # possible" holds, and close-delimited hides the cut.
        ctx.finding("WSGI-RESP-13.g", f"the unsized response to an HTTP/1.1 request was "
                                      f"HTTP/1.1 and close-delimited "
                                      f"({_before_close(chunked.body)}): the client cannot "
                                      "tell the exception cut it short, where chunked framing "
                                      "would have shown it")


# What the raise-after probe yields before it raises (conformance/probes/wsgi_respond.py).
_APP_BLOCK = b"first block\n"


def _before_close(body: bytes) -> str:
    """The bytes of a close-delimited body, the app's told apart from any the server wrote
    after them (pyruvate writes a 500 status line into a response already under way)."""
    added = body[len(_APP_BLOCK):] if body.startswith(_APP_BLOCK) else b""
    if not added:
        return f"{len(body)} bytes before the close"
    return (f"{len(_APP_BLOCK)} bytes from the app, then {len(added)} bytes the server wrote "
            f"into the body itself, {added[:80]!r}, before the close")
