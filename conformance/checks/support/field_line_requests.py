"""A desync case's request with exact extra field lines (any method, Host optional): the
template of the RFC 9110 and RFC 9112 field and request-line cases."""

from __future__ import annotations

from collections.abc import Callable

from conformance.desync import Parts
from conformance.probes.contract import Route


def get(fields: bytes, *, target: bytes = f"{Route.READ_ALL}?case=invalid".encode(),
        method: bytes = b"GET", host: bool = True, body: bytes = b"") -> Callable[[Parts], bytes]:
    """A request with the given extra field lines (each ending CRLF), Host optional."""

    def build(parts: Parts) -> bytes:
        base = parts.base if host else parts.rid_line
        return method + b" " + target + b" HTTP/1.1\r\n" + base + fields + b"\r\n" + body

    return build
