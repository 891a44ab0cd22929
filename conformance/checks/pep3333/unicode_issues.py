"""PEP 3333, "Unicode Issues"."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import (
    OBS_TEXT_VALUE,
    observed_environ,
    request_with_obs_text,
)
from conformance.context import CheckContext
from conformance.verdicts import Level

# RFC 3875 4.1 meta-variables: "CGI-defined variables must be native strings" (PEP 3333).
CGI_VARIABLES = frozenset({
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO",
    "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT",
    "REMOTE_USER", "REQUEST_METHOD", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE",
})


def _above_latin1(value: Any) -> bool:
    return isinstance(value, str) and any(ord(c) > 0xFF for c in value)


@check(
    id="pep3333.latin1-strings",
    title="CGI variables are native str decoded as latin-1 (bytes 0x80-0xFF survive)",
    requirements=["WSGI-ENV-05"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'Unicode Issues'; 'A Note On String Types'",
)
def latin1_strings(ctx: CheckContext) -> None:
    """PEP 3333, Unicode Issues: "servers and gateways must not supply strings to an
    application containing any other Unicode characters" than U+0000-U+00FF (WSGI-ENV-05.d,
    MUST); environ Variables: "CGI-defined variables must be native strings" (WSGI-ENV-05.a,
    MUST). Three sub-cases. A header value with bytes 0x80-0xFF (obs-text): RFC 9110 5.5 "A
    recipient SHOULD treat other allowed octets in field content (i.e., obs-text) as opaque
    data." (WSGI-ENV-05.g), so the bytes should come through as the same code points, and
    rejecting the request breaks that SHOULD too. A percent-encoded UTF-8 path: its decoded
    bytes as latin-1 code points ('/caf\\xc3\\xa9') is what servers do, but RFC 3875 4.1.5
    says "Similarly, treatment of non US-ASCII characters in the path is system-defined."
    (WSGI-ENV-05.h, INFO), so another form within U+00FF is reported. Value types: the RFC 3875
    variables must be str, and HTTP_* too: "The server MUST, if necessary, change the
    representation of the data (for example, the character set) to be appropriate for a CGI
    meta-variable." (RFC 3875 4.1.18, WSGI-ENV-05.f); other upper-case keys (REMOTE_PORT and
    the like) are implementation-defined extensions, "The server MAY set additional
    implementation-defined extension meta- variables" (WSGI-ENV-05.i, INFO): a non-str one is
    reported."""
    environs: list[dict[str, Any]] = []
    with ctx.case("obs-text header value"):
        environs.append(_judge_obs_text(ctx))
    with ctx.case("percent-encoded UTF-8 path"):
        environs.append(_judge_utf8_path(ctx))
    with ctx.case("value types"):
        _judge_value_types(ctx, environs)


def _judge_obs_text(ctx: CheckContext) -> dict[str, Any]:
    exchange, rejected = request_with_obs_text(ctx, "/latin1")
    ctx.require(rejected is None, "WSGI-ENV-05.g", rejected or "")
    environ = observed_environ(ctx, exchange)
    got, expected = environ.get("HTTP_X_LATIN"), OBS_TEXT_VALUE.decode("latin-1")
    if _above_latin1(got):
        ctx.finding("WSGI-ENV-05.d", f"header bytes {OBS_TEXT_VALUE!r}: HTTP_X_LATIN is {got!r}, "
                                     "with code points above U+00FF")
    elif got != expected and (got is None or isinstance(got, str)):  # other types: below
        ctx.finding("WSGI-ENV-05.g", f"header bytes {OBS_TEXT_VALUE!r}: HTTP_X_LATIN is {got!r}, "
                                     f"expected the same bytes as code points {expected!r}")
    return environ


def _judge_utf8_path(ctx: CheckContext) -> dict[str, Any]:
    environ = observed_environ(ctx, ctx.request("GET", "/caf%C3%A9"))
    got = environ.get("PATH_INFO")
    if _above_latin1(got):
        ctx.finding("WSGI-ENV-05.d", f"/caf%C3%A9: PATH_INFO is {got!r}, with code points "
                                     "above U+00FF")
    elif got != "/caf\xc3\xa9":
        ctx.finding("WSGI-ENV-05.h", f"/caf%C3%A9: PATH_INFO is {got!r}, not the decoded bytes "
                                     "as latin-1 code points '/caf\\xc3\\xa9'")
    return environ


def _judge_value_types(ctx: CheckContext, environs: list[dict[str, Any]]) -> None:
    merged: dict[str, Any] = {}
    for environ in environs:
        for key, value in environ.items():
            # A value wrong in any request is kept over a right one from another request.
            if key.isupper() and (key not in merged or not isinstance(value, str)
                                  or _above_latin1(value)):
                merged[key] = value
    above = {k: v for k, v in merged.items() if _above_latin1(v) and k != "PATH_INFO"
             and k != "HTTP_X_LATIN"}  # those two are judged in their own sub-cases
    if above:
        ctx.finding("WSGI-ENV-05.d", f"CGI variables with code points above U+00FF: {above!r}")
    not_str = {k: type(v).__name__ for k, v in merged.items() if not isinstance(v, str)}
    defined = {k: t for k, t in not_str.items() if k in CGI_VARIABLES}
    if defined:
        ctx.finding("WSGI-ENV-05.a", f"CGI variables that are not str: {defined!r}")
    # Header data handed over as it came (bytes, say): not changed "to be appropriate for a
    # CGI meta-variable", which in WSGI is a native str.
    headers = {k: t for k, t in not_str.items() if k.startswith("HTTP_")}
    if headers:
        ctx.finding("WSGI-ENV-05.f", f"HTTP_* variables that are not str: {headers!r}")
    extensions = {k: t for k, t in not_str.items() if k not in defined and k not in headers}
    if extensions:
        ctx.finding("WSGI-ENV-05.i", f"upper-case environ keys outside RFC 3875 that are not "
                                     f"str: {extensions!r}")
