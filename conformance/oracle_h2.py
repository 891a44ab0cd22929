"""The model for HTTP/2: what the ASGI scope must be for a request sent as HTTP/2 frames.

HTTP/2 carries the request line as pseudo-header fields (RFC 9113 8.3.1) and the content as
DATA frames (8.1). asgi-www.rst derives the scope from them: ``http_version`` "2"; method,
scheme, path, raw_path and query_string from :method, :scheme and :path; "Pseudo headers
(present in HTTP/2 and HTTP/3) must be removed; if :authority is present its value must be
added to the start of the iterable with host as the header name or replace any existing host
header already present". There is no "raw" Host line: :authority is the host.

:class:`H2Request` is a valid request as the client sends it; :func:`expected_scope` is what
the app must see. The comparison itself is conformance/oracle.py's ``scope_differences``
(headers compared per name, values in order, as "order of header names is not important").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_to_bytes

from conformance.oracle import OBS_TEXT

Field = tuple[bytes, bytes]


@dataclass(frozen=True)
class H2Request:
    """A valid HTTP/2 request: pseudo-headers from ``method`` and the target, then
    x-probe-id, then ``headers`` (lower-case names: RFC 9113 8.2 "Field names MUST be
    converted to lowercase when constructing an HTTP/2 message."), then content-length when
    ``content_length``. ``cuts`` are offsets into the body at which it is split into DATA
    frames; END_STREAM goes on the last frame (on the HEADERS frame when there is no body)."""

    method: str
    path: bytes
    query: bytes | None
    headers: tuple[Field, ...]
    body: bytes = b""
    cuts: tuple[int, ...] = ()
    content_length: bool = False

    @property
    def target(self) -> bytes:
        return self.path if self.query is None else self.path + b"?" + self.query

    @property
    def has_obs_text(self) -> bool:
        return any(OBS_TEXT.search(value) for _, value in self.headers)

    def without_obs_text(self) -> H2Request:
        """The same request with each obs-text byte of its field values replaced by "x"."""
        return replace(self, headers=tuple((name, OBS_TEXT.sub(b"x", value))
                                           for name, value in self.headers))

    def regular_fields(self, rid: str) -> list[Field]:
        fields = [(b"x-probe-id", rid.encode()), *self.headers]
        if self.content_length:
            fields.append((b"content-length", str(len(self.body)).encode()))
        return fields

    def field_block(self, *, authority: str, scheme: str, rid: str) -> list[Field]:
        """The HEADERS frame's fields: the pseudo-headers first (RFC 9113 8.3)."""
        return [(b":method", self.method.encode()), (b":scheme", scheme.encode()),
                (b":authority", authority.encode()), (b":path", self.target),
                *self.regular_fields(rid)]

    def data_frames(self) -> list[bytes]:
        """The body cut at ``cuts`` (an empty body is no DATA frame)."""
        edges = [0, *(c for c in self.cuts if 0 < c < len(self.body)), len(self.body)]
        return [self.body[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


def expected_scope(req: H2Request, *, authority: str, scheme: str, rid: str) -> dict[str, Any]:
    """asgi-www.rst HTTP Connection Scope for ``req`` sent as HTTP/2 on a direct
    connection: :authority as the host header, no pseudo-header among the headers. client and
    server are left out: nothing in them is HTTP/2's (asgi-www.scope-client-and-server
    judges them)."""
    return {
        "type": "http",
        "http_version": "2",
        "method": req.method,
        "scheme": scheme,
        "path": unquote_to_bytes(req.path).decode("utf-8"),
        "raw_path": req.path,
        "query_string": req.query or b"",
        "root_path": "",
        "headers": [(b"host", authority.encode()), *req.regular_fields(rid)],
    }
