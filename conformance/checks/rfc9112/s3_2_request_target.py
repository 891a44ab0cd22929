"""RFC 9112 3.2, Request Target.

Cases that can shift message boundaries run through the desync detector."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.rfc9112.get_status import status_of
from conformance.checks.support.field_line_requests import get
from conformance.checks.support.http10_servers import answers_as_http10
from conformance.context import JOURNAL_TIMEOUT, CheckContext
from conformance.desync import Case, Rules, Unjudged, run_cases
from conformance.probes.contract import Event
from conformance.verdicts import Level
from conformance.wire import escape_bytes

# 9112 3.2: 400 for a missing, duplicated or invalid Host (MUST); the connection may stay open.
# No framing rule: the sentence says nothing of framing, so a bodiless GET read with the marker
# as its body (pyruvate) is no Host finding.
_HOST: Rules = {"reject": "HTTP-07.a", "respond": "HTTP-07.a"}
# The same sentence as catalogued under duplicate fields (RFC 9110 5.3's exception list).
_TWO_HOSTS: Rules = {"reject": "HTTP-16.a", "respond": "HTTP-16.a"}
HOST_CASES = [
    Case("HTTP/1.1 without Host", get(b"", host=False), **_HOST),
    Case("two Host fields, same value", lambda p: get(b"Host: " + p.host + b"\r\n")(p),
         **_TWO_HOSTS),
    Case("two Host fields, different values", get(b"Host: other.example\r\n"), **_TWO_HOSTS),
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


@check(id="rfc9112.host", title="a missing or duplicated Host gets 400",
       requirements=["HTTP-07", "HTTP-16"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 3.2")
def host_rules(ctx: CheckContext) -> None:
    """RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    HTTP/1.1 request message that lacks a Host header field and to any request message that
    contains more than one Host header field line or a Host header field with an invalid field
    value." (HTTP-07.a; two Host lines: HTTP-16.a; invalid values: rfc9112.host-value). Keeping the
    connection open after the 400 is allowed. The missing Host is a fault of "any HTTP/1.1
    request message" only: a server that answers as HTTP/1.0 processes the request as HTTP/1.0
    (RFC 9110 6.2), so that case is not judged there; two Host lines are a fault of "any
    request message", judged on every server."""
    cases = HOST_CASES
    if answers_as_http10(ctx):
        ctx.details["not_judged"] = (
            f"{NO_HOST}: the server answers as HTTP/1.0, and RFC 9112 3.2's missing-Host rule "
            "covers only \"any HTTP/1.1 request message that lacks a Host header field\"")
        cases = [case for case in HOST_CASES if case.name != NO_HOST]
    run_cases(ctx, cases)


NO_HOST = "HTTP/1.1 without Host"  # HOST_CASES' case name


@check(id="rfc9112.host-value", title="a Host field whose value is not uri-host[:port] "
       "gets 400", requirements=["HTTP-07"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 3.2; RFC 9110 7.2")
def host_value(ctx: CheckContext) -> None:
    """RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    HTTP/1.1 request message that lacks a Host header field and to any request message that
    contains more than one Host header field line or a Host header field with an invalid field
    value." (HTTP-07.a) RFC 9110 7.2: Host = uri-host [ ":" port ]; ``a b`` and
    ``a.example/x`` are not."""
    run_cases(ctx, HOST_VALUE_CASES)


def _absolute_form(ctx: CheckContext) -> None:
    """GET in absolute-form: accepted (the app saw it), and the app's path is the URL's
    path."""
    exchange = ctx.request("GET", ABSOLUTE_TARGET)
    status = exchange.response.status
    ctx.require(200 <= status < 300, "HTTP-08.a",
                f"GET {ABSOLUTE_TARGET} (absolute-form) was answered "
                f"{status or 'with nothing'}, not accepted")
    entry = ctx.journal.wait_event(exchange.rid, Event.REQUEST, timeout=JOURNAL_TIMEOUT)
    # Accepting it is earned by the app seeing the request: a 2xx the app never produced (the
    # server answered, or fetched the URL, itself) is no acceptance.
    if entry is None:
        ctx.finding("HTTP-08.a", f"GET {ABSOLUTE_TARGET} (absolute-form) was answered {status}, "
                                 f"but the app never saw the request (no journal entry for its "
                                 f"id within {JOURNAL_TIMEOUT:g} s)")
        return
    if "environ" in entry:
        path = entry["environ"].get("PATH_INFO")
        if path != ABSOLUTE_PATH:
            ctx.finding("HTTP-08.i", f"GET {ABSOLUTE_TARGET}: the app saw PATH_INFO {path!r}, "
                                     f"not the URL's path {ABSOLUTE_PATH!r}")
    elif (path := entry.get("scope", {}).get("path")) != ABSOLUTE_PATH:
        ctx.finding("HTTP-08.j", f"GET {ABSOLUTE_TARGET}: the app saw path {path!r} (the "
                                 f"request target read literally), not {ABSOLUTE_PATH!r}")


@check(id="rfc9112.request-target", title="absolute-form is accepted with its path; "
       "control characters and spaces in the target are rejected", requirements=["HTTP-08"],
       level=Level.MUST, interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9112 3.2, 3.2.2, 3.2.4")
def request_target(ctx: CheckContext) -> None:
    """RFC 9112 3.2.2: "A server MUST accept the absolute-form in requests even though most
    HTTP/1.1 clients will only send the absolute-form to a proxy." (HTTP-08.a: a 2xx the app
    never saw, answered by the server itself, is no acceptance) PEP 3333 defines
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


# A valid UTF-8 sequence, percent-encoded: the ASGI path holds the character it encodes.
UTF8_TARGET = "/desync/%C3%A9"
UTF8_PATH = "/desync/\u00e9"


def _judge_utf8_path(ctx: CheckContext, unjudged: Unjudged) -> None:
    status, rid = status_of(ctx, UTF8_TARGET)
    entry = ctx.journal.wait_event(rid, Event.REQUEST, timeout=JOURNAL_TIMEOUT)
    if entry is None:
        unjudged.add(f"GET {UTF8_TARGET} was answered {status or 'with nothing'} and never "
                     "reached the app: its path could not be judged")
        return
    path = entry.get("scope", {}).get("path")
    if path != UTF8_PATH:
        ctx.finding("HTTP-09.c", f"GET {UTF8_TARGET}: the app's path is {path!r}, not the "
                                 f"UTF-8-decoded {UTF8_PATH!r}")


def _death(ctx: CheckContext) -> str:
    """The shared server's exit, when the request killed it, for the finding's message (an
    unanswered request otherwise reads as a server that chose to answer nothing)."""
    died = ctx.server_exit_status()
    return "" if died is None else f": the server process exited (status {died})"


def _app_raised(ctx: CheckContext, rid: str) -> bool:
    return ctx.journal.saw(rid, Event.APP_EXCEPTION)


@check(id="rfc9112.invalid-utf8-path", title="invalid UTF-8 and %FF in the path are "
       "handled without a crash or 500; raw non-ASCII bytes are rejected",
       requirements=["HTTP-09"], level=Level.SHOULD, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 3.2; RFC 9110 2.3")
def invalid_utf8_path(ctx: CheckContext) -> None:
    """RFC 9110 2.3: "A recipient SHOULD parse a received protocol element defensively, with
    only marginal expectations that the element will conform to its ABNF grammar and fit
    within a reasonable buffer size." (HTTP-09.a: ``%FF%FE`` and ``%C0%AF`` are valid
    percent-encodings of bytes that are not UTF-8; a 5xx, no answer, or no answer to a later
    request is a warn). RFC 9112 3.2: "Recipients of an invalid request-line SHOULD respond with
    either a 400 (Bad Request) error or a 301 (Moved Permanently) redirect with the
    request-target properly encoded." (HTTP-09.b: raw octets 0xFF 0xFE are not allowed in a
    request-target). What an ASGI server puts in path for them is left open; for valid UTF-8
    the ASGI path is "HTTP request target excluding any query string, with percent-encoded
    sequences and UTF-8 byte sequences decoded into characters." (HTTP-09.c: ``%C3%A9`` is
    "\u00e9"). A 500 that the probe app itself raised is not the server's."""
    unjudged = Unjudged()
    for target, raw in INVALID_UTF8_TARGETS:
        with ctx.case(f"GET {escape_bytes(target)}"):
            status, rid = status_of(ctx, target)
            ref = "HTTP-09.b" if raw else "HTTP-09.a"
            if (status == 0 or status >= 500) and _app_raised(ctx, rid):
                unjudged.add(f"GET {escape_bytes(target)}: the probe app itself raised")
            elif status == 0 or status >= 500:
                ctx.finding(ref, f"GET {escape_bytes(target)} was answered "
                                 f"{status or 'with nothing'}{_death(ctx)}")
            elif raw and 200 <= status < 300:
                ctx.finding(ref, f"GET {escape_bytes(target)} was served ({status}): raw octets "
                                 "0xFF 0xFE in the request-target were not rejected with 400 "
                                 "or redirected with 301")
    if ctx.target.interface == "asgi":
        with ctx.case(f"ASGI path of GET {UTF8_TARGET}"):
            _judge_utf8_path(ctx, unjudged)
    with ctx.case("afterwards"):
        status, _ = status_of(ctx, "/desync/after")
        if status != 200:
            ctx.finding("HTTP-09.a", "after the invalid-UTF-8 paths, GET /desync/after was "
                                     f"answered {status or 'with nothing'}")
    unjudged.raise_if_any()
