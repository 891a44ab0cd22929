"""asgi-extensions.rst, "Debug"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import advertised_extensions
from conformance.context import CheckContext
from conformance.verdicts import Level


@check(
    id="asgi-ext.no-debug",
    title="the debug extension is not offered",
    requirements=["ASGI-EXT-07", "ASGI-SCOPE-09"],
    level=Level.SHOULD,
    interfaces=("asgi",),
    section="asgi-extensions.rst 'Debug'",
)
def no_debug(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Debug: "This extension is not meant to be used in production,
    only for testing purposes, and ASGI servers should not implement it." (ASGI-EXT-07,
    SHOULD). Offering ``http.response.debug`` in the server's normal configuration is a
    warn. The catalogue lists the sentence twice, under the Debug section (ASGI-EXT-07) and
    under what scope["extensions"] holds (ASGI-SCOPE-09.c): one finding on each."""
    if "http.response.debug" in advertised_extensions(ctx):
        for ref in ("ASGI-EXT-07", "ASGI-SCOPE-09.c"):
            ctx.finding(ref, "scope['extensions'] offers 'http.response.debug' in the "
                             "server's normal configuration")
