"""TLS-01 for WSGI: wsgi.url_scheme on a TLS connection (PEP 3333 "environ Variables").

Through nginx the TLS configuration is still reached over TLS, and the client's own scheme
(http, to nginx's plain listener) is as right as https: see
conformance/checks/asgi_www/tls_scheme.py."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_www.tls_scheme import accepted, connection_said, wanted
from conformance.checks.support.common import observed_environ
from conformance.context import CheckContext
from conformance.verdicts import Level

KEY = "wsgi.url_scheme"
PATH = "/environ/tls-url-scheme"


@check(
    id="pep3333.tls-url-scheme",
    title="on a TLS connection wsgi.url_scheme is \"https\"",
    requirements=["TLS-01"],
    level=Level.MUST,
    interfaces=("wsgi",),
    needs=("tls",),
    section="PEP 3333 'environ Variables' (wsgi.url_scheme)",
)
def tls_url_scheme(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: the environ "must contain the following WSGI-defined
    variables" (TLS-01.f: wsgi.url_scheme present), wsgi.url_scheme is "A string representing
    the "scheme" portion of the URL at which the application is being invoked." (.g: a
    non-empty str) and "Normally, this will have the value "http" or "https", as
    appropriate." (.h: "https" on a TLS connection). The last two are definitions: MUST. One
    GET over TLS; through nginx the server is reached over TLS too, and the client's "http"
    is right as well."""
    environ = observed_environ(ctx, ctx.request("GET", PATH))
    if KEY not in environ:
        ctx.finding("TLS-01.f", "the environ has no 'wsgi.url_scheme'")
        return
    got = environ[KEY]
    if not isinstance(got, str) or not got:
        ctx.finding("TLS-01.g", f"wsgi.url_scheme is {got!r}, not a string naming a scheme")
        return
    if got.lower() in accepted(ctx, "https", "http"):
        return
    ctx.finding("TLS-01.h", f"{connection_said(ctx)} wsgi.url_scheme is {got!r}, not "
                            f"{wanted(ctx, 'https', 'http')}")
