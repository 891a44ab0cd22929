"""asgi-extensions.rst "HTTP Trailers" over HTTP/2, framed as RFC 9113 8.1 "HTTP Message
Framing" says (H2-06): trailers are a final HEADERS frame with END_STREAM, sent only after
TE: trailers.

Where the extension is advertised is read from the scope of the very request that uses it
(the probe journals scope["extensions"]): a server may offer trailers over HTTP/2 only
(hypercorn does), so an HTTP/1.1 request would not tell.
"""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.rfc9113.s8_2_2_connection_specific_fields import h2_exchange
from conformance.context import CheckContext
from conformance.h2_wire import H2Client, H2Stream
from conformance.probes.asgi_respond import TRAILER
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level

TRAILERS_EXTENSION = "http.response.trailers"
BODY = b"body-before-trailers\n"  # what /probe/ext?kind=trailers sends before its trailers


def _require_advertised(ctx: CheckContext, rid: str) -> None:
    extensions = ctx.observed(rid).get("extensions")
    if not isinstance(extensions, dict) or TRAILERS_EXTENSION not in extensions:
        ctx.unsupported(f"the scope of an HTTP/2 request does not advertise "
                        f"{TRAILERS_EXTENSION!r} (extensions: {extensions!r})")


def _trailer_in_content(client: H2Client, stream: H2Stream) -> bool:
    return TRAILER[0] in b"".join(client.data_on(stream.stream_id)).lower()


@check(
    id="rfc9113.trailers",
    title="over HTTP/2 http.response.trailers, where advertised, arrive as a final HEADERS "
          "frame with END_STREAM, only after TE: trailers",
    requirements=["H2-06"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 9113 8.1; asgi-extensions.rst 'HTTP Trailers'",
    needs=("h2",),
)
def trailers(ctx: CheckContext) -> None:
    """asgi-extensions.rst, HTTP Trailers: "ASGI servers that implement this extension will
    provide http.response.trailers in the extensions part of the scope" (H2-06.b; extensions
    are "named additions to a protocol specification that are optional", .a: not advertised
    is unsupported). RFC 9113 8.1: "Trailer fields are carried in a field block that also
    terminates the stream." (.c) "That is, trailer fields comprise a sequence starting with a
    HEADERS frame, followed by zero or more CONTINUATION frames, where the HEADERS frame bears
    an END_STREAM flag." (.d). asgi-extensions.rst: "The ASGI server will only send the
    trailing headers in case the client has sent the TE: trailers header in the request."
    (.e, a definition: MUST where offered).

    Two sub-cases of /probe/ext?kind=trailers (a 200 declaring trailers, the body
    b"body-before-trailers\\n", then the trailer x-probe-trailer: trailer-value). With TE:
    trailers: the body in DATA, then the trailer in a HEADERS frame that ends the stream; the
    trailer in DATA, missing, or a trailer HEADERS frame without END_STREAM is .c and .d.
    Without TE: no trailer HEADERS frame and the trailer not in DATA either (.e)."""
    with ctx.case("TE: trailers"):
        client, stream, rid = h2_exchange(ctx, "GET", f"{Route.EXT}?kind=trailers",
                                          [(b"te", b"trailers")])
        _require_advertised(ctx, rid)
        ctx.require(stream.status == 200, "H2-06.c",
                    f"with TE: trailers the server answered {stream.status or 'nothing'} "
                    f"(reset {stream.reset_code}; {client.protocol_error or 'no protocol error'})"
                    " where the app sent a 200 with trailers")
        got = [(n.lower(), v) for n, v in stream.trailers or []]
        if TRAILER not in got or not stream.ended or client.protocol_error:
            where = ("in DATA frames, as content" if _trailer_in_content(client, stream)
                     else f"not as a final HEADERS frame ({client.protocol_error})"
                     if client.protocol_error else "nowhere")
            for ref in ("H2-06.c", "H2-06.d"):
                ctx.finding(ref, f"with TE: trailers the app's trailer {TRAILER!r} arrived "
                                 f"{where}; trailer HEADERS {got!r}, stream ended: "
                                 f"{stream.ended}")
        if stream.body != BODY:
            ctx.details["body"] = repr(stream.body[:100])
    with ctx.case("no TE"):
        client, stream, rid = h2_exchange(ctx, "GET", f"{Route.EXT}?kind=trailers")
        if stream.trailers or _trailer_in_content(client, stream):
            where = (f"a trailer HEADERS frame {stream.trailers!r}" if stream.trailers
                     else "the trailer's field line in the DATA frames")
            ctx.finding("H2-06.e", f"without TE: trailers the server still sent {where}")
        ctx.observed(rid, Event.REQUEST)
