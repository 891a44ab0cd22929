"""RFC 9113 8.1.1 "Malformed Messages", with the malformations of 8.2.1, 8.2.2, 8.3 and
8.3.1 (H2-04): a malformed request is a stream error.

Each request goes on its own connection (a server may end the connection for it: "an
endpoint MAY choose to treat a stream error as a connection error", 5.4.1), sent with h2's
outbound validation off. What reached the probe app is kept in the details: no sentence of
its own forbids it (a server that processes progressively "might have performed some
processing before identifying a request or response as malformed", 8.1.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import h2.errors

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.h2_wire import H2Client, H2Stream
from conformance.verdicts import Level

Fields = list[tuple[bytes, bytes]]
PATH = "/h2/malformed"
DECLARED, SENT = 10, b"abc"  # the content-length and the DATA of the mismatched request


def _upper_case_name(fields: Fields) -> Fields:
    return [*fields, (b"X-Probe-Upper", b"1")]


def _connection_field(fields: Fields) -> Fields:
    return [*fields, (b"connection", b"keep-alive")]


def _pseudo_after_regular(fields: Fields) -> Fields:
    return ([f for f in fields if f[0] != b":path"]
            + [f for f in fields if f[0] == b":path"])


def _no_path(fields: Fields) -> Fields:
    return [f for f in fields if f[0] != b":path"]


def _content_length(fields: Fields) -> Fields:
    return [*fields, (b"content-length", str(DECLARED).encode())]


@dataclass(frozen=True)
class Malformation:
    label: str
    ref: str  # the sentence that makes it malformed
    method: str
    fields: Callable[[Fields], Fields]
    body: bytes = b""


MALFORMATIONS = (
    # 8.2.1: "A request or response that contains a field that violates any of these
    # conditions MUST be treated as malformed"
    Malformation("upper-case field name", "H2-04.c", "GET", _upper_case_name),
    # 8.2.2: "Any message containing connection-specific header fields MUST be treated as
    # malformed"
    Malformation("connection-specific field", "H2-04.f", "GET", _connection_field),
    # 8.3: "Any request or response that contains a pseudo-header field that appears in a
    # field block after a regular field line MUST be treated as malformed"
    Malformation("pseudo-header after a regular field", "H2-04.g", "GET", _pseudo_after_regular),
    # 8.3.1: "An HTTP request that omits mandatory pseudo-header fields is malformed"
    Malformation("no :path", "H2-04.h", "GET", _no_path),
    # 8.1.1: "malformed if the value of a content-length header field does not equal the sum
    # of the DATA frame payload lengths"
    Malformation("content-length disagrees with the DATA", "H2-04.i", "POST", _content_length,
                 SENT),
)


@dataclass(frozen=True)
class Reaction:
    """What the server did with the stream of a malformed request."""

    error: str  # "RST_STREAM ...", "GOAWAY ...", "connection closed"; "" when none
    status: int  # the status of a response that came (0: none)
    ended: bool  # the response ended the stream (END_STREAM)

    def describe(self) -> str:
        response = f"a {self.status} response" + (" with END_STREAM" if self.ended else "")
        if self.error:
            return (response + ", then " if self.status else "") + self.error
        return response if self.status else "nothing"


def reaction(client: H2Client, stream: H2Stream) -> Reaction:
    """A stream error (RST_STREAM of an error code), a connection error (GOAWAY or the
    connection closed before the stream ended), or none."""
    error = ""
    if stream.reset_code not in (None, h2.errors.ErrorCodes.NO_ERROR):
        error = f"RST_STREAM {_name(stream.reset_code)}"
    elif client.goaway not in (None, h2.errors.ErrorCodes.NO_ERROR):
        error = f"GOAWAY {_name(client.goaway)}"
    elif not stream.ended and (client.conn.eof or client.goaway is not None):
        error = "GOAWAY NO_ERROR before the stream ended" if client.goaway is not None else (
            "connection closed")
    return Reaction(error, stream.status, stream.ended)


def _name(code: int | None) -> str:
    try:
        return h2.errors.ErrorCodes(code or 0).name
    except ValueError:
        return f"error code {code}"


def send_malformed(ctx: CheckContext, case: Malformation) -> tuple[Reaction, bool]:
    """Send one malformed request on a fresh connection: the server's reaction, and whether
    the probe app journalled the request."""
    client = ctx.http2(validate=False)
    rid = ctx.new_rid()
    fields = case.fields(ctx.h2_headers(rid, case.method, PATH))
    stream = client.response(client.request(fields, case.body), 5.0)
    reached = ctx.journal.saw(rid)
    ctx.details.setdefault("reached_app", {})[case.label] = reached
    got = reaction(client, stream)
    # Closed at once (the frame log stays in the evidence): a server whose thread holds on to
    # a connection it gave up on (gunicorn's gthread worker) would otherwise take 2 s to
    # accept the next one.
    client.close()
    return got, reached


@check(
    id="rfc9113.malformed-requests",
    title="over HTTP/2 a malformed request (upper-case name, connection-specific field, "
          "pseudo-header after a field, no :path, wrong content-length) is a stream error",
    requirements=["H2-04"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("direct",),
    section="RFC 9113 8.1.1, 8.2.1, 8.2.2, 8.3, 8.3.1",
    needs=("h2",),
)
def malformed_requests(ctx: CheckContext) -> None:
    """RFC 9113 8.1.1: "Malformed requests or responses that are detected MUST be treated as
    a stream error (Section 5.4.2) of type PROTOCOL_ERROR." (H2-04.a). One request per
    malformation, each the sentence that makes it malformed: an upper-case field name (8.2.1
    "A request or response that contains a field that violates any of these conditions MUST
    be treated as malformed (Section 8.1.1).", .c); a Connection field (8.2.2 "Any message
    containing connection-specific header fields MUST be treated as malformed (Section
    8.1.1).", .f); :path after x-probe-id (8.3, .g); no :path (8.3.1 "An HTTP request that
    omits mandatory pseudo-header fields is malformed (Section 8.1.1).", .h); content-length
    10 over 3 bytes of DATA (8.1.1, .i).

    Treated as a stream error: RST_STREAM with an error code (5.4: "an endpoint MAY use any
    applicable error code"), or the connection ended (GOAWAY, or closed: 5.4.1 "an endpoint
    MAY choose to treat a stream error as a connection error"). A response before that is
    allowed, "For malformed requests, a server MAY send an HTTP response prior to closing or
    resetting the stream." (.j, INFO, reported); so is an error response (4xx, 5xx) that
    closes the stream. A success response, or no reaction within 5 s, is a finding on .a and
    on the malformation's sentence."""
    for case in MALFORMATIONS:
        with ctx.case(case.label):
            got, reached = send_malformed(ctx, case)
            seen = f"{case.label}: the server answered with {got.describe()}" + (
                " (the probe app was called)" if reached else "")
            if got.error:
                if got.status:
                    ctx.finding("H2-04.j", seen)
            elif got.ended and got.status >= 400:
                ctx.finding("H2-04.j", seen + ": an error response that closed the stream, "
                                              "without RST_STREAM")
            else:
                for ref in ("H2-04.a", case.ref):
                    ctx.finding(ref, seen + "; not a stream error")
