"""RFC 9112 6.3, Message Body Length.

Every case pipelines a follow-up request in the same write, so a response that leaks bytes or
a body parsed as a request shows up; the invalid framings run through the desync detector."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.catalogue import check
from conformance.checks.rfc9112.chunked_decoding import decodes_chunked
from conformance.checks.rfc9112.framing_requests import post
from conformance.checks.rfc9112.pipelined_exchanges import (
    READ,
    marker_answered_after_leak,
    pipeline,
    unanswered,
)
from conformance.checks.support.common import check_settings
from conformance.context import CheckContext
from conformance.desync import Case, Parts, Problem, Rules, Unjudged, judge, run_case, run_cases
from conformance.probes.contract import ECHO_BODY, Route
from conformance.requirements import level_of
from conformance.verdicts import Level
from conformance.wire import Response, escape_bytes, parse_responses, request_bytes

if TYPE_CHECKING:
    from hypothesis import strategies as st


def _leaked(responses: list[Response]) -> bytes | None:
    """Bytes after the first response that are not a well-formed response: a leaked body
    (and whatever came after it)."""
    for resp in responses[1:]:
        if resp.status == 0 or resp.problems:
            return resp.raw
    return None


def _leak_message(method: str, status: int, leaked: bytes, *, closed: bool,
                  answered_after: bool, alone: bool) -> str:
    """What the bytes after the head were, and what became of the connection: while it stays
    open, a client reads the next response starting at those bytes."""
    if method == "HEAD" and leaked.startswith(ECHO_BODY):
        # The probe app answers every method with this body; a HEAD response's must go.
        what = f"the server forwarded the body the app returned for HEAD ({ECHO_BODY!r})"
    else:
        what = f"the {status} response carried body bytes"
    if alone:
        end = ('it was sent alone with "Connection: close", and the server '
               + ("closed after it as asked" if closed else "left the connection open"))
    elif answered_after and closed:
        end = ("the pipelined request's response came after those bytes, then the server "
               "closed: a client reads the next response starting at them")
    elif answered_after:
        end = ("the connection stayed open, and the pipelined request's response came after "
               "those bytes: a client reads the next response starting at them")
    elif closed:
        end = "then the server closed the connection: no later response was read from them"
    else:
        end = ("the connection was left open with the pipelined request unanswered: a client "
               "reads the next response starting at them")
    return f"{what}: after the {status} head came '{escape_bytes(leaked[:200])}'; {end}"


# (method, target, status, the sentence a leaked body breaks)
BODILESS = [("HEAD", "/desync/head", 200, "HTTP-10.a"),
            ("GET", f"{Route.FRAMING_STATUS}?code=204", 204, "HTTP-10.c"),
            ("GET", f"{Route.FRAMING_STATUS}?code=304", 304, "HTTP-10.d")]
# WSGI: a 204 whose app returns an empty list (len() 0), as apps commonly do; a server that
# frames it itself must not add a Content-Length (wsgiref's and hypercorn's "0").
EMPTY_LIST_204 = ("GET", f"{Route.FRAMING_STATUS}?code=204&blocks=0", 204, "HTTP-10.c")


def _bodiless_case(ctx: CheckContext, method: str, target: str, status: int, leak_ref: str,
                   unjudged: Unjudged) -> None:
    label = f"{method} {target}"
    rid = ctx.new_rid()
    conn, responses, marker_rid = pipeline(
        ctx, request_bytes(method, target, ctx.base_headers(rid)), method, first_rid=rid)
    closed = conn.eof
    conn.close()  # gunicorn's sync worker lingers on an open client before the next one
    alone = _marker_answered_alone(ctx, rid, marker_rid, responses)
    if alone:
        # A server that answers only the last request parsed from one read (bjoern) answered
        # the marker alone: that exchange shows its persistence; this request's own response
        # is read with the request sent alone, "Connection: close", to the close, so body
        # bytes after its head still show. The dropped request is 9.3.2's order of answers
        # (the one answer is the marker's), not 9.3's server without persistence.
        ctx.finding("HTTP-14.a", f"{label} and a pipelined GET in one write: the app never saw "
                                 f"{label}, only the pipelined GET, and the one response "
                                 f"({responses[0].status}) is the pipelined GET's: {label} was "
                                 "dropped unanswered")
        conn = ctx.connect(timeout=READ + 1)
        conn.send(request_bytes(method, target, ctx.base_headers(ctx.new_rid())
                                + [("Connection", "close")]))
        conn.read_until_close(READ)
        closed = conn.eof
        conn.close()
        # All that came is in: bytes after the head are parsed as what follows it.
        responses = parse_responses(bytes(conn.received), [method], eof=True)
    got = responses[0].status if responses else 0
    if got != status and target == EMPTY_LIST_204[1]:
        # A server that cannot answer an empty iterable at all is pep3333.empty-blocks's.
        ctx.details.setdefault("not_judged", []).append(
            f"{label} was answered {got or 'with nothing'}, not the app's {status}: an empty "
            "iterable is judged by pep3333.empty-blocks")
        return
    if got != status:
        unjudged.add(f"{label} was answered {got or 'with nothing'}, not the app's {status}")
        return
    first = responses[0]
    leaked = _leaked(responses)
    if leaked is not None:
        # HEAD: the app's body forwarded is the server's own breach of 9.3.2 on WSGI too, the
        # gateway's outbound side (RFC 9110 3.7, PEP 3333: see the check's docstring).
        ctx.finding(leak_ref, f"{label}: " + _leak_message(
            method, status, leaked, closed=closed, alone=alone,
            answered_after=marker_answered_after_leak(responses)))
    elif not alone:  # leaked bytes hide the marker's answer: only a clean exchange shows it
        unanswered(ctx, conn, responses, 2, f"{label} and a pipelined GET")
    if status == 204:
        # 304 (and HEAD) MAY carry both fields (9110 8.6, 9112 6.1); 204 never.
        for name, ref in ((b"content-length", "HTTP-10.f"), (b"transfer-encoding", "HTTP-10.g")):
            values = first.header_all(name.decode())
            if values:
                ctx.finding(ref, f"{label}: the 204 response has {name.decode()}: {values!r}")


def _marker_answered_alone(ctx: CheckContext, rid: str, marker_rid: str,
                           responses: list[Response]) -> bool:
    """One answer came and the app saw the marker, never the request before it."""
    return (len([r for r in responses if r.status >= 200]) == 1
            and ctx.journal.saw(marker_rid) and not ctx.journal.saw(rid))


@check(id="rfc9112.bodiless-responses", title="HEAD, 204 and 304 responses carry no "
       "body (and 204 no framing); a pipelined follow-up stays in sync",
       requirements=["HTTP-10", "HTTP-13", "HTTP-14"], level=Level.MUST,
       interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 6.3, 6.1; RFC 9110 9.3.2, 15.3.5, 15.4.5, 8.6")
def bodiless_responses(ctx: CheckContext) -> None:
    """RFC 9110 9.3.2: "The HEAD method is identical to GET except that the server MUST NOT
    send content in the response." (HTTP-10.a). The probe app returns a body for HEAD as for
    GET; a WSGI server that forwards it breaks the same sentence, as the client's gateway:
    RFC 9110 3.7 "All HTTP requirements applicable to an origin server also apply to the
    outbound communication of a gateway." and PEP 3333 "In a sense, a server should consider
    itself to be like an HTTP "gateway server", with the application being an HTTP "origin
    server"." (CGI states that duty in RFC 3875 4.3.3, HTTP-10.j, part of a). 15.3.5 and
    15.4.5: "A 204 response is terminated by the end of the header
    section; it cannot contain content or trailers." (HTTP-10.c) and the same of 304
    (HTTP-10.d). 8.6: "A server MUST NOT send a Content-Length header field in any response
    with a status code of 1xx (Informational) or 204 (No Content)." (HTTP-10.f; for WSGI also
    with an app that returns an empty list for its 204, the commonest way); RFC 9112 6.1:
    the same of Transfer-Encoding (HTTP-10.g). A 304 MAY carry either (HTTP-10.h, HTTP-10.i).
    A pipelined marker request catches leaked bytes; a response that kept the connection open
    but left the marker unanswered breaks RFC 9112 9.3: "A server that does not support
    persistent connections MUST send the "close" connection option in every response message
    that does not have a 1xx (Informational) status code." (HTTP-13.c), and one that announced
    "close" but left the connection open breaks 9.6 (HTTP-13.g). A server that answered only
    the marker, which the app saw while it never saw the request before it, dropped that
    request: 9.3.2 "A server MAY process a sequence of pipelined requests in parallel if they
    all have safe methods (Section 9.2.1 of [HTTP]), but it MUST send the corresponding
    responses in the same order that the requests were received." (HTTP-14.a)."""
    unjudged = Unjudged()
    for method, target, status, ref in BODILESS:
        with ctx.case(f"{method} {status}"):
            _bodiless_case(ctx, method, target, status, ref, unjudged)
    if ctx.target.interface == "wsgi":
        with ctx.case("GET 204, the app returns []"):
            _bodiless_case(ctx, *EMPTY_LIST_204, unjudged)
    unjudged.raise_if_any()


def _cl(value: bytes, body: bytes = b"hello") -> Callable[[Parts], bytes]:
    return post(b"Content-Length: " + value + b"\r\n", body)


# 6.3: an invalid Content-Length is an unrecoverable error (MUST), answered 400 and then the
# connection closed (MUST).
_BAD_CL: Rules = {"reject": "HTTP-04.a", "respond": "HTTP-04.b", "close": "HTTP-04.b",
           "close_after_reject": "HTTP-04.b", "framing": "HTTP-04.a"}
CL_CASES = [
    Case("Content-Length: +5", _cl(b"+5"), **_BAD_CL),
    Case("Content-Length: 1_0", _cl(b"1_0", b"0123456789"), **_BAD_CL),
    Case("Content-Length: -1", _cl(b"-1"), **_BAD_CL),
    Case("Content-Length: 5x (non-digit)", _cl(b"5x"), **_BAD_CL),
    Case("Content-Length: 0x5", _cl(b"0x5"), **_BAD_CL),
    Case('Content-Length: "5, 6"', _cl(b"5, 6", b"hello!"), **_BAD_CL),
    Case("differing duplicate Content-Length 5 / 6",
         post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), **_BAD_CL),
    # 9110 8.6: identical values MAY be rejected or used once; a rejection makes it the
    # unrecoverable error of 6.3 (400, then close). Used once, the app reads the 5 bytes and
    # a WSGI app is told CONTENT_LENGTH 5 ("that single value used as the Content-Length
    # field value").
    Case('Content-Length: "5, 5" (same values: allowed)', _cl(b"5, 5"),
         close_after_reject="HTTP-04.b", framing="HTTP-04.a", body=b"hello",
         told_length="HTTP-04.d"),
]


@check(id="rfc9112.content-length", title="invalid Content-Length values get 400 and "
       "close", requirements=["HTTP-04"], level=Level.MUST, interfaces=("wsgi", "asgi"),
       via=("direct",), section="RFC 9112 6.3 item 5; RFC 9110 8.6")
def content_length(ctx: CheckContext) -> None:
    """RFC 9112 6.3: "If a message is received without Transfer-Encoding and with an invalid
    Content-Length header field, then the message framing is invalid and the recipient MUST
    treat it as an unrecoverable error, unless the field value can be successfully parsed as a
    comma-separated list (Section 5.6.1 of [HTTP]), all values in the list are valid, and all
    values in the list are the same (in which case, the message is processed with that single
    value used as the Content-Length field value)." (HTTP-04.a: serving it) "If the
    unrecoverable error is in a request message, the server MUST respond with a 400 (Bad
    Request) status code and then close the connection." (HTTP-04.b: answering the marker
    after it). RFC 9110 8.6 lets a recipient of ``5, 5`` reject it or use 5 (HTTP-04.d); a
    server that uses it must hand the app that body, and a WSGI app CONTENT_LENGTH 5: another
    body or length is not "processed with that single value" (HTTP-04.a)."""
    run_cases(ctx, CL_CASES)


# Generated invalid requests through the desync detector (DESIGN.md decision 8, second half:
# "the server rejects, and the connection does not desynchronise"). Each example mutates one
# valid request, POST with Content-Length: N whose N-byte body is itself a complete request
# (GET /desync-smuggled). The mutations stay where the RFC has a MUST or leaves the framing
# unchanged: control bytes inside the Content-Length value (an invalid Content-Length: MUST
# 400, RFC 9112 6.3), optional whitespace around the value (valid, same framing), duplicated
# Content-Length lines (differing: MUST 400), and an added Transfer-Encoding (CL+TE: reject,
# or chunked and close); and odd spellings of a chunk size (7.1: chunk-size = 1*HEXDIG).
# Whatever a server does with the framing mutations, the body bytes must never be served as a
# request and the marker never read as a body (MUST); odd chunk sizes rest on RFC 9112 2.2's
# SHOULD, except a 64-bit wrap (MUST). An example with a MUST finding is shrunk by Hypothesis
# to a minimal one, whose bytes go into the results; without one, the first example with a
# lesser finding is reported.
EXAMPLE_READ = 0.6  # seconds: a correct server answers or closes at once
EXAMPLE_DRAIN = 0.3
MAX_EXAMPLES = 40
# Work bound on shrinking only, never on finding: which example fails first is fixed by the
# derandomised example order, so the verdict does not depend on machine speed; once a failure
# is found, shrinking stops after this many seconds (the minimal example may then be larger).
SHRINK_BUDGET = 20.0


@dataclass(frozen=True)
class FramingMutation:
    """A Content-Length request with its framing lines rewritten."""

    before: tuple[bytes, ...]  # field lines before the Content-Length line
    value: bytes | None  # the Content-Length line's value with {n} for the body length
    after: tuple[bytes, ...]

    def build(self, parts: Parts) -> bytes:
        n = str(len(parts.smuggle)).encode()
        lines = list(self.before)
        if self.value is not None:
            lines.append(b"Content-Length:" + self.value.replace(b"{n}", n))
        lines += self.after
        fields = b"".join(line.replace(b"{n}", n) + b"\r\n" for line in lines)
        return (f"POST {Route.READ_ALL}?case=generated HTTP/1.1\r\n".encode() + parts.base
                + fields + b"\r\n" + parts.smuggle)


@dataclass(frozen=True)
class ChunkMutation:
    """A chunked request whose one chunk-size line is rewritten (valid or not)."""

    size_line: bytes  # the rewritten chunk-size line
    data: bytes
    valid: bool  # upper-case hex and leading zeros are still 1*HEXDIG (see trail-space)
    huge: bool = False  # a 2**64-scale size: a big-integer parser legally reads on

    def build(self, parts: Parts) -> bytes:
        return (f"POST {Route.READ_ALL}?case=generated-chunk HTTP/1.1\r\n".encode() + parts.base
                + b"Transfer-Encoding: chunked\r\n\r\n" + self.size_line + b"\r\n"
                + self.data + b"\r\n0\r\n\r\n")


def _mutation_strategies() -> tuple[st.SearchStrategy[FramingMutation],
                                   st.SearchStrategy[ChunkMutation]]:
    """The generated framing-line mutations and chunk-size mutations (Hypothesis imported
    only here, when the check runs)."""
    from hypothesis import strategies as st

    def _control_bytes() -> st.SearchStrategy[bytes]:
        return st.sampled_from([b"\x00", b"\x01", b"\x0b", b"\x0c", b"\x7f", b"\r", b"\n", b"\xa0",
                                b",", b"+", b"-", b"_", b"x"])


    def _optional_whitespace() -> st.SearchStrategy[bytes]:
        return st.sampled_from([b"", b" ", b"\t", b"  ", b" \t"])


    @st.composite
    def _corrupted_values(draw: st.DrawFn) -> bytes:
        """The value with one odd byte inserted somewhere in the digits (or around them)."""
        digits = b"{n}"
        where = draw(st.sampled_from(["prefix", "suffix", "middle"]))
        byte = draw(_control_bytes())
        if where == "prefix":
            return b" " + byte + digits
        if where == "suffix":
            return b" " + digits + byte
        return b" {n}" + byte + b"0"


    @st.composite
    def _whitespace_values(draw: st.DrawFn) -> bytes:
        return draw(_optional_whitespace()) + b"{n}" + draw(_optional_whitespace())


    def _transfer_encodings() -> st.SearchStrategy[bytes]:
        return st.sampled_from([b"chunked", b" chunked", b"\x0bchunked", b"chunked, chunked",
                                b"Chunked", b"identity", b"gzip", b"chunked\x00"])


    @st.composite
    def _framing_mutations(draw: st.DrawFn) -> FramingMutation:
        kind = draw(st.sampled_from(["corrupt", "whitespace", "duplicate", "te"]))
        if kind == "corrupt":
            return FramingMutation((), draw(_corrupted_values()), ())
        if kind == "whitespace":
            return FramingMutation((), draw(_whitespace_values()), ())
        if kind == "duplicate":
            other = draw(st.sampled_from([b"0", b"1", b"{n}0", b"{n}"]))
            line = b"Content-Length: " + other
            first = draw(st.booleans())
            return FramingMutation((line,) if first else (), b" {n}", () if first else (line,))
        te = b"Transfer-Encoding: " + draw(_transfer_encodings())
        first = draw(st.booleans())
        return FramingMutation((te,) if first else (), b" {n}", () if first else (te,))


    @st.composite
    def _chunk_mutations(draw: st.DrawFn) -> ChunkMutation:
        """Odd spellings of one chunk size: 0x, sign, underscores, spaces, control bytes,
        64-bit wrap-around, and the valid upper-case and leading-zero forms."""
        data = b"a" * draw(st.integers(min_value=10, max_value=60))
        size = b"%x" % len(data)
        kind = draw(st.sampled_from(["0x", "+", "lead-space", "trail-space", "underscore",
                                     "overflow", "insert", "upper", "zeros"]))
        if kind == "insert":
            at = draw(st.integers(min_value=0, max_value=len(size)))
            line = size[:at] + draw(_control_bytes()) + size[at:]
        else:
            line = {"0x": b"0x" + size, "+": b"+" + size, "lead-space": b" " + size,
                    "trail-space": size + b" ", "underscore": size[:1] + b"_" + size[1:],
                    "overflow": b"1" + b"0" * (16 - len(size)) + size, "upper": size.upper(),
                    "zeros": b"000" + size}[kind]
        # A trailing SP is counted with the valid forms: 7.1.1 allows BWS before a chunk-ext and
        # parsers such as h11 deliberately read it as that (no desync follows either way).
        return ChunkMutation(line, data, valid=kind in ("upper", "zeros", "trail-space"),
                             huge=kind == "overflow")

    return _framing_mutations(), _chunk_mutations()


class _MustFinding(AssertionError):
    """An example broke a MUST: Hypothesis shrinks it."""


def _case(mutation: FramingMutation | ChunkMutation) -> Case:
    """The sentence each outcome of a mutation breaks. Framing mutations are judged only on
    the boundary (whether they are valid varies, and a valid one may be served on a kept
    connection); an invalid chunk size is judged as in rfc9112.chunk-size."""
    name = repr(mutation)
    if isinstance(mutation, ChunkMutation):
        if mutation.huge:
            return Case(name, mutation.build, framing="HTTP-01.c", close="HTTP-01.c",
                        swallow_ok=True)
        if mutation.valid:  # decoded, the app reads the chunk data
            return Case(name, mutation.build, framing="HTTP-01.b", body=mutation.data)
        return Case(name, mutation.build, reject="HTTP-01.d", respond="HTTP-01.d",
                    close="HTTP-01.d", close_after_reject="HTTP-01.d", framing="HTTP-01.d")
    if _adds_transfer_encoding(mutation):
        return Case(name, mutation.build, **_CL_AND_TE)
    # A valid length (optional whitespace, or the same value repeated) frames the smuggled
    # request as the body: served, the app reads it.
    return Case(name, mutation.build, framing=_framing_ref(mutation),
                body=(lambda parts: parts.smuggle) if _valid_length(mutation) else None,
                told_length="HTTP-16.c" if mutation.before or mutation.after else None)


def _valid_length(mutation: FramingMutation) -> bool:
    """Whether the mutation leaves a valid Content-Length: optional whitespace around the
    digits, or a duplicate line of the same value (9110 8.6 lets a recipient use it once)."""
    extra = (*mutation.before, *mutation.after)
    return not _corrupted(mutation.value or b"") and all(
        line == b"Content-Length: {n}" for line in extra)


# Content-Length and Transfer-Encoding together, as in rfc9112.cl-te: 6.3 "the
# Transfer-Encoding overrides the Content-Length" (HTTP-02.c: a smuggled request served, or the
# marker read as body, is a framing by Content-Length), and 6.1 "Regardless, the server MUST
# close the connection after responding to such a request" (HTTP-02.b: the marker answered on
# the same connection, whatever the first answer was).
_CL_AND_TE: Rules = {"framing": "HTTP-02.c", "close": "HTTP-02.b",
                     "close_after_reject": "HTTP-02.b"}


def _adds_transfer_encoding(mutation: FramingMutation) -> bool:
    """The mutation added a Transfer-Encoding line next to the Content-Length."""
    return any(line.startswith(b"Transfer-Encoding:")
               for line in (*mutation.before, *mutation.after))


def _framing_ref(mutation: FramingMutation) -> str:
    """The sentence a request served out of the body breaks, by what a Content-Length-only
    mutation did."""
    if mutation.before or mutation.after:
        return "HTTP-16.b"  # duplicated Content-Length lines
    return "HTTP-04.a" if _corrupted(mutation.value or b"") else "HTTP-04.e"


def _corrupted(value: bytes) -> bool:
    """Anything but optional whitespace around the digits makes the value invalid."""
    return value.strip(b" \t") != b"{n}"


def _must_problems(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if level_of(p.ref) is Level.MUST]


@check(id="rfc9112.generated-invalid-framing", title="generated framing mutations: body bytes "
       "are never served as a request, nor the next request read as body",
       requirements=["HTTP-01", "HTTP-02", "HTTP-04", "HTTP-16"],
       level=Level.MUST, interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9112 6.3 items 3-5, 6.1, 7.1")
def generated_invalid(ctx: CheckContext) -> None:
    """RFC 9112 6.3: "If a valid Content-Length header field is present without
    Transfer-Encoding, its decimal value defines the expected message body length in octets."
    (HTTP-04.e: the body of a request with optional whitespace around its Content-Length is
    never a request); an invalid value is an unrecoverable error (HTTP-04.a), as are differing
    duplicates (HTTP-16.b); with both fields, 6.3: "If a message is received with both a
    Transfer-Encoding and a Content-Length header field, the Transfer-Encoding overrides the
    Content-Length." (HTTP-02.c), and 6.1: "Regardless, the server MUST close the connection
    after responding to such a request to avoid the potential attacks." (HTTP-02.b: the marker
    answered on the same connection). Whatever a server accepts or rejects among generated
    mutations of the framing lines, serving the bytes of the body as a request or reading the
    pipelined marker as body breaks those MUSTs. Chunk sizes: a valid upper-case or zero-padded
    size must be decoded (HTTP-01.b, "A recipient MUST be able to parse and decode the chunked
    transfer coding."), a 64-bit wrap must not happen (HTTP-01.c), and other spellings rest on
    2.2's SHOULD (HTTP-01.d: served, kept open or swallowing the marker is a warn). Where a
    valid length (optional whitespace, the same value repeated) or a valid chunk size is served,
    the app must read the body it frames (another body is on the same sentence); a WSGI app told
    the repeated value as it came ("86, 86") is reported at INFO on HTTP-16.c, the permission to
    use it once. The search stops at the first example with a MUST finding, which Hypothesis
    shrinks; otherwise the first example with a lesser finding is reported."""
    must: dict[str, Any] = {}
    lesser: dict[str, Any] = {}
    started = time.monotonic()
    # A server that does not decode a valid chunked body at all answers every chunk mutation
    # alike: they say nothing about it (pep3333.chunked-request-body judges that).
    chunked = decodes_chunked(ctx)
    ctx.details["chunk_mutations"] = chunked
    from hypothesis import given
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky

    framing_mutations, chunk_mutations = _mutation_strategies()
    mutations = st.one_of(framing_mutations, chunk_mutations) if chunked else (
        framing_mutations)

    # prop's source text seeds Hypothesis's derandomised example order (function_digest):
    # renaming what it calls would change which examples run.
    @check_settings(min(ctx.harness.examples, MAX_EXAMPLES))
    @given(mutations)
    def prop(mutation: FramingMutation | ChunkMutation) -> None:
        if must and time.monotonic() - started > SHRINK_BUDGET:
            return  # stop shrinking; Hypothesis keeps the smallest failure found so far
        outcome = run_case(ctx, _case(mutation), timeout=EXAMPLE_READ, drain=EXAMPLE_DRAIN,
                           track=False)
        problems = judge(outcome)
        if _must_problems(problems):
            must.update(mutation=mutation, problems=problems)
            raise _MustFinding(problems[0].message)
        if problems and not lesser:
            lesser.update(mutation=mutation, problems=problems)

    with contextlib.suppress(_MustFinding, Flaky):
        prop()
    found = must or lesser
    if found:
        with ctx.case("minimal example" if must else "example"):
            _report(ctx, found["mutation"], found["problems"])


def _report(ctx: CheckContext, mutation: FramingMutation | ChunkMutation,
            seen: list[Problem]) -> None:
    """Replay the example on tracked ids and connection, so its bytes and journal go into the
    evidence; a MUST it showed the first time but not on replay is still reported, marked.
    What the first run showed only by an absence (no answer within its EXAMPLE_READ +
    EXAMPLE_DRAIN, shorter than the defaults) is never reported from it: it stands only if the
    replay, run with the default waits, shows it too."""
    replayed = judge(run_case(ctx, _case(mutation)))
    seen = [Problem(p.ref, p.firm) for p in seen if p.firm is not None]
    once = [Problem(p.ref, p.message + " (seen once; not reproduced when replayed)")
            for p in (_must_problems(seen) if replayed else seen)]
    problems = replayed + ([] if _must_problems(replayed) else once)
    ctx.details["example"] = repr(mutation)
    for problem in problems:
        ctx.finding(problem.ref, f"{mutation!r}: {problem.message}")
