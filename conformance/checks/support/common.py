"""Helpers shared by the check modules: reading what the probe app journalled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.context import CheckContext, Exchange
from conformance.wire import Response

if TYPE_CHECKING:
    from hypothesis import settings

    from conformance.servers import ServerUnderTest


def observed_entry(ctx: CheckContext, exchange: Exchange) -> dict[str, Any]:
    """The probe's "request" journal entry for an exchange (a harness error if missing)."""
    return ctx.observed(exchange.rid, "request")


def observed_scope(ctx: CheckContext, exchange: Exchange) -> dict[str, Any]:
    """The ASGI scope the probe app saw for this exchange."""
    return observed_entry(ctx, exchange)["scope"]


def observed_environ(ctx: CheckContext, exchange: Exchange) -> dict[str, Any]:
    """The WSGI environ the probe app saw for this exchange (stream objects as type names)."""
    return observed_entry(ctx, exchange)["environ"]


def get_on_own_server(ctx: CheckContext, server: ServerUnderTest,
                      target: str) -> tuple[Response, dict[str, Any] | None]:
    """GET ``target`` straight to a server the check started itself (under a prefix option,
    say): the response, and the app's request entry, or None when the app did not see it
    within 5 s."""
    from conformance.probes.contract import Event
    from conformance.wire import request_bytes

    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", target, [("Host", f"{server.host}:{server.port}"),
                                            ("X-Probe-Id", rid), ("Connection", "close")]))
    response = conn.read_response(timeout=5.0)
    return response, server.journal.wait_event(rid, Event.REQUEST, timeout=5.0)


def problems_text(response: Response) -> str:
    """A response's framing problems for a message (RFC 9112 deviations the client saw)."""
    return "; ".join(response.problems) or "no framing problems"


# A field value with obs-text (RFC 9110 5.5): valid, and to be carried as opaque bytes.
OBS_TEXT_VALUE = b"caf\xe9 \xff\x80 end"


def request_with_obs_text(ctx: CheckContext, target: str) -> tuple[Exchange, str | None]:
    """Send ``X-Latin: OBS_TEXT_VALUE``; returns the exchange and, when it got no answer or one
    of 400 or above, the SHOULD that broke, said as it happened (the caller decides when to
    report it)."""
    exchange = ctx.request("GET", target, headers=[("X-Latin", OBS_TEXT_VALUE)])
    status = exchange.response.status
    if 0 < status < 400:
        return exchange, None
    return exchange, f"{_obs_text_refusal(ctx, status)}; {_OPAQUE}"


_OPAQUE = "RFC 9110 5.5: a recipient SHOULD treat obs-text as opaque data"


def _obs_text_refusal(ctx: CheckContext, status: int) -> str:
    """What became of the obs-text request that got ``status`` (0: no response). A server
    that died on the bytes did not reject them, and through nginx the answer is nginx's."""
    died = ctx.server_exit_status()
    if died is None:
        # No answer at all (a close) refuses the bytes too.
        through = "" if ctx.via == "direct" else " through nginx"
        return (f"the server rejected a header value with obs-text bytes 0x80-0xFF "
                f"(the client got {status or 'no response'}{through})")
    crash = (f"the server process died (exit status {died}) on a header value with obs-text "
             "bytes 0x80-0xFF")
    if ctx.via == "direct" or not status:
        return f"{crash}: the client got {status or 'no response'}"
    return f"nginx answered {status} because {crash}"


def check_settings(examples: int, *, shrink: bool = True) -> settings:
    """Hypothesis settings of a generated-request check (DESIGN.md decision 7): derandomised,
    so a run is repeatable; no example database, no deadline (servers are slow to start);
    failures shrink to a minimal request unless ``shrink`` is off (information-only checks).
    Hypothesis is imported here, by the checks that generate, and not when a check module is
    loaded: a run without them starts a third faster."""
    from hypothesis import HealthCheck, Phase, settings

    phases = (Phase.explicit, Phase.generate) + ((Phase.shrink,) if shrink else ())
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    print_blob=False, report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck), phases=phases)
