"""The final (non-1xx) responses among those read on a connection."""

from __future__ import annotations

from conformance.wire import Response


def finals(responses: list[Response]) -> list[Response]:
    return [r for r in responses if r.status >= 200]
