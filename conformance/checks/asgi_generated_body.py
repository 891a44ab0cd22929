"""Generated request bodies against the http.request events (DESIGN.md decision 8; asgi-www.rst
"Request - receive event"; RFC 9112 6.2, 7.1).

Hypothesis generates a body, its framing (Content-Length, or chunked with generated chunk sizes
and, sometimes, chunk extensions) and the places where the request bytes are split across
writes. The oracle is simple and exact: the http.request events' bodies concatenate to the body
and exactly the last has more_body False. A MUST failure shrinks to a minimal body, framing
and split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conformance.catalogue import check
from conformance.checks.asgi_body import (
    body_difference,
    event_differences,
    refusal_ref,
    send_tolerating_early_close,
)
from conformance.checks.support.common import check_settings, problems_text
from conformance.context import CheckContext
from conformance.requirements import level_of
from conformance.verdicts import Level
from conformance.wire import Connection, Response, request_bytes

EXAMPLE_TIMEOUT = 3.0  # seconds for one generated request's response and journal entries


@dataclass
class BodyRequest:
    """One POST to /probe/receive-all: the body, how it is framed and where it is split."""

    body: bytes
    chunks: list[int] | None = None  # chunk sizes (chunked framing) or None (Content-Length)
    extension: bool = False  # a chunk extension (";probe=1") on every chunk-size line
    cuts: list[float] = field(default_factory=list)  # split points, as fractions of the bytes

    def wire_body(self) -> bytes:
        if self.chunks is None:
            return self.body
        out, pos = bytearray(), 0
        ext = b";probe=1" if self.extension else b""
        for size in self.chunks:
            out += b"%x%s\r\n" % (size, ext) + self.body[pos:pos + size] + b"\r\n"
            pos += size
        return bytes(out + b"0%s\r\n\r\n" % ext)

    def to_bytes(self, host: str, rid: str) -> bytes:
        framing = (("Content-Length", str(len(self.body))) if self.chunks is None
                   else ("Transfer-Encoding", "chunked"))
        return request_bytes("POST", "/probe/receive-all",
                             [("Host", host), ("X-Probe-Id", rid), framing,
                              ("Connection", "close")], self.wire_body())

    def cut_offsets(self, length: int) -> list[int]:
        return [int(c * length) for c in self.cuts]


def _bodies() -> st.SearchStrategy[bytes]:
    small = st.binary(max_size=600)
    # Larger bodies as a repeated pattern: cheap to generate, still distinguishable by offset.
    large = st.integers(600, 300_000).map(
        lambda n: (b"0123456789abcdef" * (n // 16 + 1))[:n])
    return st.one_of(small, large)


def _chunk_sizes(total: int) -> st.SearchStrategy[list[int]]:
    """Chunk sizes that add up to ``total`` (empty list for an empty body)."""
    if total == 0:
        return st.just([])

    def split(cuts: list[int]) -> list[int]:
        points = sorted({c for c in cuts if 0 < c < total}) + [total]
        sizes, last = [], 0
        for point in points:
            sizes.append(point - last)
            last = point
        return sizes

    return st.lists(st.integers(1, max(1, total - 1)), max_size=8).map(split)


@st.composite
def body_requests(draw: st.DrawFn) -> BodyRequest:
    body = draw(_bodies())
    chunked = draw(st.booleans())
    chunks = draw(_chunk_sizes(len(body))) if chunked else None
    extension = chunked and draw(st.booleans())
    cuts = draw(st.lists(st.floats(0.0, 1.0, allow_nan=False), max_size=6))
    return BodyRequest(body=body, chunks=chunks, extension=extension, cuts=cuts)


def _differences(req: BodyRequest, response: Response,
                 events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sentence, message) for each way the events differ from the request sent (the same
    sentences as asgi-http.request-body-events)."""
    summary = next((e for e in events if e["event"] == "body-summary"), None)
    if summary is None:
        return [(refusal_ref(response.status, req.chunks is not None),
                 f"the server answered {response.status or 'nothing'} "
                 f"({problems_text(response)}) and the app did not get the body")]
    found = []
    difference = body_difference(summary, req.body,
                                 req.wire_body() if req.chunks is not None else None)
    if difference:
        found.append(difference)
    found += event_differences([e for e in events if e["event"] == "receive"])
    return found


def _shown(req: BodyRequest) -> str:
    if len(req.body) <= 200:
        return repr(req)
    return (f"BodyRequest(body=<{len(req.body)} bytes>, chunks={req.chunks}, "
            f"extension={req.extension}, cuts={req.cuts})")


@check(
    id="asgi-http.generated-bodies",
    title="for generated bodies, framings and splits the http.request events add up exactly",
    requirements=["ASGI-HTTP-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Request - receive event'; RFC 9112 7.1",
)
def generated_bodies(ctx: CheckContext) -> None:
    """asgi-www.rst, Request: "The http.request messages should contain just the decoded
    contents of each chunk." (ASGI-HTTP-01.g, SHOULD); the bodies concatenate to the body
    ("body (*byte string*) -- Body of the request.", .c) and more_body False marks the last
    event (.e), definitions: MUST; RFC 9112 6.1: "A recipient MUST be able to parse the
    chunked transfer coding" (.h). For generated bodies (0 to 300 kB), Content-Length or
    chunked framing with generated chunk sizes and extensions, written in generated splits,
    each difference is a finding at its sentence's level, as in
    asgi-http.request-body-events (a 411 for chunked and a 413 are the server's choice:
    INFO).

    Hypothesis hunts for the MUST problems and shrinks the first to a minimal request; a
    SHOULD or INFO difference does not stop the search and is reported with the first
    generated request that showed it."""
    server = ctx.server
    host = f"{server.host}:{server.port}"
    failure: dict[str, Any] = {}
    lesser: dict[str, tuple[str, BodyRequest]] = {}  # sentence -> (message, first request)

    @check_settings(ctx.harness.examples)
    @given(body_requests())
    def prop(req: BodyRequest) -> None:
        rid = ctx.untracked_rid()
        data = req.to_bytes(host, rid)
        with Connection(server.host, server.port, timeout=EXAMPLE_TIMEOUT) as conn:
            send_tolerating_early_close(conn, data, req.cut_offsets(len(data)))
            response = conn.read_response(method="POST", timeout=EXAMPLE_TIMEOUT)
            events = ctx.journal.wait_for(
                lambda evs: any(e["event"] == "body-summary" for e in evs),
                rid=rid, timeout=EXAMPLE_TIMEOUT if response.status == 200 else 0.5) or []
        musts = []
        for ref, message in _differences(req, response, events):
            if level_of(ref) is Level.MUST:
                musts.append((ref, message))
            else:
                lesser.setdefault(ref, (message, req))
        if musts:
            failure.update(request=req, diffs=musts)
            raise AssertionError("; ".join(message for _, message in musts))

    try:
        prop()
    except AssertionError:
        if not failure:
            raise
        _replay(ctx, host, failure["request"])
        for ref, message in failure["diffs"]:
            ctx.finding(ref, f"minimal generated body on which the http.request events differ: "
                             f"{message}", minimal_request=_shown(failure["request"]),
                        examples=ctx.harness.examples)
    for ref, (message, req) in lesser.items():
        _replay(ctx, host, req)
        ctx.finding(ref, f"first generated body on which this showed: {message}",
                    request=_shown(req))


def _replay(ctx: CheckContext, host: str, replay: BodyRequest) -> None:
    """Send a request found by the search once more on a tracked connection: its bytes and
    journal entries become the evidence."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=EXAMPLE_TIMEOUT)
    data = replay.to_bytes(host, rid)
    send_tolerating_early_close(conn, data, replay.cut_offsets(len(data)))
    conn.read_response(method="POST", timeout=EXAMPLE_TIMEOUT)
