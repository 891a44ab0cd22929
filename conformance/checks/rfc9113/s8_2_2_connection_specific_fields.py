"""RFC 9113 8.2.2 "Connection-Specific Header Fields", for the responses a server sends over
HTTP/2 (H2-03): what HTTP/1.1 servers get from apps (Transfer-Encoding: chunked) and add to
their own error responses (Connection: close) must not reach the wire.

:func:`h2_exchange` and :func:`wire_status` serve the other rfc9113 response checks too.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.h2_wire import H2Client, H2Stream
from conformance.probes.contract import CONNECTION_FIELDS_BODY, Route
from conformance.verdicts import Level

# RFC 9113 8.2.2: "the Connection header field and those listed as having connection-specific
# semantics in Section 7.6.1 of [HTTP] (that is, Proxy-Connection, Keep-Alive,
# Transfer-Encoding, and Upgrade)".
CONNECTION = b"connection"
LISTED_IN_7_6_1 = (b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade")
RESPONSE_WAIT = 5.0  # seconds a response stream has to end


def h2_exchange(ctx: CheckContext, method: str, path: str,
                extra: Sequence[tuple[bytes, bytes]] = (), *, validate: bool = True,
                body: bytes | Sequence[bytes] = b"") -> tuple[H2Client, H2Stream, str]:
    """One request on a fresh HTTP/2 connection; the client, what came on the stream
    (closed, or what came within RESPONSE_WAIT) and the request id."""
    client = ctx.http2(validate=validate)
    rid = ctx.new_rid()
    stream_id = client.request(ctx.h2_headers(rid, method, path, extra), body)
    return client, client.response(stream_id, RESPONSE_WAIT), rid


def wire_status(client: H2Client, stream: H2Stream) -> int:
    """The final status of the response on ``stream``: as h2 reported it, else from the raw
    HEADERS frames (h2's client drops the HEADERS event of a batch of frames it refuses, such
    as content on a HEAD response)."""
    if stream.status:
        return stream.status
    for block in client.header_blocks(stream.stream_id):
        status = dict(block).get(b":status", b"")
        if status.isdigit() and int(status) >= 200:
            return int(status)
    return 0


def _connection_fields(stream: H2Stream) -> list[tuple[bytes, bytes]]:
    return [(n, v) for n, v in stream.fields()
            if n.lower() == CONNECTION or n.lower() in LISTED_IN_7_6_1]


def _judge_fields(ctx: CheckContext, label: str, stream: H2Stream) -> None:
    """H2-03.a on any connection-specific field in the response's HEADERS frame; H2-03.b
    as well where it is one of the fields 8.2.2 names through 7.6.1. No response (a reset
    stream) carries none: noted, not judged."""
    if stream.headers is None:
        ctx.details.setdefault("no_response", []).append(
            f"{label}: no response (reset {stream.reset_code})")
        return
    found = _connection_fields(stream)
    if not found:
        return
    ctx.finding("H2-03.a", f"{label}: the {stream.status} response's HEADERS frame carries "
                           f"connection-specific fields {found}")
    listed = [(n, v) for n, v in found if n.lower() in LISTED_IN_7_6_1]
    if listed:
        ctx.finding("H2-03.b", f"{label}: {listed} went out in an HTTP/2 response; 8.2.2 "
                               "counts each as connection-specific")


def _app_transfer_encoding(ctx: CheckContext, case: str) -> None:
    """The ASGI app sends transfer-encoding: chunked (app-te; app-te-cl with a matching
    content-length 17) and two body events, b"part-one;" and b"part-two"."""
    _, stream, _ = h2_exchange(ctx, "GET", f"{Route.RESPOND}?case={case}")
    ctx.require(stream.status == 200, "H2-03.d",
                f"the server answered {stream.status or 'nothing'} (reset "
                f"{stream.reset_code}) where the app's 200 differed from a plain one only in "
                "its transfer-encoding field: the field was not ignored")
    _judge_fields(ctx, f"app sent transfer-encoding ({case})", stream)
    if any(n.lower() == b"transfer-encoding" for n, _ in stream.fields()):
        ctx.finding("H2-03.d", f"{case}: the app's transfer-encoding reached the HTTP/2 "
                               "response: the server did not ignore it")
    if stream.body != b"part-one;part-two":
        ctx.finding("H2-03.d", f"{case}: the DATA frames carry {stream.body[:80]!r}, not the "
                               "app's b'part-one;part-two': the server framed the content "
                               "after the app's transfer-encoding instead of ignoring it")


@check(
    id="rfc9113.connection-specific-fields",
    title="over HTTP/2 no response carries Connection, Keep-Alive, Proxy-Connection, "
          "Transfer-Encoding or Upgrade; the app's Transfer-Encoding is ignored",
    requirements=["H2-03"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("direct",),
    section="RFC 9113 8.2.2; asgi-www.rst 'Response Start - send event'",
    needs=("h2",),
)
def connection_specific_fields(ctx: CheckContext) -> None:
    """RFC 9113 8.2.2: "An endpoint MUST NOT generate an HTTP/2 message containing
    connection-specific header fields." (H2-03.a) "This includes the Connection header field
    and those listed as having connection-specific semantics in Section 7.6.1 of [HTTP] (that
    is, Proxy-Connection, Keep-Alive, Transfer-Encoding, and Upgrade)." (H2-03.b, the
    definition of which fields). asgi-www.rst, Response Start: "You may send a
    Transfer-Encoding header in this message, but the server must ignore it." (H2-03.d).

    Sub-cases, each on its own connection: the ASGI app sends transfer-encoding: chunked
    (alone, and with a matching content-length): the response must be the app's 200 with
    the app's bytes as content and no transfer-encoding field (.a, .b, .d); the WSGI app
    passes Transfer-Encoding: chunked to start_response (PEP 3333 lets the server raise: the
    probe then answers 500): no connection-specific field in whatever response came (.a,
    .b); the app raises before its response: the server's own error response (HTTP/1.1
    servers often add "Connection: close" to it) carries none either (.a, .b); the app sends
    Connection, Keep-Alive, Proxy-Connection and Upgrade (a WSGI server may refuse them at
    start_response, as PEP 3333 asks: the probe then answers 500): none may reach the
    response (.a, .b)."""
    with ctx.case("app sent Connection, Keep-Alive, Proxy-Connection, Upgrade"):
        mode = "case" if ctx.target.interface == "asgi" else "mode"
        _, stream, _ = h2_exchange(ctx, "GET", f"{Route.RESPOND}?{mode}=connection-fields")
        if stream.status == 200 and stream.body != CONNECTION_FIELDS_BODY:
            ctx.details["connection_fields_body"] = repr(stream.body[:80])
        _judge_fields(ctx, "app sent Connection, Keep-Alive, Proxy-Connection, Upgrade", stream)
    if ctx.target.interface == "asgi":
        for case in ("app-te", "app-te-cl"):
            with ctx.case(f"app sent transfer-encoding ({case})"):
                _app_transfer_encoding(ctx, case)
    else:
        with ctx.case("app sent Transfer-Encoding (WSGI)"):
            _, stream, _ = h2_exchange(ctx, "GET", f"{Route.RESPOND}?mode=hop-by-hop")
            _judge_fields(ctx, "app sent Transfer-Encoding", stream)
    with ctx.case("the server's own error response"):
        mode = "case=raise-before-start" if ctx.target.interface == "asgi" else "mode=raise-before"
        _, stream, _ = h2_exchange(ctx, "GET", f"{Route.RESPOND}?{mode}")
        ctx.details["error_response"] = {"status": stream.status, "fields": repr(stream.fields())}
        _judge_fields(ctx, "the server's error response to an app that raised", stream)
