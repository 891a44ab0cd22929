"""HTTP/1.1 request head hygiene at the server (RFC 9110 5, RFC 9112 2-5): field characters,
Host, request-target forms, duplicates, invalid UTF-8 in the path, oversized heads.

Cases that can shift message boundaries run through the desync detector."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from conformance.catalogue import check
from conformance.context import JOURNAL_TIMEOUT, CheckContext
from conformance.desync import Case, Outcome, Parts, Rules, Unjudged, run_cases
from conformance.verdicts import Level
from conformance.wire import Connection, Response, escape_bytes, parse_response, request_bytes

BOTH = ("wsgi", "asgi")
DIRECT = ("direct",)


def get(fields: bytes, *, target: bytes = b"/probe/read-all?case=invalid",
        method: bytes = b"GET", host: bool = True, body: bytes = b"") -> Callable[[Parts], bytes]:
    """A request with the given extra field lines (each ending CRLF), Host optional."""

    def build(parts: Parts) -> bytes:
        base = parts.base if host else parts.rid_line
        return method + b" " + target + b" HTTP/1.1\r\n" + base + fields + b"\r\n" + body

    return build


# 9110 5.5 and 9112 2.2/5.2 let a recipient replace CR, LF, NUL, bare CR and obs-fold with SP
# instead of rejecting (what the app then sees is checked below); a 400 that keeps the
# connection open breaks only 9112 2.2's SHOULD.
# 9112 5.1: whitespace before the colon MUST be rejected with 400 (no SP alternative).
_COLON: Rules = {"reject": "HTTP-06.b", "respond": "HTTP-06.b", "close_after_reject": "HTTP-06.e",
          "framing": "HTTP-06.b"}
# 9110 5.1: field-name = token; only 9112 2.2's SHOULD (400 and close) covers other bytes.
_NAME: Rules = {"reject": "HTTP-06.e", "respond": "HTTP-06.e", "close_after_reject": "HTTP-06.e"}
FIELD_CASES = [
    Case("CR inside a field value", get(b"X-Bad: a\rb\r\n"), close_after_reject="HTTP-06.e",
         framing="HTTP-06.a"),
    Case("NUL inside a field value", get(b"X-Bad: a\x00b\r\n"), close_after_reject="HTTP-06.e",
         framing="HTTP-06.a"),
    Case("bare CR ending a field line", get(b"X-Bad: a\rX-Other: b\r\n"),
         close_after_reject="HTTP-06.e", framing="HTTP-06.d"),
    Case("obsolete line folding", get(b"X-Bad: a\r\n folded\r\n"), close_after_reject="HTTP-06.e",
         framing="HTTP-06.c"),
    Case("whitespace between field name and colon", get(b"X-Bad : v\r\n"), **_COLON),
    # A server that strips the space would frame a body by it; one that drops the line would not.
    Case("Content-Length with whitespace before the colon",
         get(b"Content-Length : 5\r\n", method=b"POST", body=b"hello"), **_COLON),
    Case("invalid character in a field name", get(b"X(Bad): v\r\n"), **_NAME),
    Case("control character in a field name", get(b"X\x01Bad: v\r\n"), **_NAME),
]
# Where the server serves instead of rejecting, what the app must see of X-Bad (each CR, NUL
# or bare CR replaced with SP; the fold with one or more SP), and the sentence it rests on.
_REPLACED = {
    "CR inside a field value": ("HTTP-06.a", r"a b"),
    "NUL inside a field value": ("HTTP-06.a", r"a b"),
    "bare CR ending a field line": ("HTTP-06.d", r"a X-Other: b"),
    "obsolete line folding": ("HTTP-06.c", r"a +folded"),
}

# 9112 3.2: 400 for a missing, duplicated or invalid Host (MUST); the connection may stay open.
_HOST: Rules = {"reject": "HTTP-07.a", "respond": "HTTP-07.a", "framing": "HTTP-07.a"}
HOST_CASES = [
    Case("HTTP/1.1 without Host", get(b"", host=False), **_HOST),
    Case("two Host fields, same value", lambda p: get(b"Host: " + p.host + b"\r\n")(p),
         **_HOST),
    Case("two Host fields, different values", get(b"Host: other.example\r\n"), **_HOST),
]
# Host = uri-host [ ":" port ] (RFC 9110 7.2); neither SP nor "/" fits reg-name.
HOST_VALUE_CASES = [
    Case("invalid Host value (space)", get(b"Host: a b\r\n", host=False), **_HOST),
    Case("invalid Host value (path)", get(b"Host: a.example/x\r\n", host=False), **_HOST),
]

# 9112 3.2: an invalid request-line SHOULD get 400 (or 301); 2.2: and the connection closed.
_TARGET: Rules = {"reject": "HTTP-08.d", "respond": "HTTP-08.d", "close_after_reject": "HTTP-08.h"}
TARGET_CASES = [
    Case("NUL in the request-target", get(b"", target=b"/desync/a\x00b"), **_TARGET),
    Case("control character in the request-target", get(b"", target=b"/desync/a\x01b"),
         **_TARGET),
    Case("space inside the request-target", get(b"", target=b"/desync/a b"), **_TARGET),
    # Only the client is bound (9112 3.2.4, 9110 7.1) and the line matches the grammar: what
    # the server does is its choice, reported (9110 2.4 MAY).
    Case('"*" with GET', get(b"", target=b"*"), reject="HTTP-08.k"),
]
ABSOLUTE_TARGET = "http://other.example/desync/abs?q=1"
ABSOLUTE_PATH = "/desync/abs"


def _header_values(entry: dict[str, Any], name: str) -> list[str]:
    """The values of field ``name`` as the app saw them (environ or scope), as latin-1 text."""
    if "environ" in entry:
        key = "HTTP_" + name.upper().replace("-", "_")
        value = entry["environ"].get(key)
        return [] if value is None else [str(value)]
    wanted = name.lower().encode("latin-1")
    return [bytes(v).decode("latin-1") for n, v in entry.get("scope", {}).get("headers", [])
            if bytes(n).lower() == wanted]


def _app_entry(outcome: Outcome) -> dict[str, Any] | None:
    return next((e for e in outcome.events.get("invalid", []) if e["event"] == "request"), None)


def _judge_replacement(ctx: CheckContext, outcome: Outcome) -> None:
    """Served instead of rejected: the app must see SP where the CR, NUL or fold was, in the
    same field (a dropped field, a cut value or a new field is neither reject nor replace)."""
    rule = _REPLACED.get(outcome.case.name)
    entry = _app_entry(outcome)
    if rule is None or entry is None:
        return
    ref, replaced = rule
    values = _header_values(entry, "X-Bad")
    others = _header_values(entry, "X-Other")
    if len(values) != 1 or not re.fullmatch(replaced, values[0]) or others:
        seen = f"X-Bad {values!r}" + (f" and a field X-Other {others!r}" if others else "")
        ctx.finding(ref, f"served, but the app saw {seen}: the bytes were neither rejected nor "
                         f"replaced with SP (that gives {replaced.replace(' +', ' ')!r})")


@check(id="http-headers.field-syntax", title="CR/LF/NUL, bare CR, obs-fold, space before colon "
       "and bad names in fields are rejected or neutralised", requirements=["HTTP-06"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section="RFC 9110 5.5; RFC 9112 2.2, "
       "5.1, 5.2")
def field_syntax(ctx: CheckContext) -> None:
    """RFC 9110 5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject
    the message or replace each of those characters with SP before further processing or
    forwarding of that message." (HTTP-06.a) RFC 9112 5.1: "A server MUST reject, with a
    response status code of 400 (Bad Request), any received request message that contains
    whitespace between a header field name and colon." (HTTP-06.b) 5.2: obs-fold MUST be
    rejected with 400 or replaced with SP (HTTP-06.c); 2.2: "A recipient of such a bare CR
    MUST consider that element to be invalid or replace each bare CR with SP before processing
    the element or forwarding the message." (HTTP-06.d). Where the server serves instead of
    rejecting, the app must see the same field with SP in place of each such byte (a cut
    value, a lost field or a new field X-Other is neither). Bad name characters, and
    a rejection that keeps the connection open, rest on 2.2's SHOULD (HTTP-06.e, a warn): "the
    server SHOULD respond with a 400 (Bad Request) response and close the connection." """
    run_cases(ctx, FIELD_CASES, also=_judge_replacement)


@check(id="http-headers.host", title="a missing or duplicated Host gets 400",
       requirements=["HTTP-07", "HTTP-16"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 3.2")
def host_rules(ctx: CheckContext) -> None:
    """RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    HTTP/1.1 request message that lacks a Host header field and to any request message that
    contains more than one Host header field line or a Host header field with an invalid field
    value." (HTTP-07.a, also HTTP-16.a; invalid values: http-headers.host-value). Keeping the
    connection open after the 400 is allowed."""
    run_cases(ctx, HOST_CASES)


@check(id="http-headers.host-value", title="a Host field whose value is not uri-host[:port] "
       "gets 400", requirements=["HTTP-07"], level=Level.MUST, interfaces=BOTH, via=DIRECT,
       section="RFC 9112 3.2; RFC 9110 7.2")
def host_value(ctx: CheckContext) -> None:
    """RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    HTTP/1.1 request message that lacks a Host header field and to any request message that
    contains more than one Host header field line or a Host header field with an invalid field
    value." (HTTP-07.a) RFC 9110 7.2: Host = uri-host [ ":" port ]; ``a b`` and
    ``a.example/x`` are not."""
    run_cases(ctx, HOST_VALUE_CASES)


def _absolute_form(ctx: CheckContext) -> None:
    """GET in absolute-form: accepted, and the app's path is the URL's path."""
    exchange = ctx.request("GET", ABSOLUTE_TARGET)
    status = exchange.response.status
    ctx.require(200 <= status < 300, "HTTP-08.a",
                f"GET {ABSOLUTE_TARGET} (absolute-form) was answered "
                f"{status or 'with nothing'}, not accepted")
    entry = ctx.journal.wait_event(exchange.rid, "request", timeout=JOURNAL_TIMEOUT)
    if entry is None:
        return  # answered 2xx without the app: nothing the app saw to judge
    if "environ" in entry:
        path = entry["environ"].get("PATH_INFO")
        if path != ABSOLUTE_PATH:
            ctx.finding("HTTP-08.i", f"GET {ABSOLUTE_TARGET}: the app saw PATH_INFO {path!r}, "
                                     f"not the URL's path {ABSOLUTE_PATH!r}")
    elif (path := entry.get("scope", {}).get("path")) != ABSOLUTE_PATH:
        ctx.finding("HTTP-08.j", f"GET {ABSOLUTE_TARGET}: the app saw path {path!r} (the "
                                 f"request target read literally), not {ABSOLUTE_PATH!r}")


@check(id="http-headers.request-target", title="absolute-form is accepted with its path; "
       "control characters and spaces in the target are rejected", requirements=["HTTP-08"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section="RFC 9112 3.2, 3.2.2, 3.2.4")
def request_target(ctx: CheckContext) -> None:
    """RFC 9112 3.2.2: "A server MUST accept the absolute-form in requests even though most
    HTTP/1.1 clients will only send the absolute-form to a proxy." (HTTP-08.a) PEP 3333 defines
    PATH_INFO as "The remainder of the request URL's "path", designating the virtual
    "location" of the request's target within the application." (HTTP-08.i: /desync/abs, not
    the absolute URL); the ASGI path, "HTTP request target excluding any query string, with
    percent-encoded sequences and UTF-8 byte sequences decoded into characters.", reads both
    ways for an absolute-form target, so it is reported (HTTP-08.j, info). 3.2: "Recipients of
    an invalid request-line SHOULD respond with either a 400 (Bad Request) error or a 301
    (Moved Permanently) redirect with the request-target properly encoded." (HTTP-08.d: NUL,
    a control character or a space in the target), and 2.2's "the server SHOULD respond with a
    400 (Bad Request) response and close the connection." (HTTP-08.h). ``*`` with GET breaks
    only the client's rule (9110 7.1 "These forms MUST NOT be used with other methods."):
    serving it is reported (HTTP-08.k, 9110 2.4 "Unless noted otherwise, a recipient MAY
    attempt to recover a usable protocol element from an invalid construct.")."""
    with ctx.case("absolute-form"):
        _absolute_form(ctx)
    run_cases(ctx, TARGET_CASES)


INVALID_UTF8_TARGETS = (
    # (target, a raw octet outside the request-target grammar, not a percent-encoding)
    (b"/desync/%FF%FE", False),
    (b"/desync/\xff\xfe", True),
    (b"/desync/%C0%AF", False),
)


def _status_of(ctx: CheckContext, target: bytes | str) -> tuple[int, str]:
    """Send GET target; (status or 0, request id). A refused connection is status 0."""
    rid = ctx.new_rid()
    try:
        return ctx.request("GET", target, rid=rid).response.status, rid
    except OSError:
        return 0, rid


def _app_raised(ctx: CheckContext, rid: str) -> bool:
    return any(e["event"] == "app-exception" for e in ctx.journal.for_rid(rid))


@check(id="http-headers.invalid-utf8-path", title="invalid UTF-8 and %FF in the path are "
       "handled without a crash or 500; raw non-ASCII bytes are rejected",
       requirements=["HTTP-09"], level=Level.SHOULD, interfaces=BOTH, via=DIRECT,
       section="RFC 9110 2.3; RFC 9112 3.2")
def invalid_utf8_path(ctx: CheckContext) -> None:
    """RFC 9110 2.3: "A recipient SHOULD parse a received protocol element defensively, with
    only marginal expectations that the element will conform to its ABNF grammar and fit
    within a reasonable buffer size." (HTTP-09.a: ``%FF%FE`` and ``%C0%AF`` are valid
    percent-encodings of bytes that are not UTF-8; a 5xx, no answer, or no answer to a later
    request is a warn). RFC 9112 3.2: "Recipients of an invalid request-line SHOULD respond with
    either a 400 (Bad Request) error or a 301 (Moved Permanently) redirect with the
    request-target properly encoded." (HTTP-09.b: raw octets 0xFF 0xFE are not allowed in a
    request-target). What an ASGI server puts in path for them is left open. A 500 that the
    probe app itself raised is not the server's."""
    unjudged = Unjudged()
    for target, raw in INVALID_UTF8_TARGETS:
        with ctx.case(f"GET {escape_bytes(target)}"):
            status, rid = _status_of(ctx, target)
            ref = "HTTP-09.b" if raw else "HTTP-09.a"
            if (status == 0 or status >= 500) and _app_raised(ctx, rid):
                unjudged.add(f"GET {escape_bytes(target)}: the probe app itself raised")
            elif status == 0 or status >= 500:
                ctx.finding(ref, f"GET {escape_bytes(target)} was answered "
                                 f"{status or 'with nothing'}")
            elif raw and 200 <= status < 300:
                ctx.finding(ref, f"GET {escape_bytes(target)} was served ({status}): raw octets "
                                 "0xFF 0xFE in the request-target were not rejected with 400 "
                                 "or redirected with 301")
    with ctx.case("afterwards"):
        status, _ = _status_of(ctx, "/desync/after")
        if status != 200:
            ctx.finding("HTTP-09.a", "after the invalid-UTF-8 paths, GET /desync/after was "
                                     f"answered {status or 'with nothing'}")
    unjudged.raise_if_any()


def _judge_set_cookie(ctx: CheckContext) -> None:
    exchange = ctx.request("GET", "/probe/framing-status?code=200&cookies=2")
    cookies = exchange.response.header_all("set-cookie")
    if exchange.response.status != 200 or len(cookies) == 2:
        return
    # WSGI: PEP 3333's should; ASGI: each [name, value] pair is one header (a definition).
    ref = "HTTP-16.f" if ctx.target.interface == "wsgi" else "HTTP-16.g"
    ctx.finding(ref, f"the app set two cookies; the response has {len(cookies)} Set-Cookie "
                     f"line(s): {cookies!r}")


@check(id="http-headers.duplicates", title="duplicate Content-Length never shifts the framing; "
       "Set-Cookie lines from the app are never merged", requirements=["HTTP-16"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section="RFC 9110 5.3, 8.6")
def duplicates(ctx: CheckContext) -> None:
    """RFC 9110 5.3: "Since it cannot be combined into a single field value, recipients ought
    to handle "Set-Cookie" as a special case while processing fields." For WSGI, PEP 3333 says
    of servers: "They should only make changes that do not alter the effective semantics of
    the application's response." (HTTP-16.f, a warn); for ASGI each header is "An iterable of
    [name, value] two-item iterables, where name is the header name, and value is the header
    value." (HTTP-16.g): merging the app's two Set-Cookie lines breaks them. RFC 9110 8.6: two
    identical Content-Length lines MAY be rejected or used as one value (HTTP-16.c); RFC 9112
    6.3 processes them "with that single value used as the Content-Length field value"
    (HTTP-16.b), so the marker after the body must never be read as body. (Differing values:
    http-framing.content-length; duplicate singleton fields such as Content-Type are left
    open.)"""
    with ctx.case("two Set-Cookie lines from the app"):
        _judge_set_cookie(ctx)
    run_cases(ctx, [Case("two identical Content-Length lines",
                         get(b"Content-Length: 5\r\nContent-Length: 5\r\n", method=b"POST",
                             body=b"hello"), framing="HTTP-16.b")])


OVERSIZE = 256 * 1024
OVERSIZE_WAIT = 5.0  # seconds for the answer (a correct server answers at once)
PIECE = 16 * 1024  # bytes per write: an answer that comes early is read before more is sent


def _recv(conn: Connection, timeout: float) -> str:
    """Read once: "data", "timeout", "closed" (FIN) or "reset" (RST). Bytes that arrived
    before a reset are still read first (Linux keeps them), so a reset with nothing read
    means nothing was sent."""
    conn.sock.settimeout(max(timeout, 0.001))
    try:
        data = conn.sock.recv(65536)
    except TimeoutError:
        return "timeout"
    except (ConnectionResetError, BrokenPipeError):
        conn.eof = True
        return "reset"
    if not data:
        conn.eof = True
        return "closed"
    conn.received += data
    return "data"


def _answer(conn: Connection) -> Response | None:
    response, _ = parse_response(bytes(conn.received), eof=conn.eof)
    return response if response is not None and response.status else None


def _send_oversized(ctx: CheckContext, data: bytes) -> tuple[Response | None, str]:
    """Send ``data`` in pieces, reading between them; returns the answer (None if there was
    none) and how the exchange ended: "answered", "closed", "reset" or "open"."""
    conn = ctx.connect(timeout=OVERSIZE_WAIT)
    ended = "open"
    for start in range(0, len(data), PIECE):
        while ended == "open" and (got := _recv(conn, 0.0)) != "timeout":
            ended = "open" if got == "data" else got
        if ended != "open" or _answer(conn) is not None:
            break
        try:
            conn.send(data[start:start + PIECE])
        except OSError:
            break  # it stopped reading: what it answered is read below
    deadline = time.monotonic() + OVERSIZE_WAIT
    while ended == "open" and _answer(conn) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        got = _recv(conn, left)
        ended = got if got in ("closed", "reset") else ended
    conn.close()
    answer = _answer(conn)
    return answer, "answered" if answer is not None else ended


def _judge_oversized(ctx: CheckContext, what: str, data: bytes, ref: str,
                     wanted: Callable[[int], bool], name: str) -> None:
    answer, ended = _send_oversized(ctx, data)
    if answer is not None:
        status = answer.status
        if not 200 <= status < 300 and not wanted(status):
            ctx.finding(ref, f"{what}: answered {status}, not {name}")
        return
    how = {"closed": "closed the connection without an answer",
           "reset": "reset the connection without an answer (nothing arrived before the reset)",
           }.get(ended, f"neither answered nor closed within {OVERSIZE_WAIT:g} s")
    ctx.finding(ref, f"{what}: {how}")


@check(id="http-headers.oversized", title="an oversized request-target gets 414, an oversized "
       "header section a 4xx, and the server keeps serving", requirements=["HTTP-19"],
       level=Level.MUST, interfaces=BOTH, via=DIRECT, section="RFC 9112 3; RFC 9110 5.4, 2.3")
def oversized(ctx: CheckContext) -> None:
    """RFC 9112 3: "A server that receives a request-target longer than any URI it wishes to
    parse MUST respond with a 414 (URI Too Long) status code (see Section 15.5.15 of [HTTP])."
    (HTTP-19.a: a 256 KiB target is served, or answered 414; a 400, 431 or a bare close is not
    414). RFC 9110 5.4: "A server that receives a request header field line, field value, or
    set of fields larger than it wishes to process MUST respond with an appropriate 4xx
    (Client Error) status code." (HTTP-19.b: a 256 KiB header section is served or gets a 4xx).
    2.3: "A recipient SHOULD parse a received protocol element defensively, with only marginal
    expectations that the element will conform to its ABNF grammar and fit within a
    reasonable buffer size." (HTTP-19.c: the server still answers a request afterwards). The
    request goes in 16 KiB writes with reads between them, so an early answer is read; bytes
    that arrived before a reset are still read, so a reset with nothing read is no answer."""
    rid = ctx.new_rid()
    with ctx.case("256 KiB request-target"):
        _judge_oversized(ctx, "a 256 KiB request-target", request_bytes(
            "GET", "/desync/" + "a" * OVERSIZE, ctx.base_headers(rid)), "HTTP-19.a",
            lambda status: status == 414, "414")
    with ctx.case("256 KiB header section"):
        _judge_oversized(ctx, "a 256 KiB header section", request_bytes(
            "GET", "/desync/big-head", ctx.base_headers(rid)
            + [(f"X-Big-{n}", "b" * 1000) for n in range(OVERSIZE // 1000)]), "HTTP-19.b",
            lambda status: 400 <= status < 500, "a 4xx")
    with ctx.case("afterwards"):
        status, _ = _status_of(ctx, "/desync/after")
        if status != 200:
            ctx.finding("HTTP-19.c", "after the oversized requests, GET /desync/after was "
                                     f"answered {status or 'with nothing'}")
