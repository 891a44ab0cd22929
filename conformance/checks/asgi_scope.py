"""ASGI HTTP connection scope (asgi.rst; asgi-www.rst "HTTP Connection Scope").

Each check sends ordinary requests and reads the scope the probe app journalled for them. Most
scope keys are keyword-less definitions of what the server hands the app: the catalogue holds
them at MUST, as a definition of the interface the server produces; the few shoulds stay
shoulds.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import OBS_TEXT_VALUE, observed_scope, request_with_obs_text
from conformance.context import CheckContext
from conformance.verdicts import HarnessError, Level

ASGI = ("asgi",)


@check(
    id="asgi-scope.type-and-version",
    title="scope[\"asgi\"] is a dict with a str version (3.0), spec_version a str",
    requirements=["ASGI-SCOPE-01"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi.rst 'Applications', 'Version History'; asgi-www.rst 'HTTP Connection Scope'",
)
def type_and_version(ctx: CheckContext) -> None:
    """asgi.rst, Applications: "The key scope["asgi"] will also be present as a dictionary
    containing a scope["asgi"]["version"] key that corresponds to the ASGI version the server
    implements." (ASGI-SCOPE-01.f); asgi-www.rst: "asgi["version"] (*Unicode string*) --
    Version of the ASGI spec." (.g). No sentence says "3.0" must be reported; the version
    history ties it to the calling style: "3.0 (2019-03-04): Changed to single-callable
    application style" (.h). The probe app is a single callable, so a server that runs it
    implements 3.0 and a version other than 3.0 does not correspond. ``spec_version`` is
    optional ("There may also be a spec-specific version present"), a str when present
    (.k). All four are definitions of the scope: MUST.

    The probe app journals only scopes whose type is "http", so an HTTP request that reached
    it had that type (ASGI-SCOPE-01.d/.e are not judged here)."""
    scope = observed_scope(ctx, ctx.request("GET", "/scope/type"))
    asgi = scope.get("asgi")
    ctx.require(isinstance(asgi, dict), "ASGI-SCOPE-01.f", f"scope['asgi'] is {asgi!r}, not a dict")
    assert isinstance(asgi, dict)
    version = asgi.get("version")
    if not isinstance(version, str):
        ctx.finding("ASGI-SCOPE-01.g", f"scope['asgi']['version'] is {version!r}, not a str")
    elif version != "3.0":
        ctx.finding("ASGI-SCOPE-01.h", f"scope['asgi']['version'] is {version!r} although the "
                                       "server calls the app as a single callable (ASGI 3.0)")
    if "spec_version" in asgi and not isinstance(asgi["spec_version"], str):
        ctx.finding("ASGI-SCOPE-01.k",
                    f"scope['asgi']['spec_version'] is {asgi['spec_version']!r}, not a str")


@check(
    id="asgi-scope.http-version-method-scheme",
    title="http_version matches the request, method is upper-case str, scheme http",
    requirements=["ASGI-SCOPE-02"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (http_version, method, scheme)",
)
def http_version_method_scheme(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope: "http_version (*Unicode string*) -- One of "1.0",
    "1.1" or "2"." (ASGI-SCOPE-02.a) and "The HTTP version is available as a string in the
    scope." (.b: the request's version); "method (*Unicode string*) -- The HTTP method name,
    uppercased." (.c); ``scheme`` is the "URL scheme portion (likely "http" or "https")"
    (.d: "http" on a plain TCP connection) and "Optional (but must not be empty); default is
    "http"." (.e). Definitions, and one must: all MUST. Three requests, one sub-case each."""
    for version, method in (("HTTP/1.1", "GET"), ("HTTP/1.0", "POST"), ("HTTP/1.1", "DELETE")):
        with ctx.case(f"{method} {version}"):
            body = b"x=1" if method == "POST" else b""
            scope = observed_scope(ctx, ctx.request(method, "/scope/version", version=version,
                                                    body=body))
            _judge_version_method_scheme(ctx, scope, version, method)


def _judge_version_method_scheme(ctx: CheckContext, scope: dict[str, Any], version: str,
                                 method: str) -> None:
    got = scope.get("http_version")
    expected = ctx.upstream_version(version).removeprefix("HTTP/")
    if got not in ("1.0", "1.1", "2"):
        ctx.finding("ASGI-SCOPE-02.a", f"{version} request: scope['http_version'] is {got!r}, "
                                       "not one of '1.0', '1.1', '2'")
    elif got != expected:
        ctx.finding("ASGI-SCOPE-02.b", f"{version} request: scope['http_version'] is {got!r}, "
                                       f"the request's version is {expected!r}")
    if not (isinstance(scope.get("method"), str) and scope.get("method") == method):
        ctx.finding("ASGI-SCOPE-02.c", f"{method} request: scope['method'] is "
                                       f"{scope.get('method')!r}")
    scheme = scope.get("scheme", "http")
    if scheme == "":
        ctx.finding("ASGI-SCOPE-02.e", "scope['scheme'] is the empty string")
    elif scheme != "http":
        ctx.finding("ASGI-SCOPE-02.d", f"plain-TCP request: scope['scheme'] is {scheme!r}, "
                                       "not 'http'")


@check(
    id="asgi-scope.path-and-raw-path",
    title="path is percent-decoded UTF-8 str; raw_path is the target's path bytes verbatim",
    requirements=["ASGI-SCOPE-03"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (path, raw_path)",
)
def path_and_raw_path(ctx: CheckContext) -> None:
    """asgi-www.rst: "path (*Unicode string*) -- HTTP request target excluding any query
    string, with percent-encoded sequences and UTF-8 byte sequences decoded into characters."
    (ASGI-SCOPE-03.a); "raw_path (*byte string*) -- The original HTTP path component,
    excluding any query string, unmodified from the bytes that were received by the web
    server." (.c; "%2F" stays encoded). Both definitions: MUST. raw_path may be absent ("Some
    web server implementations may be unable to provide this.") and, through nginx, the bytes
    the server received are nginx's: checked direct only. One sub-case per target."""
    cases = [
        (b"/plain/path", "/plain/path"),
        (b"/caf%C3%A9/%E2%9C%93", "/caf\u00e9/\u2713"),
        (b"/a%20b/c%2Fd", "/a b/c/d"),
        (b"/q?x=%2F&y=1", "/q"),
    ]
    for target, expected_path in cases:
        with ctx.case(target.decode()):
            scope = observed_scope(ctx, ctx.request("GET", target))
            if scope.get("path") != expected_path:
                ctx.finding("ASGI-SCOPE-03.a", f"target {target!r}: scope['path'] is "
                                               f"{scope.get('path')!r}, expected {expected_path!r}")
            raw_path = scope.get("raw_path")
            expected_raw = target.split(b"?", 1)[0]
            if raw_path is not None and ctx.via == "direct" and raw_path != expected_raw:
                ctx.finding("ASGI-SCOPE-03.c", f"target {target!r}: scope['raw_path'] is "
                                               f"{raw_path!r}, expected {expected_raw!r} (the "
                                               "bytes received, without the query)")


@check(
    id="asgi-scope.query-string",
    title="query_string is the raw bytes after '?', undecoded",
    requirements=["ASGI-SCOPE-04"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (query_string)",
)
def query_string(ctx: CheckContext) -> None:
    """asgi-www.rst: "query_string (*byte string*) -- URL portion after the ?,
    percent-encoded." (ASGI-SCOPE-04.a, a definition: MUST); b"" when the target has none.
    One sub-case per target."""
    for target, expected in ((b"/qs?a=1&b=%20%2F+x", b"a=1&b=%20%2F+x"), (b"/qs", b""),
                             (b"/qs?", b""), (b"/qs?k=%C3%A9&k=2", b"k=%C3%A9&k=2")):
        with ctx.case(target.decode()):
            value = observed_scope(ctx, ctx.request("GET", target)).get("query_string")
            if not isinstance(value, bytes):
                ctx.finding("ASGI-SCOPE-04.a", f"target {target!r}: scope['query_string'] is "
                                               f"{type(value).__name__} {value!r}, not bytes")
            elif value != expected:
                ctx.finding("ASGI-SCOPE-04.a", f"target {target!r}: scope['query_string'] is "
                                               f"{value!r}, expected {expected!r}")


@check(
    id="asgi-scope.headers",
    title="headers are [bytes, bytes] pairs, order and duplicates kept, names lower-cased",
    requirements=["ASGI-SCOPE-05"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (headers); RFC 9110 5.5",
)
def headers(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope: "headers (*Iterable[[byte string, byte
    string]]*) -- An iterable of [name, value] two-item iterables, where name is the header
    name, and value is the header value." (ASGI-SCOPE-05.a, a definition: MUST) "Order of
    header values must be preserved from the original HTTP request; order of header names is
    not important." (.b) "Duplicates are possible and must be preserved in the message as
    received." (.c) "Pseudo headers (present in HTTP/2 and HTTP/3) must be removed" (.e).
    Values are "byte strings of the exact byte sequences sent by the client" (.g), obs-text
    bytes 0x80-0xFF included. "Header names should be lowercased, but it is not required"
    (.d): a name that is not lower case is a SHOULD. Rejecting a value with obs-text breaks
    RFC 9110 5.5's "A recipient SHOULD treat other allowed octets in field content (i.e.,
    obs-text) as opaque data." (.h, SHOULD). Two sub-cases: the ordinary headers, obs-text."""
    with ctx.case("order and duplicates"):
        _judge_headers(ctx)
    with ctx.case("obs-text"):
        exchange, rejected = request_with_obs_text(ctx, "/scope/obs-text")
        ctx.require(rejected is None, "ASGI-SCOPE-05.h", rejected or "")
        latin = [bytes(v) for n, v in _pairs(observed_scope(ctx, exchange))
                 if bytes(n).lower() == b"x-latin"]
        if latin != [OBS_TEXT_VALUE]:
            ctx.finding("ASGI-SCOPE-05.g", f"header value {OBS_TEXT_VALUE!r} reached the app as "
                                           f"{latin!r}, not as the bytes sent")


def _pairs(scope: dict[str, Any]) -> list[Any]:
    """scope['headers'] as the journal kept it: a list or tuple of pairs. Another iterable
    (which the spec allows) is journalled by its type name only: the suite cannot look in."""
    pairs = scope.get("headers")
    if isinstance(pairs, dict) and "__object__" in pairs:
        raise HarnessError(f"scope['headers'] is a {pairs['__object__']} object, which the "
                           "probe journals by type name only: its pairs cannot be checked")
    return list(pairs) if isinstance(pairs, list | tuple) else []


def _judge_headers(ctx: CheckContext) -> None:
    sent: list[tuple[str | bytes, str | bytes]] = [
        ("X-Dup", "first"), ("Accept", "text/plain"), ("x-dup", "second"),
        ("X-Mixed-Case", "Value With Case"), ("X-Dup", "third")]
    scope = observed_scope(ctx, ctx.request("GET", "/scope/headers", headers=sent))
    ctx.require(isinstance(scope.get("headers"), list | tuple), "ASGI-SCOPE-05.a",
                f"scope['headers'] is {scope.get('headers')!r}, not an iterable of pairs")
    pairs = _pairs(scope)
    bad = [p for p in pairs if not (isinstance(p, list | tuple) and len(p) == 2
                                    and all(isinstance(x, bytes) for x in p))]
    ctx.require(not bad, "ASGI-SCOPE-05.a", f"header entries {bad[:3]!r} are not "
                                            "[bytes, bytes] pairs")
    names = [bytes(p[0]) for p in pairs]
    pseudo = [n for n in names if n.startswith(b":")]
    if pseudo:
        ctx.finding("ASGI-SCOPE-05.e", f"pseudo-headers in scope['headers']: {pseudo!r}")
    dups = [bytes(v) for n, v in pairs if bytes(n).lower() == b"x-dup"]
    if sorted(dups) != sorted([b"first", b"second", b"third"]):
        ctx.finding("ASGI-SCOPE-05.c", f"the repeated X-Dup header reached the app as {dups!r}, "
                                       "not as the three fields received (first, second, third)")
    elif dups != [b"first", b"second", b"third"]:
        ctx.finding("ASGI-SCOPE-05.b", f"the values of the repeated X-Dup header are in the "
                                       f"order {dups!r}, not first, second, third as received")
    mixed = [bytes(v) for n, v in pairs if bytes(n).lower() == b"x-mixed-case"]
    if mixed != [b"Value With Case"]:
        ctx.finding("ASGI-SCOPE-05.g", f"X-Mixed-Case value reached the app as {mixed!r}, not "
                                       "b'Value With Case'")
    upper = [n for n in names if n != n.lower()]
    if upper:
        ctx.finding("ASGI-SCOPE-05.d", f"header names not lower-cased in scope['headers']: "
                                       f"{upper!r}")


@check(
    id="asgi-scope.client-and-server",
    title="client is [host, port] of the peer; server is [host, port] the server listens on",
    requirements=["ASGI-SCOPE-07"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (client, server)",
)
def client_and_server(ctx: CheckContext) -> None:
    """asgi-www.rst: "client (*Iterable[Unicode string, int]*) -- A two-item iterable of
    [host, port], where host is the remote host's IPv4 or IPv6 address, and port is the
    remote port as an integer." (ASGI-SCOPE-07.a) and "server (*Iterable[Unicode string,
    Optional[int]]*) -- Either a two-item iterable of [host, port], where host is the
    listening address for this server, and port is the integer listening port, or [path,
    None] where path is that of the unix socket." (.b). Both optional (None), both
    definitions: MUST. Through nginx the peer is nginx, whose port the suite does not know:
    the client's value is checked direct only."""
    exchange = ctx.request("GET", "/scope/peers")
    scope = observed_scope(ctx, exchange)
    client: Any = scope.get("client")
    server: Any = scope.get("server")
    if client is not None:
        if not (isinstance(client, list | tuple) and len(client) == 2
                and isinstance(client[0], str) and isinstance(client[1], int)):
            ctx.finding("ASGI-SCOPE-07.a", f"scope['client'] is {client!r}, not "
                                           "[host str, port int]")
        elif ctx.via == "direct" and list(client) != ["127.0.0.1",
                                                      exchange.connection.local_port]:
            ctx.finding("ASGI-SCOPE-07.a", f"scope['client'] is {client!r}; the peer is "
                                           f"['127.0.0.1', {exchange.connection.local_port}]")
    if server is not None:
        if not (isinstance(server, list | tuple) and len(server) == 2
                and isinstance(server[0], str) and isinstance(server[1], int | None)):
            ctx.finding("ASGI-SCOPE-07.b", f"scope['server'] is {server!r}, not "
                                           "[host str, port int]")
        elif list(server) != ["127.0.0.1", ctx.server.port]:
            ctx.finding("ASGI-SCOPE-07.b", f"scope['server'] is {server!r}; the server listens "
                                           f"on ['127.0.0.1', {ctx.server.port}]")
