"""RFC 9113 8.1.1 "Malformed Messages" on content that a response cannot have, with RFC 9110
6.4.1, 9.3.2, 15.3.5 and 15.4.5 (H2-03): no DATA for HEAD, 204 and 304 over HTTP/2.

The probe app sends a body where none may go; what came is read from the frames themselves
(:meth:`H2Client.data_on`), so DATA that h2's client state machine refuses (content on a HEAD
response) is still counted.
"""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.rfc9113.s8_2_2_connection_specific_fields import h2_exchange, wire_status
from conformance.context import CheckContext
from conformance.probes.contract import Route
from conformance.verdicts import HarnessError, Level

# (method, path for each interface, the status the app answers, the sentences content breaks)
NO_CONTENT_CASES = (
    ("HEAD", {"asgi": f"{Route.RESPOND}?case=with-body&status=200", "wsgi": "/h2/head"},
     200, ("H2-03.e", "H2-03.i")),
    ("GET", {"asgi": f"{Route.RESPOND}?case=with-body&status=204"}, 204, ("H2-03.g", "H2-03.f")),
    ("GET", {"asgi": f"{Route.RESPOND}?case=with-body&status=304"}, 304, ("H2-03.h", "H2-03.f")),
)


@check(
    id="rfc9113.no-content-responses",
    title="over HTTP/2 HEAD, 204 and 304 responses carry no DATA even when the app sends a body",
    requirements=["H2-03"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("direct",),
    section="RFC 9113 8.1.1; RFC 9110 6.4.1, 9.3.2, 15.3.5, 15.4.5",
    needs=("h2",),
)
def no_content_responses(ctx: CheckContext) -> None:
    """RFC 9110 9.3.2: "The HEAD method is identical to GET except that the server MUST NOT
    send content in the response." (H2-03.e). 6.4.1: "All 1xx (Informational), 204 (No
    Content), and 304 (Not Modified) responses do not include content." (.f); 15.3.5 and
    15.4.5: "A 204 response is terminated by the end of the header section; it cannot contain
    content or trailers." (.g) and the same of a 304 (.h); RFC 9113 8.1.1: "For example, 204
    or 304 responses contain no content, as does the response to a HEAD request." (.i). In
    HTTP/2 content is what DATA frames carry: any DATA payload byte on the stream is content
    (an empty DATA frame with END_STREAM is not). RFC 9110 8.6: "A server MUST NOT send a
    Content-Length header field in any response with a status code of 1xx (Informational) or
    204 (No Content)." (.j): the app's 204 carries no content-length, so one on the wire is
    the server's own.

    The ASGI app sends a body for HEAD (answered 200) and for GETs it answers 204 and 304.
    The WSGI app writes its body for HEAD (the echo behaviour); a WSGI 204/304 is not judged,
    since the probe app writes no body for them. A response with another status than the
    app's is not judged (the server refused the app's response: other checks judge that)."""
    judged = 0
    for method, paths, status, refs in NO_CONTENT_CASES:
        path = paths.get(ctx.target.interface)
        if path is None:
            continue
        with ctx.case(f"{method} answered {status}"):
            client, stream, _ = h2_exchange(ctx, method, path)
            got = wire_status(client, stream)
            if got != status:
                ctx.details.setdefault("unjudged", []).append(
                    f"{method} {path}: answered {got or 'nothing'}")
                continue
            judged += 1
            if status == 204:
                lengths = [v for block in client.header_blocks(stream.stream_id)
                           for n, v in block if n.lower() == b"content-length"]
                if lengths:
                    ctx.finding("H2-03.j", f"{method} answered 204 with content-length "
                                           f"{b', '.join(lengths)!r} (the app sent none)")
            content = b"".join(client.data_on(stream.stream_id))
            if content:
                for ref in refs:
                    ctx.finding(ref, f"{method} answered {status}: the server sent "
                                     f"{len(content)} bytes of content in DATA frames: "
                                     f"{content[:60]!r}")
    if not judged:
        raise HarnessError(f"no response had the app's status: {ctx.details.get('unjudged')}")
