"""TLS-01 for ASGI: the scheme of the http and websocket scopes on a TLS connection
(asgi-www.rst "HTTP Connection Scope", "Websocket Connection Scope"; RFC 9110 4.2.2;
RFC 6455 3).

Through nginx a TLS configuration is still reached over TLS (nginx's proxy_pass https://, with
the run's client certificate), while the client spoke plain HTTP to nginx (which says so in
``X-Forwarded-Proto: http``). Two URLs are "the URL at which the application is being
invoked" there: nginx's https one and the client's http one; RFC 6455 4.2 counts nginx and the
server as one server. So through nginx the client's scheme is as right as the hop's, whatever
made the server report it (its trust in nginx's header, or a scheme it never looks at: the
direct cell judges that), and only a value that is neither is a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import observed_scope
from conformance.checks.support.websocket import Session, open_websocket, websocket_scope
from conformance.context import CheckContext
from conformance.probes.contract import WsRoute
from conformance.verdicts import HarnessError, Level
from conformance.websocket_wire import WebSocketClient

FORWARDED_PROTO = "X-Forwarded-Proto"
Fields = Iterable[tuple[str, str]]


def accepted(ctx: CheckContext, secure: str, plain: str) -> set[str]:
    """The schemes that name the URL the app was invoked at: ``secure`` (https, wss) for the
    TLS connection; through nginx also ``plain``, the scheme of the client's own request to
    nginx's plain listener (the module docstring)."""
    return {secure} if ctx.via == "direct" else {secure, plain}


def wanted(ctx: CheckContext, secure: str, plain: str) -> str:
    """The accepted schemes, for a finding's message."""
    return repr(secure) if ctx.via == "direct" else f"{secure!r} or the client's {plain!r}"


def connection_said(ctx: CheckContext) -> str:
    """How a finding names the connection the server saw."""
    return ("on a TLS connection" if ctx.via == "direct" else
            "on nginx's TLS connection to the server, for a client's plain-HTTP request to "
            "nginx,")


@check(
    id="asgi-www.tls-scheme",
    title="on a TLS connection the http scope's scheme is \"https\"",
    requirements=["TLS-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    needs=("tls",),
    section="asgi-www.rst 'HTTP Connection Scope' (scheme); RFC 9110 4.2.2",
)
def tls_scheme(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope: ``scheme`` is the "URL scheme portion (likely
    "http" or "https")." (TLS-01.a) and RFC 9110 4.2.2 defines https for "a TLS ([TLS13])
    connection that has been secured for HTTP communication" (.c): on a TLS connection the
    scope says "https" (a definition: MUST). "Optional (but must not be empty); default is
    "http"." (.b): an empty scheme is .b; an absent one leaves the app with the default
    "http", which is .a. One GET over TLS; through nginx the server is reached over TLS too,
    and the client's "http" is right as well (the module docstring)."""
    scope = observed_scope(ctx, ctx.request("GET", "/scope/tls-scheme"))
    got = scope.get("scheme", "http")
    if isinstance(got, str) and got.lower() in accepted(ctx, "https", "http"):
        return
    if got == "":
        ctx.finding("TLS-01.b", f"{connection_said(ctx)} scope['scheme'] is the empty string")
    elif "scheme" not in scope:
        ctx.finding("TLS-01.a", f"{connection_said(ctx)} the scope has no 'scheme': the app "
                                "takes the default 'http'")
    else:
        ctx.finding("TLS-01.a", f"{connection_said(ctx)} scope['scheme'] is {got!r}, not "
                                f"{wanted(ctx, 'https', 'http')}")


def _tls_websocket(ctx: CheckContext) -> Session:
    """A WebSocket to the probe's echo on the server itself, over TLS."""
    server = ctx.server
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port, tls=server.client_tls() or False)
    client = WebSocketClient(conn)
    handshake = client.handshake(
        WsRoute.ECHO, host=f"{server.host}:{server.port}",
        headers=[(b"x-probe-id", rid.encode())])
    return Session(rid, conn, client, handshake)


def _ws_scope(ctx: CheckContext, session: Session) -> dict[str, Any]:
    scope = websocket_scope(ctx, session)
    session.client.close()
    return scope


@check(
    id="asgi-www.tls-ws-scheme",
    title="on a TLS connection the websocket scope's scheme is \"wss\"",
    requirements=["TLS-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    needs=("tls",),
    section="asgi-www.rst 'Websocket Connection Scope' (scheme); RFC 6455 3",
)
def tls_ws_scheme(ctx: CheckContext) -> None:
    """asgi-www.rst, Websocket Connection Scope: ``scheme`` is the "URL scheme portion (likely
    "ws" or "wss")." (TLS-01.d), and RFC 6455 3: "The URI is called "secure" (and it is said
    that "the secure flag is set") if the scheme component matches "wss"
    case-insensitively." (.e): a WebSocket over TLS is wss (definitions: MUST). An absent
    scheme leaves the app with the default "ws". A server without WebSocket support is
    unsupported. Direct: one handshake over TLS. Through nginx: nginx's WebSocket variant
    (Upgrade passed on), which reaches the server over TLS; the client's "ws" is right as
    well there (the module docstring)."""
    if ctx.via == "direct":
        scope = _ws_scope(ctx, _tls_websocket(ctx))
    else:
        nginx = ctx.nginx("websocket")
        session = open_websocket(ctx, WsRoute.ECHO, at=(nginx.host, nginx.port))
        if session.handshake.status == 502:
            # nginx could not reach the server (its TLS handshake to it, say): the suite's
            # deployment, not a server without WebSocket support.
            errors = [line for line in nginx.error_log().splitlines() if "[error]" in line]
            raise HarnessError(f"nginx answered the handshake with 502: "
                               f"{errors[-1] if errors else 'no error logged'}")
        scope = _ws_scope(ctx, session)
    got = scope.get("scheme", "ws")
    if isinstance(got, str) and got.lower() in accepted(ctx, "wss", "ws"):
        return
    shown = "has no 'scheme' (the default 'ws')" if "scheme" not in scope else (
        f"has scheme {got!r}")
    ctx.finding("TLS-01.d", f"a WebSocket {connection_said(ctx)}: the websocket scope "
                            f"{shown}, not {wanted(ctx, 'wss', 'ws')}")
