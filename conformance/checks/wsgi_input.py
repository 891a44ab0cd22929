"""WSGI input stream (PEP 3333 "Input and Error Streams", notes 1-3; "Other HTTP Features";
"HTTP 1.1 Expect/Continue").

The probe app's /probe/input runs the wsgi.input operations a check names and journals each
one before (``input-start``) and after (``input-step``) it runs. The check compares every
result with what the same operation gives on ``io.BytesIO(body)`` (the Python Library
Reference semantics the PEP points to). A read that blocks is a start without a step by the
deadline; the check then closes the connection, which unblocks the server.
"""

from __future__ import annotations

import io
from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import Connection, request_bytes

WSGI = ("wsgi",)
STEP_DEADLINE = 3.0  # seconds an input operation may take before it counts as blocked
BODY = b"first line\nsecond\n\nfourth line is longer than the others\nlast\n"


class Run:
    """One /probe/input request: what each operation returned, and which one blocked."""

    def __init__(self, steps: list[dict[str, Any]], ops: list[str], conn: Connection) -> None:
        self.steps, self.ops, self.conn = steps, ops, conn
        self.blocked = next((op for i, op in enumerate(ops) if i >= len(steps)), None)


def run_ops(ctx: CheckContext, ops: list[str], body: bytes, *, extra: bytes = b"",
            headers: list[tuple[str | bytes, str | bytes]] | None = None,
            method: str = "POST") -> Run:
    """Send a request whose app runs ``ops`` on wsgi.input; wait for every step."""
    rid = ctx.new_rid()
    all_headers = ctx.base_headers(rid) + list(headers or [])
    if headers is None and (body or method == "POST"):
        all_headers.append(("Content-Length", str(len(body))))
    conn = ctx.connect(timeout=STEP_DEADLINE + 5)
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


def compare(ctx: CheckContext, run: Run, body: bytes) -> None:
    """Every completed step against io.BytesIO(body); a blocked one warns (note 1 SHOULD)."""
    oracle = io.BytesIO(body)
    for step, op in zip(run.steps, run.ops, strict=False):
        if "error" in step:
            ctx.fail(f"wsgi.input {op} raised {step['error']}")
        got = step["result"]
        name, _, arg = op.partition(":")
        if name == "readlines" and arg:
            rest = body[oracle.tell():]
            ctx.expect(_readlines_ok(got, rest, int(arg)),
                       f"wsgi.input readlines({arg}) returned {got!r}; expected whole lines "
                       f"(bytes) from the rest of the body {rest!r}")
            oracle.seek(oracle.tell() + len(b"".join(got)))
            continue
        want = _expected(oracle, op)
        ctx.expect(got == want and type(got) is type(want),
                   f"wsgi.input {op} returned {got!r} ({step['types']}), expected {want!r}")
    if run.blocked is not None:
        message = (f"wsgi.input {run.blocked} did not return within {STEP_DEADLINE:g}s "
                   f"(body of {len(body)} bytes): the stream does not simulate end-of-file "
                   "at CONTENT_LENGTH (PEP 3333 note 1: the server should)")
        run.conn.abort()  # unblocks the server's read
        ctx.warn(message)


@check(
    id="wsgi-input.read-methods",
    title="wsgi.input read(size), readline(), readlines(hint), iteration return the body bytes",
    requirements=["WSGI-IN-01"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Input and Error Streams' (method table)",
)
def read_methods(ctx: CheckContext) -> None:
    """PEP 3333, Input and Error Streams: "The methods listed in the table above must be
    supported by all servers conforming to this specification": read(size), readline(),
    readlines(hint), __iter__(), with "the semantics of each method ... as documented in the
    Python Library Reference". Each is checked against io.BytesIO over the same body, in odd
    read sizes that cut lines. readlines() and iteration read to end-of-file: if they block
    at CONTENT_LENGTH that is note 1's SHOULD (simulate EOF), reported as a warning."""
    sizes = ["read:1", "read:3", "read:7", "read:2", "read:11"]
    so_far = sum(int(op.split(":")[1]) for op in sizes)
    sizes.append(f"read:{len(BODY) - so_far}")
    compare(ctx, run_ops(ctx, sizes, BODY), BODY)
    lines = ["readline"] * BODY.count(b"\n")
    compare(ctx, run_ops(ctx, lines, BODY), BODY)
    compare(ctx, run_ops(ctx, ["readline", "readlines:5", "readlines"], BODY), BODY)
    compare(ctx, run_ops(ctx, ["read:4", "iter"], BODY), BODY)


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
    argument to readline()". readline(4) inside a line returns 4 bytes, readline(size) larger
    than the rest of the line stops at the newline, readline(0) returns b""."""
    ops = ["readline:4", "readline:100", "readline:0", "readline:3", "readline:3",
           "readline:1"]
    consumed = sum(len(line) for line in (b"firs", b"t line\n", b"sec", b"ond", b"\n"))
    ops.append(f"read:{len(BODY) - consumed}")
    compare(ctx, run_ops(ctx, ops, BODY), BODY)


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
    without an argument, and return the remainder of the client's input stream"."""
    compare(ctx, run_ops(ctx, ["read:5", "read"], BODY), BODY)


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
    application attempts to read past that point." A second request is pipelined in the same
    write as the first one's body: every read past the body must return b"" without
    blocking, none may return bytes of the second request, and the second request must still
    be answered if the server keeps the connection open after the first response."""
    follower = ctx.new_rid()
    second = request_bytes("GET", "/after-pipelined-body", ctx.base_headers(follower))
    ops = [f"read:{len(BODY)}", "read:10", "readline", "read:1", "readlines", "read"]
    run = run_ops(ctx, ops, BODY, extra=second)
    leaked = [s["op"] for s in run.steps[1:] if _joined(s.get("result")) and
              _joined(s.get("result")) in second]
    ctx.expect(not leaked, f"wsgi.input {leaked} returned bytes of the next pipelined request")
    compare(ctx, run, BODY)
    first = run.conn.read_response(timeout=5.0)
    ctx.expect(first.status == 200, f"the first request got {first.status or 'no response'}")
    if first.keeps_alive():
        answer = run.conn.read_response(timeout=5.0)
        # A server may still close instead of answering (RFC 9112 9.3: the client retries);
        # what must not happen is a connection left open with the request unanswered.
        if answer.status == 0 and run.conn.eof and not answer.raw:
            return
        ctx.expect(answer.status > 0, "the pipelined second request was never answered "
                                      "although the server kept the connection open")
        ctx.observed(follower)


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
    from any attempt to read from an empty or exhausted input stream." Checked on a GET
    without a body and on a POST after its body was read to the end."""
    ops = ["read:10", "readline", "readlines", "iter", "read"]
    compare(ctx, run_ops(ctx, ops, b"", method="GET", headers=[]), b"")
    compare(ctx, run_ops(ctx, [f"read:{len(BODY)}"] + ops, BODY), BODY)


@check(
    id="wsgi-input.chunked-body",
    title="a chunked request body is decoded and readable to its end",
    requirements=["WSGI-IN-06"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Other HTTP Features'; RFC 9112 7.1 (chunked transfer coding)",
)
def chunked_body(ctx: CheckContext) -> None:
    """PEP 3333, Other HTTP Features: servers must implement HTTP/1.1 as far as it concerns
    them ("WSGI servers ... must honor the protocol"); RFC 9112 7.1: a recipient "MUST be able
    to parse the chunked transfer coding". The app reads wsgi.input until b"" and must get
    the decoded body, with no chunk framing, and reach its end (wsgi.input_terminated is
    reported as information). A server that refuses with 411 or 501 has not broken message
    framing but does not support chunked bodies: reported as a failure of this MUST."""
    chunks = [BODY[:5], BODY[5:6], BODY[6:29], BODY[29:]]
    framed = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=STEP_DEADLINE + 5)
    conn.send(request_bytes("POST", "/probe/input?ops=body", ctx.base_headers(rid) + [
        ("Transfer-Encoding", "chunked")], framed))
    events = ctx.journal.wait_for(
        lambda evs: any(e["event"] in ("input-step", "request") for e in evs), rid=rid,
        timeout=STEP_DEADLINE)
    if events is None:
        response = conn.read_response(timeout=STEP_DEADLINE)
        ctx.fail(f"the app never saw the chunked request; the server answered "
                 f"{response.status or 'nothing'}")
    done = ctx.journal.wait_for(lambda evs: any(e["event"] == "input-step" for e in evs),
                                rid=rid, timeout=STEP_DEADLINE)
    if done is None:
        conn.abort()
        ctx.fail(f"reading the chunked body until b'' did not end within {STEP_DEADLINE:g}s")
    step = next(e for e in done if e["event"] == "input-step")
    ctx.expect("error" not in step, f"reading the chunked body raised {step.get('error')}")
    ctx.expect(step["result"] == BODY,
               f"the app read {step['result']!r} from a chunked body, expected {BODY!r}")
    environ = ctx.observed(rid)["environ"]
    terminated = environ.get("wsgi.input_terminated")
    ctx.details["wsgi.input_terminated"] = terminated
    response = conn.read_response(timeout=5.0)
    ctx.expect(response.status == 200, f"the response was {response.status or 'missing'}")


def _expect_100(ctx: CheckContext, target: str, body: bytes) -> tuple[Connection, str, bool]:
    """Send the head with Expect: 100-continue; wait for the 100 before sending the body."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=STEP_DEADLINE + 5)
    conn.send(request_bytes("POST", target, ctx.base_headers(rid) + [
        ("Content-Length", str(len(body))), ("Expect", "100-continue")]))
    conn.read_until(b"\r\n\r\n", timeout=STEP_DEADLINE)
    got_100 = bytes(conn.received[9:13]) == b"100 "
    return conn, rid, got_100


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
    provide transparent support for HTTP 1.1's "expect/continue" mechanism", by sending "100
    Continue" immediately, by sending it when the app first reads wsgi.input, or by closing.
    The client withholds the body until the 100 arrives (bounded wait). An app that never
    reads the input must still get its response to the client."""
    conn, rid, got_100 = _expect_100(ctx, f"/probe/input?ops=read:{len(BODY)}", BODY)
    conn.send(BODY)  # RFC 9110 10.1.1: a client that waited long enough sends the body anyway
    response = conn.read_response(timeout=5.0)
    steps = [e for e in ctx.journal.for_rid(rid) if e["event"] == "input-step"]
    ctx.expect(steps and steps[0].get("result") == BODY,
               f"the app read {steps[0].get('result') if steps else 'nothing'!r}, "
               f"expected the body {BODY!r}")
    ctx.expect(response.status == 200, f"the response was {response.status or 'missing'}")
    if not got_100 and response.version == "HTTP/1.0":
        ctx.info(f"no '100 Continue' within {STEP_DEADLINE:g}s, but the server answers as "
                 "HTTP/1.0; the PEP's requirement is for servers that implement HTTP 1.1")
    ctx.expect(got_100, f"no '100 Continue' within {STEP_DEADLINE:g}s although the app "
                        "reads the body: the client had to give up waiting")

    conn, rid, got_100 = _expect_100(ctx, "/probe/input?ops=", BODY)
    if got_100:  # a 100 invites the body (nginx sends one as it reads the body itself)
        conn.send(BODY)
    response = conn.read_response(timeout=5.0)
    ctx.expect(response.status == 200,
               f"an app that never reads wsgi.input got no final response to an Expect: "
               f"100-continue request (status {response.status or 'none'})")
