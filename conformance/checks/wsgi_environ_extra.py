"""WSGI environ, continued: header-name spoofing, wsgi.errors text, extra server keys
(PEP 3333 "environ Variables", "Input and Error Streams"; CGI RFC 3875 4.1.18).
"""

from __future__ import annotations

import re

from conformance.catalogue import check
from conformance.checks.common import observed_environ
from conformance.checks.wsgi_response_calls import respond, respond_step
from conformance.context import CheckContext
from conformance.verdicts import Level

WSGI = ("wsgi",)
EXTRA_KEY = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")


@check(
    id="wsgi-environ.underscore-header-spoofing",
    title="X-A_B beside X-A-B: the underscore spelling never overwrites or merges into HTTP_X_A_B",
    requirements=["WSGI-ENV-09"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (HTTP_ Variables); RFC 3875 4.1.18",
)
def underscore_header_spoofing(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: HTTP_ variables correspond "to the client-supplied HTTP
    request headers"; CGI (RFC 3875 4.1.18) maps "-" to "_", so X-A-B and X-A_B both map to
    HTTP_X_A_B. A proxy that vets X-A-B (an authentication header, say) passes X-A_B untouched;
    if the server lets X-A_B overwrite or join X-A-B the app trusts a value the client forged.
    The server should drop the underscore spelling (or keep it distinguishable). Both orders
    are sent."""
    for headers in ([("X-A-B", "dash"), ("X-A_B", "underscore")],
                    [("X-A_B", "underscore"), ("X-A-B", "dash")]):
        exchange = ctx.request("GET", "/spoof", headers=headers)
        if exchange.response.status >= 400:
            continue  # rejecting the request outright is a defence too
        got = observed_environ(ctx, exchange).get("HTTP_X_A_B")
        ctx.expect(got == "dash",
                   f"headers {[n for n, _ in headers]}: HTTP_X_A_B is {got!r}; the "
                   "underscore header overwrote or merged with X-A-B (expected 'dash')")


@check(
    id="wsgi-environ.errors-any-unicode",
    title="wsgi.errors write(), writelines(), flush() accept any unicode text",
    requirements=["WSGI-ENV-11"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Input and Error Streams'; 'environ Variables' (wsgi.errors)",
)
def errors_any_unicode(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: wsgi.errors is "an output stream (file-like object) to
    which error output can be written ... this should be a "text mode" stream; i.e.,
    applications should use "\\n" as a line ending"; Input and Error Streams: write(str),
    writelines(seq) and flush() "must be supported". A text stream takes any str: the app
    writes U+00E9, U+20AC, CJK, an astral emoji and U+0000."""
    exchange = respond(ctx, "errors")
    step = respond_step(ctx, exchange.rid, "errors")
    ctx.expect(step["raised"] is None, f"writing unicode text to wsgi.errors raised "
                                       f"{step['raised']}")
    ctx.expect(exchange.response.status == 200,
               f"the response was {exchange.response.status or 'missing'}")


@check(
    id="wsgi-environ.extra-keys-named",
    title="extra server keys are lower-case, dotted, server-prefixed",
    requirements=["WSGI-ENV-12"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (additional variables)",
)
def extra_keys_named(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: "Finally, the environ dictionary may also contain
    server-defined variables. These variables should be named using only lower-case letters,
    numbers, dots, and underscores, and should be prefixed with a name that is unique to the
    defining server or gateway." CGI-style upper-case names (REMOTE_ADDR, HTTP_*) are the
    CGI variables, not extras; wsgi.* keys belong to the spec; and "the environ dictionary
    may also contain arbitrary operating-system "environment variables"" (the server
    process's os.environ, which the probe journals, is excluded)."""
    exchange = respond(ctx, "os-environ")
    os_keys = set(respond_step(ctx, exchange.rid, "os-environ")["keys"])
    environ = observed_environ(ctx, exchange)
    cgi = re.compile(r"[A-Z][A-Z0-9_]*")
    bad = sorted(k for k in environ
                 if not k.startswith("wsgi.") and not cgi.fullmatch(k) and k not in os_keys
                 and not EXTRA_KEY.fullmatch(k))
    ctx.expect(not bad, f"environ keys that are neither CGI variables nor lower-case, dotted, "
                        f"server-prefixed names: {bad}")
