"""ASGI HTTP connection scope (asgi.rst; asgi-www.rst "HTTP Connection Scope").

Each check sends ordinary requests and reads the scope the probe app journalled for them.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.common import OBS_TEXT_VALUE, observed_scope, request_with_obs_text
from conformance.context import CheckContext
from conformance.verdicts import Level

ASGI = ("asgi",)


@check(
    id="asgi-scope.type-and-version",
    title="scope type is \"http\", asgi.version is \"3.0\", asgi.spec_version a str",
    requirements=["ASGI-SCOPE-01"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi.rst 'Specification Details' (asgi key); asgi-www.rst 'HTTP Connection Scope'",
)
def type_and_version(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope: ``type`` is ``"http"``; ``asgi["version"]`` is
    ``"3.0"`` (asgi.rst: "the version of the ASGI spec"); ``asgi["spec_version"]``, optional,
    is a str ("2.0" .. "2.5") when present."""
    scope = observed_scope(ctx, ctx.request("GET", "/scope/type"))
    ctx.expect(scope.get("type") == "http", f"scope['type'] is {scope.get('type')!r}, not 'http'")
    asgi = scope.get("asgi")
    ctx.expect(isinstance(asgi, dict), f"scope['asgi'] is {asgi!r}, not a dict")
    ctx.expect(asgi.get("version") == "3.0",
               f"scope['asgi']['version'] is {asgi.get('version')!r}, not '3.0'")
    if "spec_version" in asgi:
        ctx.expect(isinstance(asgi["spec_version"], str),
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
    """asgi-www.rst, HTTP Connection Scope: ``http_version`` is one of "1.0", "1.1", "2" and
    is the request's version; ``method`` is "the HTTP method name, uppercased"; ``scheme`` is
    "http" or "https" (optional, default "http"), "http" on a plain TCP connection."""
    for version, method in (("HTTP/1.1", "GET"), ("HTTP/1.0", "POST"), ("HTTP/1.1", "DELETE")):
        body = b"x=1" if method == "POST" else b""
        scope = observed_scope(ctx, ctx.request(method, "/scope/version", version=version,
                                                body=body))
        expected = ctx.upstream_version(version).removeprefix("HTTP/")
        ctx.expect(scope.get("http_version") == expected,
                   f"{version} request: scope['http_version'] is {scope.get('http_version')!r}, "
                   f"expected {expected!r}")
        ctx.expect(scope.get("method") == method and isinstance(scope.get("method"), str),
                   f"{method} request: scope['method'] is {scope.get('method')!r}")
        ctx.expect(scope.get("scheme", "http") == "http",
                   f"plain-TCP request: scope['scheme'] is {scope.get('scheme')!r}, not 'http'")


@check(
    id="asgi-scope.path-and-raw-path",
    title="path is percent-decoded UTF-8 str; raw_path is the target's path bytes verbatim",
    requirements=["ASGI-SCOPE-03"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (path, raw_path)",
)
def path_and_raw_path(ctx: CheckContext) -> None:
    """asgi-www.rst: ``path`` is the request target "excluding any query string, with
    percent-encoded sequences and UTF-8 byte sequences decoded into characters"; ``raw_path``
    (optional) is "the original HTTP path component, unmodified from the bytes that were
    received by the web server" ("%2F" stays encoded)."""
    cases = [
        (b"/plain/path", "/plain/path"),
        (b"/caf%C3%A9/%E2%9C%93", "/caf\u00e9/\u2713"),
        (b"/a%20b/c%2Fd", "/a b/c/d"),
        (b"/q?x=%2F&y=1", "/q"),
    ]
    for target, expected_path in cases:
        scope = observed_scope(ctx, ctx.request("GET", target))
        ctx.expect(scope.get("path") == expected_path,
                   f"target {target!r}: scope['path'] is {scope.get('path')!r}, "
                   f"expected {expected_path!r}")
        raw_path = scope.get("raw_path")
        if raw_path is not None and ctx.via == "direct":
            expected_raw = target.split(b"?", 1)[0]
            ctx.expect(raw_path == expected_raw,
                       f"target {target!r}: scope['raw_path'] is {raw_path!r}, "
                       f"expected {expected_raw!r} (the bytes received, without the query)")


@check(
    id="asgi-scope.query-string",
    title="query_string is the raw bytes after '?', undecoded",
    requirements=["ASGI-SCOPE-04"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (query_string)",
)
def query_string(ctx: CheckContext) -> None:
    """asgi-www.rst: ``query_string`` (byte string) is the "URL portion after the ?,
    percent-encoded"; b"" when the target has none."""
    for target, expected in ((b"/qs?a=1&b=%20%2F+x", b"a=1&b=%20%2F+x"), (b"/qs", b""),
                             (b"/qs?", b""), (b"/qs?k=%C3%A9&k=2", b"k=%C3%A9&k=2")):
        scope = observed_scope(ctx, ctx.request("GET", target))
        value = scope.get("query_string")
        ctx.expect(isinstance(value, bytes),
                   f"target {target!r}: scope['query_string'] is {type(value).__name__}, not bytes")
        ctx.expect(value == expected,
                   f"target {target!r}: scope['query_string'] is {value!r}, expected {expected!r}")


@check(
    id="asgi-scope.headers",
    title="headers are [bytes, bytes] pairs, names lower-cased, order and duplicates kept",
    requirements=["ASGI-SCOPE-05"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (headers)",
)
def headers(ctx: CheckContext) -> None:
    """asgi-www.rst: ``headers`` is "an iterable of [name, value] two-item iterables, where
    name is the header name, and value is the header value. Order of header values must be
    preserved from the original HTTP request; order of header names is not important.
    Duplicates are possible and must be preserved in the message as received. Header names
    should be lowercased, but it is not required"; HTTP/1 servers "should" lower-case them and
    pseudo headers must not appear. A name that is not lower case is therefore a warn, not a
    fail. Values are byte strings: obs-text bytes 0x80-0xFF pass unchanged (a server that
    rejects them breaks RFC 9110 5.5's SHOULD: warn)."""
    sent = [("X-Dup", "first"), ("Accept", "text/plain"), ("x-dup", "second"),
            ("X-Mixed-Case", "Value With Case"), ("X-Dup", "third")]
    scope = observed_scope(ctx, ctx.request("GET", "/scope/headers", headers=sent))
    pairs = scope.get("headers")
    ctx.expect(isinstance(pairs, list | tuple), f"scope['headers'] is {type(pairs).__name__}")
    for pair in pairs:
        ctx.expect(len(pair) == 2 and all(isinstance(p, bytes) for p in pair),
                   f"header entry {pair!r} is not a [bytes, bytes] pair")
    names = [bytes(p[0]) for p in pairs]
    ctx.expect(not any(n.startswith(b":") for n in names),
               f"pseudo-header in scope['headers']: {names!r}")
    dup_values = [bytes(v) for n, v in pairs if bytes(n).lower() == b"x-dup"]
    ctx.expect(dup_values == [b"first", b"second", b"third"],
               f"values of the repeated X-Dup header are {dup_values!r}, expected "
               "[b'first', b'second', b'third'] in order (duplicates must be preserved)")
    mixed = [v for n, v in pairs if bytes(n).lower() == b"x-mixed-case"]
    ctx.expect(mixed == [b"Value With Case"], f"X-Mixed-Case value is {mixed!r}")
    exchange, rejected = request_with_obs_text(ctx, "/scope/obs-text")
    if not rejected:
        latin = [bytes(v) for n, v in observed_scope(ctx, exchange)["headers"]
                 if bytes(n).lower() == b"x-latin"]
        ctx.expect(latin == [OBS_TEXT_VALUE],
                   f"header value {OBS_TEXT_VALUE!r} reached the app as {latin!r}; header "
                   "values are byte strings, passed on unchanged")
    # The SHOULDs last, so that a broken MUST above is never hidden behind a warn.
    upper = [n for n in names if n != n.lower()]
    if upper:
        ctx.warn(f"header names not lower-cased in scope['headers']: {upper!r} (the spec says "
                 "names should be lower-cased)")
    if rejected:
        ctx.warn(rejected)


@check(
    id="asgi-scope.client-and-server",
    title="client is [host, port] of the peer; server is [host, port] the server listens on",
    requirements=["ASGI-SCOPE-07"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (client, server)",
)
def client_and_server(ctx: CheckContext) -> None:
    """asgi-www.rst: ``client`` is "a two-item iterable of [host, port], where host is the
    remote host's IPv4 or IPv6 address, and port is the remote port as an integer", optional
    (None); ``server`` is [host, port] or [path, None] for a Unix socket, optional (None)."""
    exchange = ctx.request("GET", "/scope/peers")
    scope = observed_scope(ctx, exchange)
    client: Any = scope.get("client")
    server: Any = scope.get("server")
    if client is not None:
        ctx.expect(isinstance(client, list | tuple) and len(client) == 2
                   and isinstance(client[0], str) and isinstance(client[1], int),
                   f"scope['client'] is {client!r}, not [host str, port int]")
        if ctx.via == "direct":
            expected = ["127.0.0.1", exchange.connection.local_port]
            ctx.expect(list(client) == expected,
                       f"scope['client'] is {client!r}; the peer is {expected!r}")
    if server is not None:
        ctx.expect(isinstance(server, list | tuple) and len(server) == 2
                   and isinstance(server[0], str) and isinstance(server[1], int | None),
                   f"scope['server'] is {server!r}, not [host str, port int]")
        ctx.expect(list(server) == ["127.0.0.1", ctx.server.port],
                   f"scope['server'] is {server!r}; the server listens on "
                   f"['127.0.0.1', {ctx.server.port}]")
