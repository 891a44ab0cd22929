"""PEP 3333, "Input and Error Streams".

The wsgi.input checks compare every result of an operation with what the same operation gives
on ``io.BytesIO(body)`` (the Python Library Reference semantics the PEP points to). A read
that blocks is a start without a step by the deadline; the check then closes the connection,
which unblocks the server. Each request is a sub-case. Within one, the first wrong result ends
the comparison: after it the stream's position is unknown, so later results cannot be judged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from conformance.catalogue import check
from conformance.checks.pep3333.input_operations import (
    BODY,
    RESPONSE_BOUND,
    STEP_DEADLINE,
    result_bytes,
    wait_steps,
)
from conformance.checks.pep3333.scripted_responses import required_step, respond
from conformance.checks.support.closing import close_when_server_does
from conformance.context import CheckContext
from conformance.probes.contract import Route
from conformance.verdicts import CaseEnded, Level
from conformance.wire import Connection, request_bytes


class _Run:
    """One /probe/input request: what each operation returned, which one blocked, and
    whether the request declared a Content-Length (a GET without a body does not)."""

    def __init__(self, steps: list[dict[str, Any]], ops: list[str], conn: Connection, *,
                 sized: bool) -> None:
        self.steps, self.ops, self.conn, self.sized = steps, ops, conn, sized
        self.blocked = next((op for i, op in enumerate(ops) if i >= len(steps)), None)


@dataclass(frozen=True)
class _Judge:
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


def _run_ops(ctx: CheckContext, ops: list[str], body: bytes, *, extra: bytes = b"",
             headers: list[tuple[str | bytes, str | bytes]] | None = None,
             method: str = "POST") -> _Run:
    """Send a request whose app runs ``ops`` on wsgi.input; wait for every step."""
    rid = ctx.new_rid()
    all_headers = ctx.base_headers(rid) + list(headers or [])
    if headers is None and (body or method == "POST"):
        all_headers.append(("Content-Length", str(len(body))))
    conn = ctx.connect(timeout=STEP_DEADLINE + RESPONSE_BOUND)
    conn.send(request_bytes(method, f"{Route.INPUT}?ops={','.join(ops)}", all_headers, body)
              + extra)
    ctx.observed(rid)
    sized = any((name.decode("latin-1") if isinstance(name, bytes) else name).lower()
                == "content-length" for name, _ in all_headers)
    return _Run(wait_steps(ctx.journal, rid, len(ops)), ops, conn, sized=sized)


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


def _ref_for(judge: _Judge, op: str, got: Any, rest: bytes) -> str | None:
    """The sentence a wrong result of ``op`` (reading from ``rest``) breaks."""
    if not rest:
        return judge.at_end
    if not _needs_eof(op, rest):
        return judge.within
    return judge.eof if result_bytes(got).startswith(rest) and result_bytes(got) != rest else (
        judge.crossing)


def _compare(ctx: CheckContext, run: _Run, body: bytes, judge: _Judge, *,
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
            oracle.seek(oracle.tell() + len(result_bytes(got)))
            continue
        leaked = bool(following) and bool(result_bytes(got)) and result_bytes(got) in following
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


def _blocked(ctx: CheckContext, run: _Run, body: bytes, judge: _Judge) -> None:
    """End the sub-case at an operation that never returned: nothing after it ran."""
    run.conn.abort()  # unblocks the server's read
    assert run.blocked is not None
    index = run.ops.index(run.blocked)
    read = sum(len(result_bytes(s.get("result"))) for s in run.steps[:index])
    rest = body[read:]
    ref: str | None
    if not rest or _needs_eof(run.blocked, rest):
        ref, why = (judge.at_end if not rest else judge.eof), (
            "the stream does not simulate end-of-file at CONTENT_LENGTH" if run.sized else
            "an empty input stream gives no end-of-file")
    else:
        ref, why = judge.within, "although those bytes had all been sent"
    where = ("on a request with no body and no Content-Length" if not run.sized else
             f"at the end of the {len(body)}-byte body" if not rest else
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
_READ_METHODS = _Judge(within="WSGI-IN-01.c", eof="WSGI-IN-04.a", crossing="WSGI-IN-01.c",
                       at_end="WSGI-IN-04.b")
_READLINE_SIZE = _Judge(within="WSGI-IN-02.a", eof="WSGI-IN-02.a", crossing="WSGI-IN-02.a",
                        at_end="WSGI-IN-02.a")
_READ_NO_ARGUMENT = _Judge(within=None, eof="WSGI-IN-03.a", crossing="WSGI-IN-03.a",
                           at_end="WSGI-IN-03.a")
_PAST_CONTENT_LENGTH = _Judge(within=None, eof="WSGI-IN-04.a", crossing="WSGI-IN-04.a",
                              at_end="WSGI-IN-04.b")
_EXHAUSTED = _Judge(within=None, eof="WSGI-IN-05.a", crossing="WSGI-IN-05.a",
                    at_end="WSGI-IN-05.a")


def _judge_run(ctx: CheckContext, name: str, ops: list[str], body: bytes, judge: _Judge,
               **send: Any) -> None:
    """One request as its own sub-case: run ``ops`` and compare. Every operation returned
    when the comparison ends normally (one that blocked aborted the connection), so the
    response follows at once; the next sub-case's request must not wait for this one's
    connection (close_when_server_does)."""
    with ctx.case(name):
        run = _run_ops(ctx, ops, body, **send)
        _compare(ctx, run, body, judge)
        close_when_server_does(run.conn)


@check(
    id="pep3333.read-methods",
    title="wsgi.input read(size), readline(), readlines(hint), iteration return the body bytes",
    requirements=["WSGI-IN-01", "WSGI-IN-04"],
    level=Level.MUST,
    interfaces=("wsgi",),
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
    _judge_run(ctx, "read(size) in odd sizes", sizes, BODY, _READ_METHODS)
    _judge_run(ctx, "readline() per line", ["readline"] * BODY.count(b"\n"), BODY, _READ_METHODS)
    _judge_run(ctx, "readline(), readlines(5), readlines()",
               ["readline", "readlines:5", "readlines"], BODY, _READ_METHODS)
    _judge_run(ctx, "read(4), iteration", ["read:4", "iter"], BODY, _READ_METHODS)


@check(
    id="pep3333.readline-size",
    title="wsgi.input readline(size) honours size",
    requirements=["WSGI-IN-02"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
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
    _judge_run(ctx, "readline(size)", ops, BODY, _READLINE_SIZE)


@check(
    id="pep3333.read-no-argument",
    title="wsgi.input read() without an argument returns the rest of the body",
    requirements=["WSGI-IN-03"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Input and Error Streams' note 1",
)
def read_no_argument(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams, note 1: "A server should allow read() to be called
    without an argument, and return the remainder of the client's input stream."
    (WSGI-IN-03.a, SHOULD): after read(5), read() returns the rest of the body, without
    blocking at CONTENT_LENGTH. read(5) is this sub-case's precondition (judged by
    pep3333.read-methods)."""
    _judge_run(ctx, "read(5), read()", ["read:5", "read"], BODY, _READ_NO_ARGUMENT)


@check(
    id="pep3333.read-past-content-length",
    title="reads past CONTENT_LENGTH return b'' at once, never the next pipelined request",
    requirements=["WSGI-IN-04"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Input and Error Streams' note 1",
)
def read_past_content_length(ctx: CheckContext) -> None:
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
    run = _run_ops(ctx, ops, BODY, extra=second)
    _compare(ctx, run, BODY, _PAST_CONTENT_LENGTH, following=second)
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
    id="pep3333.input-exhausted",
    title="an empty or exhausted wsgi.input returns b'' from every read method",
    requirements=["WSGI-IN-05"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Input and Error Streams' note 1",
)
def input_exhausted(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams, note 1: "A server should return empty bytestrings
    from any attempt to read from an empty or exhausted input stream." (WSGI-IN-05.a, SHOULD).
    Checked on a GET without a body and on a POST after its body was read to the end, each
    its own sub-case."""
    ops = ["read:10", "readline", "readlines", "iter", "read"]
    _judge_run(ctx, "GET without a body", ops, b"", _EXHAUSTED, method="GET", headers=[])
    _judge_run(ctx, "POST after its body", [f"read:{len(BODY)}"] + ops, BODY, _EXHAUSTED)


@check(
    id="pep3333.errors-any-unicode",
    title="wsgi.errors write(), writelines(), flush() accept any unicode text",
    requirements=["WSGI-ENV-11"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'Input and Error Streams'; 'environ Variables' (wsgi.errors)",
)
def errors_any_unicode(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables (wsgi.errors): "On platforms where the str type is unicode,
    the error stream should accept and log arbitrary unicode without raising an error; it is
    allowed, however, to substitute characters that cannot be rendered in the stream's
    encoding." (WSGI-ENV-11.d, SHOULD). The app writes U+00E9, U+20AC, CJK, an astral emoji
    and U+0000 with write() and writelines(), then calls flush(). That the three methods
    exist (a MUST) is pep3333.wsgi-keys's concern. A TypeError is a stream that takes no
    str at all: "This should be a "text mode" stream" (WSGI-ENV-11.c, SHOULD)."""
    exchange = respond(ctx, "errors")
    step = required_step(ctx, exchange.rid, "errors")
    if step["raised"] is None:
        return
    # A binary stream rejects every str with a TypeError; an encoding that cannot render a
    # character raises UnicodeEncodeError (a ValueError) instead.
    text_mode = not str(step["raised"]).startswith("TypeError")
    ctx.finding("WSGI-ENV-11.d" if text_mode else "WSGI-ENV-11.c",
                f"writing unicode text to wsgi.errors raised {step['raised']}"
                + ("" if text_mode else ": it is no text-mode stream"))
