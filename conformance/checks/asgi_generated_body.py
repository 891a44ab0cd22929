"""Generated request bodies against the http.request events (DESIGN.md decision 8; asgi-www.rst
"Request - receive event"; RFC 9112 6.2, 7.1).

Hypothesis generates a body, its framing (Content-Length, or chunked with generated chunk sizes
and, sometimes, chunk extensions) and the places where the request bytes are split across
writes. The oracle is simple and exact: the http.request events' bodies concatenate to the body
and exactly the last has more_body False. A failure shrinks to a minimal body, framing and split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conformance.catalogue import check
from conformance.checks.common import check_settings
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import Connection, request_bytes

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


def _differences(req: BodyRequest, events: list[dict[str, Any]]) -> list[str]:
    summary = next((e for e in events if e["event"] == "body-summary"), None)
    if summary is None:
        return ["the app never finished reading the body"]
    diffs = []
    if summary["size"] != len(req.body) or \
            summary["sha256"] != hashlib.sha256(req.body).hexdigest():
        diffs.append(f"the http.request bodies concatenate to {summary['size']} bytes that "
                     f"differ from the {len(req.body)} bytes sent")
    receives = [e for e in events if e["event"] == "receive"]
    finals = [i for i, e in enumerate(receives) if not e.get("more_body")]
    if finals != [len(receives) - 1] or any(e.get("type") != "http.request" for e in receives):
        diffs.append("expected http.request events with exactly one (the last) more_body "
                     f"False, got {[(e.get('type'), e.get('more_body')) for e in receives]}")
    return diffs


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
    """asgi-www.rst, Request: "if the request is being sent using Transfer-Encoding:
    chunked, the server is responsible for handling this encoding. The http.request messages
    should contain just the decoded contents of each chunk"; body chunks concatenate, and
    more_body False marks the last. RFC 9112 7.1.1: "A recipient MUST ignore unrecognized
    chunk extensions." For generated bodies (0 to 300 kB), Content-Length or chunked framing
    with generated chunk sizes and extensions, written in generated splits, the events'
    bodies must concatenate to the body with exactly one, final, more_body False."""
    server = ctx.server
    host = f"{server.host}:{server.port}"
    failure: dict[str, Any] = {}

    @check_settings(ctx.harness.examples)
    @given(body_requests())
    def prop(req: BodyRequest) -> None:
        rid = ctx.untracked_rid()
        data = req.to_bytes(host, rid)
        with Connection(server.host, server.port, timeout=EXAMPLE_TIMEOUT) as conn:
            conn.send_split(data, req.cut_offsets(len(data)))
            response = conn.read_response(method="POST", timeout=EXAMPLE_TIMEOUT)
            if response.status != 200:
                diffs = [f"the server answered {response.status or 'nothing'} "
                         f"({response.problems})"]
            else:
                events = ctx.journal.wait_for(
                    lambda evs: any(e["event"] == "body-summary" for e in evs),
                    rid=rid, timeout=EXAMPLE_TIMEOUT) or []
                diffs = _differences(req, events)
        if diffs:
            failure.update(request=req, diffs=diffs)
            raise AssertionError("; ".join(diffs))

    try:
        prop()
    except AssertionError:
        if not failure:
            raise
        replay: BodyRequest = failure["request"]
        rid = ctx.new_rid()
        conn = ctx.connect(timeout=EXAMPLE_TIMEOUT)
        data = replay.to_bytes(host, rid)
        conn.send_split(data, replay.cut_offsets(len(data)))
        conn.read_response(method="POST", timeout=EXAMPLE_TIMEOUT)
        shown = repr(replay) if len(replay.body) <= 200 else (
            f"BodyRequest(body=<{len(replay.body)} bytes>, chunks={replay.chunks}, "
            f"extension={replay.extension}, cuts={replay.cuts})")
        ctx.fail("minimal generated body on which the http.request events differ: "
                 + "; ".join(failure["diffs"]), minimal_request=shown,
                 examples=ctx.harness.examples)
