"""asgi-tls.rst, "When to use this extension"."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import advertised_extensions
from conformance.context import CheckContext
from conformance.verdicts import Level


@check(
    id="asgi-ext.tls-only-on-tls",
    title="the tls extension is not offered on a plain TCP connection",
    requirements=["ASGI-EXT-06", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-tls.rst 'When to use this extension'",
)
def tls_only_on_tls(ctx: CheckContext) -> None:
    """asgi-tls.rst, When to use this extension: "This extension must only be used for TLS
    connections. For non-TLS connections, the ASGI server is forbidden from providing this
    extension." (ASGI-EXT-06.b, MUST). The suite's connections are plain TCP, so ``tls``
    must be absent (whether it is present, with its mandatory keys, on TLS is not checked:
    no target runs TLS). The catalogue lists the sentence under the TLS extension
    (ASGI-EXT-06.b) and under what scope["extensions"] holds (ASGI-SCOPE-09.e): one finding
    on each."""
    extensions = advertised_extensions(ctx)
    if "tls" in extensions:
        for ref in ("ASGI-EXT-06.b", "ASGI-SCOPE-09.e"):
            ctx.finding(ref, f"scope['extensions'] offers 'tls' ({extensions['tls']!r}) on a "
                             "plain TCP connection")
