"""WSGI environ (PEP 3333 "environ Variables", "Specification Details", "Unicode Issues").

Each check sends ordinary requests and reads the environ the probe app journalled for them.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.common import (
    OBS_TEXT_VALUE,
    observed_entry,
    observed_environ,
    request_with_obs_text,
)
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import request_bytes

WSGI = ("wsgi",)


# RFC 3875 4.1 meta-variables: "CGI-defined variables must be native strings" (PEP 3333).
CGI_VARIABLES = frozenset({
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO",
    "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT",
    "REMOTE_USER", "REQUEST_METHOD", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE",
})


def _absent_or_empty(environ: dict[str, Any], key: str) -> bool:
    return environ.get(key, "") == ""


@check(
    id="wsgi-environ.fresh-dict",
    title="environ is a built-in dict, fresh for every request",
    requirements=["WSGI-ENV-01"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'Specification Details' (environ must be a builtin Python dictionary)",
)
def fresh_dict(ctx: CheckContext) -> None:
    """PEP 3333, Specification Details: "The environ parameter is a dictionary object ...
    This object must be a builtin Python dictionary (not a subclass, UserDict or other
    dictionary emulation), and the application is allowed to modify the dictionary in any way
    it desires." A key the app adds in one request must therefore not reach the next one,
    on the same keep-alive connection or on a new one."""
    conn = ctx.connect()
    first = ctx.new_rid()
    conn.send(request_bytes("GET", "/probe/taint", ctx.base_headers(first)))
    response = conn.read_response()
    entry = ctx.observed(first)
    ctx.expect(entry["environ_is_dict"],
               f"environ is a {entry['environ_type']}, not a builtin dict")
    followers = []
    if response.keeps_alive():
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
    fresh = ctx.request("GET", "/after-taint")
    followers.append(("a new connection", fresh.rid))
    for where, rid in followers:
        environ = ctx.observed(rid)["environ"]
        leaked = [k for k in ("conformance.taint", "HTTP_X_CONFORMANCE_TAINT") if k in environ]
        ctx.expect(not leaked, f"keys the app added to the previous request's environ appear in "
                               f"the next request on {where}: {leaked}")


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
    always required"; "SERVER_NAME and SERVER_PORT are required strings and must never be
    empty"."""
    for method in ("GET", "POST", "PUT"):
        body = b"" if method == "GET" else b"payload"
        environ = observed_environ(ctx, ctx.request(method, "/required", body=body))
        for key in ("REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT"):
            value = environ.get(key)
            ctx.expect(isinstance(value, str) and value != "",
                       f"{method} request: environ[{key!r}] is {value!r}; it must be a "
                       "non-empty str")
        ctx.expect(environ["REQUEST_METHOD"] == method,
                   f"REQUEST_METHOD is {environ['REQUEST_METHOD']!r} for a {method} request")


@check(
    id="wsgi-environ.server-protocol",
    title="SERVER_PROTOCOL is the request line's HTTP version",
    requirements=["WSGI-ENV-03"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (SERVER_PROTOCOL)",
)
def server_protocol(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: SERVER_PROTOCOL is "the version of the protocol the client
    used to send the request" (it "denotes the protocol used in the request, and is not
    necessarily the protocol that will be used in the server's response"). Through nginx the
    client of the server is nginx, which speaks HTTP/1.1 upstream."""
    for version in ("HTTP/1.0", "HTTP/1.1"):
        environ = observed_environ(ctx, ctx.request("GET", "/protocol", version=version))
        expected = ctx.upstream_version(version)
        ctx.expect(environ.get("SERVER_PROTOCOL") == expected,
                   f"{version} request: SERVER_PROTOCOL is {environ.get('SERVER_PROTOCOL')!r}, "
                   f"expected {expected!r}")


@check(
    id="wsgi-environ.optional-cgi-keys",
    title="SCRIPT_NAME, PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH as the request says",
    requirements=["WSGI-ENV-04"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (SCRIPT_NAME .. CONTENT_LENGTH)",
)
def optional_cgi_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: these "must be present, unless their value would be an
    empty string, in which case they may be omitted". QUERY_STRING is the part after "?";
    CONTENT_TYPE and CONTENT_LENGTH are "the contents of any Content-Type / Content-Length
    fields", "empty or absent" when the request has none."""
    bare = observed_environ(ctx, ctx.request("GET", "/cgi/bare"))
    for key in ("QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "SCRIPT_NAME"):
        ctx.expect(_absent_or_empty(bare, key),
                   f"GET without query, body or Content-Type: environ[{key!r}] is "
                   f"{bare.get(key)!r}; it must be absent or ''")
    ctx.expect(bare.get("PATH_INFO") == "/cgi/bare",
               f"PATH_INFO is {bare.get('PATH_INFO')!r}, expected '/cgi/bare'")

    full = observed_environ(ctx, ctx.request(
        "POST", "/cgi/full?a=1&b=two", body=b"hello",
        headers=[("Content-Type", "application/x-www-form-urlencoded")]))
    expected = {"PATH_INFO": "/cgi/full", "QUERY_STRING": "a=1&b=two",
                "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "5"}
    for key, value in expected.items():
        ctx.expect(full.get(key) == value,
                   f"POST /cgi/full?a=1&b=two with a 5-byte body: environ[{key!r}] is "
                   f"{full.get(key)!r}, expected {value!r}")
    ctx.expect(_absent_or_empty(full, "SCRIPT_NAME"),
               f"SCRIPT_NAME is {full.get('SCRIPT_NAME')!r} for an app mounted at the root")


@check(
    id="wsgi-environ.latin1-strings",
    title="CGI variables are native str decoded as latin-1 (bytes 0x80-0xFF survive)",
    requirements=["WSGI-ENV-05"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'A Note On String Types'; 'Unicode Issues'",
)
def latin1_strings(ctx: CheckContext) -> None:
    """PEP 3333, A Note On String Types: environ values are native strings "restricted to
    code points representable in ISO-8859-1"; Unicode Issues: HTTP does not support Unicode
    directly, so request bytes are carried as latin-1 code points. A header value with bytes
    0x80-0xFF (obs-text, RFC 9110 5.5) must appear as the same code points, and a
    percent-encoded UTF-8 path as its raw bytes decoded as latin-1. "It is a violation of
    this specification for any CGI variable's value to be of any type other than str" (environ
    Variables): a fail for the RFC 3875 variables and HTTP_*, a warn for other upper-case keys
    (REMOTE_PORT and the like are extensions, so the rule's reach is open)."""
    value = OBS_TEXT_VALUE
    exchange, rejected = request_with_obs_text(ctx, "/caf%C3%A9")
    if rejected:
        ctx.warn(rejected)
    environ = observed_environ(ctx, exchange)
    got = environ.get("HTTP_X_LATIN")
    ctx.expect(got == value.decode("latin-1"),
               f"header bytes {value!r}: HTTP_X_LATIN is {got!r}, expected "
               f"{value.decode('latin-1')!r}")
    ctx.expect(environ.get("PATH_INFO") == "/caf\xc3\xa9",
               f"/caf%C3%A9: PATH_INFO is {environ.get('PATH_INFO')!r}, expected '/caf\\xc3\\xa9' "
               "(the decoded bytes as latin-1, not decoded as UTF-8)")
    bad = {k: v for k, v in environ.items()
           if k.isupper() and isinstance(v, str) and any(ord(c) > 0xFF for c in v)}
    ctx.expect(not bad, f"CGI variables with code points above U+00FF: {bad!r}")
    not_str = {k: type(v).__name__ for k, v in environ.items()
               if k.isupper() and not isinstance(v, str)}
    defined = {k: t for k, t in not_str.items() if k in CGI_VARIABLES or k.startswith("HTTP_")}
    ctx.expect(not defined, f"CGI variables that are not str: {defined!r}")
    if not_str:
        # Upper-case keys outside RFC 3875 (REMOTE_PORT is an Apache extension): apps read
        # them as CGI variables, but whether the PEP's rule covers them is open.
        ctx.warn(f"upper-case environ keys outside RFC 3875 that are not str: {not_str!r}")


@check(
    id="wsgi-environ.http-headers",
    title="request headers appear as HTTP_* keys; Content-Type/Length only as CGI keys",
    requirements=["WSGI-ENV-08"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (HTTP_ Variables); CGI (RFC 3875 4.1.18)",
)
def http_headers(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: HTTP_ variables correspond "to the client-supplied HTTP
    request headers"; CGI (RFC 3875 4.1.18) names them HTTP_ + upper case with "-" as "_",
    and Content-Type / Content-Length are CONTENT_TYPE / CONTENT_LENGTH only. Repeated
    headers are combined into one value separated by commas (RFC 9110 5.3; ", " accepted)."""
    exchange = ctx.request("POST", "/headers", body=b"abc", headers=[
        ("X-One", "1"), ("X-Dup", "a"), ("Content-Type", "text/plain"), ("x-dup", "b"),
        ("User-Agent", "conformance/1"),
    ])
    environ = observed_environ(ctx, exchange)
    ctx.expect(environ.get("HTTP_X_ONE") == "1", f"HTTP_X_ONE is {environ.get('HTTP_X_ONE')!r}")
    ctx.expect(environ.get("HTTP_USER_AGENT") == "conformance/1",
               f"HTTP_USER_AGENT is {environ.get('HTTP_USER_AGENT')!r}")
    ctx.expect(environ.get("HTTP_X_DUP") in ("a,b", "a, b"),
               f"two X-Dup headers (a, b) gave HTTP_X_DUP {environ.get('HTTP_X_DUP')!r}; "
               "expected them joined with a comma in order")
    wrong = [k for k in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH") if k in environ]
    ctx.expect(not wrong, f"{wrong} present: Content-Type/Content-Length must appear only as "
                          "CONTENT_TYPE/CONTENT_LENGTH")
    ctx.expect(environ.get("CONTENT_TYPE") == "text/plain",
               f"CONTENT_TYPE is {environ.get('CONTENT_TYPE')!r}")


@check(
    id="wsgi-environ.wsgi-keys",
    title="wsgi.version (1, 0), wsgi.url_scheme, multithread/multiprocess/run_once truthful",
    requirements=["WSGI-ENV-10"],
    level=Level.MUST,
    interfaces=WSGI,
    section="PEP 3333 'environ Variables' (wsgi.* table); 'Input and Error Streams'",
)
def wsgi_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: wsgi.version is "the tuple (1, 0)"; wsgi.url_scheme is
    "http" or "https" as appropriate (plain TCP here); wsgi.input and wsgi.errors are present,
    wsgi.errors with write(), writelines() and flush(); wsgi.multithread, wsgi.multiprocess,
    wsgi.run_once are present and "should evaluate true" exactly when the server runs that way
    (compared with what the target TOML's [wsgi] table says about its configuration; a
    mismatch breaks that should: warn)."""
    entry = observed_entry(ctx, ctx.request("GET", "/wsgi-keys"))
    environ = entry["environ"]
    version = environ.get("wsgi.version")
    ctx.expect(version == (1, 0) and entry["value_types"].get("wsgi.version") == "tuple",
               f"wsgi.version is {version!r} ({entry['value_types'].get('wsgi.version')}), "
               "expected the tuple (1, 0)")
    ctx.expect(environ.get("wsgi.url_scheme") == "http",
               f"wsgi.url_scheme is {environ.get('wsgi.url_scheme')!r} on a plain HTTP connection")
    for key in ("wsgi.input", "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess",
                "wsgi.run_once"):
        ctx.expect(key in environ, f"{key} is missing from environ")
    missing_api = [name for name, ok in entry["errors_api"].items() if not ok]
    ctx.expect(not missing_api, f"wsgi.errors lacks {missing_api}")
    # PEP 3333 words these as "should evaluate true if ...": a flag that does not match the
    # configuration breaks a SHOULD (warn), never a MUST.
    wrong = [f"wsgi.{flag} is {environ.get(f'wsgi.{flag}')!r}, but this configuration "
             f"({ctx.target.path.name} [wsgi] {flag} = {str(expected).lower()}) "
             f"{'does' if expected else 'does not'} run that way"
             for flag, expected in ctx.target.wsgi_flags.items()
             if bool(environ.get(f"wsgi.{flag}")) != expected]
    if wrong:
        ctx.warn("; ".join(wrong))
