"""PEP 3333, "The start_response() Callable".

Wire-level checks that only make sense between the client and the WSGI server itself (nginx
re-frames, adds its own Date and speaks HTTP/1.1 upstream) run direct only.
"""

from __future__ import annotations

import re

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import (
    STEP_BOUND,
    required_step,
    respond,
    respond_step,
)
from conformance.checks.support.closing import close_when_server_does
from conformance.checks.support.streaming import ARRIVAL_BOUND, WAIT
from conformance.context import CheckContext
from conformance.probes.contract import LATIN1_HEADER_VALUE as LATIN1_VALUE
from conformance.probes.contract import Event, Route
from conformance.verdicts import HarnessError, Level
from conformance.wire import Response, request_bytes

# Control characters a field line may not carry (RFC 9110 5.5: field-value excludes CTLs
# other than HTAB; the line's own line end is split off before looking).
_CONTROLS = frozenset(range(0x00, 0x20)) - {0x09} | {0x7F}


@check(
    id="pep3333.headers-held-until-body",
    title="headers wait for the first non-empty block: the status can still be replaced",
    requirements=["WSGI-RESP-02", "WSGI-RESP-08"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'The start_response() Callable' (headers sent only after the first "
            "non-empty bytestring)",
)
def headers_held_until_body(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: start_response "must store them for the server
    or gateway to transmit **only** after the first iteration of the application return value
    that yields a non-empty bytestring, or upon the application's first invocation of the
    write() callable." (WSGI-RESP-02.b). The first sub-case streams b"" and then waits for the
    client before its first block: header bytes that reach the client once the server has
    asked for the block after b"" (the journal says when) were sent for the empty block.

    The second: Error Handling: "If no output has been written when an exception occurs, the
    call to start_response will return normally" (WSGI-RESP-02.f, a definition); and "If
    exc_info is supplied, and no HTTP headers have been output yet, start_response should
    replace the currently-stored HTTP response headers with the newly-supplied ones"
    (WSGI-RESP-02.e, SHOULD). The app starts a 200 with X-Original, yields b"", then calls
    start_response("503 Replaced", [X-Replaced], exc_info) and yields a block. Where the
    first sub-case saw the headers go out early, a raise is the consequence (RESP-04) and the
    replacement no longer applies; otherwise a raise breaks WSGI-RESP-02.f, and a client that
    still gets the 200 or X-Original means the replacement did not happen. A server that
    stops iterating after b"" does not treat the later non-empty output "normally"
    (WSGI-RESP-08.b)."""
    with ctx.case("headers after an empty block"):
        early = _headers_sent_for_empty_block(ctx)
    with ctx.case("exc_info after an empty block"):
        _judge_replacement(ctx, early)


# Seconds for header bytes the server already wrote (before asking for the next block) to
# reach the client over loopback; a server that writes them later still passes.
_EMPTY_BLOCK_GRACE = 0.5


def _headers_sent_for_empty_block(ctx: CheckContext) -> bool:
    """Whether the response's first bytes reached the client between the app's b"" and its
    first non-empty block (the app waits for the client's gate 0 before producing it)."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=ARRIVAL_BOUND + 2)
    conn.send(request_bytes("GET", f"{Route.STREAM}?blocks=1&wait={WAIT:g}&empty=1",
                            ctx.base_headers(rid)))
    # The server asks for the block after b"" (PRODUCE 0), or closes the iterable there.
    events = ctx.journal.wait_for(
        lambda evs: any(e["event"] == Event.CLOSE or (e["event"] == Event.PRODUCE
                                                       and e.get("block") == 0) for e in evs),
        rid=rid, timeout=STEP_BOUND)
    if not any(e["event"] == Event.PRODUCE for e in events or ()):
        ctx.observed(rid)  # stopped at b"" (the second sub-case judges that), or never ran
        return False
    conn.read_until(b"\r\n", timeout=_EMPTY_BLOCK_GRACE)
    early = bytes(conn.received)
    ctx.journal.open_gate(rid, 0)
    if early:
        ctx.finding("WSGI-RESP-02.b", f"the app had yielded only b'' (and the server had asked "
                                      f"for the next block) when the client got {early[:60]!r}: "
                                      "the headers went out before any non-empty block")
    if conn.read_until(b"block-1\n", timeout=ARRIVAL_BOUND):
        close_when_server_does(conn)  # the next sub-case's request must not wait for it
    return bool(early)


def _judge_replacement(ctx: CheckContext, early: bool) -> None:
    exchange = respond(ctx, "replace-status")
    step = respond_step(ctx, exchange.rid, "replace")
    ctx.require(step is not None, "WSGI-RESP-08.b",
                f"the app's iterable was not asked for a block after b'' within "
                f"{STEP_BOUND:g}s: the server stopped iterating at the empty block")
    assert step is not None  # require() ended the check otherwise
    if early:  # headers out: raising is right (RESP-04) and there is nothing left to replace
        ctx.details["replace"] = (f"start_response(..., exc_info) raised {step['raised']}"
                                  if step["raised"] else "start_response returned normally")
        return
    # After a raise the app went on under the original status: nothing more to compare.
    ctx.require(step["raised"] is None, "WSGI-RESP-02.f",
                f"start_response with exc_info after only b'' was yielded raised "
                f"{step['raised']}, although no output had been written")
    response = exchange.response
    replaced = response.status == 503 and response.header("x-replaced") == b"yes"
    if not replaced or response.header("x-original") is not None:
        ctx.finding("WSGI-RESP-02.e", f"start_response(..., exc_info) returned normally after "
                                      f"only b'' was yielded, but the client got status "
                                      f"{response.status or 'none'} with X-Original "
                                      f"{response.header('x-original')!r} and X-Replaced "
                                      f"{response.header('x-replaced')!r}: the stored headers "
                                      "were not replaced")


@check(
    id="pep3333.exc-info-after-headers",
    title="start_response with exc_info after headers were sent raises (re-raises exc_info)",
    requirements=["WSGI-RESP-04"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'The start_response() Callable' (exc_info); 'Error Handling'",
)
def exc_info_after_headers(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: "if exc_info is provided, and the HTTP headers
    have already been sent, start_response must raise an error" (WSGI-RESP-04.a, MUST) "and
    should re-raise using the exc_info tuple" (WSGI-RESP-04.b, SHOULD). The app yields a
    block, then calls start_response with exc_info."""
    exchange = respond(ctx, "exc-after-headers")
    step = respond_step(ctx, exchange.rid, "exc-after-headers")
    if step is None:
        raise HarnessError(f"the app's iterable was not asked for a second block within "
                           f"{STEP_BOUND:g}s after its first one: start_response with "
                           "exc_info could not be called after the headers were sent")
    if step["raised"] is None:
        ctx.finding("WSGI-RESP-04.a", "start_response(..., exc_info) after the headers were "
                                      "sent returned normally; it must raise")
    elif not step["reraised_original"]:
        ctx.finding("WSGI-RESP-04.b", f"start_response raised {step['raised']} instead of "
                                      "re-raising the app's exception (exc_info[1])")


@check(
    id="pep3333.second-start-response",
    title="a second start_response without exc_info is an error",
    requirements=["WSGI-RESP-05"],
    level=Level.INFO,
    interfaces=("wsgi",),
    section="PEP 3333 'The start_response() Callable' (exc_info)",
)
def second_start_response(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: "it is a fatal error to call start_response
    without the exc_info argument if start_response has already been called within the
    current invocation of the application", and "See the example CGI gateway above for an
    illustration of the correct logic." (WSGI-RESP-05.c): the example's start_response
    raises on such a call. The fatal error is the application's (WSGI-RESP-05.a binds the
    application) and the pointer to the example has no keyword, so a server that lets the
    call pass is reported (INFO), not failed."""
    exchange = respond(ctx, "second-start")
    step = required_step(ctx, exchange.rid, "second-start")
    if step["raised"] is None:
        ctx.finding("WSGI-RESP-05.c", "a second start_response call without exc_info returned "
                                      f"normally (the client got {exchange.response.status})")


def _field_lines(response: Response) -> list[bytes]:
    """The status line's reason and each header line as the client parsed them (lines split
    at LF, a trailing CR dropped)."""
    return [response.reason.encode("latin-1")] + [n + b": " + v for n, v in response.headers]


@check(
    id="pep3333.control-characters",
    title="CR/LF in status or header values, or non-latin-1 text, never reach the wire; "
          "latin-1 values and repeated headers do, unchanged",
    requirements=["WSGI-RESP-11", "HTTP-16"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'The start_response() Callable'; 'Unicode Issues'; 'Other HTTP "
            "Features'; RFC 9110 2.2, 5.3",
    via=("direct",),
)
def control_characters(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: status and header values must not contain
    control characters (a rule on the application), and "Servers should check for errors in
    the headers at the time start_response is called, so that an error can be raised while the
    application is still running." (WSGI-RESP-11.e, SHOULD): a server that does not raise,
    and lets the app's CR LF become a header line of its own (response splitting) or its
    non-latin-1 text reach the wire, breaks that SHOULD. A control character left inside a
    field line on the wire (a bare CR, say) breaks RFC 9110 2.2 "A sender MUST NOT generate
    protocol elements that do not match the grammar defined by the corresponding ABNF rules."
    (WSGI-RESP-11.f, MUST). crlf-header, crlf-status and non-latin1 are three sub-cases.

    The fourth, latin1-repeat, is the valid counterpart: header strings "they must either be
    ISO-8859-1 characters, or use :rfc:`2047` MIME encoding." (PEP 3333, Unicode Issues), so the
    app's X-Latin1 value of characters 0x80-0xFF, with \\xa0 and \\x85 (whitespace to
    str.strip()) at its edges, must reach the wire as exactly its latin-1 bytes, and its two
    X-Repeat lines as two lines in order. A server that re-encodes, strips or drops them, or
    raises, breaks "They should only make changes that do not alter the effective semantics
    of the application's response." (PEP 3333, Other HTTP Features; HTTP-16.f, SHOULD).
    One line "one, two" is accepted: RFC 9110 5.3 combines field lines "without changing the
    semantics of the message"."""
    for mode in ("crlf-header", "crlf-status", "non-latin1"):
        with ctx.case(mode):
            _judge_bad_header(ctx, mode)
    with ctx.case("latin1-repeat"):
        _judge_latin1_and_repeat(ctx)


# Two X-Repeat lines combined into one as RFC 9110 5.3 describes: in order, "separated by a
# comma (",") and optional whitespace".
_COMBINED = re.compile(rb"one[ \t]*,[ \t]*two")


def _judge_latin1_and_repeat(ctx: CheckContext) -> None:
    exchange = respond(ctx, "latin1-repeat")
    response = exchange.response
    steps = [e for e in ctx.journal.for_rid(exchange.rid) if e.get("step") == "latin1-repeat"]
    if steps and steps[0]["raised"] is not None:
        ctx.finding("HTTP-16.f", f"latin1-repeat: start_response raised {steps[0]['raised']} on "
                                 f"ISO-8859-1 header values ({LATIN1_VALUE!r}) and a repeated "
                                 "X-Repeat, which PEP 3333 allows the app")
        return
    ctx.require(response.status == 200, "HTTP-16.f",
                f"latin1-repeat: the server answered {response.status or 'nothing'} where the "
                "app sent a 200 with latin-1 header values and a repeated X-Repeat")
    want = LATIN1_VALUE.encode("latin-1")
    latin = response.header_all("x-latin1")
    if latin != [want]:
        ctx.finding("HTTP-16.f", f"latin1-repeat: the app's X-Latin1 {LATIN1_VALUE!r} reached "
                                 f"the wire as {latin!r}, not as its latin-1 bytes {want!r}")
    repeat = response.header_all("x-repeat")
    if repeat != [b"one", b"two"] and not (len(repeat) == 1 and _COMBINED.fullmatch(repeat[0])):
        ctx.finding("HTTP-16.f", f"latin1-repeat: the app's two lines 'X-Repeat: one' and "
                                 f"'X-Repeat: two' reached the wire as {repeat!r}")


def _judge_bad_header(ctx: CheckContext, mode: str) -> None:
    exchange = respond(ctx, mode)
    response = exchange.response
    lines = _field_lines(response)
    if any(name.lower() == b"x-injected" for name, _ in response.headers):
        ctx.finding("WSGI-RESP-11.e", f"{mode}: the app's 'X-Injected: yes' reached the wire as "
                                      "a header line of its own (response splitting)")
    # U+20AC as UTF-8 (or a stray 0x80 from another encoding of it) on the wire.
    euro = [line for line in lines if b"\xe2\x82\xac" in line or b"\x80" in line]
    if euro:
        ctx.finding("WSGI-RESP-11.e", f"{mode}: non-latin-1 text reached the wire: {euro[:2]!r}")
    controls = [line for line in lines if _CONTROLS & set(line)]
    bare_lf = [p for p in response.problems if "bare LF" in p]
    if controls or bare_lf:
        ctx.finding("WSGI-RESP-11.f", f"{mode}: control characters on the wire: "
                                      f"{(controls[:3] or bare_lf)!r}")
    steps = [e for e in ctx.journal.for_rid(exchange.rid) if e.get("step") == mode]
    if steps and steps[0]["raised"] is None:
        ctx.finding("WSGI-RESP-11.e", f"{mode}: start_response accepted it without raising; the "
                                      "error should reach the app while it is still running")


@check(
    id="pep3333.hop-by-hop",
    title="hop-by-hop headers from the app are an error; never a double-framed response",
    requirements=["WSGI-RESP-12"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'The start_response() Callable'; 'Other HTTP Features'; RFC 9112 6.1",
    via=("direct",),
)
def hop_by_hop(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: applications "are forbidden from using HTTP/1.1
    "hop-by-hop" features or headers" and "a server or gateway should consider it a fatal
    error for an application to attempt sending them, and raise an error if they are supplied
    to start_response()" (WSGI-RESP-12.b, SHOULD). The app sends Transfer-Encoding: chunked
    with an unchunked body. Whatever the server does with it, the message it sends must stay
    valid: RFC 9112 6.1 "A sender MUST NOT apply the chunked transfer coding more than once to
    a message body" (WSGI-RESP-12.e, MUST), and a response that claims a chunking it does not
    do breaks RFC 9110 2.2 "A sender MUST NOT generate protocol elements that do not match the
    grammar defined by the corresponding ABNF rules." (WSGI-RESP-12.f, MUST).

    Why those two sender MUSTs bind the server although the Transfer-Encoding is the app's
    (whose own MUST NOTs, WSGI-RESP-12.a/c/d, bind only the app): PEP 3333, Other HTTP
    Features: "In a sense, a server should consider itself to be like an HTTP "gateway server",
    with the application being an HTTP "origin server"." and RFC 9110 3.7: "All HTTP
    requirements applicable to an origin server also apply to the outbound communication of a
    gateway." The WSGI server is the sender of the message on the wire, so what it passes on
    from the app it sends itself. The messages say which part came from the app."""
    exchange = respond(ctx, "hop-by-hop")
    response = exchange.response
    declared = response.header_all("transfer-encoding")
    codings = b",".join(declared).split(b",")
    if sum(c.strip().lower() == b"chunked" for c in codings) > 1:
        # Declared twice: applied twice (the body, decoded once, is still chunked) is .e; a
        # body chunked once under a header that claims two chunkings (gevent.pywsgi) applies
        # it once and mismatches the grammar the header announces: .f.
        applied_once = response.body == b"hello\n"
        ctx.finding("WSGI-RESP-12.f" if applied_once else "WSGI-RESP-12.e",
                    f"Transfer-Encoding {declared}: the response declares chunked twice (the "
                    "app's, passed on, plus the server's own)"
                    + (", over a body the server chunked once" if applied_once else
                       f", and the body, decoded once, is {response.body[:60]!r}, not the "
                       "app's b'hello\\n'"))
    elif not response.complete or response.problems:
        ctx.finding("WSGI-RESP-12.f", _malformed(response))
    elif response.status == 200 and response.body != b"hello\n":
        ctx.finding("WSGI-RESP-12.e", f"body {response.body!r}, expected b'hello\\n': the body "
                                      "was chunked more than once")
    step = [e for e in ctx.journal.for_rid(exchange.rid) if e.get("step") == "hop-by-hop"]
    if not step or step[0]["raised"] is None:
        ctx.finding("WSGI-RESP-12.b", "start_response accepted Transfer-Encoding from the app "
                                      "without raising")


def _malformed(response: Response) -> str:
    """What is wrong with a hop-by-hop response that does not parse: where the app's
    'Transfer-Encoding: chunked' went out with the app's raw body after it, say so."""
    problems = f"{response.problems} (complete: {response.complete})"
    declared = [v.strip().lower() for v in response.header_all("transfer-encoding")]
    if declared == [b"chunked"] and _body_section(response).startswith(b"hello\n"):
        return ("the app's 'Transfer-Encoding: chunked' went out over the app's unchunked "
                f"body {_body_section(response)[:60]!r}, both passed on as the app gave them: "
                + problems)
    return f"the response is malformed: {problems}"


def _body_section(response: Response) -> bytes:
    """The bytes after the response's header section, as they came (not decoded)."""
    _, blank, rest = response.raw.partition(b"\r\n\r\n")
    return rest if blank else b""


@check(
    id="pep3333.date-header",
    title="the server adds a Date header to 2xx-4xx responses when the app did not",
    requirements=["WSGI-RESP-14"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'The start_response() Callable' (Date: and Server: supplied by the "
            "server); RFC 9110 6.6.1",
    via=("direct",),
)
def date_header(ctx: CheckContext) -> None:
    """PEP 3333, The start_response() Callable: "if the application omits a header required
    by HTTP (or other relevant specifications that are in effect), the server or gateway must
    add it." (WSGI-RESP-14.a); RFC 9110 6.6.1: "An origin server with a clock (as defined in
    Section 5.6.7) MUST generate a Date header field in all 2xx (Successful), 3xx
    (Redirection), and 4xx (Client Error) responses" (WSGI-RESP-14.c), and only MAY in 1xx and
    5xx ones, so only a 2xx-4xx response without Date is a finding."""
    response = ctx.request("GET", "/date").response
    ctx.details["status"] = response.status
    if 200 <= response.status < 500 and response.header("date") is None:
        ctx.finding("WSGI-RESP-14.c", f"no Date header in the {response.status} response; the "
                                      "app did not send one either")
