"""PEP 3333, "Other HTTP Features"."""

from __future__ import annotations

import contextlib
from typing import Any

from conformance.catalogue import check
from conformance.checks.pep3333.input_operations import (
    BODY,
    RESPONSE_BOUND,
    STEP_DEADLINE,
    result_bytes,
    wait_steps,
)
from conformance.checks.support.http10_servers import answers_as_http10
from conformance.context import JOURNAL_TIMEOUT, CheckContext
from conformance.polling import poll_until
from conformance.probes.contract import Event, Route
from conformance.verdicts import Level
from conformance.wire import Connection, WireTimeout, chunked_body, request_bytes


@check(
    id="pep3333.chunked-request-body",
    title="a chunked request body reaches the app decoded",
    requirements=["WSGI-IN-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Other HTTP Features'; RFC 9112 7.1 (chunked transfer coding)",
)
def chunked_request_body(ctx: CheckContext) -> None:
    """PEP 3333, Other HTTP Features: "WSGI servers must handle any supported inbound
    "hop-by-hop" headers on their own, such as by decoding any inbound Transfer-Encoding,
    including chunked encoding if applicable." (WSGI-IN-06.a: binds a server that decodes
    chunked, so a body de-chunked wrongly); RFC 9112 7.1: "A recipient MUST be able to parse
    and decode the chunked transfer coding." (WSGI-IN-06.c: the reads do not finish, or the
    app gets the framing as sent or nothing, as from a server that does not decode at all);
    RFC 9112 6.1: "A recipient MUST be able to parse the chunked transfer coding"
    (WSGI-IN-06.b: the request never reaches the app, and no 411). Where the server gives the
    app a CONTENT_LENGTH, RFC 3875 4.2: "the server MUST remove any such codings from the
    message-body, and recalculate the CONTENT_LENGTH." (WSGI-IN-06.e: it must be the decoded
    length). The app reads
    exactly len(body) bytes in sized reads (no end-of-file needed) and must get the decoded
    body, with no chunk framing. A server may instead answer 411: "A server MAY reject a
    request that contains a message body but not a Content-Length by responding with 411
    (Length Required)." (WSGI-IN-06.d, INFO). Where the app got no CONTENT_LENGTH, one more
    read looks for the end of the body: PEP 3333 lists chunked-encoding input streams under
    discussion (WSGI-IN-06.h), so how an app meets the end of a body of unknown length is left
    open and a read that blocks there is reported (INFO); wsgi.input_terminated is recorded in
    the details. A server that answers as HTTP/1.0 (wsgiref) is not an HTTP/1.1 recipient and
    supports no transfer coding, so PEP 3333's "supported" and RFC 9112's recipient MUSTs do
    not reach it; RFC 3875 4.2 still says "If this is not possible (for example, because of
    large buffering requirements), the server SHOULD reject the client request."
    (WSGI-IN-06.f, SHOULD): for such a server a body not decoded is that should."""
    sizes = [5, 1, 23, len(BODY) - 29]
    ops = [f"read:{n}" for n in sizes] + ["read:7"]
    http10 = answers_as_http10(ctx)
    rid, conn, seen = _send_chunked(ctx, ops, sizes)
    status, seen = _answer(ctx, rid, conn, seen)
    if seen is None and ctx.via == "nginx" and status == 502:
        # nginx's 502 without the app called: an upstream connection from its keep-alive
        # pool that the server had closed (uWSGI closes after every response without saying
        # so, rfc9112.persistence). nginx does not retry a POST on another connection; a
        # client would. One more try shows what the server does with the body itself.
        ctx.details["retried_after_nginx_502"] = True
        rid, conn, seen = _send_chunked(ctx, ops, sizes)
        status, seen = _answer(ctx, rid, conn, seen)
    if seen is None:
        ctx.require(False, *_refusal(status, http10))
    assert seen is not None  # require() ended the check otherwise
    ctx.details["wsgi.input_terminated"] = seen["environ"].get("wsgi.input_terminated")
    ctx.details["CONTENT_LENGTH"] = seen["environ"].get("CONTENT_LENGTH")
    steps = _steps(ctx, rid, len(ops))
    with ctx.case("the decoded body"):
        _judge_decoded(ctx, conn, steps, sizes, http10)
    given = seen["environ"].get("CONTENT_LENGTH")
    if str(given or "").strip():  # a server that gives one must have recalculated it
        with ctx.case("the recalculated CONTENT_LENGTH"):
            # As the app got it: pyruvate's is an int, the framed length.
            ctx.require(str(given).strip() == str(len(BODY)), "WSGI-IN-06.e",
                        f"CONTENT_LENGTH is {_as_given(given)} for a chunked body of "
                        f"{len(BODY)} decoded bytes")
    # Where the body itself came out wrong, what follows it in the stream says nothing more;
    # where the server gave the app a CONTENT_LENGTH (nginx de-chunks, RFC 3875 recalculates),
    # reading past it is note 1's concern (pep3333.read-past-content-length).
    decoded = b"".join(result_bytes(s.get("result")) for s in steps[:len(sizes)]) == BODY
    if decoded and not str(seen["environ"].get("CONTENT_LENGTH") or "").strip():
        with ctx.case("the end of the body"):
            _judge_end(ctx, conn, steps, len(sizes), status)
    if len(steps) < len(ops):
        conn.abort()  # a read still blocked: let the server go


def _as_given(value: Any) -> str:
    """An environ value as the app got it: a str quoted, anything else with its type."""
    if isinstance(value, str):
        return repr(value)
    return f"{value!r} (of type {type(value).__name__})"


def _send_chunked(ctx: CheckContext, ops: list[str], sizes: list[int]
                  ) -> tuple[str, Connection, dict[str, Any] | None]:
    """POST the chunked body; the request id, the connection and the app's request event
    (None when the server answered or closed first, or neither happened within
    JOURNAL_TIMEOUT: a server that refuses the body is not kept waiting for the journal)."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=STEP_DEADLINE + RESPONSE_BOUND)
    conn.send(request_bytes("POST", f"{Route.INPUT}?ops={','.join(ops)}", ctx.base_headers(rid)
                            + [("Transfer-Encoding", "chunked")], chunked_body(BODY, sizes)))

    def settled() -> bool:
        if ctx.journal.saw(rid) or conn.received or conn.eof:
            return True
        with contextlib.suppress(WireTimeout, OSError):
            conn.recv_some(0.01)
        return False

    poll_until(settled, JOURNAL_TIMEOUT, interval=0)
    return rid, conn, _request_event(ctx, rid)


def _request_event(ctx: CheckContext, rid: str) -> dict[str, Any] | None:
    return next((e for e in ctx.journal.for_rid(rid) if e["event"] == Event.REQUEST), None)


def _answer(ctx: CheckContext, rid: str, conn: Connection, seen: dict[str, Any] | None
            ) -> tuple[int, dict[str, Any] | None]:
    """Where the app had not journalled the request: the server's answer (its status, 0 for
    none) read for RESPONSE_BOUND, and the journal looked at again after it (the probe app
    journals the request before it answers, so a slow server's own 200 is seen as the app's).
    Otherwise (0, ``seen``): the response is read later."""
    if seen is not None:
        return 0, seen
    status = conn.read_response(timeout=RESPONSE_BOUND).status
    return status, _request_event(ctx, rid)


def _refusal(status: int, http10: bool) -> tuple[str, str]:
    """The finding for a chunked request the app never saw (``status``: what the client got,
    0 for nothing): a 411 is allowed."""
    if status == 411:
        return "WSGI-IN-06.d", ("the server refused the chunked request with 411 (Length "
                                "Required): the app never saw it")
    if http10 and 400 <= status < 600:
        return "WSGI-IN-06.d", (f"the HTTP/1.0 server refused the chunked request with "
                                f"{status}: the app never saw it")
    # Not even the head reached the app: the server could not parse the chunked framing.
    ref = "WSGI-IN-06.f" if http10 else "WSGI-IN-06.b"
    return ref, (f"the app never saw the chunked request within {JOURNAL_TIMEOUT:g}s; the "
                 f"server answered {status or 'nothing'}")


def _steps(ctx: CheckContext, rid: str, count: int) -> list[dict[str, Any]]:
    return wait_steps(ctx.journal, rid, count)


def _judge_decoded(ctx: CheckContext, conn: Connection, steps: list[dict[str, Any]],
                   sizes: list[int], http10: bool) -> None:
    reads = len(sizes)
    body_steps = steps[:reads]
    errors = [s["error"] for s in body_steps if "error" in s]
    got = b"".join(result_bytes(s.get("result")) for s in body_steps)
    if len(body_steps) < reads:
        conn.abort()  # unblocks the server's read
    ctx.require(len(body_steps) == reads, "WSGI-IN-06.f" if http10 else "WSGI-IN-06.c",
                f"reading the {len(BODY)} decoded body bytes did not finish within "
                f"{STEP_DEADLINE:g}s although the whole chunked body had been sent (got "
                f"{got!r} so far)")
    if errors or got != BODY:
        undecoded = _undecoded(got, sizes)
        ctx.finding(_decoding_sentence(undecoded, http10),
                    f"the app read {got!r} from a chunked body"
                    f"{' (raised ' + errors[0] + ')' if errors else ''}, expected the decoded "
                    f"body {BODY!r}{_what_was_read(undecoded, got, http10)}")


def _undecoded(got: bytes, sizes: list[int]) -> bool:
    """Whether the app read the chunked body as it was sent, framing and all, or nothing: no
    decoding happened at all."""
    return chunked_body(BODY, sizes).startswith(got)


def _decoding_sentence(undecoded: bool, http10: bool) -> str:
    """PEP 3333's "must handle any supported inbound "hop-by-hop" headers" (WSGI-IN-06.a)
    binds the codings a server supports, so only one that decodes chunked (the framing is
    gone, the body still wrong) is held to it; one that did not decode at all breaks RFC 9112
    7.1's "A recipient MUST be able to parse and decode the chunked transfer coding."
    (WSGI-IN-06.c), which binds every HTTP/1.1 recipient, and an HTTP/1.0 server RFC 3875's
    SHOULD reject (WSGI-IN-06.f)."""
    if http10:
        return "WSGI-IN-06.f"
    return "WSGI-IN-06.c" if undecoded else "WSGI-IN-06.a"


def _what_was_read(undecoded: bool, got: bytes, http10: bool) -> str:
    if http10:
        return "; the HTTP/1.0 server neither decoded nor rejected it"
    if not undecoded:
        return "; the chunk framing was removed, but the body is not the one sent"
    return (f"; the server did not decode the chunked transfer coding: "
            f"{'the reads returned nothing' if not got else 'that is the chunk framing as sent'}")


def _judge_end(ctx: CheckContext, conn: Connection, steps: list[dict[str, Any]],
               reads: int, answered: int) -> None:
    if len(steps) == reads:
        conn.abort()  # unblocks the server's read
    ctx.require(len(steps) > reads, "WSGI-IN-06.h",
                f"a read after the {len(BODY)} decoded body bytes did not return within "
                f"{STEP_DEADLINE:g}s: the app meets no end-of-file after the body")
    last = steps[reads]
    if "error" in last or last.get("result") != b"":
        ctx.finding("WSGI-IN-06.h", f"a read after the decoded body returned "
                                    f"{last.get('error') or last.get('result')!r}, not b''")
    # ``answered``: the response was already read (the app's request came after it).
    ctx.details["response_status"] = answered or conn.read_response(
        timeout=RESPONSE_BOUND).status
