"""A server that answers as HTTP/1.0 (wsgiref): how the checks learn it, and how a desync
case's HTTP/1.1 recipient sentences are set aside for it.

RFC 9110 6.2: "A server MUST NOT send a version to which it is not conformant." and "A
recipient that receives a message with a major version number that it implements and a minor
version number higher than what it implements SHOULD process the message as if it were in the
highest minor version within that major version to which the recipient is conformant." A
server whose responses say HTTP/1.0 therefore processes the suite's HTTP/1.1 requests as
HTTP/1.0, and the sentences RFC 9112 writes for HTTP/1.1 recipients do not reach it. For
Transfer-Encoding RFC 9112 6.1 says so itself: "Transfer-Encoding was added in HTTP/1.1. It
is generally assumed that implementations advertising only HTTP/1.0 support will not
understand how to process transfer-encoded content, and that an HTTP/1.0 message received
with a Transfer-Encoding is likely to have been forwarded without proper handling of the
chunked transfer coding in transit."
"""

from __future__ import annotations

from dataclasses import replace

from conformance.context import CheckContext
from conformance.desync import Case
from conformance.probes.contract import Route


def answers_as_http10(ctx: CheckContext) -> bool:
    """Whether the server answers a plain HTTP/1.1 GET with an HTTP/1.0 status line; recorded
    in the details as ``server_answers_as``, with the status line it is read from. The GET is
    kept out of the recorded connections: the first of them is the cell's reproducer, which
    must send the request the check judges."""
    exchange = ctx.request("GET", Route.READY)
    ctx.connections.remove(exchange.connection)
    response = exchange.response
    http10 = response.version == "HTTP/1.0"
    ctx.details["server_answers_as"] = "HTTP/1.0" if http10 else "HTTP/1.1"
    ctx.details["server_answers_as_from"] = (
        f"GET {Route.READY} was answered {response.version or 'with no status line'} "
        f"{response.status or ''}".rstrip())
    return http10


def for_http10_server(case: Case, http11_only: frozenset[str], instead: str) -> Case:
    """``case`` as judged on a server that answers as HTTP/1.0: where an outcome breaks one of
    the ``http11_only`` sentences, what happened is reported on ``instead`` (the defence no
    sentence demands of such a server: hardening); a refusal, or no answer, is its own choice
    (no sentence names a response from a server that processes the request as HTTP/1.0); and
    the body that only HTTP/1.1 framing gives (decoded chunk data) is not expected."""
    refs = {case.reject, case.respond, case.close, case.close_after_reject, case.refuse,
            case.framing}
    if not refs & http11_only:
        return case

    def moved(ref: str | None) -> str | None:
        return instead if ref in http11_only else ref

    def dropped(ref: str | None) -> str | None:
        return None if ref in http11_only else ref

    return replace(case, reject=moved(case.reject), close=moved(case.close),
                   close_after_reject=moved(case.close_after_reject),
                   framing=moved(case.framing), respond=dropped(case.respond),
                   refuse=dropped(case.refuse), body=None)
