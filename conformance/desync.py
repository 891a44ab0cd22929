"""The desync detector: does an invalid request leave the connection in a state where the
next bytes are read as something they are not?

Every invalid request is sent IN THE SAME WRITE as a marker request (``GET /desync-marker``,
its own X-Probe-Id). Some cases also hide a third, "smuggled" request
(``GET /desync-smuggled``) where a parser that picks the wrong framing would find it. The
verdict reads the bytes and the probe app's journal:

* a rejection (4xx/5xx) that closes the connection, or never answers the marker: safe;
* the app journalled the smuggled request: it saw a request that was never sent as one (fail);
* the app's view of the invalid request's body holds the marker's bytes: the marker was read
  as a body (fail);
* the invalid request was served (2xx) where the RFC demands a rejection (fail, or warn where
  the RFC only says SHOULD), and the marker answered as a fresh request after a request whose
  framing the RFC says must end the connection (fail; warn where closing is a SHOULD).

Each :class:`Case` carries what the RFC allows for it, so a MAY never becomes a fail.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.context import CheckContext
from conformance.wire import Connection, Response, WireTimeout, escape_bytes, parse_responses

MARKER_PATH = b"/desync-marker"
SMUGGLED_PATH = b"/desync-smuggled"
READ_TIMEOUT = 1.0  # seconds for an answer before the half-close (a correct server: ms)
DRAIN_TIMEOUT = 1.0  # seconds after a half-close for a server that waited for more bytes
NEXT_ANSWER = 1.0  # seconds for the marker's answer once the first answer has arrived

# How the RFC treats accepting the invalid request / keeping the connection open after it.
NEVER = "never"  # MUST NOT: a fail
SHOULD_NOT = "should-not"  # SHOULD NOT: a warn
MAY = "may"  # allowed: no verdict


@dataclass(frozen=True)
class Parts:
    """What a case template is built from: the Host/X-Probe-Id lines and a smuggled request."""

    host: bytes
    base: bytes  # b"Host: ...\r\nX-Probe-Id: ...\r\n"
    smuggle: bytes  # a complete GET /desync-smuggled request with its own id
    rid_line: bytes = b""  # b"X-Probe-Id: ...\r\n" alone, for cases that must omit Host


@dataclass(frozen=True)
class Case:
    """One invalid request and what the RFC allows a server to do with it."""

    name: str
    build: Callable[[Parts], bytes]
    section: str
    accept: str = NEVER  # may the server serve it (2xx)?
    keep_open: str = NEVER  # after serving it, may it answer the marker (not close)?
    reject_keep_open: str = NEVER  # after rejecting it, may it answer the marker?
    body_must_not_contain: bytes | None = None  # bytes a correct framing never puts in the body
    # The marker lies inside what a legal parse takes for the body (a huge chunk size): seeing
    # it there is no desync, only what the server did after the half-close counts.
    swallow_ok: bool = False
    method: str = "POST"


@dataclass
class Outcome:
    case: Case
    sent: bytes
    received: bytes
    responses: list[Response]
    closed: bool
    half_closed: bool
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def finals(self) -> list[Response]:
        return [r for r in self.responses if r.status >= 200]

    @property
    def first_status(self) -> int | None:
        return self.finals[0].status if self.finals else None

    def saw(self, who: str, event: str = "request") -> bool:
        return any(e["event"] == event for e in self.events.get(who, []))

    def bodies(self, who: str) -> list[bytes]:
        return [e.get("body", b"") for e in self.events.get(who, []) if e["event"] == "body"]

    def describe(self) -> str:
        return (f"sent {escape_bytes(self.sent)[:600]!r}; received "
                f"{escape_bytes(self.received)[:400]!r}"
                f"{' (server closed)' if self.closed else ' (connection left open)'}")


@dataclass
class Finding:
    severity: str  # "fail" | "warn"
    case: str
    message: str


def request_line(method: bytes, path: bytes, host: bytes, rid: str) -> bytes:
    return (method + b" " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nX-Probe-Id: "
            + rid.encode() + b"\r\n\r\n")


def run_case(ctx: CheckContext, case: Case, *, timeout: float = READ_TIMEOUT,
             drain: float = DRAIN_TIMEOUT, track: bool = True) -> Outcome:
    """Send the case's bytes and the marker in one write; read until close or both answered.

    ``track=False`` (generated examples) keeps the connection and ids out of the evidence."""
    new_rid = ctx.new_rid if track else ctx.untracked_rid
    rid, marker_rid, smuggled_rid = new_rid(), new_rid(), new_rid()
    host = f"{ctx.host}:{ctx.port}".encode()
    parts = Parts(host=host, base=b"Host: " + host + b"\r\nX-Probe-Id: " + rid.encode() + b"\r\n",
                  smuggle=request_line(b"GET", SMUGGLED_PATH, host, smuggled_rid),
                  rid_line=b"X-Probe-Id: " + rid.encode() + b"\r\n")
    invalid = case.build(parts)
    data = invalid + request_line(b"GET", MARKER_PATH, host, marker_rid)
    # Two answers settle it: a served smuggled request is journalled before its answer.
    expected = 2
    conn = (ctx.connect(timeout=timeout + drain + 1) if track else
            Connection(ctx.host, ctx.port, timeout=timeout + drain + 1))
    # The server may close before reading it all; what it answered is still read.
    with contextlib.suppress(OSError):
        conn.send(data)
    methods = [case.method, "GET", "GET"]
    _read(conn, methods, expected, timeout)
    half_closed = False
    if not conn.eof and not _finals(conn, methods):
        # A server still waiting for body bytes (it read the marker as body) gets EOF now.
        half_closed = True
        with contextlib.suppress(OSError):
            conn.shutdown_write()
        _read(conn, methods, expected, drain)
    conn.close()
    if half_closed and not case.swallow_ok:
        # An app told of EOF may journal the body it got just after the connection ended.
        ctx.journal.wait_for(lambda evs: not any(e["event"] == "request" for e in evs)
                             or any(e["event"] == "body" for e in evs), rid=rid, timeout=0.5)
    responses = parse_responses(bytes(conn.received), methods, eof=True)
    events = {"invalid": ctx.journal.for_rid(rid), "marker": ctx.journal.for_rid(marker_rid),
              "smuggled": ctx.journal.for_rid(smuggled_rid)}
    return Outcome(case, data, bytes(conn.received), responses, conn.eof, half_closed, events)


def _finals(conn: Connection, methods: list[str]) -> list[Response]:
    responses = parse_responses(bytes(conn.received), methods, eof=conn.eof)
    return [r for r in responses if r.status >= 200 and r.complete]


def _read(conn: Connection, methods: list[str], expected: int, timeout: float) -> None:
    """Read until ``expected`` answers, the close, or the deadline; once the first answer is
    in, the marker's answer (a fast local exchange) gets at most NEXT_ANSWER more seconds."""
    deadline = time.monotonic() + timeout
    while not conn.eof and len(finals := _finals(conn, methods)) < expected:
        if finals:
            deadline = min(deadline, time.monotonic() + NEXT_ANSWER)
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            conn.recv_some(left)
        except (WireTimeout, OSError):
            return


def judge(outcome: Outcome) -> Finding | None:
    """The detector's verdict on one case (None: the server handled it safely)."""
    case = outcome.case
    name = case.name

    def finding(severity: str, what: str) -> Finding:
        return Finding(severity, name, f"{name}: {what} [{case.section}]; {outcome.describe()}")

    if outcome.saw("smuggled"):
        return finding("fail", "DESYNC: the app journalled the smuggled request "
                               f"GET {SMUGGLED_PATH.decode()}, which was only bytes inside the "
                               "invalid request")
    for body in outcome.bodies("invalid"):
        if MARKER_PATH in body and not case.swallow_ok:
            return finding("fail", "DESYNC: the marker request was read as part of the invalid "
                                   f"request's body (the app saw body {body[:200]!r})")
        if case.body_must_not_contain and case.body_must_not_contain in body:
            return finding("fail", "the app saw body bytes the correct framing excludes "
                                   f"({body[:200]!r}): the wrong framing header was used")
    status = outcome.first_status
    accepted = status is not None and 200 <= status < 300
    marker_answered = outcome.saw("marker") or len(outcome.finals) >= 2
    found: list[Finding] = []
    after = ("the marker was answered as a fresh request" if outcome.saw("marker") else
             f"the bytes after it were parsed and answered ({len(outcome.finals)} responses)")
    if accepted and marker_answered and case.keep_open != MAY:
        found.append(finding("fail" if case.keep_open == NEVER else "warn",
                             f"the invalid request was served with {status}, then the "
                             f"connection stayed open and {after}"))
    if accepted and case.accept != MAY:
        found.append(finding("fail" if case.accept == NEVER else "warn",
                             f"the invalid request was served with {status}"))
    if not accepted and marker_answered and case.reject_keep_open != MAY:
        found.append(finding("fail" if case.reject_keep_open == NEVER else "warn",
                             f"the invalid request was answered {status}, then the connection "
                             f"stayed open and {after}"))
    if status is None and not outcome.closed and not outcome.half_closed:
        found.append(finding("warn", "neither answered nor closed"))
    found.sort(key=lambda f: f.severity != "fail")
    return found[0] if found else None


def run_cases(ctx: CheckContext, cases: list[Case]) -> None:
    """Run every case; fail on the first failing one (all findings listed), warns after."""
    findings = [f for f in (judge(run_case(ctx, case)) for case in cases) if f]
    fails = [f for f in findings if f.severity == "fail"]
    warns = [f for f in findings if f.severity == "warn"]
    others = "; also: " + ", ".join(f.case for f in findings[1:]) if len(findings) > 1 else ""
    if fails:
        ctx.fail(fails[0].message + others, findings=[f.__dict__ for f in findings])
    if warns:
        ctx.warn(warns[0].message + others, findings=[f.__dict__ for f in findings])
