"""HTTP/1.1 request head hygiene at the server (RFC 9110 5, RFC 9112 2-5): field characters,
Host, request-target forms, duplicates, invalid UTF-8 in the path, oversized heads.

Cases that can shift message boundaries run through the desync detector."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.desync import MAY, NEVER, SHOULD_NOT, Case, Parts, run_cases
from conformance.verdicts import Level
from conformance.wire import WireTimeout, escape_bytes, request_bytes

BOTH = ("wsgi", "asgi")
DIRECT = ("direct",)


def get(fields: bytes, *, target: bytes = b"/probe/read-all?case=invalid",
        method: bytes = b"GET", host: bool = True, body: bytes = b"") -> Callable[[Parts], bytes]:
    """A request with the given extra field lines (each ending CRLF), Host optional."""

    def build(parts: Parts) -> bytes:
        base = parts.base if host else parts.rid_line
        return method + b" " + target + b" HTTP/1.1\r\n" + base + fields + b"\r\n" + body

    return build


FIELD_SECTION = "RFC 9110 5.5; RFC 9112 2.2, 5.1, 5.2"
# 9110 5.5 and 9112 2.2/5.2 let a recipient replace CR, LF, NUL, bare CR and obs-fold with SP
# instead of rejecting; a 400 that keeps the connection open breaks only 9112 2.2's SHOULD.
_REPLACEABLE = {"accept": MAY, "keep_open": MAY, "reject_keep_open": SHOULD_NOT}
FIELD_CASES = [
    Case("CR inside a field value", get(b"X-Bad: a\rb\r\n"),
         "RFC 9110 5.5 (CR, LF, NUL in a value: MUST reject or replace with SP)", **_REPLACEABLE),
    Case("NUL inside a field value", get(b"X-Bad: a\x00b\r\n"),
         "RFC 9110 5.5 (CR, LF, NUL in a value: MUST reject or replace with SP)", **_REPLACEABLE),
    Case("bare CR ending a field line", get(b"X-Bad: a\rX-Other: b\r\n"),
         "RFC 9112 2.2 (bare CR: MUST treat as invalid or replace with SP)", **_REPLACEABLE),
    Case("obsolete line folding", get(b"X-Bad: a\r\n folded\r\n"),
         "RFC 9112 5.2 (obs-fold: MUST reject with 400 or replace with SP)", **_REPLACEABLE),
    Case("whitespace between field name and colon", get(b"X-Bad : v\r\n"),
         "RFC 9112 5.1 (a server MUST reject, with 400, any request with whitespace between "
         "a field name and colon)", accept=NEVER, keep_open=MAY, reject_keep_open=SHOULD_NOT),
    # A server that strips the space would frame a body by it; one that drops the line would not.
    Case("Content-Length with whitespace before the colon",
         get(b"Content-Length : 5\r\n", method=b"POST", body=b"hello"),
         "RFC 9112 5.1 (MUST reject with 400)", accept=NEVER, keep_open=MAY,
         reject_keep_open=SHOULD_NOT),
    Case("invalid character in a field name", get(b"X(Bad): v\r\n"),
         "RFC 9110 5.1 (field-name = token); RFC 9112 2.2 (SHOULD respond 400 and close)",
         accept=SHOULD_NOT, keep_open=MAY, reject_keep_open=SHOULD_NOT),
    Case("control character in a field name", get(b"X\x01Bad: v\r\n"),
         "RFC 9110 5.1 (field-name = token); RFC 9112 2.2 (SHOULD respond 400 and close)",
         accept=SHOULD_NOT, keep_open=MAY, reject_keep_open=SHOULD_NOT),
]

HOST_SECTION = ("RFC 9112 3.2 (a server MUST respond with 400 to any HTTP/1.1 request that "
                "lacks a Host header field, has more than one, or has an invalid one)")
_HOST = {"accept": NEVER, "keep_open": MAY, "reject_keep_open": MAY}
HOST_CASES = [
    Case("HTTP/1.1 without Host", get(b"", host=False), HOST_SECTION, **_HOST),
    Case("two Host fields, same value", lambda p: get(b"Host: " + p.host + b"\r\n")(p),
         HOST_SECTION, **_HOST),
    Case("two Host fields, different values", get(b"Host: other.example\r\n"), HOST_SECTION,
         **_HOST),
]
# Host = uri-host [ ":" port ] (RFC 9110 7.2); neither SP nor "/" fits reg-name.
HOST_VALUE_CASES = [
    Case("invalid Host value (space)", get(b"Host: a b\r\n", host=False), HOST_SECTION,
         **_HOST),
    Case("invalid Host value (path)", get(b"Host: a.example/x\r\n", host=False),
         HOST_SECTION, **_HOST),
]

TARGET_SECTION = "RFC 9112 3.2, 3.2.4, 3 (invalid request-line: SHOULD respond 400)"
_TARGET = {"accept": SHOULD_NOT, "keep_open": MAY, "reject_keep_open": SHOULD_NOT}
TARGET_CASES = [
    Case("NUL in the request-target", get(b"", target=b"/desync/a\x00b"), TARGET_SECTION,
         **_TARGET),
    Case("control character in the request-target", get(b"", target=b"/desync/a\x01b"),
         TARGET_SECTION, **_TARGET),
    Case("space inside the request-target", get(b"", target=b"/desync/a b"), TARGET_SECTION,
         **_TARGET),
    Case('"*" with GET', get(b"", target=b"*"),
         "RFC 9112 3.2.4 (asterisk-form is only used for a server-wide OPTIONS request)",
         **_TARGET),
]


@check(id="http-headers.field-syntax", title="CR/LF/NUL, bare CR, obs-fold, space before colon "
       "and bad names in fields are rejected or neutralised", requirements=["HTTP-06"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section=FIELD_SECTION)
def field_syntax(ctx: CheckContext) -> None:
    """RFC 9110 5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject
    the message or replace each of those characters with SP". RFC 9112 5.1: "A server MUST
    reject, with a response status code of 400 (Bad Request), any received request message
    that contains whitespace between a header field name and colon." 5.2: obs-fold MUST be
    rejected with 400 or replaced with SP. 2.2: a bare CR MUST be treated as invalid or
    replaced with SP; other grammar violations SHOULD get 400 and close (warn)."""
    run_cases(ctx, FIELD_CASES)


@check(id="http-headers.host", title="a missing or duplicated Host gets 400",
       requirements=["HTTP-07", "HTTP-16"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 3.2")
def host_rules(ctx: CheckContext) -> None:
    """RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    HTTP/1.1 request message that lacks a Host header field and to any request message that
    contains more than one Host header field line ..." (invalid values: http-headers.host-value)
    """
    run_cases(ctx, HOST_CASES)


@check(id="http-headers.host-value", title="a Host field whose value is not uri-host[:port] "
       "gets 400", requirements=["HTTP-07"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 3.2; RFC 9110 7.2")
def host_value(ctx: CheckContext) -> None:
    """RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to any ...
    request message that contains ... a Host header field with an invalid field value."
    RFC 9110 7.2: Host = uri-host [ ":" port ]; "a b" and "a.example/x" are not."""
    run_cases(ctx, HOST_VALUE_CASES)


@check(id="http-headers.request-target", title="control characters in the target and a "
       "misplaced '*' are rejected; absolute-form is accepted", requirements=["HTTP-08"],
       level=Level.SHOULD, interfaces=BOTH, via=DIRECT, section="RFC 9112 3.2, 3.3")
def request_target(ctx: CheckContext) -> None:
    """RFC 9112 3: "Recipients of an invalid request-line SHOULD respond with either a 400
    (Bad Request) error or a 301 (Moved Permanently) redirect"; 3.2.4: asterisk-form only for
    OPTIONS. 3.2.2: "A server MUST accept the absolute-form in requests" and, 3.3, an origin
    server uses its authority and path: the app must see the path /desync/abs."""
    exchange = ctx.request("GET", "http://other.example/desync/abs?q=1")
    status = exchange.response.status
    if status != 200:
        ctx.fail(f"an absolute-form request (GET http://other.example/desync/abs?q=1) was "
                 f"answered {status}, not accepted (RFC 9112 3.2.2: MUST accept)")
    entry = ctx.observed(exchange.rid)
    path = entry.get("environ", {}).get("PATH_INFO") or entry.get("scope", {}).get("path")
    message = f"absolute-form request: the app saw path {path!r}, not '/desync/abs'"
    if path != "/desync/abs" and "scope" not in entry:
        ctx.fail(message + " (PEP 3333: PATH_INFO is the path of the request URL)")
    run_cases(ctx, TARGET_CASES)
    if path != "/desync/abs":
        # The ASGI spec defines path as "HTTP request target excluding any query string",
        # which read literally is the absolute URL: the spec leaves this open.
        ctx.info(message + " (ASGI www: path is the request target, read literally)")


@check(id="http-headers.invalid-utf8-path", title="invalid UTF-8 and %FF in the path are "
       "handled without a crash or 500", requirements=["HTTP-09"], level=Level.SHOULD,
       interfaces=BOTH, via=DIRECT, section="PEP 3333 (latin-1 environ); ASGI www (path)")
def invalid_utf8_path(ctx: CheckContext) -> None:
    """The request-target is octets (RFC 9112 3.2); PEP 3333 hands them to the app as latin-1
    strings and the ASGI spec decodes percent-escapes to UTF-8 where it can: neither gives a
    server a reason to crash or answer 500 for %FF or raw non-UTF-8 bytes. A 400 is allowed;
    the server must still answer a following request."""
    for target in (b"/desync/%FF%FE", b"/desync/\xff\xfe", b"/desync/%C0%AF"):
        exchange = ctx.request("GET", target)
        status = exchange.response.status
        if status == 0 or status >= 500:
            ctx.fail(f"GET {escape_bytes(target)} was answered "
                     f"{status or 'with nothing'}: {exchange.response.problems[:2]}")
    after = ctx.request("GET", "/desync/after")
    ctx.expect(after.response.status == 200, "the server stopped answering after the "
               f"invalid-UTF-8 paths (status {after.response.status})")


@check(id="http-headers.duplicates", title="duplicate framing fields never desync; Set-Cookie "
       "lines from the app are never merged", requirements=["HTTP-16"], level=Level.SHOULD,
       interfaces=BOTH, via=DIRECT, section="RFC 9110 5.3, 8.6; RFC 6265 3")
def duplicates(ctx: CheckContext) -> None:
    """RFC 9110 5.3: Set-Cookie "cannot be combined into a single field value"; RFC 6265 3:
    "Origin servers SHOULD NOT fold multiple Set-Cookie header fields into a single header
    field." RFC 9110 8.6: duplicate identical Content-Length lines MAY be rejected or replaced
    by one value (checked only for desync); differing ones are in http-framing.content-length.
    (Duplicate singleton fields such as Content-Type are left open by RFC 9110 5.3.)"""
    exchange = ctx.request("GET", "/probe/framing-status?code=200&cookies=2")
    cookies = exchange.response.header_all("set-cookie")
    if len(cookies) != 2:
        ctx.fail(f"the app set two cookies; the response has {len(cookies)} Set-Cookie "
                 f"line(s): {cookies!r}")
    run_cases(ctx, [Case("two identical Content-Length lines",
                         get(b"Content-Length: 5\r\nContent-Length: 5\r\n", method=b"POST",
                             body=b"hello"), "RFC 9110 8.6 (MAY reject or use one value)",
                         accept=MAY, keep_open=MAY, reject_keep_open=MAY)])

OVERSIZE = 256 * 1024


def _oversized(ctx: CheckContext, what: str, data: bytes) -> str | None:
    conn = ctx.connect(timeout=5.0)
    # The server may stop reading early: what it answered is still read below.
    with contextlib.suppress(OSError):
        conn.send(data)
    try:
        response = conn.read_response(timeout=5.0)
    except (WireTimeout, OSError):
        response = None
    conn.close()
    if response is None or (response.status == 0 and not conn.eof):
        return f"{what}: neither an answer nor a close within 5 s"
    if response.status >= 500:
        return f"{what}: answered {response.status} (expected 414/431/400 or a close)"
    return None


@check(id="http-headers.oversized", title="an oversized request line or header section gets "
       "414/431/400, not a crash or hang", requirements=["HTTP-19"], level=Level.SHOULD,
       interfaces=BOTH, via=DIRECT, section="RFC 9110 15.5.15, 15.5.20; RFC 6585 5")
def oversized(ctx: CheckContext) -> None:
    """RFC 9112 3: "A server that receives a request-target longer than any URI it wishes to
    parse MUST respond with a 414 (URI Too Long)"; RFC 6585 5: 431 for header fields that are
    too large. A 256 KiB target and a 256 KiB header section must be answered (or the
    connection closed) promptly, and the server must keep serving afterwards."""
    rid = ctx.new_rid()
    problems = [
        _oversized(ctx, "256 KiB request-target", request_bytes(
            "GET", "/desync/" + "a" * OVERSIZE, ctx.base_headers(rid))),
        _oversized(ctx, "256 KiB header section", request_bytes(
            "GET", "/desync/big-head", ctx.base_headers(rid)
            + [(f"X-Big-{n}", "b" * 1000) for n in range(OVERSIZE // 1000)])),
    ]
    after = ctx.request("GET", "/desync/after")
    if after.response.status != 200:
        problems.append(f"the server stopped answering afterwards ({after.response.status})")
    found = [p for p in problems if p]
    ctx.expect(not found, "; ".join(found))
