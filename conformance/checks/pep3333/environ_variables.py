"""PEP 3333, "environ Variables": the CGI and wsgi.* keys of the environ dict.

Each check sends ordinary requests and reads the environ the probe app journalled for them.
"""

from __future__ import annotations

import re
from typing import Any

from conformance.catalogue import check
from conformance.checks.pep3333.scripted_responses import required_step, respond
from conformance.checks.pep3333.unicode_issues import CGI_VARIABLES
from conformance.checks.support.common import get_on_own_server, observed_entry, observed_environ
from conformance.checks.support.generated_requests import run_property, wsgi_compare, wsgi_unseen
from conformance.context import CheckContext
from conformance.verdicts import Level

# PEP 3333: "only lower-case letters, numbers, dots, and underscores" (no dot required: the
# separator after the server's prefix is not specified).
_EXTRA_KEY = re.compile(r"[a-z0-9._]+")
_CGI_STYLE = re.compile(r"[A-Z][A-Z0-9_]*")
# RFC 3875 4.1.14: server-name = hostname | ipv4-address | ( "[" ipv6-address "]" ), so never a
# port or a path; hostname labels are alphanumerics and "-" (a trailing dot is allowed).
_SERVER_NAME = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*"
                          r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?|\[[0-9A-Fa-f:.]+\]")
# RFC 3875 4.1.16: SERVER_PROTOCOL = HTTP-Version | "INCLUDED" | extension-version, the
# protocol's name, "/" and its version; a value with the name but the wrong version is judged
# by the PEP's definition instead (WSGI-ENV-03.b).
_PROTOCOL_NAME_AND_VERSION = re.compile(r"HTTP/\S+")


@check(
    id="pep3333.generated-environ",
    title="for generated valid requests the environ equals the oracle's",
    requirements=["WSGI-ENV-02", "WSGI-ENV-03", "WSGI-ENV-04", "WSGI-ENV-05", "WSGI-ENV-06",
                  "WSGI-ENV-07", "WSGI-ENV-08", "WSGI-IN-01", "WSGI-IN-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    via=("direct",),
    section="PEP 3333 'environ Variables'; 'Unicode Issues'; 'URL Reconstruction'; "
            "'Input and Error Streams'; 'Other HTTP Features'",
)
def wsgi_generated(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables and Unicode Issues, for generated valid requests (methods,
    percent-encoded paths with %2F, %25 and bytes 0x80-0xFF, raw query strings, mixed-case and
    repeated headers, bodies with Content-Length or chunked in random chunk sizes with chunk
    extensions, each request split across TCP writes at random offsets). Each key's value is
    held to the sentence that defines it: REQUEST_METHOD (WSGI-ENV-02.e), SERVER_PROTOCOL
    (WSGI-ENV-03.b), CONTENT_TYPE and CONTENT_LENGTH (WSGI-ENV-04.e, .f), PATH_INFO "not
    URL-encoded" (WSGI-ENV-06.c: %2F is "/"), QUERY_STRING raw (WSGI-ENV-07.b), repeated
    headers joined (WSGI-ENV-08.h) and code points within U+00FF (WSGI-ENV-05.d), all MUST;
    a missing key breaks the presence MUST of its own requirement (WSGI-ENV-02.b, 03.a, 07.a,
    else 04.a); PATH_INFO with code points above U+00FF (WSGI-ENV-06.g), not starting with "/"
    (WSGI-ENV-06.e) or with its case changed (WSGI-ENV-06.f); QUERY_STRING percent-decoded
    (WSGI-ENV-07.c); a CONTENT_LENGTH for a chunked body other than the decoded length
    (WSGI-IN-06.e: "recalculate the CONTENT_LENGTH"); a read() result other than bytes
    (WSGI-IN-01.d), all MUST.
    HTTP_* keys present exactly for the headers sent is a SHOULD (WSGI-ENV-08.b). Left open and
    reported (INFO): the form of non-ASCII path bytes, "system-defined" (WSGI-ENV-05.h); a
    rejected path with an encoded "/" or other objectionable bytes (WSGI-ENV-06.j, .k); a 411
    to a chunked body (WSGI-IN-06.d); and a chunked body with neither CONTENT_LENGTH nor
    wsgi.input_terminated, which "The application should not attempt to read more data than
    is specified by the CONTENT_LENGTH variable." leaves unreadable (WSGI-IN-06.h). A chunked
    body the app cannot read breaks "A recipient MUST be able to parse and decode the chunked
    transfer coding." (WSGI-IN-06.c), and one refused outright (not with 411) "A recipient
    MUST be able to parse the chunked transfer coding" (WSGI-IN-06.b); any other valid request
    that never reaches the app breaks "The server or gateway invokes the application callable
    once for each request it receives from an HTTP client, that is directed at the
    application." (WSGI-ENV-02.h)."""
    from conformance import strategies  # Hypothesis: imported when a check generates

    run_property(ctx, strategies.wsgi_requests(), wsgi_compare, wsgi_unseen)


@check(
    id="pep3333.required-keys",
    title="REQUEST_METHOD, SERVER_NAME, SERVER_PORT are present, non-empty strings",
    requirements=["WSGI-ENV-02"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables' (REQUEST_METHOD; SERVER_NAME, SERVER_PORT)",
)
def required_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: REQUEST_METHOD "cannot ever be an empty string, and so is
    always required" (WSGI-ENV-02.b); "SERVER_NAME and SERVER_PORT are required strings and
    must never be empty" (WSGI-ENV-02.c); "CGI-defined variables must be native strings, if
    they are present at all" (WSGI-ENV-02.d); RFC 3875 4.1.12: REQUEST_METHOD "MUST be set to
    the method" of the request (WSGI-ENV-02.e); 4.1.14: "The SERVER_NAME variable MUST be set
    to the name of the server host to which the client request is directed." (WSGI-ENV-02.f: a
    hostname or address, so never one with a port); 4.1.15: "The SERVER_PORT variable MUST be
    set to the TCP/IP port number on which this request is received from the client."
    (WSGI-ENV-02.g, judged on the direct run). GET, POST and PUT, each its own sub-case."""
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
            _judge_server_address(ctx, method, environ)


def _judge_server_address(ctx: CheckContext, method: str, environ: dict[str, Any]) -> None:
    """RFC 3875 4.1.14 and 4.1.15: what SERVER_NAME and SERVER_PORT name (their presence and
    type are judged above)."""
    name, port = environ.get("SERVER_NAME"), environ.get("SERVER_PORT")
    if isinstance(name, str) and name and not _SERVER_NAME.fullmatch(name):
        ctx.finding("WSGI-ENV-02.f", f"{method} request: SERVER_NAME is {name!r}, not the name "
                                     "of a host (RFC 3875 4.1.14: server-name = hostname | "
                                     "ipv4-address | \"[\" ipv6-address \"]\")")
    # Through nginx a server may give the port the client addressed (from the Host nginx
    # forwards), the Script-URI's port: only the direct run knows the receiving port for sure.
    if isinstance(port, str) and port and ctx.via == "direct" and port != str(ctx.server.port):
        ctx.finding("WSGI-ENV-02.g", f"{method} request: SERVER_PORT is {port!r}; the request "
                                     f"was received on TCP port {ctx.server.port}")


@check(
    id="pep3333.server-protocol",
    title="SERVER_PROTOCOL is the request line's HTTP version",
    requirements=["WSGI-ENV-03"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables' (SERVER_PROTOCOL)",
)
def server_protocol(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: SERVER_PROTOCOL must be present (WSGI-ENV-03.a) and is
    "The version of the protocol the client used to send the request." (WSGI-ENV-03.b, a
    definition of what the server produces); RFC 3875 4.1.16: "The SERVER_PROTOCOL variable
    MUST be set to the name and version of the application protocol used for this CGI
    request." (WSGI-ENV-03.d: a value without the name, like "1.1"). Through nginx the client
    of the server is nginx, which speaks HTTP/1.1 upstream. HTTP/1.0 and HTTP/1.1, each its
    own sub-case."""
    for version in ("HTTP/1.0", "HTTP/1.1"):
        with ctx.case(version):
            environ = observed_environ(ctx, ctx.request("GET", "/protocol", version=version))
            expected = ctx.upstream_version(version)
            got = environ.get("SERVER_PROTOCOL")
            if got is None or got == "":
                ctx.finding("WSGI-ENV-03.a", f"{version} request: SERVER_PROTOCOL is missing")
            elif got != expected and not _PROTOCOL_NAME_AND_VERSION.fullmatch(str(got)):
                ctx.finding("WSGI-ENV-03.d", f"{version} request: SERVER_PROTOCOL is {got!r}, "
                                             f"without the protocol's name and version "
                                             f"({expected!r})")
            elif got != expected:
                ctx.finding("WSGI-ENV-03.b", f"{version} request: SERVER_PROTOCOL is {got!r}, "
                                             f"expected {expected!r}")


def _absent_or_empty(environ: dict[str, Any], key: str) -> bool:
    return environ.get(key, "") == ""


@check(
    id="pep3333.optional-cgi-keys",
    title="SCRIPT_NAME, PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH as the request says",
    requirements=["WSGI-ENV-04", "WSGI-ENV-05", "WSGI-ENV-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables' (SCRIPT_NAME .. CONTENT_LENGTH)",
)
def optional_cgi_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: these "must be present, unless their value would be an
    empty string, in which case they may be omitted" (WSGI-ENV-04.a). QUERY_STRING is "The
    portion of the request URL that follows the "?", if any." (WSGI-ENV-04.d); CONTENT_TYPE
    and CONTENT_LENGTH are "The contents of any Content-Type fields in the HTTP request." and
    the same for Content-Length (WSGI-ENV-04.e, .f), so empty or absent when the request has
    none; for CONTENT_LENGTH RFC 3875 4.1.2 says it outright: "The server MUST set this
    meta-variable if and only if the request is accompanied by a message-body entity."
    (WSGI-ENV-04.h), so a value for the bare GET, which has no body, rests there; PATH_INFO
    and SCRIPT_NAME are the remainder of the path and the part of it that corresponds to the
    application, here mounted at the root (WSGI-ENV-06.a, .b); RFC 3875
    4.1.5 gives PATH_INFO's syntax, "PATH_INFO = "" | ( "/" path )" (WSGI-ENV-06.e), and "the
    server MUST preserve the case of the path as presented in the request URI." (WSGI-ENV-06.f:
    the bare GET's path has an upper-case letter). A bare GET and a POST with query, body and
    Content-Type are two sub-cases."""
    with ctx.case("GET without query, body or Content-Type"):
        # An upper-case letter in the path: its case must come through (WSGI-ENV-06.f).
        _judge_bare(ctx, observed_environ(ctx, ctx.request("GET", "/cgi/Bare")))
    with ctx.case("POST with query, body and Content-Type"):
        _judge_full(ctx, observed_environ(ctx, ctx.request(
            "POST", "/cgi/full?a=1&b=two", body=b"hello",
            headers=[("Content-Type", "application/x-www-form-urlencoded")])))


# Where a value the request does not supply must be absent or "" (the sentence it breaks:
# the key's definition; for CONTENT_LENGTH, RFC 3875 4.1.2's "if and only if the request is
# accompanied by a message-body entity", which says it in so many words, and the bare GET has
# no body).
_EMPTY_WHEN_UNSENT = (("QUERY_STRING", "WSGI-ENV-04.d"), ("CONTENT_TYPE", "WSGI-ENV-04.e"),
                      ("CONTENT_LENGTH", "WSGI-ENV-04.h"), ("SCRIPT_NAME", "WSGI-ENV-06.b"))


def _judge_bare(ctx: CheckContext, bare: dict[str, Any]) -> None:
    for key, ref in _EMPTY_WHEN_UNSENT:
        if not _absent_or_empty(bare, key):
            ctx.finding(ref if isinstance(bare.get(key), str) else "WSGI-ENV-05.a",
                        f"GET without query, body or Content-Type: environ[{key!r}] is "
                        f"{bare.get(key)!r}; it must be absent or ''")
    _judge_path_info(ctx, bare, "/cgi/Bare")


def _judge_full(ctx: CheckContext, full: dict[str, Any]) -> None:
    expected = (("QUERY_STRING", "a=1&b=two", "WSGI-ENV-04.d"),
                ("CONTENT_TYPE", "application/x-www-form-urlencoded", "WSGI-ENV-04.e"),
                ("CONTENT_LENGTH", "5", "WSGI-ENV-04.f"))
    for key, value, ref in expected:
        got = full.get(key)
        if got != value:
            # A value of another type (pyruvate's int CONTENT_LENGTH) breaks "CGI-defined
            # variables must be native strings" (WSGI-ENV-05.a), not the key's definition.
            ctx.finding("WSGI-ENV-04.a" if got in (None, "") else
                        "WSGI-ENV-05.a" if not isinstance(got, str) else ref,
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
    elif got != path and isinstance(got, str) and got and not got.startswith("/"):
        ctx.finding("WSGI-ENV-06.e", f"PATH_INFO is {got!r} for {path}: not empty and not "
                                     "starting with '/' (RFC 3875 4.1.5: PATH_INFO = \"\" | "
                                     "( \"/\" path ))")
    elif got != path and isinstance(got, str) and got.lower() == path.lower():
        ctx.finding("WSGI-ENV-06.f", f"PATH_INFO is {got!r} for {path}: the case of the path "
                                     "was not preserved")
    elif got != path:
        ctx.finding("WSGI-ENV-06.a", f"PATH_INFO is {got!r}, expected {path!r}")


@check(
    id="pep3333.http-headers",
    title="request headers appear as HTTP_* keys; Content-Type/Length only as CGI keys",
    requirements=["WSGI-ENV-08"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables' (HTTP_ Variables); CGI (RFC 3875 4.1.18)",
)
def http_headers(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: HTTP_ variables are "Variables corresponding to the
    client-supplied HTTP request headers" (WSGI-ENV-08.a, a definition) and "The presence or
    absence of these variables should correspond with the presence or absence of the
    appropriate HTTP header in the request." (WSGI-ENV-08.b, SHOULD). RFC 3875 4.1.18: "If
    multiple header fields with the same field-name are received then the server MUST rewrite
    them as a single value having the same semantics." (WSGI-ENV-08.h; joined with a comma,
    with optional whitespace, as RFC 9110 5.3 allows: WSGI-ENV-08.j), their values
    "concatenated in order" (RFC 9110 5.2, WSGI-ENV-08.i: both values, wrong order), and "In
    particular, it SHOULD remove any header fields carrying authentication information, such as
    'Authorization'; or that are available to the script in other variables, such as
    'Content-Length' and 'Content-Type'." (WSGI-ENV-08.f). CONTENT_TYPE is "The contents of
    any Content-Type fields in the HTTP request." (WSGI-ENV-08.g). A header found only under
    another spelling of its name breaks 4.1.18's "The HTTP header field name is converted to
    upper case, has all occurrences of "-" replaced with "_" and has "HTTP_" prepended to give
    the meta-variable name." (WSGI-ENV-08.e)."""
    exchange = ctx.request("POST", "/headers", body=b"abc", headers=[
        ("X-One", "1"), ("X-Dup", "a"), ("Content-Type", "text/plain"), ("x-dup", "b"),
        ("User-Agent", "conformance/1"),
    ])
    environ = observed_environ(ctx, exchange)
    for key, value in (("HTTP_X_ONE", "1"), ("HTTP_USER_AGENT", "conformance/1"),
                       ("HTTP_X_DUP", None)):
        misnamed = _misnamed(environ, key)
        if key not in environ and misnamed:
            ctx.finding("WSGI-ENV-08.e", f"{key} is missing, but {misnamed} carry its header: "
                                         "the name is not upper case with '-' as '_' after "
                                         "'HTTP_'")
        elif key not in environ:
            ctx.finding("WSGI-ENV-08.b", f"{key} is missing although the request had the header")
        elif value is not None and environ[key] != value:
            ctx.finding("WSGI-ENV-08.a", f"{key} is {environ[key]!r}, expected {value!r}")
    dup = environ.get("HTTP_X_DUP")
    if isinstance(dup, str) and not _JOINED_IN_ORDER.fullmatch(dup):
        if sorted(part.strip(" \t") for part in dup.split(",")) == ["a", "b"]:
            ctx.finding("WSGI-ENV-08.i", f"two X-Dup headers (a, b) gave HTTP_X_DUP {dup!r}: "
                                         "both values, but not concatenated in order")
        else:
            ctx.finding("WSGI-ENV-08.h", f"two X-Dup headers (a, b) gave HTTP_X_DUP {dup!r}; "
                                         "expected them joined with a comma in order")
    wrong = [k for k in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH") if k in environ]
    if wrong:
        ctx.finding("WSGI-ENV-08.f", f"{wrong} present: Content-Type/Content-Length should "
                                     "appear only as CONTENT_TYPE/CONTENT_LENGTH")
    if environ.get("CONTENT_TYPE") != "text/plain":
        ctx.finding("WSGI-ENV-08.g", f"CONTENT_TYPE is {environ.get('CONTENT_TYPE')!r} for "
                                     "Content-Type: text/plain")


# RFC 9110 5.3: "separated by a comma (",") and optional whitespace (OWS ...)", in order.
_JOINED_IN_ORDER = re.compile(r"a,[ \t]*b")


def _misnamed(environ: dict[str, Any], key: str) -> list[str]:
    """Keys that carry the header of ``key`` under another spelling: "-" kept, the case kept,
    or no "HTTP_" in front (RFC 3875 4.1.18's mapping not applied)."""
    return sorted(k for k in environ if k != key
                  and k.upper().replace("-", "_") in (key, key.removeprefix("HTTP_")))


@check(
    id="pep3333.wsgi-keys",
    title="wsgi.version (1, 0), wsgi.url_scheme, multithread/multiprocess/run_once truthful",
    requirements=["WSGI-ENV-10", "WSGI-ENV-11", "WSGI-IN-01"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables' (wsgi.* table); 'Input and Error Streams'",
)
def wsgi_keys(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: environ "must contain the following WSGI-defined
    variables" (WSGI-ENV-10.a); wsgi.version is "The tuple (1, 0), representing WSGI version
    1.0." (WSGI-ENV-10.b); wsgi.url_scheme is "A string representing the "scheme" portion of
    the URL at which the application is being invoked." (WSGI-ENV-10.c: "http" here), and
    "Normally, this will have the value "http" or "https", as appropriate." (WSGI-ENV-10.d: any
    other value); Input and Error Streams: "The methods listed in the table above must be
    supported by all servers conforming to this specification." (WSGI-ENV-11.b: wsgi.errors
    write, writelines, flush) and "The input and error streams provided by the server must
    support the following methods:" (WSGI-IN-01.a: wsgi.input read, readline, readlines,
    __iter__; what they return is pep3333.read-methods' concern).
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
    if "wsgi.url_scheme" in environ and scheme not in ("http", "https"):
        ctx.finding("WSGI-ENV-10.d", f"wsgi.url_scheme is {scheme!r}, neither 'http' nor "
                                     "'https'")
    elif "wsgi.url_scheme" in environ and scheme != "http":
        ctx.finding("WSGI-ENV-10.c", f"wsgi.url_scheme is {scheme!r} on a plain HTTP connection")
    missing_api = [name for name, ok in entry["errors_api"].items() if not ok]
    if "wsgi.errors" in environ and missing_api:
        ctx.finding("WSGI-ENV-11.b", f"wsgi.errors lacks {missing_api}")
    missing_input = [name for name, ok in entry["input_api"].items() if not ok]
    if "wsgi.input" in environ and missing_input:
        ctx.finding("WSGI-IN-01.a", f"wsgi.input lacks {missing_input}")
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


@check(
    id="pep3333.underscore-header-spoofing",
    title="X-A_B beside X-A-B: the underscore spelling never overwrites or merges into HTTP_X_A_B",
    requirements=["WSGI-ENV-09"],
    level=Level.HARDENING,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables' (HTTP_ Variables); RFC 9110 17.10 (Security "
            "Considerations); RFC 3875 4.1.18",
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
    id="pep3333.extra-keys-named",
    title="extra server keys use only lower-case letters, digits, dots and underscores",
    requirements=["WSGI-ENV-12"],
    level=Level.SHOULD,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables' (additional variables)",
)
def extra_keys_named(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: "Finally, the environ dictionary may also contain
    server-defined variables. These variables should be named using only lower-case letters,
    numbers, dots, and underscores, and should be prefixed with a name that is unique to the
    defining server or gateway." (WSGI-ENV-12.b, SHOULD). The characters are checked; a dot is
    not required (the separator after the prefix is not specified), and whether a prefix is
    unique to the server cannot be read from one environ. CGI-style upper-case names are CGI
    meta-variables, held to CGI's own rule (below); wsgi.* keys belong to the spec;
    and the environ "may also contain arbitrary operating-system "environment variables""
    (WSGI-ENV-12.c: the server process's os.environ, which the probe journals, is excluded).
    Upper-case keys beyond RFC 3875's meta-variables and HTTP_* are CGI extension
    meta-variables: "The server MAY set additional implementation-defined extension meta-
    variables, whose names SHOULD be prefixed with "X_"." (WSGI-ENV-12.d, SHOULD; REMOTE_PORT,
    REQUEST_URI and the like). Each rule is its own sub-case."""
    exchange = respond(ctx, "os-environ")
    os_keys = set(required_step(ctx, exchange.rid, "os-environ")["keys"])
    environ = observed_environ(ctx, exchange)
    with ctx.case("server-defined variables"):
        bad = sorted(k for k in environ
                     if not k.startswith("wsgi.") and not _CGI_STYLE.fullmatch(k)
                     and k not in os_keys and not _EXTRA_KEY.fullmatch(k))
        if bad:
            ctx.finding("WSGI-ENV-12.b", f"environ keys that are neither CGI variables nor "
                                         f"named with lower-case letters, digits, dots and "
                                         f"underscores: {bad}")
    with ctx.case("CGI extension meta-variables"):
        extensions = sorted(k for k in environ
                            if _CGI_STYLE.fullmatch(k) and k not in os_keys
                            and k not in CGI_VARIABLES and not k.startswith(("HTTP_", "X_")))
        if extensions:
            ctx.finding("WSGI-ENV-12.d", f"upper-case keys that are neither RFC 3875 "
                                         f"meta-variables, HTTP_* nor prefixed with 'X_': "
                                         f"{extensions}")


# The mount every target's [proxy] prefix_args configure, and a request for it whose first
# segment spells "app" with a percent-encoded "a": a server that takes SCRIPT_NAME from the
# request line without decoding it hands the app "/%61pp".
_MOUNT = "/app"
_ENCODED_MOUNT_PATH = "/%61pp/mounted/x"


@check(
    id="pep3333.script-name-option",
    title="with the server's prefix option, SCRIPT_NAME is not URL-encoded",
    requirements=["WSGI-ENV-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    via=("direct",),
    own_server=True,
    section="PEP 3333 'environ Variables' (SCRIPT_NAME); RFC 3875 4.1.13",
)
def script_name_option(ctx: CheckContext) -> None:
    """RFC 3875 4.1.13: "The SCRIPT_NAME variable MUST be set to a URI path (not URL-encoded)
    which could identify the CGI script (rather than the script's output)." (WSGI-ENV-06.d).
    At the root SCRIPT_NAME is empty and cannot show it, so the server runs with its documented
    prefix option (the TOML's [proxy] prefix_args, mounting the app at /app) and is sent
    GET /%61pp/mounted/x, the mount with its "a" percent-encoded. A SCRIPT_NAME with a "%" in
    it is URL-encoded (no "%25" is sent); where the server splits the path is recorded, never
    judged (how a server is mounted is specified nowhere, PROXY-05). A server that answers
    either request without passing it to the app is reported: "The server MAY impose
    restrictions and limitations on what values it permits for PATH_INFO, and MAY reject the
    request with an error if it encounters any values considered objectionable."
    (WSGI-ENV-06.j, INFO)."""
    args = ctx.target.proxy_args("prefix_args")
    if not args:
        ctx.unsupported("the target declares no prefix option ([proxy] prefix_args): at the "
                        "root SCRIPT_NAME is empty")
    server = ctx.start_server(extra_args=args, label="script-name")
    views: list[str] = []
    for target in (f"{_MOUNT}/mounted/x", _ENCODED_MOUNT_PATH):
        response, entry = get_on_own_server(ctx, server, target + "?q=1")
        if entry is None:
            views.append(f"GET {target}: {response.status or 'no answer'}, not seen by the app")
            ctx.finding("WSGI-ENV-06.j", f"with {' '.join(args)}, GET {target} got "
                                         f"{response.status or 'no answer'} and never reached "
                                         "the app")
            continue
        environ = entry["environ"]
        script_name, path_info = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
        views.append(f"GET {target}: SCRIPT_NAME {script_name!r}, PATH_INFO {path_info!r}")
        if isinstance(script_name, str) and "%" in script_name:
            ctx.finding("WSGI-ENV-06.d", f"with {' '.join(args)}, GET {target}: SCRIPT_NAME "
                                         f"is {script_name!r}, URL-encoded (the request has "
                                         "no '%25', so a decoded SCRIPT_NAME has no '%')")
    ctx.details["views"] = views
