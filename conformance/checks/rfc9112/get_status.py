"""The status a plain GET gets on a fresh connection: how the RFC 9112 request-line checks
see whether the server still serves after what they sent."""

from __future__ import annotations

from conformance.context import CheckContext


def status_of(ctx: CheckContext, target: bytes | str) -> tuple[int, str]:
    """Send GET target; (status or 0, request id). A refused connection is status 0."""
    rid = ctx.new_rid()
    try:
        return ctx.request("GET", target, rid=rid).response.status, rid
    except OSError:
        return 0, rid
