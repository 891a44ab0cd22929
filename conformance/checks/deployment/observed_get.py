"""A GET through nginx (or straight) and the request the probe app journalled for it: the
helpers of the checks on what the app learns about the client and the mount (no checks here)."""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext
from conformance.probes.contract import Event
from conformance.servers import ServerUnderTest
from conformance.verdicts import HarnessError
from conformance.wire import request_bytes

TIMEOUT = 5.0


def get(ctx: CheckContext, host: str, port: int, target: str,
        headers: list[tuple[str | bytes, str | bytes]] | None = None,
        statuses: list[int] | None = None) -> str:
    """GET ``target`` on a tracked connection; the request id. A non-200 answer is an error
    of the harness's setup, not the property under test, unless the caller collects the
    statuses (``statuses``) itself."""
    rid = ctx.new_rid()
    conn = ctx.connect(host=host, port=port, timeout=TIMEOUT)
    conn.send(request_bytes("GET", target, ctx.base_headers(rid) + list(headers or [])))
    response = conn.read_response(timeout=TIMEOUT)
    conn.close()
    if statuses is not None:
        statuses.append(response.status)
    elif response.status != 200:
        raise HarnessError(f"GET {target} got status {response.status}, not the probe's 200 "
                           f"({response.problems or response.body[:200]!r})")
    return rid


def seen(server: ServerUnderTest, rid: str) -> dict[str, Any]:
    """The request entry the probe app of ``server`` journalled for ``rid``."""
    entry = server.journal.wait_event(rid, Event.REQUEST, timeout=TIMEOUT)
    if entry is None:
        raise HarnessError(f"the probe app journalled no request for {rid} within {TIMEOUT:g}s")
    return entry
