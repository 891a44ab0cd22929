"""WSGI input stream (PEP 3333 "Input and Error Streams", notes 1-3; "Other HTTP Features";
"HTTP 1.1 Expect/Continue").

The probe app's /probe/input runs the wsgi.input operations a check names and journals each
one before (``input-start``) and after (``input-step``) it runs. The check compares every
result with what the same operation gives on ``io.BytesIO(body)`` (the Python Library
Reference semantics the PEP points to). A read that blocks is a start without a step by the
deadline; the check then closes the connection, which unblocks the server.

Each request is a sub-case. Within one, the first wrong result ends the comparison: after it
the stream's position is unknown, so later results cannot be judged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.verdicts import CaseEnded, Level
from conformance.wire import Connection, request_bytes

WSGI = ("wsgi",)
# Seconds an input operation may take before it counts as blocked. The probe runs each
# operation as soon as the previous one returned and the whole body was sent with the head,
# so a correct server answers in milliseconds.
STEP_DEADLINE = 3.0
RESPONSE_BOUND = 5.0  # seconds for the response once the app has run its operations
BODY = b"first line\nsecond\n\nfourth line is longer than the others\nlast\n"


class Run:
    """One /probe/input request: what each operation returned, and which one blocked."""

    def __init__(self, steps: list[dict[str, Any]], ops: list[str], conn: Connection) -> None:
        self.steps, self.ops, self.conn = steps, ops, conn
        self.blocked = next((op for i, op in enumerate(ops) if i >= len(steps)), None)


@dataclass(frozen=True)
class Judge:
    """Which sentence a wrong result rests on, by where in the body the operation reads.

    ``within``: an operation that stays inside the body (None: a precondition of the sub-case,
    judged by another check, so a wrong result only ends the comparison); ``eof``: an
    operation that reads up to or past CONTENT_LENGTH and blocks or returns more than the
    body; ``crossing``: such an operation that returns something else wrong; ``at_end``: an
    operation that starts at the end of the body."""

    within: str | None
    eof: str
    crossing: str
    at_end: str


def run_ops(ctx: CheckContext, ops: list[str], body: bytes, *, extra: bytes = b"",
            headers: list[tuple[str | bytes, str | bytes]] | None = None,
            method: str = "POST") -> Run:
    """Send a request whose app runs ``ops`` on wsgi.input; wait for every step."""
    rid = ctx.new_rid()
    all_headers = ctx.base_headers(rid) + list(headers or [])
    if headers is None and (body or method == "POST"):
        all_headers.append(("Content-Length", str(len(body))))
    conn = ctx.connect(timeout=STEP_DEADLINE + RESPONSE_BOUND)
    conn.send(request_bytes(method, f"/probe/input?ops={','.join(ops)}", all_headers, body)
              + extra)
    ctx.observed(rid)
    events = ctx.journal.wait_for(
        lambda evs: sum(e["event"] == "input-step" for e in evs) >= len(ops), rid=rid,
        timeout=STEP_DEADLINE)
    steps = sorted((e for e in (events or ctx.journal.for_rid(rid))
                    if e["event"] == "input-step"), key=lambda e: e["index"])
    return Run(steps, ops, conn)


def _joined(result: Any) -> bytes:
    if isinstance(result, bytes):
        return result
    if isinstance(result, list) and all(isinstance(item, bytes) for item in result):
        return b"".join(result)
    return b""


def _expected(oracle: io.BytesIO, op: str) -> Any:
    name, _, arg = op.partition(":")
    size = int(arg) if arg else None
    if name == "iter":
        return list(oracle)
    if name in ("readall", "body"):
        return oracle.read()
    method = getattr(oracle, name)
    return method() if size is None else method(size)


def _readlines_ok(got: Any, rest: bytes, hint: int) -> bool:
    """readlines(hint) may ignore the hint (note 3): any whole lines that reach the hint."""
    if not isinstance(got, list) or not all(isinstance(line, bytes) for line in got):
        return False
    joined = b"".join(got)
    whole = all(line.endswith(b"\n") for line in got[:-1]) and (
        not got or got[-1].endswith(b"\n") or joined == rest)
    return rest.startswith(joined) and whole and (len(joined) >= hint or joined == rest)


def _needs_eof(op: str, rest: bytes) -> bool:
    """Whether ``op`` on the rest of the body may read up to CONTENT_LENGTH and beyond."""
    name, _, arg = op.partition(":")
    if name in ("iter", "readall", "body", "readlines"):
        return True  # readlines(hint) may ignore its hint and read to the end (note 3)
    if name == "read":
        return not arg or int(arg) > len(rest)
    if name == "readline":
        size = int(arg) if arg else None
        return b"\n" not in rest[:size] and (size is None or size > len(rest))
    return False


def _ok(got: Any, want: Any, op: str, rest: bytes) -> bool:
    name, _, arg = op.partition(":")
    if name == "readlines" and arg:
        return _readlines_ok(got, rest, int(arg))
    return bool(got == want and type(got) is type(want))


def _ref_for(judge: Judge, op: str, got: Any, rest: bytes) -> str | None:
    """The sentence a wrong result of ``op`` (reading from ``rest``) breaks."""
    if not rest:
        return judge.at_end
    if not _needs_eof(op, rest):
        return judge.within
    return judge.eof if _joined(got).startswith(rest) and _joined(got) != rest else (
        judge.crossing)


def compare(ctx: CheckContext, run: Run, body: bytes, judge: Judge, *,
            following: bytes = b"") -> None:
    """Every completed step against io.BytesIO(body), until the first wrong one; a blocked
    operation ends the sub-case (the connection is aborted to unblock the server).
    ``following``: bytes sent after the body (a pipelined request), named when they leak."""
    oracle = io.BytesIO(body)
    judged_all = True
    for step, op in zip(run.steps, run.ops, strict=False):
        rest = body[oracle.tell():]
        got = step.get("result")
        want = _expected(io.BytesIO(rest), op)
        if "error" not in step and _ok(got, want, op, rest):
            oracle.seek(oracle.tell() + len(_joined(got)))
            continue
        leaked = bool(following) and bool(_joined(got)) and _joined(got) in following
        ref = judge.eof if not rest and leaked else _ref_for(judge, op, got, rest)
        if ref is not None:
            ctx.finding(ref, _wrong(op, step, want, rest, leaked))
        else:
            ctx.details.setdefault("preconditions", []).append(_wrong(op, step, want, rest,
                                                                      leaked))
        judged_all = False
        break  # the stream's position is unknown from here on
    if run.blocked is None:
        return
    if not judged_all:  # what blocked after a wrong result cannot be judged either
        run.conn.abort()  # unblocks the server's read
        raise CaseEnded(f"wsgi.input {run.blocked} did not return (after a wrong result)")
    _blocked(ctx, run, body, judge)


def _blocked(ctx: CheckContext, run: Run, body: bytes, judge: Judge) -> None:
    """End the sub-case at an operation that never returned: nothing after it ran."""
    run.conn.abort()  # unblocks the server's read
    assert run.blocked is not None
    index = run.ops.index(run.blocked)
    read = sum(len(_joined(s.get("result"))) for s in run.steps[:index])
    rest = body[read:]
    ref: str | None
    if not rest or _needs_eof(run.blocked, rest):
        ref, why = (judge.at_end if not rest else judge.eof), (
            "the stream does not simulate end-of-file at CONTENT_LENGTH")
    else:
        ref, why = judge.within, "although those bytes had all been sent"
    where = (f"at the end of the {len(body)}-byte body" if not rest else
             f"with {len(rest)} of the body's {len(body)} bytes not yet read")
    message = f"wsgi.input {run.blocked} did not return within {STEP_DEADLINE:g}s {where}: {why}"
    if ref is None:  # a precondition of this sub-case (another check's concern) blocked
        ctx.details.setdefault("preconditions", []).append(message)
        raise CaseEnded(message)
    ctx.require(False, ref, message)


def _wrong(op: str, step: dict[str, Any], want: Any, rest: bytes, leaked: bool) -> str:
    if "error" in step:
        return f"wsgi.input {op} raised {step['error']}"
    got = step.get("result")
    if leaked:
        return (f"wsgi.input {op} past CONTENT_LENGTH returned {got!r}: bytes of the next "
                "pipelined request")
    if op.startswith("readlines:"):
        return (f"wsgi.input {op.replace(':', '(')}) returned {got!r}; expected whole lines "
                f"(bytes) from the rest of the body {rest!r}")
    return f"wsgi.input {op} returned {got!r} ({step.get('types')}), expected {want!r}"


# The sentences of each check, by where an operation reads.
READ_METHODS = Judge(within="WSGI-IN-01.c", eof="WSGI-IN-04.a", crossing="WSGI-IN-01.c",
                     at_end="WSGI-IN-04.b")
READLINE_SIZE = Judge(within="WSGI-IN-02.a", eof="WSGI-IN-02.a", crossing="WSGI-IN-02.a",
                      at_end="WSGI-IN-02.a")
READ_NO_ARGUMENT = Judge(within=None, eof="WSGI-IN-03.a", crossing="WSGI-IN-03.a",
                         at_end="WSGI-IN-03.a")
PAST_CONTENT_LENGTH = Judge(within=None, eof="WSGI-IN-04.a", crossing="WSGI-IN-04.a",
                            at_end="WSGI-IN-04.b")
EXHAUSTED = Judge(within=None, eof="WSGI-IN-05.a", crossing="WSGI-IN-05.a",
                  at_end="WSGI-IN-05.a")


def judge_run(ctx: CheckContext, name: str, ops: list[str], body: bytes, judge: Judge,
              **send: Any) -> None:
    """One request as its own sub-case: run ``ops`` and compare."""
    with ctx.case(name):
        compare(ctx, run_ops(ctx, ops, body, **send), body, judge)


@check(
    id="wsgi-input.read-methods",
    title="wsgi.input read(size), readline(), readlines(hint), iteration return the body bytes",
    requirements=["WSGI-IN-01", "WSGI-IN-04"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Input and Error Streams' (method table)",
)
def read_methods(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams: "The methods listed in the table above must be
    supported by all servers conforming to this specification": read(size), readline(),
    readlines(hint), __iter__(), and "The semantics of each method are as documented in the
    Python Library Reference" (WSGI-IN-01.c, MUST). Each is checked against io.BytesIO over
    the same body, in odd read sizes that cut lines, four requests, each its own sub-case.
    readlines() and iteration read to end-of-file: blocking at CONTENT_LENGTH, or returning
    bytes past it, breaks note 1's "should simulate an end-of-file condition if the
    application attempts to read past that point" (WSGI-IN-04.a, SHOULD), not the MUST."""
    sizes = ["read:1", "read:3", "read:7", "read:2", "read:11"]
    so_far = sum(int(op.split(":")[1]) for op in sizes)
    sizes.append(f"read:{len(BODY) - so_far}")
    judge_run(ctx, "read(size) in odd sizes", sizes, BODY, READ_METHODS)
    judge_run(ctx, "readline() per line", ["readline"] * BODY.count(b"\n"), BODY, READ_METHODS)
    judge_run(ctx, "readline(), readlines(5), readlines()",
              ["readline", "readlines:5", "readlines"], BODY, READ_METHODS)
    judge_run(ctx, "read(4), iteration", ["read:4", "iter"], BODY, READ_METHODS)


@check(
    id="wsgi-input.readline-size",
    title="wsgi.input readline(size) honours size",
    requirements=["WSGI-IN-02"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'Input and Error Streams' note 2",
)
def readline_size(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams, note 2: "Servers should support the optional "size"
    argument to readline(), but as in WSGI 1.0, they are allowed to omit support for it."
    (WSGI-IN-02.a, SHOULD). readline(4) inside a line returns 4 bytes, readline(size) larger
    than the rest of the line stops at the newline, readline(0) returns b""; a final read of
    the rest shows that each readline(size) consumed no more than it returned."""
    ops = ["readline:4", "readline:100", "readline:0", "readline:3", "readline:3",
           "readline:1"]
    consumed = sum(len(line) for line in (b"firs", b"t line\n", b"sec", b"ond", b"\n"))
    ops.append(f"read:{len(BODY) - consumed}")
    judge_run(ctx, "readline(size)", ops, BODY, READLINE_SIZE)


@check(
    id="wsgi-input.read-no-argument",
    title="wsgi.input read() without an argument returns the rest of the body",
    requirements=["WSGI-IN-03"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'Input and Error Streams' note 1",
)
def read_no_argument(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams, note 1: "A server should allow read() to be called
    without an argument, and return the remainder of the client's input stream."
    (WSGI-IN-03.a, SHOULD): after read(5), read() returns the rest of the body, without
    blocking at CONTENT_LENGTH. read(5) is this sub-case's precondition (judged by
    wsgi-input.read-methods)."""
    judge_run(ctx, "read(5), read()", ["read:5", "read"], BODY, READ_NO_ARGUMENT)


@check(
    id="wsgi-input.past-content-length",
    title="reads past CONTENT_LENGTH return b'' at once, never the next pipelined request",
    requirements=["WSGI-IN-04"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'Input and Error Streams' note 1",
)
def past_content_length(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams, note 1: "The server is not required to read past the
    client's specified Content-Length, and should simulate an end-of-file condition if the
    application attempts to read past that point." (WSGI-IN-04.a, SHOULD) and "A server
    should return empty bytestrings from any attempt to read from an empty or exhausted input
    stream." (WSGI-IN-04.b). A second request is pipelined in the same write as the first
    one's body: every read past the body should return b"" without blocking and none bytes of
    the second request; and where the server keeps the connection open after the first
    response, the second request should still be answered (a server that read it as body did
    not stop at CONTENT_LENGTH)."""
    follower = ctx.new_rid()
    second = request_bytes("GET", "/after-pipelined-body", ctx.base_headers(follower))
    ops = [f"read:{len(BODY)}", "read:10", "readline", "read:1", "readlines", "read"]
    run = run_ops(ctx, ops, BODY, extra=second)
    compare(ctx, run, BODY, PAST_CONTENT_LENGTH, following=second)
    first = run.conn.read_response(timeout=RESPONSE_BOUND)
    if first.status != 200 or not first.keeps_alive():
        return  # nothing more to see on this connection (the reads were judged above)
    answer = run.conn.read_response(timeout=RESPONSE_BOUND)
    # A server may still close instead of answering (RFC 9112 9.3: the client retries);
    # what should not happen is a connection left open with the request unanswered.
    if answer.status == 0 and run.conn.eof and not answer.raw:
        return
    if answer.status != 200:
        ctx.finding("WSGI-IN-04.a", f"the pipelined second request got "
                                    f"{answer.status or 'no response'} within "
                                    f"{RESPONSE_BOUND:g}s although the server kept the "
                                    "connection open: its bytes were taken as the first "
                                    "request's body")


@check(
    id="wsgi-input.exhausted",
    title="an empty or exhausted wsgi.input returns b'' from every read method",
    requirements=["WSGI-IN-05"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'Input and Error Streams' note 1",
)
def exhausted(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams, note 1: "A server should return empty bytestrings
    from any attempt to read from an empty or exhausted input stream." (WSGI-IN-05.a, SHOULD).
    Checked on a GET without a body and on a POST after its body was read to the end, each
    its own sub-case."""
    ops = ["read:10", "readline", "readlines", "iter", "read"]
    judge_run(ctx, "GET without a body", ops, b"", EXHAUSTED, method="GET", headers=[])
    judge_run(ctx, "POST after its body", [f"read:{len(BODY)}"] + ops, BODY, EXHAUSTED)


def _chunked(body: bytes) -> bytes:
    chunks = [body[:5], body[5:6], body[6:29], body[29:]]
    return b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"


@check(
    id="wsgi-input.chunked-body",
    title="a chunked request body reaches the app decoded",
    requirements=["WSGI-IN-06"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Other HTTP Features'; RFC 9112 7.1 (chunked transfer coding)",
)
def chunked_body(ctx: CheckContext) -> None:
    """PEP 3333, Other HTTP Features: "WSGI servers must handle any supported inbound
    "hop-by-hop" headers on their own, such as by decoding any inbound Transfer-Encoding,
    including chunked encoding if applicable." (WSGI-IN-06.a); RFC 9112 7.1: "A recipient MUST
    be able to parse and decode the chunked transfer coding." (WSGI-IN-06.c). The app reads
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
    http10 = ctx.request("GET", "/probe/ready").response.version == "HTTP/1.0"
    ctx.details["server_answers_as"] = "HTTP/1.0" if http10 else "HTTP/1.1"
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=STEP_DEADLINE + RESPONSE_BOUND)
    conn.send(request_bytes("POST", f"/probe/input?ops={','.join(ops)}", ctx.base_headers(rid)
                            + [("Transfer-Encoding", "chunked")], _chunked(BODY)))
    seen = ctx.journal.wait_event(rid, "request", timeout=STEP_DEADLINE)
    if seen is None:
        ctx.require(False, *_refusal(conn, http10))
    assert seen is not None  # require() ended the check otherwise
    ctx.details["wsgi.input_terminated"] = seen["environ"].get("wsgi.input_terminated")
    ctx.details["CONTENT_LENGTH"] = seen["environ"].get("CONTENT_LENGTH")
    steps = _steps(ctx, rid, len(ops))
    with ctx.case("the decoded body"):
        _judge_decoded(ctx, conn, steps, len(sizes), http10)
    # Where the body itself came out wrong, what follows it in the stream says nothing more;
    # where the server gave the app a CONTENT_LENGTH (nginx de-chunks, RFC 3875 recalculates),
    # reading past it is note 1's concern (wsgi-input.past-content-length).
    decoded = b"".join(_joined(s.get("result")) for s in steps[:len(sizes)]) == BODY
    if decoded and not str(seen["environ"].get("CONTENT_LENGTH") or "").strip():
        with ctx.case("the end of the body"):
            _judge_end(ctx, conn, steps, len(sizes))
    if len(steps) < len(ops):
        conn.abort()  # a read still blocked: let the server go


def _refusal(conn: Connection, http10: bool) -> tuple[str, str]:
    """The finding for a chunked request the app never saw: a 411 is allowed."""
    status = conn.read_response(timeout=RESPONSE_BOUND).status
    if status == 411:
        return "WSGI-IN-06.d", ("the server refused the chunked request with 411 (Length "
                                "Required): the app never saw it")
    if http10 and 400 <= status < 600:
        return "WSGI-IN-06.d", (f"the HTTP/1.0 server refused the chunked request with "
                                f"{status}: the app never saw it")
    ref = "WSGI-IN-06.f" if http10 else "WSGI-IN-06.c"
    return ref, (f"the app never saw the chunked request within {STEP_DEADLINE:g}s; the "
                 f"server answered {status or 'nothing'}")


def _steps(ctx: CheckContext, rid: str, count: int) -> list[dict[str, Any]]:
    events = ctx.journal.wait_for(
        lambda evs: sum(e["event"] == "input-step" for e in evs) >= count, rid=rid,
        timeout=STEP_DEADLINE)
    return sorted((e for e in (events or ctx.journal.for_rid(rid))
                   if e["event"] == "input-step"), key=lambda e: e["index"])


def _judge_decoded(ctx: CheckContext, conn: Connection, steps: list[dict[str, Any]],
                   reads: int, http10: bool) -> None:
    body_steps = steps[:reads]
    errors = [s["error"] for s in body_steps if "error" in s]
    got = b"".join(_joined(s.get("result")) for s in body_steps)
    if len(body_steps) < reads:
        conn.abort()  # unblocks the server's read
    ctx.require(len(body_steps) == reads, "WSGI-IN-06.f" if http10 else "WSGI-IN-06.c",
                f"reading the {len(BODY)} decoded body bytes did not finish within "
                f"{STEP_DEADLINE:g}s although the whole chunked body had been sent (got "
                f"{got!r} so far)")
    if errors or got != BODY:
        ctx.finding("WSGI-IN-06.f" if http10 else "WSGI-IN-06.a",
                    f"the app read {got!r} from a chunked body"
                    f"{' (raised ' + errors[0] + ')' if errors else ''}, expected the decoded "
                    f"body {BODY!r}"
                    f"{'; the HTTP/1.0 server neither decoded nor rejected it' if http10 else ''}")


def _judge_end(ctx: CheckContext, conn: Connection, steps: list[dict[str, Any]],
               reads: int) -> None:
    if len(steps) == reads:
        conn.abort()  # unblocks the server's read
    ctx.require(len(steps) > reads, "WSGI-IN-06.h",
                f"a read after the {len(BODY)} decoded body bytes did not return within "
                f"{STEP_DEADLINE:g}s: the app meets no end-of-file after the body")
    last = steps[reads]
    if "error" in last or last.get("result") != b"":
        ctx.finding("WSGI-IN-06.h", f"a read after the decoded body returned "
                                    f"{last.get('error') or last.get('result')!r}, not b''")
    response = conn.read_response(timeout=RESPONSE_BOUND)
    ctx.details["response_status"] = response.status


def _expect_100(ctx: CheckContext, target: str, body: bytes) -> tuple[Connection, str, bool]:
    """Send the head with Expect: 100-continue; wait STEP_DEADLINE for the 100 (or any other
    response head) before the body goes."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=STEP_DEADLINE + RESPONSE_BOUND)
    conn.send(request_bytes("POST", target, ctx.base_headers(rid) + [
        ("Content-Length", str(len(body))), ("Expect", "100-continue")]))
    conn.read_until(b"\r\n\r\n", timeout=STEP_DEADLINE)
    got_100 = bytes(conn.received[9:13]) == b"100 "
    return conn, rid, got_100


def _send_body_unless_answered(conn: Connection, got_100: bool) -> bool:
    """A 100 invites the body (nginx sends one as it reads the body itself); a server that
    waits for the client to send it anyway (the PEP's third way) gets it after the wait, as
    RFC 9110 10.1.1 lets a client do. A final response or a close means no body is wanted.
    True when the client sent the body on its own, without a 100."""
    on_its_own = not got_100 and not conn.received and not conn.eof
    if got_100 or on_its_own:
        conn.send(BODY)
    return on_its_own


@check(
    id="wsgi-input.expect-continue",
    title="Expect: 100-continue: a 100 arrives (at once or on the first read); the body "
          "reaches the app; an app that never reads still completes",
    requirements=["WSGI-IN-07"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'HTTP 1.1 Expect/Continue'",
)
def expect_continue(ctx: CheckContext) -> None:
    """PEP 3333, HTTP 1.1 Expect/Continue: "Servers and gateways that implement HTTP 1.1 must
    provide transparent support for HTTP 1.1's "expect/continue" mechanism." (WSGI-IN-07.a,
    MUST): the body reaches the app and its response reaches the client, also when the app
    never reads the body. "This may be done in any of several ways": "100 Continue" at once or
    on the first read, or "Wait until the client decides that the server does not support
    expect/continue, and sends the request body on its own." (WSGI-IN-07.f, INFO), of which
    the PEP says "This is suboptimal, and is not recommended." (WSGI-IN-07.g, SHOULD NOT). The
    client withholds the body for STEP_DEADLINE seconds waiting for the 100, then sends it
    anyway (RFC 9110 10.1.1 lets it). A server that answers as HTTP/1.0 does not implement
    HTTP 1.1, so no 100 from it is reported only."""
    with ctx.case("the app reads the body"):
        _expect_with_reading_app(ctx)
    with ctx.case("the app never reads the body"):
        _expect_with_idle_app(ctx)


def _expect_with_reading_app(ctx: CheckContext) -> None:
    conn, rid, got_100 = _expect_100(ctx, f"/probe/input?ops=read:{len(BODY)}", BODY)
    on_its_own = _send_body_unless_answered(conn, got_100)
    response = conn.read_response(timeout=RESPONSE_BOUND)
    steps = [e for e in ctx.journal.for_rid(rid) if e["event"] == "input-step"]
    if not steps or steps[0].get("result") != BODY:
        read = repr(steps[0].get("result")) if steps else "nothing"
        ctx.finding("WSGI-IN-07.a", f"the app read {read}, expected the body {BODY!r}")
    if response.status != 200:
        ctx.finding("WSGI-IN-07.i" if got_100 else "WSGI-IN-07.a",
                    f"the response to an Expect: 100-continue request was "
                    f"{response.status or 'missing'}, not the app's 200 (within "
                    f"{RESPONSE_BOUND:g}s)")
    if not on_its_own:
        return  # a 100 came, or a final response instead (judged above)
    if response.version == "HTTP/1.0":
        ctx.finding("WSGI-IN-07.f", f"no '100 Continue' within {STEP_DEADLINE:g}s; the server "
                                    "answers as HTTP/1.0, and the PEP's requirement is for "
                                    "servers that implement HTTP 1.1")
    else:
        ctx.finding("WSGI-IN-07.g", f"no '100 Continue' within {STEP_DEADLINE:g}s although the "
                                    "app reads the body: the client had to give up waiting "
                                    "and send the body on its own")


def _expect_with_idle_app(ctx: CheckContext) -> None:
    conn, _, got_100 = _expect_100(ctx, "/probe/input?ops=", BODY)
    _send_body_unless_answered(conn, got_100)
    response = conn.read_response(timeout=RESPONSE_BOUND)
    if response.status != 200:
        ctx.finding("WSGI-IN-07.a", f"an app that never reads wsgi.input: the response to an "
                                    f"Expect: 100-continue request was "
                                    f"{response.status or 'missing'}, not the app's 200 "
                                    f"(within {RESPONSE_BOUND:g}s)")
