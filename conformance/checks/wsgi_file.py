"""wsgi.file_wrapper (PEP 3333 "Optional Platform-Specific File Handling")."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.wsgi_response_calls import respond, respond_step
from conformance.context import CheckContext
from conformance.verdicts import Level

WSGI = ("wsgi",)
EXPECTED = b"456789ab"  # FILE_CONTENT from position 4, cut at Content-Length 8


@check(
    id="wsgi-file.file-wrapper",
    title="wsgi.file_wrapper sends from the file's position up to Content-Length; close() "
          "reaches the file; objects without fileno() work",
    requirements=["WSGI-FILE-01"],
    level=Level.OPTIONAL,
    interfaces=WSGI,
    section="PEP 3333 'Optional Platform-Specific File Handling'",
)
def file_wrapper(ctx: CheckContext) -> None:
    """PEP 3333, Optional Platform-Specific File Handling: wsgi.file_wrapper, if present, is
    "callable, accepting one required positional parameter, and one optional positional
    parameter"; "the transmission should begin at the current position within the "file" at
    the time that transmission begins, and continue until the end is reached, or until
    Content-Length bytes have been written"; "if the object returned by the application has
    a close() method, the server must call it" (so the file's close() runs); and the wrapper
    must work for objects that are "file-like" without fileno(). A server without the wrapper
    is reported unsupported."""
    for kind in ("real", "plain"):
        exchange = respond(ctx, "file-wrapper", kind=kind)
        step = respond_step(ctx, exchange.rid, "file-wrapper")
        if step.get("absent"):
            ctx.unsupported("the server offers no wsgi.file_wrapper")
        response = exchange.response
        what = "a real file" if kind == "real" else "a file-like object without fileno()"
        ctx.expect(response.status == 200 and response.body == EXPECTED,
                   f"{what} at position 4 with Content-Length 8: status {response.status}, "
                   f"body {response.body!r}, expected {EXPECTED!r}")
        closed = ctx.journal.wait_for(lambda evs: any(e["event"] == "file-close" for e in evs),
                                      rid=exchange.rid, timeout=5.0)
        ctx.expect(closed is not None, f"the server never called close() on {what} "
                                       "(through the wrapper's close())")
