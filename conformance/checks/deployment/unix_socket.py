"""The nginx deployment, a server on a Unix socket behind nginx (PROXY-11).

Only what the spec texts define can fail here: scope server on a Unix socket, SERVER_NAME and
SERVER_PORT."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.deployment.observed_get import get, seen
from conformance.checks.pep3333.environ_variables import _SERVER_NAME as SERVER_NAME_SYNTAX
from conformance.context import CheckContext
from conformance.verdicts import Level


@check(
    id="deployment.unix-socket",
    title="a server on a Unix socket behind nginx reports server [path, None] / SERVER_NAME+PORT",
    requirements=["PROXY-11"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
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
    be empty." Each key is its own finding. Which host SERVER_NAME names and which port
    SERVER_PORT gives are not judged: RFC 3875's SERVER_PORT, a "TCP/IP port number"
    (PROXY-11.e), does not exist on a Unix socket. But SERVER_NAME must still be a name of a
    host, RFC 3875 4.1.14 (PROXY-11.d): "The SERVER_NAME variable MUST be set to the name of
    the server host to which the client request is directed.", whose grammar is "server-name
    = hostname | ipv4-address | ( "[" ipv6-address "]" )": a socket path or a server's
    product name is a finding."""
    if not ctx.target.uds_command:
        # A target whose server listens on a Unix socket but cannot serve there says why in
        # [features] no_uds (twisted-wsgi); the generic reason otherwise.
        why = ctx.target.feature("no_uds") or "no way to listen on a Unix socket"
        ctx.unsupported(f"the target declares no uds_command: {why}")
    server = ctx.start_server(uds=True, label="uds")
    nginx = ctx.nginx_in_front(server, "default")
    entry = seen(server, get(ctx, nginx.host, nginx.port, "/unix/socket"))
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
    # Which host it names is left open on a socket; that it is a host name or address is not.
    name = environ.get("SERVER_NAME")
    if isinstance(name, str) and name and not SERVER_NAME_SYNTAX.fullmatch(name):
        ctx.finding("PROXY-11.d", f"SERVER_NAME is {name!r} on a Unix socket, not the name of a "
                    "host (RFC 3875 4.1.14: server-name = hostname | ipv4-address | "
                    "\"[\" ipv6-address \"]\")")
