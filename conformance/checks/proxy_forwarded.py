"""What the app learns about the client and the mount behind nginx: forwarded headers and
their spoofing, a prefix mount, a Unix-socket upstream (REQUIREMENTS.md PROXY-04, 05, 11).

These checks start servers of their own with the options a target's TOML declares ([proxy]
trust_args / untrusted_args / prefix_args, uds_command) and put an nginx variant in front.

No spec text mentions X-Forwarded-*, Forwarded or trusting a proxy: read literally, RFC 3875
4.1.8 and asgi-www.rst's client describe the immediate peer (nginx). So following a trusted
proxy's headers is reported (INFO) and refusing them from an untrusted client is a defence
(HARDENING), never a spec fail; only what the spec texts define (scope server on a Unix
socket, SERVER_NAME/SERVER_PORT) can fail.
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
SPOOF_HEADERS: list[tuple[str | bytes, str | bytes]] = [
    ("X-Forwarded-For", SPOOFED_CLIENT), ("X-Forwarded-Proto", "https"),
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
    level=Level.INFO,
    interfaces=BOTH,
    via=("nginx",),
    own_server=True,
    section="no spec text (X-Forwarded-* is a convention); RFC 3875 section 8.2; RFC 9112 "
            "section 3.3",
)
def forwarded_trusted(ctx: CheckContext) -> None:
    """Reported, never failed: no spec text names X-Forwarded-For or X-Forwarded-Proto, and
    the texts let the address be the proxy's, RFC 3875 8.2 (PROXY-04.g): "They identify the
    client for the immediate request to the server; that client may be a proxy, gateway, or
    other intermediary acting on behalf of the actual source client." For the scheme, RFC
    9112 3.3 (PROXY-04.h, no keyword): "If the server's configuration provides for a fixed URI
    scheme, or a scheme is provided by a trusted outbound gateway, that scheme is used for the
    target URI." The server runs with its TOML's [proxy] trust_args (trusting 127.0.0.1);
    nginx stands for a TLS-terminating proxy whose client is 203.0.113.7 (X-Forwarded-For:
    203.0.113.7, X-Forwarded-Proto: https). Each part the option covers (trust_covers) that
    does not follow, and each part the server has no option for, is an INFO finding on those
    sentences; no option at all is unsupported."""
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
    setting = " ".join(trust)
    if "for" not in covers:
        ctx.finding("PROXY-04.g", f"the server has no option to take the client address from "
                    f"X-Forwarded-For ({setting} does not cover it): {client_name} is "
                    f"{client!r}")
    elif client != FORWARDED_CLIENT:
        ctx.finding("PROXY-04.g", f"with {setting}, {client_name} is {client!r} behind a proxy "
                    f"sending X-Forwarded-For: {FORWARDED_CLIENT}")
    if "proto" not in covers:
        ctx.finding("PROXY-04.h", f"the server has no option to take the scheme from "
                    f"X-Forwarded-Proto ({setting} does not cover it): {scheme_name} is "
                    f"{scheme!r}")
    elif scheme != FORWARDED_PROTO:
        ctx.finding("PROXY-04.h", f"with {setting}, {scheme_name} is {scheme!r} behind a proxy "
                    f"sending X-Forwarded-Proto: {FORWARDED_PROTO}")


def _spoof(ctx: CheckContext, server: ServerUnderTest) -> tuple[Any, Any]:
    rid = _get(ctx, server.host, server.port, "/forwarded/spoof", SPOOF_HEADERS)
    return _client_and_scheme(ctx, _seen(server, rid))


@check(
    id="proxy.forwarded-spoofing",
    title="a client not trusted as a proxy cannot set the client address or scheme",
    requirements=["PROXY-04"],
    level=Level.HARDENING,
    interfaces=BOTH,
    via=("direct",),
    own_server=True,
    section="no spec text (a defence); RFC 9110 section 17.4",
)
def forwarded_spoofing(ctx: CheckContext) -> None:
    """A defence no spec sentence demands (HARDENING): no spec text names the forwarding
    headers or trust in a proxy; RFC 9110 17.4 (PROXY-04.i, no keyword for the server) gives
    the reason: "However, data received in a request cannot be trusted." A client on
    127.0.0.1 sends X-Forwarded-For, X-Forwarded-Proto, Forwarded and X-Real-IP claiming
    203.0.113.66 over https; REMOTE_ADDR / scope client should stay 127.0.0.1 and the scheme
    http. Each one believed is its own finding. Some servers (uvicorn, gunicorn) trust
    127.0.0.1 by default: for them the check narrows the trusted set with the TOML's [proxy]
    untrusted_args to an address no client here has (192.0.2.1); what the default does for a
    loopback client is reported by proxy.forwarded-default-trust."""
    untrusted = ctx.target.proxy_args("untrusted_args")
    server = (ctx.start_server(extra_args=untrusted, label="untrusted") if untrusted
              else ctx.server)
    client, scheme = _spoof(ctx, server)
    client_name, scheme_name = _names(ctx)
    setting = f" (started with {' '.join(untrusted)})" if untrusted else ""
    if client != PEER:
        ctx.finding("PROXY-04.i", f"an untrusted client{setting} claiming {SPOOFED_CLIENT} "
                    f"made {client_name} {client!r}; the peer is {PEER}")
    if scheme != "http":
        ctx.finding("PROXY-04.i", f"an untrusted client{setting} claiming https made "
                    f"{scheme_name} {scheme!r} on a plain-HTTP connection")


@check(
    id="proxy.forwarded-default-trust",
    title="whether the server's defaults believe X-Forwarded-* from a loopback client",
    requirements=["PROXY-04"],
    level=Level.INFO,
    interfaces=BOTH,
    via=("direct",),
    section="no spec text (what 'trust' is by default); RFC 3875 section 8.2; RFC 9112 "
            "section 3.3",
)
def forwarded_default_trust(ctx: CheckContext) -> None:
    """Reported, never failed: which proxies a server trusts is its configuration (RFC 9112
    3.3, PROXY-04.h: "a scheme is provided by a trusted outbound gateway"), and the address
    may be a proxy's (RFC 3875 8.2, PROXY-04.g: "that client may be a proxy, gateway, or
    other intermediary acting on behalf of the actual source client"). A server whose default
    trusted set is the loopback address (uvicorn's and gunicorn's forwarded_allow_ips default
    127.0.0.1) lets any local process set the client address or scheme. With the server's
    default options, a loopback client sends the spoofing headers of
    proxy.forwarded-spoofing; each one believed is an INFO finding (pass when none is)."""
    client, scheme = _spoof(ctx, ctx.server)
    client_name, scheme_name = _names(ctx)
    if client != PEER:
        ctx.finding("PROXY-04.g", f"with its default options the server believes a loopback "
                    f"client's forwarding headers: {client_name} {client!r}, the peer is {PEER}")
    if scheme != "http":
        ctx.finding("PROXY-04.h", f"with its default options the server believes a loopback "
                    f"client's forwarding headers: {scheme_name} {scheme!r} on plain HTTP")


def _prefix_view(ctx: CheckContext, entry: dict[str, Any], path: str) -> tuple[str, bool]:
    """The split the app saw, and whether it gives back the requested path."""
    if ctx.target.interface == "asgi":
        scope = entry["scope"]
        root, seen = scope.get("root_path", ""), scope.get("path", "")
        return f"root_path {root!r}, path {seen!r}", seen == path and seen.startswith(root)
    environ = entry["environ"]
    root, rest = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
    return f"SCRIPT_NAME {root!r}, PATH_INFO {rest!r}", root + rest == path


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
    """Reported, never failed: no spec text says how a server behind a prefix-keeping or
    prefix-stripping proxy splits the path, and the texts that relate the parts only say
    what can be derived and what may differ: asgi-www.rst, WSGI Compatibility (PROXY-05.f)
    "PATH_INFO can be derived by stripping root_path from path"; PEP 3333, URL
    Reconstruction (PROXY-05.g) "Note that such a reconstructed URL may not be precisely the
    same URI as requested by the client."
    The server runs with the TOML's [proxy] prefix_args (its documented prefix setting)
    behind nginx's location /app/, once passing /app/mounted/x unchanged and once stripping
    the prefix (proxy_pass http://app_server/), one sub-case each: servers document either
    deployment. Each reports the split the app saw (ASGI on PROXY-05.f, WSGI on PROXY-05.g);
    when neither gives back the requested path, that is one more INFO finding."""
    args = ctx.target.proxy_args("prefix_args")
    server = ctx.start_server(extra_args=args, label="prefix") if args else ctx.server
    path = f"{PREFIX}mounted/x"
    setting = " ".join(args) or "no prefix option"
    ref = "PROXY-05.f" if ctx.target.interface == "asgi" else "PROXY-05.g"
    consistent = False
    for variant in ("prefix", "prefix-strip"):
        with ctx.case(variant):
            nginx = ctx.nginx_in_front(server, variant) if args else ctx.nginx(variant)
            statuses: list[int] = []
            rid = _get(ctx, nginx.host, nginx.port, path + "?q=1", statuses=statuses)
            if statuses[0] != 200:  # the server refuses this deployment's path: reported
                ctx.finding(ref, f"with {setting}, GET {path} through nginx ({variant}) got "
                                 f"status {statuses[0]}")
                continue
            view, gives_back = _prefix_view(ctx, _seen(server, rid), path)
            consistent |= gives_back
            ctx.finding(ref, f"with {setting}, GET {path} through nginx ({variant}): {view}")
    if not consistent:
        ctx.finding(ref, f"with {setting}, neither nginx deployment gives a split that gives "
                         f"back the requested path {path}")


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
    """The server runs its TOML's uds_command on a Unix socket and nginx proxies to it
    (proxy_pass http://unix:...). ASGI: scope server is defined (PROXY-11.a, a definition)
    as "Either a two-item iterable of [host, port], where host is the listening address for
    this server, and port is the integer listening port, or [path, None] where path is that
    of the unix socket." and may be left out (PROXY-11.b): "Optional; if missing defaults to
    None." Leaving it out is reported (INFO); another value is a finding on PROXY-11.a. WSGI,
    PEP 3333 (PROXY-11.c): "SERVER_NAME and SERVER_PORT are required strings and must never
    be empty." Each key is its own finding. Their values are not judged: RFC 3875's
    SERVER_PORT, a "TCP/IP port number" (PROXY-11.e), does not exist on a Unix socket."""
    if not ctx.target.uds_command:
        ctx.unsupported("the target declares no uds_command: no way to listen on a Unix socket")
    server = ctx.start_server(uds=True, label="uds")
    nginx = ctx.nginx_in_front(server, "default")
    entry = _seen(server, _get(ctx, nginx.host, nginx.port, "/unix/socket"))
    if ctx.target.interface == "asgi":
        reported = entry["scope"].get("server")
        if reported is None:
            ctx.finding("PROXY-11.b", "the server leaves scope['server'] out (None) on the Unix "
                        f"socket {server.uds}, which asgi-www.rst allows")
        elif not (isinstance(reported, list | tuple) and list(reported) == [server.uds, None]):
            ctx.finding("PROXY-11.a", f"scope['server'] is {reported!r}; on the Unix socket "
                        f"{server.uds} it is defined as [path, None]")
        return
    environ = entry["environ"]
    for key in ("SERVER_NAME", "SERVER_PORT"):
        value = environ.get(key)
        if not (isinstance(value, str) and value != ""):
            ctx.finding("PROXY-11.c", f"{key} is {value!r} ({type(value).__name__}) on a Unix "
                        "socket; PEP 3333 requires a non-empty string")
