"""What the app learns about the client and the mount behind nginx: forwarded headers and
their spoofing, a prefix mount, a Unix-socket upstream (REQUIREMENTS.md PROXY-04, 05, 11).

These checks start servers of their own with the options a target's TOML declares ([proxy]
trust_args / untrusted_args / prefix_args, uds_command) and put an nginx variant in front.
"""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.context import CheckContext
from conformance.proxy import FORWARDED_CLIENT, FORWARDED_PROTO, PREFIX
from conformance.servers import ServerUnderTest
from conformance.verdicts import HarnessError, Level
from conformance.wire import request_bytes

BOTH = ("wsgi", "asgi")
TIMEOUT = 5.0
SPOOFED_CLIENT = "203.0.113.66"
# Every common way of claiming another client address or scheme, sent straight to the server.
SPOOF_HEADERS = [("X-Forwarded-For", SPOOFED_CLIENT), ("X-Forwarded-Proto", "https"),
                 ("Forwarded", f"for={SPOOFED_CLIENT};proto=https"), ("X-Real-IP", SPOOFED_CLIENT)]
PEER = "127.0.0.1"


def _get(ctx: CheckContext, host: str, port: int, target: str,
         headers: list[tuple[str | bytes, str | bytes]] | None = None,
         statuses: list[int] | None = None) -> str:
    """GET ``target`` on a tracked connection; the request id. A non-200 answer is an error
    of the harness's setup, not the property under test, unless the caller collects the
    statuses (``statuses``) itself."""
    rid = ctx.new_rid()
    conn = ctx.connect(host=host, port=port, timeout=TIMEOUT)
    conn.send(request_bytes("GET", target, ctx.base_headers(rid) + list(headers or [])))
    response = conn.read_response(timeout=TIMEOUT)
    conn.close()
    if statuses is not None:
        statuses.append(response.status)
    elif response.status != 200:
        raise HarnessError(f"GET {target} got status {response.status}, not the probe's 200 "
                           f"({response.problems or response.body[:200]!r})")
    return rid


def _seen(server: ServerUnderTest, rid: str) -> dict[str, Any]:
    entry = server.journal.wait_event(rid, "request", timeout=TIMEOUT)
    if entry is None:
        raise HarnessError(f"the probe app journalled no request for {rid} within {TIMEOUT:g}s")
    return entry


def _client_and_scheme(ctx: CheckContext, entry: dict[str, Any]) -> tuple[Any, Any]:
    if ctx.target.interface == "asgi":
        scope = entry["scope"]
        client = scope.get("client")
        return (client[0] if client else None), scope.get("scheme", "http")
    environ = entry["environ"]
    return environ.get("REMOTE_ADDR"), environ.get("wsgi.url_scheme")


def _names(ctx: CheckContext) -> tuple[str, str]:
    return (("scope client", "scope scheme") if ctx.target.interface == "asgi"
            else ("REMOTE_ADDR", "wsgi.url_scheme"))


@check(
    id="proxy.forwarded-trusted",
    title="with the server trusting nginx, client address and scheme follow X-Forwarded-*",
    requirements=["PROXY-04"],
    level=Level.MUST,
    interfaces=BOTH,
    via=("nginx",),
    own_server=True,
    section="RFC 7239 section 8.1 (X-Forwarded-* de facto); REQUIREMENTS PROXY-04",
)
def forwarded_trusted(ctx: CheckContext) -> None:
    """REQUIREMENTS PROXY-04: "with the server configured to trust nginx, scope client /
    scheme (REMOTE_ADDR, wsgi.url_scheme) follow X-Forwarded-For / X-Forwarded-Proto";
    RFC 7239 section 5.2 (which standardises those de facto fields as Forwarded): "for" is
    "used to disclose information about the client that initiated the request". The
    server runs with its TOML's [proxy] trust_args (trusting 127.0.0.1); nginx stands for a
    TLS-terminating proxy whose client is 203.0.113.7 (X-Forwarded-For: 203.0.113.7,
    X-Forwarded-Proto: https). What the option covers (trust_covers) must follow; a part the
    server has no option for is reported as info; no option at all is unsupported."""
    trust = ctx.target.proxy_args("trust_args")
    if not trust:
        ctx.unsupported("the target declares no [proxy] trust_args: the server has no command-"
                        "line option to trust a proxy's X-Forwarded-* headers")
    covers = set(ctx.target.proxy_args("trust_covers")) or {"for", "proto"}
    server = ctx.start_server(extra_args=trust, label="trusted")
    nginx = ctx.nginx_in_front(server, "forwarded")
    client, scheme = _client_and_scheme(ctx, _seen(server, _get(ctx, nginx.host, nginx.port,
                                                              "/forwarded/trusted")))
    client_name, scheme_name = _names(ctx)
    if "for" in covers:
        ctx.expect(client == FORWARDED_CLIENT,
                   f"with {' '.join(trust)}, {client_name} is {client!r} behind a proxy sending "
                   f"X-Forwarded-For: {FORWARDED_CLIENT}")
    if "proto" in covers:
        ctx.expect(scheme == FORWARDED_PROTO,
                   f"with {' '.join(trust)}, {scheme_name} is {scheme!r} behind a proxy sending "
                   f"X-Forwarded-Proto: {FORWARDED_PROTO}")
    missing = {"for": "the client address from X-Forwarded-For",
               "proto": "the scheme from X-Forwarded-Proto"}
    absent = [text for key, text in missing.items() if key not in covers]
    if absent:
        ctx.info(f"{' '.join(trust)} makes the covered part follow the proxy; the server has no "
                 f"option to take {' or '.join(absent)} ({client_name} {client!r}, "
                 f"{scheme_name} {scheme!r})")


def _spoof(ctx: CheckContext, server: ServerUnderTest) -> tuple[Any, Any]:
    rid = _get(ctx, server.host, server.port, "/forwarded/spoof", SPOOF_HEADERS)
    return _client_and_scheme(ctx, _seen(server, rid))


@check(
    id="proxy.forwarded-spoofing",
    title="a client not trusted as a proxy cannot set the client address or scheme",
    requirements=["PROXY-04"],
    level=Level.MUST,
    interfaces=BOTH,
    via=("direct",),
    own_server=True,
    section="RFC 7239 section 8.1 (header validity and integrity); REQUIREMENTS PROXY-04",
)
def forwarded_spoofing(ctx: CheckContext) -> None:
    """REQUIREMENTS PROXY-04: "without that trust, a client sending X-Forwarded-For straight
    to the server cannot change them (spoofing)"; RFC 7239 section 8.1: the header "can be
    ... spoofed", so it is only to be believed from a trusted proxy. A client on 127.0.0.1
    sends X-Forwarded-For, X-Forwarded-Proto, Forwarded and X-Real-IP claiming 203.0.113.66
    over https; REMOTE_ADDR / scope client must stay 127.0.0.1 and the scheme http.
    Some servers (uvicorn, gunicorn) trust 127.0.0.1 by default: that is a trust configured
    by default, not "without trust", so for them the check narrows the trusted set with the
    TOML's [proxy] untrusted_args to an address no client here has (192.0.2.1); what the
    default does for a loopback client is reported by proxy.forwarded-default-trust."""
    untrusted = ctx.target.proxy_args("untrusted_args")
    server = (ctx.start_server(extra_args=untrusted, label="untrusted") if untrusted
              else ctx.server)
    client, scheme = _spoof(ctx, server)
    client_name, scheme_name = _names(ctx)
    setting = f" (started with {' '.join(untrusted)})" if untrusted else ""
    ctx.expect(client == PEER, f"an untrusted client{setting} claiming {SPOOFED_CLIENT} made "
                               f"{client_name} {client!r}; the peer is {PEER}")
    ctx.expect(scheme == "http", f"an untrusted client{setting} claiming https made "
                                 f"{scheme_name} {scheme!r} on a plain-HTTP connection")


@check(
    id="proxy.forwarded-default-trust",
    title="whether the server's defaults believe X-Forwarded-* from a loopback client",
    requirements=["PROXY-04"],
    level=Level.INFO,
    interfaces=BOTH,
    via=("direct",),
    section="RFC 7239 section 8.1; REQUIREMENTS PROXY-04 (what 'trust' is by default)",
)
def forwarded_default_trust(ctx: CheckContext) -> None:
    """RFC 7239 section 8.1 leaves to the deployment which proxies are trusted; a server
    whose default trusted set is the loopback address (uvicorn's and gunicorn's
    forwarded_allow_ips default 127.0.0.1) lets any local process set the client address or
    scheme. Informational: with the server's default options, a loopback client sends the
    spoofing headers of proxy.forwarded-spoofing; the verdict reports whether they were
    believed (pass when they were not)."""
    client, scheme = _spoof(ctx, ctx.server)
    client_name, scheme_name = _names(ctx)
    if client != PEER or scheme != "http":
        ctx.info(f"with its default options the server believes forwarding headers from a "
                 f"loopback client: {client_name} {client!r}, {scheme_name} {scheme!r}")


@check(
    id="proxy.prefix-mount",
    title="mounted under /app/ behind nginx: SCRIPT_NAME/PATH_INFO or root_path/path",
    requirements=["PROXY-05"],
    level=Level.INFO,
    interfaces=BOTH,
    via=("nginx",),
    own_server=True,
    section="PEP 3333 'URL Reconstruction'; asgi-www.rst 'WSGI Compatibility' (root_path)",
)
def prefix_mount(ctx: CheckContext) -> None:
    """PEP 3333, URL Reconstruction: the path is SCRIPT_NAME + PATH_INFO; asgi-www.rst, WSGI
    Compatibility: "SCRIPT_NAME is root_path" and "PATH_INFO can be derived by stripping
    root_path from path". The server runs with the TOML's [proxy] prefix_args (its documented
    prefix setting) behind nginx's location /app/, once passing /app/mounted/x unchanged and
    once stripping the prefix (proxy_pass http://app_server/): servers document either
    deployment. Reported as info; when neither gives a view that reconstructs the requested
    path, it warns."""
    args = ctx.target.proxy_args("prefix_args")
    server = ctx.start_server(extra_args=args, label="prefix") if args else ctx.server
    path = f"{PREFIX}mounted/x"
    setting = " ".join(args) or "no prefix option"
    views, consistent = [], False
    for variant in ("prefix", "prefix-strip"):
        nginx = ctx.nginx_in_front(server, variant) if args else ctx.nginx(variant)
        statuses: list[int] = []
        rid = _get(ctx, nginx.host, nginx.port, path + "?q=1", statuses=statuses)
        if statuses[0] != 200:  # the server refuses this deployment's path: part of the report
            views.append(f"{variant}: status {statuses[0]}")
            continue
        entry = _seen(server, rid)
        if ctx.target.interface == "asgi":
            root, seen = entry["scope"].get("root_path", ""), entry["scope"].get("path", "")
            views.append(f"{variant}: root_path {root!r}, path {seen!r}")
            consistent |= seen == path and seen.startswith(root)
        else:
            environ = entry["environ"]
            root, rest = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
            views.append(f"{variant}: SCRIPT_NAME {root!r}, PATH_INFO {rest!r}")
            consistent |= root + rest == path
    if not consistent:
        ctx.warn(f"with {setting}, neither nginx deployment gives a view that reconstructs "
                 f"GET {path}: " + "; ".join(views))
    ctx.info(f"with {setting}: " + "; ".join(views))


@check(
    id="proxy.unix-socket",
    title="a server on a Unix socket behind nginx reports server [path, None] / SERVER_NAME+PORT",
    requirements=["PROXY-11"],
    level=Level.MUST,
    interfaces=BOTH,
    via=("nginx",),
    own_server=True,
    section="asgi-www.rst 'HTTP Connection Scope' (server); PEP 3333 'environ Variables'",
)
def unix_socket(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope: server is "[host, port] ... or [path, None] where
    path is that of the unix socket. Optional"; PEP 3333, environ Variables: "SERVER_NAME and
    SERVER_PORT are required strings and must never be empty". The server runs its TOML's
    uds_command on a Unix socket and nginx proxies to it (proxy_pass http://unix:...)."""
    if not ctx.target.uds_command:
        ctx.unsupported("the target declares no uds_command: no way to listen on a Unix socket")
    server = ctx.start_server(uds=True, label="uds")
    nginx = ctx.nginx_in_front(server, "default")
    entry = _seen(server, _get(ctx, nginx.host, nginx.port, "/unix/socket"))
    if ctx.target.interface == "asgi":
        reported = entry["scope"].get("server")
        if reported is None:
            ctx.info("the server leaves scope['server'] out (None), which asgi-www.rst allows")
        ctx.expect(isinstance(reported, list | tuple) and list(reported) == [server.uds, None],
                   f"scope['server'] is {reported!r}; on the Unix socket {server.uds} it must "
                   "be [path, None]")
        return
    environ = entry["environ"]
    for key in ("SERVER_NAME", "SERVER_PORT"):
        value = environ.get(key)
        ctx.expect(isinstance(value, str) and value != "",
                   f"{key} is {value!r} ({type(value).__name__}) on a Unix socket; PEP 3333 "
                   "requires a non-empty string")
