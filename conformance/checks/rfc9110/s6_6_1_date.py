"""RFC 9110 6.6.1, Date."""

from __future__ import annotations

import contextlib
import email.utils

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.verdicts import HarnessError, Level
from conformance.wire import request_bytes

REJECT_WAIT = 2.0  # seconds for the server's answer to an invalid request-line (a server: ms)


@check(id="rfc9110.date", title="responses carry one valid Date header",
       requirements=["HTTP-17"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9110 6.6.1, 5.6.7; PEP 3333")
def date_header(ctx: CheckContext) -> None:
    """RFC 9110 6.6.1: "An origin server with a clock (as defined in Section 5.6.7) MUST
    generate a Date header field in all 2xx (Successful), 3xx (Redirection), and 4xx (Client
    Error) responses, and MAY generate a Date header field in 1xx (Informational) and 5xx
    (Server Error) responses." (HTTP-17.a: the server's own 4xx to an invalid request-line,
    where no app is involved, carries one.) The probe app sends none. For WSGI the server must
    add it: "if the application omits a header required by HTTP (or other relevant
    specifications that are in effect), the server or gateway must add it." (HTTP-17.b, PEP
    3333). No ASGI text
    gives the server that duty (ASGI's protocol server is "A *protocol server*, which
    terminates sockets and translates them into connections and per-connection event
    messages."), so for ASGI a missing Date is reported (HTTP-17.d, info). A Date the server
    sends is one line (HTTP-17.e, RFC 9110 5.3) in the IMF-fixdate format (HTTP-17.c: "When a
    sender generates a field that contains one or more timestamps defined as HTTP-date, the
    sender MUST generate those timestamps in the IMF-fixdate format.")."""
    response = ctx.request("GET", "/desync/date").response
    if response.status != 200:
        raise HarnessError(f"GET /desync/date was answered {response.status or 'with nothing'}, "
                           "not the app's 200")
    values = response.header_all("date")
    if not values:
        ref = "HTTP-17.b" if ctx.target.interface == "wsgi" else "HTTP-17.d"
        ctx.finding(ref, "the 200 response to GET /desync/date has no Date field (the app "
                         "sent none)")
    if len(values) > 1:
        ctx.finding("HTTP-17.e", f"the 200 response has {len(values)} Date fields: {values!r}")
    for value in values:
        if not _imf_fixdate(value):
            ctx.finding("HTTP-17.c", f"Date {value!r} is not an IMF-fixdate")
    with ctx.case("the server's own 4xx"):
        _judge_server_rejection(ctx)


Fields = list[tuple[str | bytes, str | bytes]]
# Invalid requests whose answer is the server's own, tried in turn until one gets a 4xx (a
# server may answer one with a 5xx, which only the MAY covers: uWebSockets' 505 to the bad
# version): (what, method, version, extra fields, body).
_INVALID: list[tuple[str, str, str, Fields, bytes]] = [
    ('the invalid request-line "GET /desync/date HTTP/1.1 extra"', "GET", "HTTP/1.1 extra",
     [], b""),
    ("a field name with a space before the colon (RFC 9112 5.1: 400)", "GET", "HTTP/1.1",
     [("X-Probe-Bad ", "1")], b""),
    ('"Content-Length: +5" (RFC 9112 6.3: 400)', "POST", "HTTP/1.1",
     [("Content-Length", "+5")], b"hello"),
]


def _judge_server_rejection(ctx: CheckContext) -> None:
    """A 4xx to an invalid request is the server's own (the probe app answers /desync/date
    with 200): no app is there to omit the Date, the server is the origin server. A server
    that serves such a request instead is judged by rfc9112.invalid-then-valid,
    rfc9112.field-syntax and rfc9112.content-length."""
    for what, method, version, extra, body in _INVALID:
        conn = ctx.connect(timeout=REJECT_WAIT + 1)
        conn.send(request_bytes(method, "/desync/date", ctx.base_headers(ctx.new_rid()) + extra,
                                body, version=version))
        response = conn.read_response(method=method, timeout=REJECT_WAIT)
        conn.close()
        if 400 <= response.status < 500:
            if not response.header_all("date"):
                ctx.finding("HTTP-17.a", f"the server's own {response.status} response to "
                                         f"{what} has no Date field")
            return


def _imf_fixdate(value: bytes) -> bool:
    with contextlib.suppress(TypeError, ValueError):
        return (email.utils.parsedate_to_datetime(value.decode("latin-1")) is not None
                and value.endswith(b" GMT"))
    return False
