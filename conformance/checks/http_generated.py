"""Generated invalid requests through the desync detector (DESIGN.md decision 8, second half:
"the server rejects, and the connection does not desynchronise").

Each example mutates one valid request, ``POST`` with ``Content-Length: N`` whose N-byte body
is itself a complete request (``GET /desync-smuggled``). The mutations stay where the RFC has
a MUST or leaves the framing unchanged: control bytes inside the Content-Length value (an
invalid Content-Length: MUST 400, RFC 9112 6.3), optional whitespace around the value (valid,
same framing), duplicated Content-Length lines (differing: MUST 400), and an added
Transfer-Encoding (CL+TE: reject, or chunked and close); and odd spellings of a chunk size
(7.1: chunk-size = 1*HEXDIG). Whatever a server does with them, the
body bytes must never be served as a request and the marker never read as a body; a failing
example is shrunk by Hypothesis to a minimal one, whose bytes go into the results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from conformance.catalogue import check
from conformance.checks.common import check_settings
from conformance.context import CheckContext
from conformance.desync import MAY, NEVER, Case, Parts, judge, run_case
from conformance.verdicts import Level

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
        return (b"POST /probe/read-all?case=generated HTTP/1.1\r\n" + parts.base + fields
                + b"\r\n" + parts.smuggle)


def control_bytes() -> st.SearchStrategy[bytes]:
    return st.sampled_from([b"\x00", b"\x01", b"\x0b", b"\x0c", b"\x7f", b"\r", b"\n", b"\xa0",
                            b",", b"+", b"-", b"_", b"x"])


def optional_whitespace() -> st.SearchStrategy[bytes]:
    return st.sampled_from([b"", b" ", b"\t", b"  ", b" \t"])


@st.composite
def corrupted_values(draw: st.DrawFn) -> bytes:
    """The value with one odd byte inserted somewhere in the digits (or around them)."""
    digits = b"{n}"
    where = draw(st.sampled_from(["prefix", "suffix", "middle"]))
    byte = draw(control_bytes())
    if where == "prefix":
        return b" " + byte + digits
    if where == "suffix":
        return b" " + digits + byte
    return b" {n}" + byte + b"0"


@st.composite
def whitespace_values(draw: st.DrawFn) -> bytes:
    return draw(optional_whitespace()) + b"{n}" + draw(optional_whitespace())


def transfer_encodings() -> st.SearchStrategy[bytes]:
    return st.sampled_from([b"chunked", b" chunked", b"\x0bchunked", b"chunked, chunked",
                            b"Chunked", b"identity", b"gzip", b"chunked\x00"])


@st.composite
def framing_mutations(draw: st.DrawFn) -> FramingMutation:
    kind = draw(st.sampled_from(["corrupt", "whitespace", "duplicate", "te"]))
    if kind == "corrupt":
        return FramingMutation((), draw(corrupted_values()), ())
    if kind == "whitespace":
        return FramingMutation((), draw(whitespace_values()), ())
    if kind == "duplicate":
        other = draw(st.sampled_from([b"0", b"1", b"{n}0", b"{n}"]))
        line = b"Content-Length: " + other
        first = draw(st.booleans())
        return FramingMutation((line,) if first else (), b" {n}", () if first else (line,))
    te = b"Transfer-Encoding: " + draw(transfer_encodings())
    first = draw(st.booleans())
    return FramingMutation((te,) if first else (), b" {n}", () if first else (te,))


@dataclass(frozen=True)
class ChunkMutation:
    """A chunked request whose one chunk-size line is rewritten (valid or not)."""

    size_line: bytes  # the rewritten chunk-size line
    data: bytes
    valid: bool  # upper-case hex and leading zeros are still 1*HEXDIG (see trail-space)
    huge: bool = False  # a 2**64-scale size: a big-integer parser legally reads on

    def build(self, parts: Parts) -> bytes:
        return (b"POST /probe/read-all?case=generated-chunk HTTP/1.1\r\n" + parts.base
                + b"Transfer-Encoding: chunked\r\n\r\n" + self.size_line + b"\r\n"
                + self.data + b"\r\n0\r\n\r\n")


@st.composite
def chunk_mutations(draw: st.DrawFn) -> ChunkMutation:
    """Odd spellings of one chunk size: 0x, sign, underscores, spaces, control bytes,
    64-bit wrap-around, and the valid upper-case and leading-zero forms."""
    data = b"a" * draw(st.integers(min_value=10, max_value=60))
    size = b"%x" % len(data)
    kind = draw(st.sampled_from(["0x", "+", "lead-space", "trail-space", "underscore",
                                 "overflow", "insert", "upper", "zeros"]))
    if kind == "insert":
        at = draw(st.integers(min_value=0, max_value=len(size)))
        line = size[:at] + draw(control_bytes()) + size[at:]
    else:
        line = {"0x": b"0x" + size, "+": b"+" + size, "lead-space": b" " + size,
                "trail-space": size + b" ", "underscore": size[:1] + b"_" + size[1:],
                "overflow": b"1" + b"0" * (16 - len(size)) + size, "upper": size.upper(),
                "zeros": b"000" + size}[kind]
    # A trailing SP is counted with the valid forms: 7.1.1 allows BWS before a chunk-ext and
    # parsers such as h11 deliberately read it as that (no desync follows either way).
    return ChunkMutation(line, data, valid=kind in ("upper", "zeros", "trail-space"),
                         huge=kind == "overflow")


class _Desync(AssertionError):
    pass


def _case(mutation: FramingMutation | ChunkMutation) -> Case:
    """Only what a MUST forbids fails: smuggling signals for every mutation and, for an
    invalid chunk size, serving it and then the next request on the same connection (the
    detector's rule for bad framing, as in http-framing.chunk-size)."""
    if isinstance(mutation, ChunkMutation) and not mutation.valid:
        return Case(repr(mutation), mutation.build, "RFC 9112 7.1", accept=MAY,
                    keep_open=NEVER, reject_keep_open=NEVER, swallow_ok=mutation.huge)
    return Case(repr(mutation), mutation.build, "RFC 9112 6.3", accept=MAY, keep_open=MAY,
                reject_keep_open=MAY)


@check(id="http-framing.generated-invalid", title="generated framing mutations never "
       "desynchronise the connection", requirements=["HTTP-01", "HTTP-02", "HTTP-04",
                                                      "HTTP-16", "HTTP-18"],
       level=Level.MUST, interfaces=("wsgi", "asgi"), via=("direct",),
       section="RFC 9112 6.1, 6.3 items 3-5 (invalid framing: 400 and close)")
def generated_invalid(ctx: CheckContext) -> None:
    """RFC 9112 6.3 item 5: an invalid Content-Length "MUST" be treated as an unrecoverable
    error (400 and close); 6.1: with both Content-Length and Transfer-Encoding the server MAY
    reject or use Transfer-Encoding alone but MUST close afterwards. Whatever a server accepts
    or rejects among generated mutations of the framing lines, it must never serve the bytes
    of the body as a request or read the pipelined marker as body (request smuggling)."""
    failure: dict[str, Any] = {}
    started = time.monotonic()

    @check_settings(min(ctx.harness.examples, MAX_EXAMPLES))
    @given(st.one_of(framing_mutations(), chunk_mutations()))
    def prop(mutation: FramingMutation | ChunkMutation) -> None:
        if failure and time.monotonic() - started > SHRINK_BUDGET:
            return  # stop shrinking; Hypothesis keeps the smallest failure found so far
        case = _case(mutation)
        outcome = run_case(ctx, case, timeout=EXAMPLE_READ, drain=EXAMPLE_DRAIN, track=False)
        finding = judge(outcome)
        if finding and finding.severity == "fail":
            failure.update(mutation=mutation, message=finding.message)
            raise _Desync(finding.message)

    try:
        prop()
    except (_Desync, Flaky):
        # Replay the minimal example on tracked ids and connection: bytes and journal go in.
        mutation = failure["mutation"]
        finding = judge(run_case(ctx, _case(mutation)))
        if finding is None or finding.severity != "fail":
            ctx.warn("a generated framing mutation desynchronised the connection once but not "
                     "on replay: " + failure["message"], minimal_example=repr(mutation))
        ctx.fail("minimal generated framing mutation that desynchronises the connection: "
                 + finding.message,
                 minimal_example=repr(mutation))
