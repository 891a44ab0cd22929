"""RFC 9112 6.1, Transfer-Encoding."""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext
from conformance.wire import Response


def judge_no_transfer_encoding_to_http10(ctx: CheckContext, response: Response, ref: str,
                                         what: str, **evidence: Any) -> bool:
    """The one judge of RFC 9112 6.1 "A server MUST NOT send a response containing
    Transfer-Encoding unless the corresponding request indicates HTTP/1.1 (or later minor
    revisions)." for a response to an HTTP/1.0 request: a finding on ``ref`` (the requirement
    sentence quoting it: HTTP-11.a direct, PROXY-01.a behind nginx's HTTP/1.0 upstream) when
    the response has Transfer-Encoding. True when it did."""
    codings = response.header_all("transfer-encoding")
    if not codings:
        return False
    shown = ", ".join(repr(c.decode("latin-1")) for c in codings)
    ctx.finding(ref, f"{what}: the response to an HTTP/1.0 request has Transfer-Encoding: "
                     f"{shown}", **evidence)
    return True
