"""TLS-01 for ASGI: the scheme of the http and websocket scopes on a TLS connection
(asgi-www.rst "HTTP Connection Scope", "Websocket Connection Scope"; RFC 9110 4.2.2;
RFC 6455 3).

Through nginx a TLS configuration is still reached over TLS (nginx's proxy_pass https://, with
the run's client certificate), so the server sees a TLS connection there too. nginx also sends
``X-Forwarded-Proto: http`` (its listener is plain): a server that takes that header from
nginx's address reports the client's scheme, which is just as much "the URL at which the
application is being invoked". The check tells the two apart by asking the server directly,
over TLS from the same address, with and without the header (:func:`follows_forwarded_proto`),
and only judges a scheme the header does not explain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import observed_scope
from conformance.checks.support.websocket import Session, open_websocket, websocket_scope
from conformance.context import CheckContext
from conformance.probes.contract import WsRoute
from conformance.verdicts import HarnessError, Level
from conformance.websocket_wire import WebSocketClient
from conformance.wire import request_bytes

FORWARDED_PROTO = "X-Forwarded-Proto"
Fields = Iterable[tuple[str, str]]


def direct_entry(ctx: CheckContext, path: str, fields: Fields = ()) -> dict[str, Any]:
    """The journal entry of a GET sent to the server itself over TLS (not through the check's
    nginx), with extra header ``fields``."""
    server = ctx.server
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port, tls=server.client_tls() or False)
    conn.send(request_bytes("GET", path, [("Host", f"{server.host}:{server.port}"),
                                          ("X-Probe-Id", rid), *fields]))
    conn.read_response(method="GET")
    conn.close()
    return ctx.observed(rid)


def follows_forwarded_proto(ctx: CheckContext, got: object, proto: str | None,
                            scheme_of: Callable[[Fields], object]) -> bool:
    """Through nginx: whether ``got`` is the scheme nginx's X-Forwarded-Proto (``proto``)
    named and the server takes that header from 127.0.0.1 (where nginx connects from). Asked
    of the server directly, over TLS: it reports one scheme without the header and another
    with it, and ``got`` is the latter. Direct, or without the header, never."""
    if ctx.via == "direct" or proto is None:
        return False
    own = scheme_of(())
    told = scheme_of(((FORWARDED_PROTO, proto),))
    ctx.details["x_forwarded_proto"] = {
        "nginx_sent": proto, "through_nginx": got, "direct_without_header": own,
        "direct_with_header": told}
    return got == told and told != own


def connection_said(ctx: CheckContext) -> str:
    """How a finding names the connection the server saw."""
    return ("on a TLS connection" if ctx.via == "direct" else
            "on nginx's TLS connection to the server (X-Forwarded-Proto does not explain it)")


def _header(scope: dict[str, Any], name: str) -> str | None:
    for entry in scope.get("headers") or ():
        if (isinstance(entry, list | tuple) and len(entry) == 2
                and isinstance(entry[0], bytes) and entry[0].lower() == name.lower().encode()
                and isinstance(entry[1], bytes)):
            return entry[1].decode("latin-1")
    return None


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
    and a scheme explained by nginx's X-Forwarded-Proto (the module docstring) is no
    finding."""
    scope = observed_scope(ctx, ctx.request("GET", "/scope/tls-scheme"))
    got = scope.get("scheme")
    if isinstance(got, str) and got.lower() == "https":
        return

    def scheme_of(fields: Fields) -> object:
        return direct_entry(ctx, "/scope/tls-scheme", fields)["scope"].get("scheme")

    if follows_forwarded_proto(ctx, got, _header(scope, FORWARDED_PROTO), scheme_of):
        return
    if got == "":
        ctx.finding("TLS-01.b", f"{connection_said(ctx)} scope['scheme'] is the empty string")
    elif "scheme" not in scope:
        ctx.finding("TLS-01.a", f"{connection_said(ctx)} the scope has no 'scheme': the app "
                                "takes the default 'http'")
    else:
        ctx.finding("TLS-01.a", f"{connection_said(ctx)} scope['scheme'] is {got!r}, not "
                                "'https'")


def _tls_websocket(ctx: CheckContext, fields: Fields = ()) -> Session:
    """A WebSocket to the probe's echo on the server itself, over TLS."""
    server = ctx.server
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port, tls=server.client_tls() or False)
    client = WebSocketClient(conn)
    handshake = client.handshake(
        WsRoute.ECHO, host=f"{server.host}:{server.port}",
        headers=[(b"x-probe-id", rid.encode()),
                 *((name.encode(), value.encode()) for name, value in fields)])
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
    (Upgrade passed on), which reaches the server over TLS; a scheme explained by nginx's
    X-Forwarded-Proto (the module docstring) is no finding."""
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
    got = scope.get("scheme")
    if isinstance(got, str) and got.lower() == "wss":
        return

    def scheme_of(fields: Fields) -> object:
        return _ws_scope(ctx, _tls_websocket(ctx, fields)).get("scheme")

    if follows_forwarded_proto(ctx, got, _header(scope, FORWARDED_PROTO), scheme_of):
        return
    shown = "has no 'scheme' (the default 'ws')" if "scheme" not in scope else (
        f"has scheme {got!r}")
    ctx.finding("TLS-01.d", f"a WebSocket {connection_said(ctx)}: the websocket scope "
                            f"{shown}, not 'wss'")
