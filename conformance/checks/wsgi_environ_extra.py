"""WSGI environ, continued: header-name spoofing, wsgi.errors text, extra server keys
(PEP 3333 "environ Variables", "Input and Error Streams"; CGI RFC 3875 4.1.18).
"""

from __future__ import annotations

import re

from conformance.catalogue import check
from conformance.checks.support.common import observed_environ
from conformance.checks.wsgi_response_calls import required_step, respond
from conformance.context import CheckContext
from conformance.verdicts import Level

WSGI = ("wsgi",)
# PEP 3333: "only lower-case letters, numbers, dots, and underscores" (no dot required: the
# separator after the server's prefix is not specified).
EXTRA_KEY = re.compile(r"[a-z0-9._]+")
CGI_STYLE = re.compile(r"[A-Z][A-Z0-9_]*")


@check(
    id="wsgi-environ.underscore-header-spoofing",
    title="X-A_B beside X-A-B: the underscore spelling never overwrites or merges into HTTP_X_A_B",
    requirements=["WSGI-ENV-09"],
    level=Level.HARDENING,
    interfaces=WSGI,
    section="RFC 9110 17.10 (Security Considerations); RFC 3875 4.1.18; PEP 3333 'environ "
            "Variables' (HTTP_ Variables)",
)
def underscore_header_spoofing(ctx: CheckContext) -> None:
    """A hardening check: no spec sentence demands it (WSGI-ENV-09 rests on none). RFC 3875
    4.1.18 maps "-" to "_" (WSGI-ENV-09.a), so X-A-B and X-A_B both map to HTTP_X_A_B. A proxy
    that vets X-A-B (an authentication header, say) passes X-A_B untouched; if the server lets
    X-A_B overwrite or join X-A-B the app trusts a value the client forged. RFC 9110 17.10
    advises, without a requirement keyword, that "implementations that perform such mappings
    are advised to make the mapping unambiguous" (WSGI-ENV-09.b): a server that merges the two
    is reported as hardening, never as a spec fail or warn. Dropping the underscore header or
    rejecting the request passes. Both orders are sent, each its own sub-case."""
    orders: list[list[tuple[str | bytes, str | bytes]]] = [
        [("X-A-B", "dash"), ("X-A_B", "underscore")],
        [("X-A_B", "underscore"), ("X-A-B", "dash")]]
    for headers in orders:
        names = [str(n) for n, _ in headers]
        with ctx.case(" then ".join(names)):
            exchange = ctx.request("GET", "/spoof", headers=headers)
            if exchange.response.status >= 400:
                continue  # rejecting the request outright is a defence too
            got = observed_environ(ctx, exchange).get("HTTP_X_A_B")
            if got != "dash":
                ctx.finding("WSGI-ENV-09.b", f"headers {names}: HTTP_X_A_B is {got!r}; the "
                                             "underscore header overwrote or merged with X-A-B "
                                             "(expected 'dash')")


@check(
    id="wsgi-environ.errors-any-unicode",
    title="wsgi.errors write(), writelines(), flush() accept any unicode text",
    requirements=["WSGI-ENV-11"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (wsgi.errors)",
)
def errors_any_unicode(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables (wsgi.errors): "On platforms where the str type is unicode,
    the error stream should accept and log arbitrary unicode without raising an error; it is
    allowed, however, to substitute characters that cannot be rendered in the stream's
    encoding." (WSGI-ENV-11.d, SHOULD). The app writes U+00E9, U+20AC, CJK, an astral emoji
    and U+0000 with write() and writelines(), then calls flush(). That the three methods
    exist (a MUST) is wsgi-environ.wsgi-keys's concern."""
    exchange = respond(ctx, "errors")
    step = required_step(ctx, exchange.rid, "errors")
    if step["raised"] is not None:
        ctx.finding("WSGI-ENV-11.d", f"writing unicode text to wsgi.errors raised "
                                     f"{step['raised']}")


@check(
    id="wsgi-environ.extra-keys-named",
    title="extra server keys use only lower-case letters, digits, dots and underscores",
    requirements=["WSGI-ENV-12"],
    level=Level.SHOULD,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (additional variables)",
)
def extra_keys_named(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: "Finally, the environ dictionary may also contain
    server-defined variables. These variables should be named using only lower-case letters,
    numbers, dots, and underscores, and should be prefixed with a name that is unique to the
    defining server or gateway." (WSGI-ENV-12.b, SHOULD). The characters are checked; a dot is
    not required (the separator after the prefix is not specified), and whether a prefix is
    unique to the server cannot be read from one environ. CGI-style upper-case names
    (REMOTE_ADDR, HTTP_*) are the CGI variables, not extras; wsgi.* keys belong to the spec;
    and the environ "may also contain arbitrary operating-system "environment variables""
    (WSGI-ENV-12.c: the server process's os.environ, which the probe journals, is excluded)."""
    exchange = respond(ctx, "os-environ")
    os_keys = set(required_step(ctx, exchange.rid, "os-environ")["keys"])
    environ = observed_environ(ctx, exchange)
    bad = sorted(k for k in environ
                 if not k.startswith("wsgi.") and not CGI_STYLE.fullmatch(k) and k not in os_keys
                 and not EXTRA_KEY.fullmatch(k))
    if bad:
        ctx.finding("WSGI-ENV-12.b", f"environ keys that are neither CGI variables nor named "
                                     f"with lower-case letters, digits, dots and underscores: "
                                     f"{bad}")
