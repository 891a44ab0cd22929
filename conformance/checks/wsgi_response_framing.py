"""WSGI response framing on the wire (PEP 3333 "Buffering and Streaming", "Handling the
Content-Length Header", "The start_response() Callable", "Other HTTP Features", "Error
Handling").

Wire-level checks that only make sense between the client and the WSGI server itself (nginx
re-frames, adds its own Date and speaks HTTP/1.1 upstream) run direct only.
"""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.wsgi_response_calls import respond
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import Response, request_bytes

WSGI = ("wsgi",)
DIRECT = ("direct",)
# Seconds for a server to close a connection it should close. The probe's responses here are
# produced at once (no sleeps), so anything later is the server's own doing.
CLOSE_DEADLINE = 5.0
RESPONSE_BOUND = 5.0  # seconds ctx.request waits for a response (wire.Connection default)
# Control characters a field line may not carry (RFC 9110 5.5: field-value excludes CTLs
# other than HTAB; the line's own line end is split off before looking).
CONTROLS = frozenset(range(0x00, 0x20)) - {0x09} | {0x7F}


@check(
    id="wsgi-response.empty-blocks",
    title="empty blocks neither end the response nor emit a terminating chunk",
    requirements=["WSGI-RESP-08"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Buffering and Streaming'; 'Handling the Content-Length Header'",
)
def empty_blocks(ctx: CheckContext) -> None:
    """PEP 3333, The write() Callable: "The returned iterable may be empty (i.e. yield no
    non-empty bytestrings), but if it *does* yield non-empty bytestrings, that output must be
    treated normally by the server or gateway (i.e., it must be sent or queued immediately)."
    (WSGI-RESP-08.b). A chunked response must follow RFC 9112 7.1, where "The chunked transfer
    coding is complete when a chunk with a chunk-size of zero is received" (WSGI-RESP-08.e):
    an empty block sent as a chunk ends the body. The app yields b"", b"a", b"", b"", b"b",
    b"" without Content-Length; HTTP/1.1 and HTTP/1.0 are two sub-cases."""
    for version in ("HTTP/1.1", "HTTP/1.0"):
        with ctx.case(version):
            response = respond(ctx, "empty-blocks", version=version).response
            if response.complete and response.body == b"ab" and not response.problems:
                continue
            cut_short = (response.framing == "chunked" and response.complete
                         and b"ab".startswith(response.body) and response.body != b"ab")
            ctx.finding("WSGI-RESP-08.e" if cut_short else "WSGI-RESP-08.b",
                        f"{version}: status {response.status or 'none'}, body "
                        f"{response.body!r} ({response.framing}, complete: {response.complete}, "
                        f"problems: {response.problems}); expected b'ab'"
                        + (": an empty block went out as the last-chunk" if cut_short else ""))


@check(
    id="wsgi-response.content-length-too-many",
    title="never more body bytes than the app's Content-Length",
    requirements=["WSGI-RESP-09"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'Handling the Content-Length Header'",
    # Through nginx the verdict would turn on nginx's relaying of the surplus (1.22 passes it
    # on when it arrives in the same read as the body): the server's own bytes are the point.
    via=DIRECT,
)
def content_length_too_many(ctx: CheckContext) -> None:
    """PEP 3333, Handling the Content-Length Header: "If the application supplies a
    Content-Length header, the server should not transmit more bytes to the client than the
    header allows" (WSGI-RESP-09.a, SHOULD). The app declares 5 and yields 8 bytes; a second
    request is pipelined behind it: whatever follows the first response on the wire should be
    the next response, never the three extra bytes (which the client would read as the start
    of the next response). What status the first response has is the server's choice (it may
    also refuse the app's output)."""
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/respond?mode=too-many", ctx.base_headers(rid))
              + request_bytes("GET", "/probe/ready", ctx.base_headers(ctx.new_rid())
                              + [("Connection", "close")]))
    first = conn.read_response(timeout=RESPONSE_BOUND)
    ctx.details["first_response"] = f"{first.status} {first.body!r}"
    conn.read_until_close(CLOSE_DEADLINE)
    rest = bytes(conn.received)[len(first.raw):].lstrip(b"\r\n")
    if rest and not rest.startswith(b"HTTP/1."):
        ctx.finding("WSGI-RESP-09.a", f"after the declared 5 bytes the server sent "
                                      f"{rest[:40]!r}: more body bytes than the app's "
                                      "Content-Length")


@check(
    id="wsgi-response.content-length-too-few",
    title="an app that sends fewer bytes than its Content-Length gets the connection closed",
    requirements=["WSGI-RESP-09"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'Handling the Content-Length Header'",
)
def content_length_too_few(ctx: CheckContext) -> None:
    """PEP 3333, Handling the Content-Length Header: "Of course, if the application does not
    provide *enough* data to meet its stated Content-Length, the server should close the
    connection and log or otherwise report the error." (WSGI-RESP-09.b, SHOULD). The app
    declares 10 and yields 5 bytes; the client (HTTP/1.1, keep-alive) should see the
    connection closed, or it would wait for the rest forever."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=CLOSE_DEADLINE + 2)
    conn.send(request_bytes("GET", "/probe/respond?mode=too-few", ctx.base_headers(rid)))
    closed = conn.read_until_close(CLOSE_DEADLINE)
    # Whether the 5 bytes went out first is left open (granian sends nothing and closes).
    ctx.details["short_body_sent"] = b"12345" in conn.received
    if not closed:
        ctx.finding("WSGI-RESP-09.b", f"the connection stayed open {CLOSE_DEADLINE:g}s after "
                                      "the app sent 5 of its declared 10 bytes: the client "
                                      "cannot tell the response is short")


@check(
    id="wsgi-response.no-chunked-to-http10",
    title="without Content-Length: chunked only to HTTP/1.1 clients, else close-delimited",
    requirements=["WSGI-RESP-10"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Handling the Content-Length Header'; RFC 9112 6.1",
    via=DIRECT,
)
def no_chunked_to_http10(ctx: CheckContext) -> None:
    """PEP 3333, Handling the Content-Length Header: without Content-Length the server may
    close the connection ("The simplest of these is to close the client connection when the
    response is completed.", WSGI-RESP-10.b), or, where server and client both support
    HTTP/1.1 chunked encoding, the server may use it (WSGI-RESP-10.c), and then it must comply
    fully with RFC 2616, now RFC 9112 (WSGI-RESP-10.d); RFC 9112 6.1: "A server
    MUST NOT send a response containing Transfer-Encoding unless the corresponding request
    indicates HTTP/1.1 (or later minor revisions)." (WSGI-RESP-10.e). HTTP/1.0 and HTTP/1.1
    are two sub-cases."""
    for version in ("HTTP/1.0", "HTTP/1.1"):
        with ctx.case(version):
            response = respond(ctx, "no-length", version=version).response
            coded = response.header_all("transfer-encoding")
            if version == "HTTP/1.0" and coded:
                ctx.finding("WSGI-RESP-10.e", f"Transfer-Encoding {coded} sent to an HTTP/1.0 "
                                              "client")
            if not (response.complete and response.body == b"one\ntwo\n"
                    and not response.problems):
                ctx.finding("WSGI-RESP-10.d" if response.framing == "chunked"
                            else "WSGI-RESP-10.b",
                            f"{version}: status {response.status or 'none'}, body "
                            f"{response.body!r} ({response.framing}, complete: "
                            f"{response.complete}, problems: {response.problems})")


def _field_lines(response: Response) -> list[bytes]:
    """The status line's reason and each header line as the client parsed them (lines split
    at LF, a trailing CR dropped)."""
    return [response.reason.encode("latin-1")] + [n + b": " + v for n, v in response.headers]


@check(
    id="wsgi-response.control-characters",
    title="CR/LF in status or header values, or non-latin-1 text, never reach the wire",
    requirements=["WSGI-RESP-11"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable'; 'Unicode Issues'; RFC 9110 2.2",
    via=DIRECT,
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
    (WSGI-RESP-11.f, MUST). crlf-header, crlf-status and non-latin1 are three sub-cases."""
    for mode in ("crlf-header", "crlf-status", "non-latin1"):
        with ctx.case(mode):
            _judge_bad_header(ctx, mode)


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
    controls = [line for line in lines if CONTROLS & set(line)]
    bare_lf = [p for p in response.problems if "bare LF" in p]
    if controls or bare_lf:
        ctx.finding("WSGI-RESP-11.f", f"{mode}: control characters on the wire: "
                                      f"{(controls[:3] or bare_lf)!r}")
    steps = [e for e in ctx.journal.for_rid(exchange.rid) if e.get("step") == mode]
    if steps and steps[0]["raised"] is None:
        ctx.finding("WSGI-RESP-11.e", f"{mode}: start_response accepted it without raising; the "
                                      "error should reach the app while it is still running")


@check(
    id="wsgi-response.hop-by-hop",
    title="hop-by-hop headers from the app are an error; never a double-framed response",
    requirements=["WSGI-RESP-12"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable'; 'Other HTTP Features'; RFC 9112 6.1",
    via=DIRECT,
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
    grammar defined by the corresponding ABNF rules." (WSGI-RESP-12.f, MUST)."""
    exchange = respond(ctx, "hop-by-hop")
    response = exchange.response
    codings = b",".join(response.header_all("transfer-encoding")).split(b",")
    if sum(c.strip().lower() == b"chunked" for c in codings) > 1:
        ctx.finding("WSGI-RESP-12.e", f"Transfer-Encoding "
                                      f"{response.header_all('transfer-encoding')}: the "
                                      "response declares the chunked coding applied twice "
                                      "(the app's plus the server's own)")
    elif not response.complete or response.problems:
        ctx.finding("WSGI-RESP-12.f", f"the response is malformed: {response.problems} "
                                      f"(complete: {response.complete})")
    elif response.status == 200 and response.body != b"hello\n":
        ctx.finding("WSGI-RESP-12.e", f"body {response.body!r}, expected b'hello\\n': the body "
                                      "was chunked more than once")
    step = [e for e in ctx.journal.for_rid(exchange.rid) if e.get("step") == "hop-by-hop"]
    if not step or step[0]["raised"] is None:
        ctx.finding("WSGI-RESP-12.b", "start_response accepted Transfer-Encoding from the app "
                                      "without raising")


@check(
    id="wsgi-response.app-exception",
    title="an app exception is trapped: no hang before output; a short body's connection is "
          "closed",
    requirements=["WSGI-RESP-13", "WSGI-RESP-09"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'Error Handling'; 'Handling the Content-Length Header'",
)
def app_exception(ctx: CheckContext) -> None:
    """PEP 3333, Error Handling: "Servers should trap and log any exception that aborts an
    application or the iteration of its return value." (WSGI-RESP-13.a, SHOULD): a request
    left without a response and without a close is an exception not trapped. Which response
    the client gets when the app fails before any output is left open: a 5xx is the class by
    which "the server is aware that it has erred" (WSGI-RESP-13.h, a definition), but no
    sentence obliges it, so another answer is reported (INFO). After output began, "The server
    or gateway can then trap this (fatal) exception and abort the response." (WSGI-RESP-13.b,
    INFO): a chunked response ended with its last-chunk is reported, not failed. With a
    declared Content-Length of 100 and 12 bytes sent, Handling the Content-Length Header:
    "if the application does not provide *enough* data to meet its stated Content-Length, the
    server should close the connection" (WSGI-RESP-09.b, SHOULD)."""
    with ctx.case("raise before start_response"):
        _judge_before_output(ctx)
    # Through nginx the client's connection is nginx's, which answers and re-frames by itself:
    # what the server did with its own connection shows only direct.
    if ctx.via == "direct":
        with ctx.case("raise after 12 of 100 declared bytes"):
            _judge_short_body(ctx)
        with ctx.case("raise mid-body without Content-Length"):
            _judge_chunked_abort(ctx)


def _judge_before_output(ctx: CheckContext) -> None:
    exchange = respond(ctx, "raise-before")
    before = exchange.response
    if not before.status and not exchange.connection.eof:
        ctx.finding("WSGI-RESP-13.a", f"an exception before any output got neither a response "
                                      f"nor a close within {RESPONSE_BOUND:g}s: the request "
                                      "was left hanging")
    elif not (500 <= before.status < 600 and before.complete):
        ctx.finding("WSGI-RESP-13.h", f"an exception before any output gave "
                                      f"{before.status or 'no response'} (complete: "
                                      f"{before.complete}); a 5xx is the status class for it")


def _judge_short_body(ctx: CheckContext) -> None:
    exchange = respond(ctx, "raise-after")
    after = exchange.response
    if not exchange.connection.eof:
        ctx.finding("WSGI-RESP-09.b", f"the connection was still open {RESPONSE_BOUND:g}s after "
                                      f"the app failed 12 bytes into a declared 100-byte body "
                                      f"(got {len(after.body)} body bytes)")
    elif after.complete:
        ctx.finding("WSGI-RESP-13.b", f"an exception after 12 of 100 declared bytes gave a "
                                      f"complete-looking response ({after.status}, "
                                      f"{len(after.body)} bytes)")


def _judge_chunked_abort(ctx: CheckContext) -> None:
    chunked: Response = respond(ctx, "raise-after", kind="no-length").response
    if chunked.framing == "chunked" and chunked.complete:
        ctx.finding("WSGI-RESP-13.b", "an exception mid-body gave a chunked response ended with "
                                      "its last-chunk: the client cannot tell the body was cut "
                                      "short")


@check(
    id="wsgi-response.date-header",
    title="the server adds a Date header to 2xx-4xx responses when the app did not",
    requirements=["WSGI-RESP-14"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'The start_response() Callable' (Date: and Server: supplied by the "
            "server); RFC 9110 6.6.1",
    via=DIRECT,
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
