"""RFC 9112 6.1, Transfer-Encoding.

The invalid-input cases run through the desync detector: each hides a second request where
the wrong framing would find it."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

from conformance.catalogue import check
from conformance.checks.rfc9112.framing_requests import post
from conformance.checks.support.http10_servers import answers_as_http10, for_http10_server
from conformance.context import CheckContext
from conformance.desync import SMUGGLED_PATH, Case, Parts, Rules, run_cases
from conformance.probes.contract import Route
from conformance.verdicts import HarnessError, Level
from conformance.wire import Response, chunked_body, request_bytes


def judge_no_transfer_encoding_to_http10(ctx: CheckContext, response: Response, ref: str,
                                         what: str, **evidence: Any) -> bool:
    """The one judge of RFC 9112 6.1 "A server MUST NOT send a response containing
    Transfer-Encoding unless the corresponding request indicates HTTP/1.1 (or later minor
    revisions)." for a response to an HTTP/1.0 request: a finding on ``ref`` (the requirement
    sentence quoting it: HTTP-11.a direct, PROXY-01.a behind nginx's HTTP/1.0 upstream) when
    the response has Transfer-Encoding. True when it did."""
    codings = response.header_all("transfer-encoding")
    if not codings:
        return False
    shown = ", ".join(repr(c.decode("latin-1")) for c in codings)
    ctx.finding(ref, f"{what}: the response to an HTTP/1.0 request has Transfer-Encoding: "
                     f"{shown}", **evidence)
    return True


@check(id="rfc9112.http10-no-chunked", title="no chunked response to an HTTP/1.0 "
       "request", requirements=["HTTP-11"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 6.1")
def http10_no_chunked(ctx: CheckContext) -> None:
    """RFC 9112 6.1: "A server MUST NOT send a response containing Transfer-Encoding unless the
    corresponding request indicates HTTP/1.1 (or later minor revisions)." (HTTP-11.a) The app
    streams a response without Content-Length, which an HTTP/1.1 server would chunk."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=8)
    conn.send(request_bytes("GET", f"{Route.STREAM}?blocks=2&wait=0.05", ctx.base_headers(rid),
                            version="HTTP/1.0"))
    conn.read_until_close(timeout=6)
    response = conn.read_response(timeout=0.1)
    conn.close()
    if response.status != 200:
        raise HarnessError(f"GET {Route.STREAM} in HTTP/1.0 was answered "
                           f"{response.status or 'with nothing'} within 6 s, not the app's 200")
    if (not judge_no_transfer_encoding_to_http10(
            ctx, response, "HTTP-11.a", "the app's streamed response without Content-Length")
            and b"block-2" not in response.body):
        raise HarnessError("the streamed response to an HTTP/1.0 request (no Transfer-Encoding) "
                           "did not arrive whole within 6 s: the framing could not be judged")


def _cl_te_body(parts: Parts) -> bytes:
    return chunked_body(b"") + parts.smuggle


def _cl_te(te_first: bool) -> Callable[[Parts], bytes]:
    def headers(parts: Parts) -> bytes:
        te = b"Transfer-Encoding: chunked\r\n"
        cl = b"Content-Length: %d\r\n" % len(_cl_te_body(parts))
        return te + cl if te_first else cl + te

    return post(headers, _cl_te_body)


def _te_cl_body(parts: Parts) -> bytes:
    return chunked_body(parts.smuggle)


def _te_cl_headers(parts: Parts) -> bytes:
    first_line = len(b"%x\r\n" % len(parts.smuggle))
    return b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % first_line


# RFC 9112 6.1: reject or use Transfer-Encoding alone (MAY), but close afterwards (MUST);
# 6.3: Transfer-Encoding overrides Content-Length. Where the server takes the second way, the
# app must read the decoded chunked body (``body``); a WSGI app told the Content-Length the
# Transfer-Encoding overrides is reported at INFO on HTTP-02.a (desync._body_problems).
_CL_TE: Rules = {"close": "HTTP-02.b", "close_after_reject": "HTTP-02.b", "framing": "HTTP-02.c",
                 "told_length": "HTTP-02.a"}
CL_TE_CASES = [
    # The smuggled request follows the terminating chunk: chunked framing ends the message
    # before it, Content-Length counts it as body.
    Case("CL.TE (Content-Length first)", _cl_te(False), **_CL_TE,
         smuggle_after_message=True, body_must_not_contain=SMUGGLED_PATH, body=b""),
    Case("CL.TE (Transfer-Encoding first)", _cl_te(True), **_CL_TE,
         smuggle_after_message=True, body_must_not_contain=SMUGGLED_PATH, body=b""),
    # Here the smuggled request is chunk data: Content-Length would end the body before it.
    Case("TE.CL (Content-Length ends inside the first chunk)", post(_te_cl_headers, _te_cl_body),
         **_CL_TE, body=lambda parts: parts.smuggle),
]

# 6.3: chunked not the final coding: 400 and close (MUST).
_NOT_FINAL: Rules = {"reject": "HTTP-03.a", "respond": "HTTP-03.a", "close": "HTTP-03.a",
              "close_after_reject": "HTTP-03.a", "framing": "HTTP-03.a"}
# No sentence tells a server to reject these (HTTP-03 no_sentence): a missing defence.
_HARDENING: Rules = {"reject": "HTTP-03.h", "close": "HTTP-03.h", "close_after_reject": "HTTP-03.h",
              "framing": "HTTP-03.h"}
# Where a case may be served, its body carries data, so that what the app read shows whether
# the server really decoded the chunked coding it accepted (an empty chunked body reads the
# same as no body at all).
CHUNKED_HELLO = chunked_body(b"hello")
GZIP_HELLO = gzip.compress(b"hello", mtime=0)
# The sentences above that bind an HTTP/1.1 recipient of Transfer-Encoding: set aside for a
# server that answers as HTTP/1.0 (checks/support/http10_servers.py).
HTTP11_TE_RULES = frozenset({"HTTP-03.a", "HTTP-03.b", "HTTP-01.b", "HTTP-03.f"})
TE_CASES = [
    # VT is a CTL (9110 5.5): recovering "chunked" from it is a MAY (9110 2.4), so serving it
    # is only a missing defence; a server that took it for another coding must 400 and close,
    # so serving it without decoding the chunked body breaks that MUST.
    Case('Transfer-Encoding: "\\x0bchunked"',
         post(b"Transfer-Encoding: \x0bchunked\r\n", CHUNKED_HELLO),
         reject="HTTP-03.h", close="HTTP-03.h", close_after_reject="HTTP-03.a",
         framing="HTTP-03.a", body=b"hello"),
    Case("Transfer-Encoding: foo (unknown, final)",
         post(b"Transfer-Encoding: foo\r\n", b"0\r\n\r\n"), **_NOT_FINAL),
    Case("Transfer-Encoding: chunked, foo",
         post(b"Transfer-Encoding: chunked, foo\r\n", b"0\r\n\r\n"), **_NOT_FINAL),
    # Only the sender is bound (6.1 "A sender MUST NOT apply the chunked transfer coding more
    # than once"): the value matches the grammar and ends in chunked.
    Case("Transfer-Encoding: chunked, chunked",
         post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), **_HARDENING),
    # 6.1: SHOULD 501, and nothing about the connection; chunked is final, so the framing is
    # the chunked one (7.1: MUST be able to decode it): served, the app reads the chunk data,
    # still gzip-coded, or (a server that knows gzip after all) "hello".
    Case("Transfer-Encoding: gzip, chunked (unknown coding)",
         post(b"Transfer-Encoding: gzip, chunked\r\n", chunked_body(GZIP_HELLO)),
         reject="HTTP-03.b", respond="HTTP-03.b", framing="HTTP-01.b",
         body=(GZIP_HELLO, b"hello")),
    # 9110 5.6.1.2: an empty list element MUST be parsed and ignored: this is "chunked", and
    # the app reads the decoded body.
    Case('Transfer-Encoding: ",chunked" (empty list element)',
         post(b"Transfer-Encoding: ,chunked\r\n", CHUNKED_HELLO),
         refuse="HTTP-03.f", framing="HTTP-03.f", body=b"hello"),
    # 6.1: the framing is faulty whichever header is used, and the connection MUST close
    # after the response; the smuggled request lies after the chunked body.
    Case("Transfer-Encoding on HTTP/1.0",
         post(lambda p: b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Length: %d\r\n" % len(_cl_te_body(p)), _cl_te_body,
              version=b"HTTP/1.0"),
         close="HTTP-03.g", close_after_reject="HTTP-03.g", smuggle_after_message=True),
]


@check(id="rfc9112.cl-te", title="Content-Length with Transfer-Encoding: rejected, or "
       "chunked wins, and the connection closes", requirements=["HTTP-02"], level=Level.MUST,
       interfaces=("wsgi", "asgi"), via=("direct",), section="RFC 9112 6.1, 6.3 item 3")
def cl_te(ctx: CheckContext) -> None:
    """RFC 9112 6.1: "A server MAY reject a request that contains both Content-Length and
    Transfer-Encoding or process such a request in accordance with the Transfer-Encoding
    alone." (HTTP-02.a: either is allowed) "Regardless, the server MUST close the connection
    after responding to such a request to avoid the potential attacks." (HTTP-02.b) 6.3: "If
    a message is received with both a Transfer-Encoding and a Content-Length header field, the
    Transfer-Encoding overrides the Content-Length." (HTTP-02.c: the app must never see the
    bytes Content-Length adds, nor be served the chunk data as a request). A server that takes
    the second way earns its pass by what the app saw: the decoded chunked body; another body
    is on HTTP-02.c. A WSGI app told a CONTENT_LENGTH other than that body's length (the
    overridden field handed on) is reported at INFO on HTTP-02.a, the permission used: PEP
    3333 defines CONTENT_LENGTH as "The contents of any Content-Length fields in the HTTP
    request.", so no MUST is broken by it. Each case hides a second request where the wrong
    framing would find it."""
    run_cases(ctx, CL_TE_CASES)


@check(id="rfc9112.transfer-encoding", title="unknown, non-final or HTTP/1.0 "
       "Transfer-Encoding is rejected or the connection closed; disguised chunked is refused",
       requirements=["HTTP-03", "HTTP-01"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 6.1, 6.3 item 4; RFC 9110 5.6.1.2")
def transfer_encoding(ctx: CheckContext) -> None:
    """RFC 9112 6.3: "If a Transfer-Encoding header field is present in a request and the chunked
    transfer coding is not the final encoding, the message body length cannot be determined
    reliably; the server MUST respond with the 400 (Bad Request) status code and then close the
    connection." (HTTP-03.a: ``foo``, ``chunked, foo``; any rejection passes, a 501 too: for an
    unknown coding 6.1's "SHOULD respond with 501" names the other answer to the same request,
    so the two sentences leave the status open and only serving it is judged) 6.1: "A server
    that receives a request message with a transfer coding it does not understand SHOULD respond
    with 501 (Not Implemented)." (HTTP-03.b: ``gzip, chunked``, a warn; its chunked framing
    still holds, HTTP-01.b "A recipient MUST be able to parse and decode the chunked transfer
    coding.") and "A server or client that receives an HTTP/1.0 message containing a
    Transfer-Encoding header field MUST treat the message as if the framing is faulty, even if a
    Content-Length is present, and close the connection after processing the message."
    (HTTP-03.g). RFC 9110 5.6.1.2: "A recipient MUST parse and ignore a reasonable number of
    empty list elements" (HTTP-03.f: ``,chunked`` is ``chunked`` and must not be refused).
    Serving ``\\x0bchunked`` (recovered, 9110 2.4 MAY) or ``chunked, chunked`` (only the sender
    is bound) breaks no sentence: a missing defence against request smuggling (HTTP-03.h,
    hardening). Where ``\\x0bchunked``, ``gzip, chunked`` or ``,chunked`` is served, the app
    must read the decoded chunk data ("hello"; for gzip the coded bytes or "hello"): any other
    body shows the server did not take chunked as the final coding it accepted (HTTP-03.a,
    HTTP-01.b, HTTP-03.f respectively). A server that answers as HTTP/1.0 processes the
    requests as HTTP/1.0 (RFC 9110 6.2), and RFC 9112 6.1 says "It is generally assumed that
    implementations advertising only HTTP/1.0 support will not understand how to process
    transfer-encoded content": the HTTP/1.1 recipient sentences (HTTP-03.a, HTTP-03.b,
    HTTP-01.b, HTTP-03.f) do not reach it. What it does with these requests is reported on
    the missing defence (HTTP-03.h, hardening: a front end that applies the coding and it
    frame the bytes differently), its refusals are its own choice, and the chunk data it
    does not decode is pep3333.chunked-request-body's matter; the HTTP/1.0 request with
    Transfer-Encoding is judged as for any server (HTTP-03.g)."""
    cases = TE_CASES
    if answers_as_http10(ctx):
        ctx.details["not_judged"] = (
            "the server answers as HTTP/1.0, so the HTTP/1.1 recipient sentences on "
            "Transfer-Encoding (HTTP-03.a, HTTP-03.b, HTTP-01.b, HTTP-03.f) do not reach it: "
            "what it did is reported on HTTP-03.h (hardening)")
        cases = [for_http10_server(case, HTTP11_TE_RULES, "HTTP-03.h") for case in TE_CASES]
    run_cases(ctx, cases)
