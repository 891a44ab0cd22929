"""WSGI environ (PEP 3333 "environ Variables", "Specification Details", "Unicode Issues").

Each check sends ordinary requests and reads the environ the probe app journalled for them.
Every problem is its own finding, on the spec sentence it breaks (REQ-ID.key in
requirements.toml), and every sub-case runs whatever the earlier ones found.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import (
    OBS_TEXT_VALUE,
    observed_entry,
    observed_environ,
    request_with_obs_text,
)
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import Connection, request_bytes

WSGI = ("wsgi",)


# RFC 3875 4.1 meta-variables: "CGI-defined variables must be native strings" (PEP 3333).
CGI_VARIABLES = frozenset({
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO",
    "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT",
    "REMOTE_USER", "REQUEST_METHOD", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE",
})
# The keys /probe/taint adds to its environ after journalling it.
TAINT_HTTP_KEY = "HTTP_X_CONFORMANCE_TAINT"
TAINT_EXTRA_KEY = "conformance.taint"


def _absent_or_empty(environ: dict[str, Any], key: str) -> bool:
    return environ.get(key, "") == ""


def _above_latin1(value: Any) -> bool:
    return isinstance(value, str) and any(ord(c) > 0xFF for c in value)


@check(
    id="wsgi-environ.fresh-dict",
    title="environ is a built-in dict; keys the app added do not reach the next request",
    requirements=["WSGI-ENV-01"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Specification Details' (environ must be a builtin Python dictionary)",
)
def fresh_dict(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "This object must be a builtin Python dictionary
    (*not* a subclass, UserDict or other dictionary emulation), and the application is allowed
    to modify the dictionary in any way it desires." (WSGI-ENV-01.a, MUST). The app adds
    HTTP_X_CONFORMANCE_TAINT and conformance.taint to one request's environ; the next request,
    on the same keep-alive connection and on a new one, is looked at. No sentence asks for a
    fresh dict as such: a leaked HTTP_ key breaks "The presence or absence of these variables
    should correspond with the presence or absence of the appropriate HTTP header in the
    request." (WSGI-ENV-01.b, SHOULD); a leaked key of another name is an extra key no sentence
    forbids, reported (WSGI-ENV-01.c, INFO)."""
    conn = ctx.connect()
    first = ctx.new_rid()
    conn.send(request_bytes("GET", "/probe/taint", ctx.base_headers(first)))
    response = conn.read_response()
    entry = ctx.observed(first)
    if not entry["environ_is_dict"]:
        ctx.finding("WSGI-ENV-01.a", f"environ is a {entry['environ_type']}, not a builtin "
                                     "dict")
    for where, rid in _followers(ctx, conn, keeps_alive=response.keeps_alive()):
        with ctx.case(where):
            _judge_leaks(ctx, where, ctx.observed(rid)["environ"])


def _followers(ctx: CheckContext, conn: Connection, *,
               keeps_alive: bool) -> list[tuple[str, str]]:
    """The requests sent after the tainted one: (where, request id)."""
    followers = []
    if keeps_alive:
        same = ctx.new_rid()
        try:
            conn.send(request_bytes("GET", "/after-taint", ctx.base_headers(same)))
            again = conn.read_response()
        except OSError:
            again = None
        # A server may close an idle connection it did not mark "close" (uWSGI's
        # --http-socket does); then there is no second request on it to look at.
        if again is not None and again.status:
            followers.append(("the same connection", same))
    followers.append(("a new connection", ctx.request("GET", "/after-taint").rid))
    return followers


def _judge_leaks(ctx: CheckContext, where: str, environ: dict[str, Any]) -> None:
    if TAINT_HTTP_KEY in environ:
        ctx.finding("WSGI-ENV-01.b", f"the next request on {where} (sent without an "
                                     f"X-Conformance-Taint header) has {TAINT_HTTP_KEY}: the "
                                     "key the app added to the previous request's environ")
    if TAINT_EXTRA_KEY in environ:
        ctx.finding("WSGI-ENV-01.c", f"the next request on {where} has {TAINT_EXTRA_KEY!r}, "
                                     "a key the app added to the previous request's environ")


@check(
    id="wsgi-environ.required-keys",
    title="REQUEST_METHOD, SERVER_NAME, SERVER_PORT are present, non-empty strings",
    requirements=["WSGI-ENV-02"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (REQUEST_METHOD; SERVER_NAME, SERVER_PORT)",
)
def required_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: REQUEST_METHOD "cannot ever be an empty string, and so is
    always required" (WSGI-ENV-02.b); "SERVER_NAME and SERVER_PORT are required strings and
    must never be empty" (WSGI-ENV-02.c); "CGI-defined variables must be native strings, if
    they are present at all" (WSGI-ENV-02.d); RFC 3875 4.1.12: REQUEST_METHOD "MUST be set to
    the method" of the request (WSGI-ENV-02.e). GET, POST and PUT, each its own sub-case."""
    for method in ("GET", "POST", "PUT"):
        with ctx.case(method):
            body = b"" if method == "GET" else b"payload"
            environ = observed_environ(ctx, ctx.request(method, "/required", body=body))
            for key, ref in (("REQUEST_METHOD", "WSGI-ENV-02.b"), ("SERVER_NAME", "WSGI-ENV-02.c"),
                             ("SERVER_PORT", "WSGI-ENV-02.c")):
                value = environ.get(key)
                if not isinstance(value, str):
                    ctx.finding("WSGI-ENV-02.d" if key in environ else ref,
                                f"{method} request: environ[{key!r}] is {value!r}; it must be "
                                "a non-empty str")
                elif value == "":
                    ctx.finding(ref, f"{method} request: environ[{key!r}] is ''")
            got = environ.get("REQUEST_METHOD")
            if isinstance(got, str) and got and got != method:
                ctx.finding("WSGI-ENV-02.e", f"REQUEST_METHOD is {got!r} for a {method} request")


@check(
    id="wsgi-environ.server-protocol",
    title="SERVER_PROTOCOL is the request line's HTTP version",
    requirements=["WSGI-ENV-03"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (SERVER_PROTOCOL)",
)
def server_protocol(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: SERVER_PROTOCOL must be present (WSGI-ENV-03.a) and is
    "The version of the protocol the client used to send the request." (WSGI-ENV-03.b, a
    definition of what the server produces). Through nginx the client of the server is nginx,
    which speaks HTTP/1.1 upstream. HTTP/1.0 and HTTP/1.1, each its own sub-case."""
    for version in ("HTTP/1.0", "HTTP/1.1"):
        with ctx.case(version):
            environ = observed_environ(ctx, ctx.request("GET", "/protocol", version=version))
            expected = ctx.upstream_version(version)
            got = environ.get("SERVER_PROTOCOL")
            if got is None or got == "":
                ctx.finding("WSGI-ENV-03.a", f"{version} request: SERVER_PROTOCOL is missing")
            elif got != expected:
                ctx.finding("WSGI-ENV-03.b", f"{version} request: SERVER_PROTOCOL is {got!r}, "
                                             f"expected {expected!r}")


@check(
    id="wsgi-environ.optional-cgi-keys",
    title="SCRIPT_NAME, PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH as the request says",
    requirements=["WSGI-ENV-04", "WSGI-ENV-06"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (SCRIPT_NAME .. CONTENT_LENGTH)",
)
def optional_cgi_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: these "must be present, unless their value would be an
    empty string, in which case they may be omitted" (WSGI-ENV-04.a). QUERY_STRING is "The
    portion of the request URL that follows the "?", if any." (WSGI-ENV-04.d); CONTENT_TYPE
    and CONTENT_LENGTH are "The contents of any Content-Type fields in the HTTP request." and
    the same for Content-Length (WSGI-ENV-04.e, .f), so empty or absent when the request has
    none; PATH_INFO and SCRIPT_NAME are the remainder of the path and the part of it that
    corresponds to the application, here mounted at the root (WSGI-ENV-06.a, .b). A bare GET
    and a POST with query, body and Content-Type are two sub-cases."""
    with ctx.case("GET without query, body or Content-Type"):
        _judge_bare(ctx, observed_environ(ctx, ctx.request("GET", "/cgi/bare")))
    with ctx.case("POST with query, body and Content-Type"):
        _judge_full(ctx, observed_environ(ctx, ctx.request(
            "POST", "/cgi/full?a=1&b=two", body=b"hello",
            headers=[("Content-Type", "application/x-www-form-urlencoded")])))


# Where a value the request does not supply must be absent or "" (the definition it breaks).
_EMPTY_WHEN_UNSENT = (("QUERY_STRING", "WSGI-ENV-04.d"), ("CONTENT_TYPE", "WSGI-ENV-04.e"),
                      ("CONTENT_LENGTH", "WSGI-ENV-04.f"), ("SCRIPT_NAME", "WSGI-ENV-06.b"))


def _judge_bare(ctx: CheckContext, bare: dict[str, Any]) -> None:
    for key, ref in _EMPTY_WHEN_UNSENT:
        if not _absent_or_empty(bare, key):
            ctx.finding(ref, f"GET without query, body or Content-Type: environ[{key!r}] is "
                             f"{bare.get(key)!r}; it must be absent or ''")
    _judge_path_info(ctx, bare, "/cgi/bare")


def _judge_full(ctx: CheckContext, full: dict[str, Any]) -> None:
    expected = (("QUERY_STRING", "a=1&b=two", "WSGI-ENV-04.d"),
                ("CONTENT_TYPE", "application/x-www-form-urlencoded", "WSGI-ENV-04.e"),
                ("CONTENT_LENGTH", "5", "WSGI-ENV-04.f"))
    for key, value, ref in expected:
        got = full.get(key)
        if got != value:
            ctx.finding("WSGI-ENV-04.a" if got in (None, "") else ref,
                        f"POST /cgi/full?a=1&b=two with a 5-byte body: environ[{key!r}] is "
                        f"{got!r}, expected {value!r}")
    _judge_path_info(ctx, full, "/cgi/full")
    if not _absent_or_empty(full, "SCRIPT_NAME"):
        ctx.finding("WSGI-ENV-06.b", f"SCRIPT_NAME is {full.get('SCRIPT_NAME')!r} for an app "
                                     "mounted at the root")


def _judge_path_info(ctx: CheckContext, environ: dict[str, Any], path: str) -> None:
    got = environ.get("PATH_INFO")
    if got is None:
        ctx.finding("WSGI-ENV-04.a", f"PATH_INFO is missing for {path}")
    elif got != path:
        ctx.finding("WSGI-ENV-06.a", f"PATH_INFO is {got!r}, expected {path!r}")


@check(
    id="wsgi-environ.latin1-strings",
    title="CGI variables are native str decoded as latin-1 (bytes 0x80-0xFF survive)",
    requirements=["WSGI-ENV-05"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'A Note On String Types'; 'Unicode Issues'",
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
    variables and HTTP_* must be str; other upper-case keys (REMOTE_PORT and the like) are
    implementation-defined extensions, "The server MAY set additional implementation-defined
    extension meta- variables" (WSGI-ENV-05.i, INFO): a non-str one is reported."""
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
    elif got != expected:
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
    merged = {k: v for environ in environs for k, v in environ.items() if k.isupper()}
    above = {k: v for k, v in merged.items() if _above_latin1(v) and k != "PATH_INFO"
             and k != "HTTP_X_LATIN"}  # those two are judged in their own sub-cases
    if above:
        ctx.finding("WSGI-ENV-05.d", f"CGI variables with code points above U+00FF: {above!r}")
    not_str = {k: type(v).__name__ for k, v in merged.items() if not isinstance(v, str)}
    defined = {k: t for k, t in not_str.items() if k in CGI_VARIABLES or k.startswith("HTTP_")}
    if defined:
        ctx.finding("WSGI-ENV-05.a", f"CGI variables that are not str: {defined!r}")
    extensions = {k: t for k, t in not_str.items() if k not in defined}
    if extensions:
        ctx.finding("WSGI-ENV-05.i", f"upper-case environ keys outside RFC 3875 that are not "
                                     f"str: {extensions!r}")


@check(
    id="wsgi-environ.http-headers",
    title="request headers appear as HTTP_* keys; Content-Type/Length only as CGI keys",
    requirements=["WSGI-ENV-08"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (HTTP_ Variables); CGI (RFC 3875 4.1.18)",
)
def http_headers(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: HTTP_ variables are "Variables corresponding to the
    client-supplied HTTP request headers" (WSGI-ENV-08.a, a definition) and "The presence or
    absence of these variables should correspond with the presence or absence of the
    appropriate HTTP header in the request." (WSGI-ENV-08.b, SHOULD). RFC 3875 4.1.18: "If
    multiple header fields with the same field-name are received then the server MUST rewrite
    them as a single value having the same semantics." (WSGI-ENV-08.h; joined with a comma,
    with or without a space, as RFC 9110 5.2/5.3 define), and "In particular, it SHOULD remove
    any header fields carrying authentication information, such as 'Authorization'; or that
    are available to the script in other variables, such as 'Content-Length' and
    'Content-Type'." (WSGI-ENV-08.f). CONTENT_TYPE is "The contents of any Content-Type fields
    in the HTTP request." (WSGI-ENV-08.g)."""
    exchange = ctx.request("POST", "/headers", body=b"abc", headers=[
        ("X-One", "1"), ("X-Dup", "a"), ("Content-Type", "text/plain"), ("x-dup", "b"),
        ("User-Agent", "conformance/1"),
    ])
    environ = observed_environ(ctx, exchange)
    for key, value in (("HTTP_X_ONE", "1"), ("HTTP_USER_AGENT", "conformance/1")):
        got = environ.get(key)
        if got is None:
            ctx.finding("WSGI-ENV-08.b", f"{key} is missing although the request had the header")
        elif got != value:
            ctx.finding("WSGI-ENV-08.a", f"{key} is {got!r}, expected {value!r}")
    dup = environ.get("HTTP_X_DUP")
    if dup is None:
        ctx.finding("WSGI-ENV-08.b", "HTTP_X_DUP is missing although the request had two X-Dup "
                                     "headers (a, b)")
    elif dup not in ("a,b", "a, b"):
        ctx.finding("WSGI-ENV-08.h", f"two X-Dup headers (a, b) gave HTTP_X_DUP {dup!r}; "
                                     "expected them joined with a comma in order")
    wrong = [k for k in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH") if k in environ]
    if wrong:
        ctx.finding("WSGI-ENV-08.f", f"{wrong} present: Content-Type/Content-Length should "
                                     "appear only as CONTENT_TYPE/CONTENT_LENGTH")
    if environ.get("CONTENT_TYPE") != "text/plain":
        ctx.finding("WSGI-ENV-08.g", f"CONTENT_TYPE is {environ.get('CONTENT_TYPE')!r} for "
                                     "Content-Type: text/plain")


@check(
    id="wsgi-environ.wsgi-keys",
    title="wsgi.version (1, 0), wsgi.url_scheme, multithread/multiprocess/run_once truthful",
    requirements=["WSGI-ENV-10", "WSGI-ENV-11"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (wsgi.* table); 'Input and Error Streams'",
)
def wsgi_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: environ "must contain the following WSGI-defined
    variables" (WSGI-ENV-10.a); wsgi.version is "The tuple (1, 0), representing WSGI version
    1.0." (WSGI-ENV-10.b); wsgi.url_scheme is "A string representing the "scheme" portion of
    the URL at which the application is being invoked." (WSGI-ENV-10.c: "http" here); Input
    and Error Streams: "The methods listed in the table above must be supported by all servers
    conforming to this specification." (WSGI-ENV-11.b: wsgi.errors write, writelines, flush).
    wsgi.multithread, wsgi.multiprocess and wsgi.run_once "should evaluate true" exactly when
    the server runs that way (WSGI-ENV-10.e, .f, .g, SHOULD), compared with what the target
    TOML's [wsgi] table says about its configuration."""
    entry = observed_entry(ctx, ctx.request("GET", "/wsgi-keys"))
    environ = entry["environ"]
    for key in ("wsgi.version", "wsgi.url_scheme", "wsgi.input", "wsgi.errors",
                "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"):
        if key not in environ:
            ctx.finding("WSGI-ENV-10.a", f"{key} is missing from environ")
    version, kind = environ.get("wsgi.version"), entry["value_types"].get("wsgi.version")
    if "wsgi.version" in environ and (version != (1, 0) or kind != "tuple"):
        ctx.finding("WSGI-ENV-10.b", f"wsgi.version is {version!r} ({kind}), expected the tuple "
                                     "(1, 0)")
    scheme = environ.get("wsgi.url_scheme")
    if "wsgi.url_scheme" in environ and scheme != "http":
        ctx.finding("WSGI-ENV-10.c", f"wsgi.url_scheme is {scheme!r} on a plain HTTP connection")
    missing_api = [name for name, ok in entry["errors_api"].items() if not ok]
    if "wsgi.errors" in environ and missing_api:
        ctx.finding("WSGI-ENV-11.b", f"wsgi.errors lacks {missing_api}")
    _judge_flags(ctx, environ)


_FLAG_SENTENCES = {"multithread": "WSGI-ENV-10.e", "multiprocess": "WSGI-ENV-10.f",
                   "run_once": "WSGI-ENV-10.g"}


def _judge_flags(ctx: CheckContext, environ: dict[str, Any]) -> None:
    for flag, expected in ctx.target.wsgi_flags.items():
        got = environ.get(f"wsgi.{flag}")
        if f"wsgi.{flag}" in environ and bool(got) != expected and flag in _FLAG_SENTENCES:
            ctx.finding(_FLAG_SENTENCES[flag],
                        f"wsgi.{flag} is {got!r}, but this configuration "
                        f"({ctx.target.path.name} [wsgi] {flag} = {str(expected).lower()}) "
                        f"{'does' if expected else 'does not'} run that way")
