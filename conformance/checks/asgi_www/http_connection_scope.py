"""asgi-www.rst, "HTTP Connection Scope": the keys of the http scope.

Most scope keys are keyword-less definitions of what the server hands the app: the catalogue
holds them at MUST, as a definition of the interface the server produces; the few shoulds stay
shoulds.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import (
    OBS_TEXT_VALUE,
    get_on_own_server,
    observed_entry,
    observed_scope,
    request_with_obs_text,
)
from conformance.checks.support.generated_requests import asgi_compare, asgi_unseen, run_property
from conformance.context import CheckContext
from conformance.verdicts import HarnessError, Level

MOUNT = "/app"  # the mount every target's [proxy] prefix_args configure


@check(
    id="asgi-www.scope-generated-requests",
    title="for generated valid requests the scope and body events equal the oracle's",
    requirements=["ASGI-SCOPE-01", "ASGI-SCOPE-02", "ASGI-SCOPE-03", "ASGI-SCOPE-04",
                  "ASGI-SCOPE-05", "ASGI-SCOPE-06", "ASGI-SCOPE-07", "ASGI-HTTP-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'HTTP Connection Scope'; 'Request - receive event'",
)
def asgi_generated(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope and Request, for generated valid requests: type
    (ASGI-SCOPE-01.d), http_version, method, scheme (ASGI-SCOPE-02.a, .c, .d), path
    (percent-decoded UTF-8, ASGI-SCOPE-03.a), raw_path (verbatim, ASGI-SCOPE-03.c),
    query_string (raw, ASGI-SCOPE-04.a), root_path (ASGI-SCOPE-06.a), headers ("Duplicates are
    possible and must be preserved in the message as received.", ASGI-SCOPE-05.c; values as
    sent, ASGI-SCOPE-05.g; names compared case-insensitively, lower-casing is its own check),
    client and server (ASGI-SCOPE-07.a, .b) equal the oracle's, and the http.request bodies
    concatenate to the body (ASGI-HTTP-01.c) with exactly one final more_body False
    (ASGI-HTTP-01.e). A valid request that never reaches the app breaks "Sent to the
    application to indicate an incoming request." (ASGI-HTTP-01.a). Each of these is a MUST."""
    from conformance import strategies  # Hypothesis: imported when a check generates

    run_property(ctx, strategies.asgi_requests(), asgi_compare, asgi_unseen)


@check(
    id="asgi-www.scope-type-and-version",
    title="the scope is a dict of type \"http\"; scope[\"asgi\"] a dict with a str version "
          "(3.0), spec_version a str",
    requirements=["ASGI-SCOPE-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-www.rst 'HTTP Connection Scope'; asgi.rst 'Applications', 'Version History'",
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

    The scope itself, for an HTTP request (MUST each): "scope must be a dict." (.a; a
    mapping of another class is not); "The key scope["type"] will always be present" (.b);
    "In scopes, the type key must be a Unicode string" (.c); and its value is "type
    (*Unicode string*) -- "http"." (.d). The probe app journals a scope of a type it does
    not understand (or of none) before it rejects it with an exception, so a wrongly typed
    HTTP request is judged here from what the app saw."""
    entry = observed_entry(ctx, ctx.request("GET", "/scope/type"))
    scope = entry["scope"]
    if not entry.get("scope_is_dict", True):  # its keys are still judged below
        ctx.finding("ASGI-SCOPE-01.a", f"the scope is a {entry.get('scope_class')} object, "
                                       "not a dict")
    kind = scope.get("type")
    if "type" not in scope:
        ctx.finding("ASGI-SCOPE-01.b", f"the scope has no 'type' key (keys: {sorted(scope)})")
    elif not isinstance(kind, str):
        ctx.finding("ASGI-SCOPE-01.c", f"scope['type'] is {type(kind).__name__} {kind!r}, not "
                                       "a Unicode string")
    elif kind != "http":
        ctx.finding("ASGI-SCOPE-01.d", f"an HTTP request's scope['type'] is {kind!r}, not "
                                       "'http'")
    asgi = scope.get("asgi")
    ctx.require(isinstance(asgi, dict), "ASGI-SCOPE-01.f", f"scope['asgi'] is {asgi!r}, not a dict")
    assert isinstance(asgi, dict)
    version = asgi.get("version")
    if "version" not in asgi:
        # "a dictionary containing a scope["asgi"]["version"] key": no key is .f, whose type
        # (.g) and value (.h) cannot then be judged.
        ctx.finding("ASGI-SCOPE-01.f", f"scope['asgi'] is {asgi!r}, a dict without the "
                                       "'version' key")
    elif not isinstance(version, str):
        ctx.finding("ASGI-SCOPE-01.g", f"scope['asgi']['version'] is {version!r}, not a str")
    elif version != "3.0":
        ctx.finding("ASGI-SCOPE-01.h", f"scope['asgi']['version'] is {version!r} although the "
                                       "server calls the app as a single callable (ASGI 3.0)")
    if "spec_version" in asgi and not isinstance(asgi["spec_version"], str):
        ctx.finding("ASGI-SCOPE-01.k",
                    f"scope['asgi']['spec_version'] is {asgi['spec_version']!r}, not a str")


@check(
    id="asgi-www.scope-http-version-method-scheme",
    title="http_version matches the request, method is upper-case str, scheme http",
    requirements=["ASGI-SCOPE-02"],
    level=Level.MUST,
    interfaces=("asgi",),
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
    id="asgi-www.scope-path-and-raw-path",
    title="path is percent-decoded UTF-8 str; raw_path is the target's path bytes verbatim",
    requirements=["ASGI-SCOPE-03"],
    level=Level.MUST,
    interfaces=("asgi",),
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
    id="asgi-www.scope-query-string",
    title="query_string is the raw bytes after '?', undecoded",
    requirements=["ASGI-SCOPE-04"],
    level=Level.MUST,
    interfaces=("asgi",),
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
    id="asgi-www.scope-headers",
    title="headers are [bytes, bytes] pairs, order and duplicates kept, names lower-cased",
    requirements=["ASGI-SCOPE-05"],
    level=Level.MUST,
    interfaces=("asgi",),
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
        latin = [v for n, v in _named_pairs(observed_scope(ctx, exchange))
                 if _name_of(n) == b"x-latin"]
        ctx.require(all(isinstance(v, bytes) for v in latin), "ASGI-SCOPE-05.a",
                    f"header value {OBS_TEXT_VALUE!r} reached the app as {latin!r}, not as a "
                    "byte string")
        if latin != [OBS_TEXT_VALUE]:
            ctx.finding("ASGI-SCOPE-05.g", f"header value {OBS_TEXT_VALUE!r} reached the app as "
                                           f"{latin!r}, not as the bytes sent")


def _name_of(name: Any) -> bytes | None:
    """A header name lower-cased for matching: bytes as given, a str (a type the check
    reports on ASGI-SCOPE-05.a) by its latin-1 bytes, anything else None."""
    if isinstance(name, bytes):
        return name.lower()
    if isinstance(name, str):
        return name.encode("latin-1", "replace").lower()
    return None


def _named_pairs(scope: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The entries of scope['headers'] that are two-item lists or tuples, as the journal kept
    them (values of any type: the caller judges them)."""
    return [(p[0], p[1]) for p in _pairs(scope) if isinstance(p, list | tuple) and len(p) == 2]


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
    id="asgi-www.scope-client-and-server",
    title="client is [host, port] of the peer; server is [host, port] the server listens on",
    requirements=["ASGI-SCOPE-07"],
    level=Level.MUST,
    interfaces=("asgi",),
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


@check(
    id="asgi-www.scope-root-path",
    title="root_path is a str (and path starts with it: reported when not)",
    requirements=["ASGI-SCOPE-06"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-www.rst 'HTTP Connection Scope' (root_path); 'WSGI Compatibility'",
)
def root_path(ctx: CheckContext) -> None:
    """asgi-www.rst: "root_path (*Unicode string*) -- The root path this application is
    mounted at; same as SCRIPT_NAME in WSGI." (ASGI-SCOPE-06.a, a definition: MUST), so a
    root_path that is not a str is a fail. WSGI Compatibility: "PATH_INFO can be derived by
    stripping root_path from path" (.c) implies path starts with root_path, but it is a
    can, not a rule: a path that does not start with it, and a non-empty root_path from a
    server started without a mount prefix, are reported (INFO)."""
    scope = observed_scope(ctx, ctx.request("GET", "/mounted/app?x=1"))
    value, path = scope.get("root_path", ""), str(scope.get("path", ""))
    ctx.require(isinstance(value, str), "ASGI-SCOPE-06.a",
                f"scope['root_path'] is {value!r}, not a str")
    if not path.startswith(value):
        ctx.finding("ASGI-SCOPE-06.c", f"scope['path'] {path!r} does not start with root_path "
                                       f"{value!r}, so PATH_INFO cannot be derived by "
                                       "stripping it")
    elif value:
        ctx.finding("ASGI-SCOPE-06.c", f"without a configured prefix the server reports "
                                       f"root_path {value!r} (path {path!r})")


@check(
    id="asgi-www.scope-root-path-option",
    title="with the server's prefix option: root_path is a str; what root_path and path are (info)",
    requirements=["ASGI-SCOPE-06"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-www.rst 'HTTP Connection Scope' (root_path); 'WSGI Compatibility'",
)
def root_path_option(ctx: CheckContext) -> None:
    """asgi-www.rst: root_path is "The root path this application is mounted at; same as
    SCRIPT_NAME in WSGI" (ASGI-SCOPE-06.a: a str, MUST), and "PATH_INFO can be derived by
    stripping root_path from path" (.c, a can). The server runs with its documented prefix
    option (the TOML's [proxy] prefix_args, mounting the app at /app) and is sent GET
    /app/mounted/x and GET /mounted/x directly (a proxy may keep or strip the prefix, and
    servers document one or the other). How a server is mounted is specified nowhere: what
    it reports is information (.c, INFO), which also says when neither request gives
    root_path "/app" with path "/app/mounted/x", the view from which an app derives both its
    mount and its own path. A root_path that is not a str fails."""
    args = ctx.target.proxy_args("prefix_args")
    if not args:
        ctx.unsupported("the target declares no prefix option ([proxy] prefix_args)")
    server = ctx.start_server(extra_args=args, label="root-path")
    views: list[str] = []
    consistent = False
    # Both deployments servers document: a proxy that keeps the prefix, and one that strips it.
    for target in ("/app/mounted/x", "/mounted/x"):
        response, entry = get_on_own_server(ctx, server, target + "?q=1")
        if entry is None:
            views.append(f"GET {target}: {response.status or 'no answer'}, not seen by the app")
            continue
        root, path = entry["scope"].get("root_path", ""), entry["scope"].get("path", "")
        if not isinstance(root, str):
            ctx.finding("ASGI-SCOPE-06.a", f"with {' '.join(args)}, GET {target}: "
                                           f"scope['root_path'] is {root!r}, not a str")
        views.append(f"GET {target}: root_path {root!r}, path {path!r}")
        consistent |= root == MOUNT and path == MOUNT + "/mounted/x"
    report = f"with {' '.join(args)}: " + "; ".join(views)
    if not consistent:
        report += (f". In neither deployment is root_path the mount {MOUNT!r} with path "
                   f"{MOUNT + '/mounted/x'!r}, the view from which the application derives its "
                   "own path and mount")
    ctx.finding("ASGI-SCOPE-06.c", report)
