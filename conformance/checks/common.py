"""Helpers shared by the check modules: reading what the probe app journalled."""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext, Exchange


def observed_entry(ctx: CheckContext, exchange: Exchange) -> dict[str, Any]:
    """The probe's "request" journal entry for an exchange (a harness error if missing)."""
    return ctx.observed(exchange.rid, "request")


def observed_scope(ctx: CheckContext, exchange: Exchange) -> dict[str, Any]:
    """The ASGI scope the probe app saw for this exchange."""
    return observed_entry(ctx, exchange)["scope"]


def observed_environ(ctx: CheckContext, exchange: Exchange) -> dict[str, Any]:
    """The WSGI environ the probe app saw for this exchange (stream objects as type names)."""
    return observed_entry(ctx, exchange)["environ"]
