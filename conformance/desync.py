"""The desync detector: does an invalid request leave the connection in a state where the
next bytes are read as something they are not?

Every invalid request is sent IN THE SAME WRITE as a marker request (``GET /desync-marker``,
its own X-Probe-Id). Some cases also hide a third, "smuggled" request
(``GET /desync-smuggled``) where a parser that picks the wrong framing would find it. The
judge reads the bytes and the probe app's journal and reports each problem as its own
problem on the sentence the case names for it (a :class:`Case` says which sentence each
outcome breaks, or None where the RFC allows it, so a MAY never becomes a finding):

* the app journalled the smuggled request: bytes that the RFC's framing puts inside the
  invalid request were served as a request (a desync: ``Case.framing``), or, where the RFC's
  framing ends the message before them (CL.TE), the connection was kept open after a request
  that must end it (``Case.close``);
* the app's view of the invalid request's body holds the marker, or bytes the RFC's framing
  excludes: the request was framed wrongly (``Case.framing``);
* where the case names the body its framing (or a permitted alternative) gives, the app read
  another body: a pass is earned by what the app saw, not by the absence of a rejection
  (``Case.framing``); a WSGI app told a CONTENT_LENGTH other than that body's length while
  reading the right body is reported on the permission the server used (``Case.told_length``,
  INFO: PEP 3333 passes "The contents of any Content-Length fields" on);
* the server did not reject it: the app was called and answered 2xx (``Case.reject``);
* where the sentence names a response (a 400), there was none: the server closed without one,
  or neither answered nor closed, even after the client's half-close (``Case.respond``);
* after it, the marker was answered on the same connection (``Case.close`` after a served
  request, ``Case.close_after_reject`` after a rejection, ``Case.announced_close`` after a
  response that itself announced "Connection: close").

Any 4xx or 5xx counts as a rejection. A close without any answer is judged only on
``Case.respond``: bytes that arrived before a reset are still read (Linux keeps them; the
reset only ends the connection), so no answer there means none was sent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict

from conformance.context import CheckContext
from conformance.verdicts import HarnessError
from conformance.wire import (
    Connection,
    Response,
    WireTimeout,
    escape_bytes,
    parse_responses,
    request_bytes,
)

MARKER_PATH = b"/desync-marker"
SMUGGLED_PATH = b"/desync-smuggled"
READ_TIMEOUT = 1.0  # seconds for an answer before the half-close (a correct server: ms)
DRAIN_TIMEOUT = 1.0  # seconds after a half-close for a server that waited for more bytes
NEXT_ANSWER = 1.0  # seconds for the marker's answer once the first answer has arrived
SHOWN_SENT = 400  # bytes of each direction quoted in a finding's message
SHOWN_RECEIVED = 300


@dataclass(frozen=True)
class Parts:
    """What a case template is built from: the Host/X-Probe-Id lines and a smuggled request."""

    host: bytes
    base: bytes  # b"Host: ...\r\nX-Probe-Id: ...\r\n"
    smuggle: bytes  # a complete GET /desync-smuggled request with its own id
    rid_line: bytes = b""  # b"X-Probe-Id: ...\r\n" alone, for cases that must omit Host


class Rules(TypedDict, total=False):
    """The sentence-per-action part of a :class:`Case`, shared by several cases."""

    reject: str | None
    respond: str | None
    close: str | None
    close_after_reject: str | None
    refuse: str | None
    framing: str | None
    announced_close: str | None
    told_length: str | None


# The body the app must read when a case's request is handed to it: bytes, several permitted
# bodies, or built from the case's Parts (a smuggled request carried as chunk data).
BodyRule = bytes | tuple[bytes, ...] | Callable[[Parts], bytes]


@dataclass(frozen=True)
class Case:
    """One invalid request and, for each thing a server might do with it, the sentence that
    doing it breaks ("REQ-ID.key"), or None where the RFC allows it."""

    name: str
    build: Callable[[Parts], bytes]
    reject: str | None = None  # serving it (the app answered 2xx)
    respond: str | None = None  # no answer at all: a silent close, or neither answer nor close
    close: str | None = None  # after serving it, answering the marker on the same connection
    close_after_reject: str | None = None  # after rejecting it, answering the marker
    refuse: str | None = None  # rejecting it (4xx/5xx): the RFC says it must be processed
    framing: str | None = None  # the wrong framing: smuggled request served, marker in body
    announced_close: str | None = None  # answering the marker after a "Connection: close"
    # The RFC's framing ends the message before the smuggled request (CL.TE: chunked wins),
    # so serving it shows a connection kept open, not a request served from inside another.
    smuggle_after_message: bool = False
    body_must_not_contain: bytes | None = None  # bytes a correct framing never puts in the body
    # The marker lies inside what a legal parse takes for the body (a huge chunk size): seeing
    # it there is no desync, only what the server did after the half-close counts.
    swallow_ok: bool = False
    method: str = "POST"
    # The body the RFC's framing, or the alternative it permits, gives the app when the server
    # hands it the request; another body, or a CONTENT_LENGTH other than its length, is a
    # finding on ``framing``.
    body: BodyRule | None = None
    # The sentence a WSGI app's CONTENT_LENGTH other than that body's length rests on, when
    # the body the app read is right: the framing was done right, and what PEP 3333 hands the
    # app is "The contents of any Content-Length fields in the HTTP request", so only the
    # permission the server used (an INFO sentence) is named; None: not reported.
    told_length: str | None = None
    # Where the invalid element lies inside the body: a body cut short before it (a server that
    # considered the element invalid and handed on what came before it) breaks this sentence
    # instead of ``framing``.
    cut_short: str | None = None

    def bodies(self, parts: Parts) -> tuple[bytes, ...]:
        """The bodies the app may read (none: not judged)."""
        if self.body is None:
            return ()
        if isinstance(self.body, tuple):
            return self.body
        return (self.body(parts) if callable(self.body) else self.body,)


@dataclass(frozen=True)
class Problem:
    """One thing the server did that the case's sentence ``ref`` forbids."""

    ref: str
    message: str
    # A fact that rests only on the waits the outcome ran with (no response: Case.respond).
    absence: bool = False
    # judge's: the message without such facts (None: nothing else), for an outcome of waits
    # shorter than the defaults.
    firm: str | None = None


@dataclass
class Outcome:
    case: Case
    sent: bytes
    received: bytes
    responses: list[Response]
    closed: bool
    half_closed: bool
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bodies_expected: tuple[bytes, ...] = ()  # Case.body resolved for this run's Parts
    # The marker went in a second write, after the first answer (see run_case).
    sequential: bool = False
    timeout: float = READ_TIMEOUT  # the waits it ran with: for an answer before the half-close
    drain: float = DRAIN_TIMEOUT  # and after it

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
        end = "the server closed" if self.closed else "the connection was left open"
        how = (" (sent again with the marker in a second write after the first answer: in one "
               "write the server answered only the marker and the app never saw the request)"
               if self.sequential else "")
        return (f"sent '{escape_bytes(self.sent)[:SHOWN_SENT]}'{how}; received "
                f"'{escape_bytes(self.received)[:SHOWN_RECEIVED]}' ({end})")


# pragma: no mutate start (to the judge: the socket side, which mutation testing leaves alone)
class Unjudged:
    """Sub-cases that could not be judged (a plain request the app would answer 200 got
    something else): the check finishes its other sub-cases, then ends in an error that names
    them, so a finding already made still stands (harness.combine)."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def add(self, reason: str) -> None:
        self.reasons.append(reason)

    def raise_if_any(self) -> None:
        if self.reasons:
            raise HarnessError("could not judge: " + "; ".join(self.reasons))


def request_line(method: bytes, path: bytes, host: bytes, rid: str) -> bytes:
    """A bodiless HTTP/1.1 request with Host and the probe id (wire.request_bytes builds it)."""
    return request_bytes(method, path, [(b"Host", host), (b"X-Probe-Id", rid)])


def run_case(ctx: CheckContext, case: Case, *, timeout: float = READ_TIMEOUT,
             drain: float = DRAIN_TIMEOUT, track: bool = True) -> Outcome:
    """Send the case's bytes and the marker in one write; read until close or both answered.

    A server that answers only the last request parsed from one read (bjoern) leaves the
    case's request unseen by the app and its one answer the marker's: judging that answer as
    the case's would credit the case with what the marker got. Then the case is sent again,
    the marker in a second write once the first answer is in (or the first wait is over).

    ``track=False`` (generated examples) keeps the connection and ids out of the evidence."""
    outcome = _run_case(ctx, case, timeout=timeout, drain=drain, track=track)
    if _only_marker_answered(outcome):
        outcome = _run_case(ctx, case, timeout=timeout, drain=drain, track=track,
                            sequential=True)
    return outcome


def _only_marker_answered(outcome: Outcome) -> bool:
    """The app saw the marker but neither the case's request nor a smuggled one, and one
    answer came: the marker's, the case's request dropped unanswered."""
    return (outcome.saw("marker") and not outcome.saw("invalid")
            and not outcome.saw("smuggled") and len(outcome.finals) == 1)


def _run_case(ctx: CheckContext, case: Case, *, timeout: float, drain: float, track: bool,
              sequential: bool = False) -> Outcome:
    new_rid = ctx.new_rid if track else ctx.untracked_rid
    rid, marker_rid, smuggled_rid = new_rid(), new_rid(), new_rid()
    host = f"{ctx.host}:{ctx.port}".encode()
    parts = Parts(host=host, base=b"Host: " + host + b"\r\nX-Probe-Id: " + rid.encode() + b"\r\n",
                  smuggle=request_line(b"GET", SMUGGLED_PATH, host, smuggled_rid),
                  rid_line=b"X-Probe-Id: " + rid.encode() + b"\r\n")
    first, marker = case.build(parts), request_line(b"GET", MARKER_PATH, host, marker_rid)
    data = first + marker
    conn = (ctx.connect(timeout=timeout + drain + 1) if track else
            Connection(ctx.host, ctx.port, timeout=timeout + drain + 1))
    methods = [case.method, "GET", "GET"]
    # The server may close before reading it all; what it answered is still read.
    with contextlib.suppress(OSError):
        conn.send(first if sequential else data)
    if sequential:
        _read(conn, methods, 1, timeout)
        if not conn.eof:
            with contextlib.suppress(OSError):
                conn.send(marker)
    # Two answers settle it: a served smuggled request is journalled before its answer.
    _read(conn, methods, 2, timeout)
    half_closed = False
    if not conn.eof and not _finals(conn, methods):
        # A server still waiting for body bytes (it read the marker as body) gets EOF now.
        half_closed = True
        with contextlib.suppress(OSError):
            conn.shutdown_write()
        _read(conn, methods, 2, drain)
    conn.close()
    if half_closed and not case.swallow_ok:
        # An app told of EOF may journal the body it got just after the connection ended.
        ctx.journal.wait_for(lambda evs: not any(e["event"] == "request" for e in evs)
                             or any(e["event"] == "body" for e in evs), rid=rid, timeout=0.5)
    responses = parse_responses(bytes(conn.received), methods, eof=True)
    events = {"invalid": ctx.journal.for_rid(rid), "marker": ctx.journal.for_rid(marker_rid),
              "smuggled": ctx.journal.for_rid(smuggled_rid)}
    return Outcome(case, data, bytes(conn.received), responses, conn.eof, half_closed, events,
                   case.bodies(parts), sequential, timeout, drain)


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


# pragma: no mutate end
# -- the judge ---------------------------------------------------------------------------

def judge(outcome: Outcome) -> list[Problem]:
    """Every problem the outcome shows, each on the sentence its case names for it; ``firm``
    leaves out what rests only on the waits it ran with (no response: ``Case.respond``)."""
    merged: dict[str, list[Problem]] = {}  # one problem per sentence, its facts in order
    for problem in (*_framing_problems(outcome), *_answer_problems(outcome)):
        merged.setdefault(problem.ref, []).append(problem)
    end = outcome.describe()

    def text(facts: list[Problem]) -> str:
        return f"{'; and '.join(p.message for p in facts)}; {end}"

    return [Problem(ref, text(facts), firm=text(firm) if (
                firm := [p for p in facts if not p.absence]) else None)
            for ref, facts in merged.items()]


def _framing_problems(outcome: Outcome) -> Iterator[Problem]:
    """The bytes were framed differently from the RFC's framing of the case."""
    case = outcome.case
    smuggled = f"GET {SMUGGLED_PATH.decode()}"
    if outcome.saw("smuggled"):
        if case.smuggle_after_message and case.close:
            yield Problem(case.close, f"the connection stayed open after the request and the "
                                      f"bytes after its chunked body, which its Content-Length "
                                      f"counts as body, were served as a request ({smuggled})")
        elif case.framing:
            yield Problem(case.framing, f"the app served {smuggled}, which was sent as bytes "
                                        "inside the request's body")
    if not case.framing:
        return
    wrong_body = False
    for body in outcome.bodies("invalid"):
        if MARKER_PATH in body and not case.swallow_ok:
            wrong_body = True
            yield Problem(case.framing, "the marker request sent after it was read as part of "
                                        f"its body (the app saw body {body[:200]!r})")
        if case.body_must_not_contain and case.body_must_not_contain in body:
            wrong_body = True
            yield Problem(case.framing, "the app saw body bytes that the RFC's framing excludes "
                                        f"({body[:200]!r}): the wrong framing header was used")
    if outcome.bodies_expected and not case.swallow_ok:
        yield from _body_problems(outcome, case.framing, wrong_body)


def _body_problems(outcome: Outcome, ref: str, reported: bool) -> Iterator[Problem]:
    """The request reached the app: it must have read the body the case's framing gives (one
    of them, where several are permitted), and a WSGI app must not have been told another
    length. A WSGI app reads by a CONTENT_LENGTH of digits only (the probe reads as strictly
    as RFC 9110 8.6 writes it), else to EOF under wsgi.input_terminated; given neither it
    cannot read the body at all (PEP 3333; pep3333.chunked-request-body judges a chunked one),
    so what it read is not judged here. An ASGI app is judged once receive() told it the body
    was complete (an http.request with more_body False): a server that rejects the body while
    the app waits for it ends receive() with http.disconnect instead. Nor is an ASGI scope's
    content-length header judged, which carries the request's fields as sent (asgi-www.rst:
    "duplicates are possible and must be preserved in the message as received.")."""
    expected = outcome.bodies_expected
    entry = next((e for e in outcome.events.get("invalid", []) if e["event"] == "request"), None)
    environ = entry.get("environ") if entry is not None else None
    shown = " or ".join(repr(b[:120]) for b in expected)
    if isinstance(environ, dict):
        length = str(environ.get("CONTENT_LENGTH") or "")
        told = outcome.case.told_length
        if told and length.strip() and length.strip() not in {str(len(b)) for b in expected}:
            yield Problem(told, f"the app was told CONTENT_LENGTH {length!r}, but the body the "
                                f"framing gives is {shown} ({len(expected[0])} bytes)")
        if not environ.get("wsgi.input_terminated") and not (length.isascii()
                                                              and length.isdigit()):
            return
    elif not any(e["event"] == "receive" and e.get("type") == "http.request"
                 and not e.get("more_body") for e in outcome.events.get("invalid", [])):
        return
    bodies = outcome.bodies("invalid")
    if not bodies or reported or bodies[0] in expected:
        return
    read = bodies[0]
    cut_short = outcome.case.cut_short
    told = outcome.case.told_length
    if (told and isinstance(environ, dict) and length.isascii() and length.isdigit()
            and len(read) == int(length) and any(b.startswith(read) for b in expected)):
        # The app stopped where the CONTENT_LENGTH it was told ends, as PEP 3333 asks ("should
        # not attempt to read more data than is specified by the CONTENT_LENGTH variable"):
        # the stale length is reported above, on the permission the server used.
        return
    if cut_short and any(len(read) < len(b) and b.startswith(read) for b in expected):
        yield Problem(cut_short, f"the app was handed the body cut short, {read[:200]!r} of "
                                 f"{shown}, as complete: the invalid element was neither "
                                 "answered with 400 nor replaced")
    else:
        yield Problem(ref, f"the app read the body {read[:200]!r}, not {shown}, which the "
                           "framing gives")


def _answer_problems(outcome: Outcome) -> Iterator[Problem]:
    """What the server answered, and whether it went on reading after it."""
    case = outcome.case
    status = outcome.first_status
    served = status is not None and 200 <= status < 300
    after = _what_came_after(outcome)
    # 411 is no refusal of the valid element: RFC 9112 6.3 "A server MAY reject a request that
    # contains a message body but not a Content-Length by responding with 411 (Length
    # Required)." (a server that takes no chunked body at all, mod_wsgi without
    # --chunked-request, answers every chunked request so).
    if status is not None and status >= 400 and status != 411 and case.refuse:
        yield Problem(case.refuse, f"rejected with {status}, though the request is valid")
    if served and case.reject:
        who = "the app was called and answered" if outcome.saw("invalid") else "answered"
        yield Problem(case.reject, f"not rejected: {who} {status}")
    if status is not None and after:
        if case.announced_close and announces_close(outcome.finals[0]):
            yield Problem(case.announced_close, f"answered {status} with \"Connection: close\", "
                                                f"then {after}")
        elif served and case.close:
            yield Problem(case.close, f"served ({status}), then the connection stayed open and "
                                      f"{after}")
        elif not served and case.close_after_reject:
            yield Problem(case.close_after_reject, f"answered {status}, then the connection "
                                                   f"stayed open and {after}")
    if status is None and case.respond and _unparsed(outcome) and outcome.saw("invalid"):
        # The app was called, and the server wrapped its answer in a status line that does
        # not parse (uWSGI echoes the request's invalid version: "HTTP/1.1 extra 200 OK"):
        # the request was served, not left unanswered. Not a fact of the waits either.
        yield Problem(case.respond, "not rejected: the app was called, and the server sent "
                                    f"its answer under the status line '{_first_line(outcome)}'"
                                    ", which is not an HTTP/1.x status line"
                                    + (", then closed the connection" if outcome.closed else ""))
    elif status is None and case.respond:
        # Bytes that do not parse as an HTTP/1.x response (an HTTP/0.9-style error body, a
        # status line the server made up) are no response a client can read, but they are not
        # silence either: say which. A close that came after the client's half-close says so:
        # a server may answer once it reads the end of the request.
        closed = ("closed the connection without any response" if not outcome.received else
                  f"sent {len(outcome.received)} bytes that are not an HTTP/1.x response "
                  "(see the bytes), then closed the connection")
        if outcome.half_closed:
            closed += (f", after the client had half-closed when no answer came within "
                       f"{outcome.timeout:g} s")
        yield Problem(case.respond, closed if
                      outcome.closed else f"neither answered nor closed within "
                      f"{outcome.timeout + outcome.drain:g} s (the client half-closed after "
                      f"{outcome.timeout:g} s)", absence=True)


def _unparsed(outcome: Outcome) -> bool:
    """The server sent bytes, and the first of them do not parse as an HTTP/1.x response."""
    return bool(outcome.received) and not (outcome.responses and outcome.responses[0].status)


def _first_line(outcome: Outcome) -> str:
    """The first line of what the server sent, escaped and cut to a readable length."""
    return escape_bytes(outcome.received.split(b"\r\n", 1)[0])[:120]


def announces_close(response: Response) -> bool:
    """The response carries the "close" connection option (RFC 9112 9.6)."""
    tokens = b",".join(response.header_all("connection")).lower().split(b",")
    return b"close" in (t.strip() for t in tokens)


def _what_came_after(outcome: Outcome) -> str:
    """How the bytes after the invalid request were treated ("" when not read as a request)."""
    if outcome.saw("marker"):
        return "the marker request sent after it was served as a fresh request"
    if len(outcome.finals) >= 2:
        return (f"the bytes after it were parsed and answered ({len(outcome.finals)} "
                "responses)")
    return ""


# pragma: no mutate block, to the end of the file: run_cases drives run_case
def run_cases(ctx: CheckContext, cases: list[Case],
              also: Callable[[CheckContext, Outcome], None] | None = None) -> list[Outcome]:
    """Run every case as its own sub-case; each problem is a finding on its sentence, and
    ``also`` may judge more of an outcome (what the app saw) inside the same sub-case."""
    outcomes = []
    for case in cases:
        with ctx.case(case.name):
            outcome = run_case(ctx, case)
            outcomes.append(outcome)
            for problem in judge(outcome):
                ctx.finding(problem.ref, problem.message)
            if also is not None:
                also(ctx, outcome)
    return outcomes
