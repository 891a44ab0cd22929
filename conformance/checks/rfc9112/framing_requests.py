"""A desync case's POST with exact framing field lines and body: the template of the RFC 9112
message framing cases (Transfer-Encoding, Content-Length, chunk sizes)."""

from __future__ import annotations

from collections.abc import Callable

from conformance.desync import Parts
from conformance.probes.contract import Route

Piece = bytes | Callable[[Parts], bytes]


def _piece(value: Piece, parts: Parts) -> bytes:
    return value(parts) if callable(value) else value


def post(headers: Piece, body: Piece, *, version: bytes = b"HTTP/1.1",
         path: bytes = f"{Route.READ_ALL}?case=invalid".encode()) -> Callable[[Parts], bytes]:
    """A POST whose extra header lines (each ending CRLF) and body are given exactly."""

    def build(parts: Parts) -> bytes:
        return (b"POST " + path + b" " + version + b"\r\n" + parts.base + _piece(headers, parts)
                + b"\r\n" + _piece(body, parts))

    return build
