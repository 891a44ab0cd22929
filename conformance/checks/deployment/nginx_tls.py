"""The nginx-tls deployment, trust: the scheme and client address the app is told when nginx
terminates TLS and HTTP/2 (TLS-03, PROXY-04).

A client speaks HTTP/2 over TLS to nginx, which speaks HTTP/1.1 to the plain server and tells
it what the server cannot see (X-Forwarded-Proto: https, X-Forwarded-For: the client). The
client connects from CLIENT_ADDRESS, a loopback address other than nginx's own, so that the
real client's address and nginx's differ on the wire; and so that a client talking straight
to the server is not at the one address the server trusts (nginx's, 127.0.0.1).

Unlike deployment.forwarded-trusted (a plain-HTTP nginx that only claims https), the client
here really invokes the app at an https URL, so scheme "https" follows from the scheme
definitions themselves (TLS-03.a/.b, MUST) once the server is told to trust nginx. The client
address remains a convention (PROXY-04.g, INFO) and refusing an untrusted client's headers a
defence (PROXY-04.i, HARDENING), as in forwarded.py."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import NGINX_TLS, check
from conformance.checks.deployment.forwarded import (
    SPOOF_HEADERS,
    SPOOFED_CLIENT,
    client_and_scheme,
    trusted_stack,
    value_names,
)
from conformance.checks.deployment.observed_get import seen
from conformance.context import CheckContext
from conformance.h2_wire import H2Client
from conformance.probes.contract import Event
from conformance.proxy import Nginx
from conformance.servers import ServerUnderTest
from conformance.verdicts import HarnessError, Level
from conformance.websocket_wire import WebSocketClient
from conformance.wire import request_bytes

# The real client's address: a loopback address that is not nginx's (127.0.0.1), which every
# server's trust option names. Linux routes all of 127.0.0.0/8 to the loopback interface.
CLIENT_ADDRESS = "127.0.0.2"
NGINX_ADDRESS = "127.0.0.1"
TIMEOUT = 5.0
WEBSOCKET_VARIANT = "tls-websocket"


def h2_through(ctx: CheckContext, nginx: Nginx) -> H2Client:
    """An HTTP/2 connection (TLS, ALPN h2) from CLIENT_ADDRESS to ``nginx``'s TLS listener."""
    conn = ctx.connect(host=nginx.host, port=nginx.port, tls=nginx.client_tls(alpn=("h2",)),
                       source=CLIENT_ADDRESS, timeout=TIMEOUT)
    if conn.tls_session.get("alpn") != "h2":
        raise HarnessError(f"nginx's TLS listener selected {conn.tls_session.get('alpn')!r} "
                           "by ALPN, not h2: the nginx-tls variant is misconfigured")
    client = H2Client(conn)
    ctx.h2_clients.append(client)
    return client


def h2_get(ctx: CheckContext, client: H2Client, nginx: Nginx, path: str) -> str:
    """GET ``path`` on ``client`` through ``nginx``; the request id. A non-200 answer is the
    harness's setup failing, not the property under test."""
    rid = ctx.new_rid()
    headers = ctx.h2_headers(rid, "GET", path, authority=f"localhost:{nginx.port}")
    stream = client.response(client.request(headers), timeout=TIMEOUT)
    if stream.status != 200:
        raise HarnessError(f"HTTP/2 GET {path} through nginx got status {stream.status or 'none'}"
                           f" (reset {stream.reset_code}, GOAWAY {client.goaway}): "
                           f"{stream.body[:200]!r}")
    return rid


def app_view(ctx: CheckContext, entry: dict[str, Any]) -> tuple[Any, Any, str]:
    """The client address and scheme the app was told, and the X-Forwarded-* fields it got
    (what nginx sent, for the message)."""
    client, scheme = client_and_scheme(ctx, entry)
    if ctx.target.interface == "asgi":
        fields = [(bytes(n).decode("latin-1").lower(), bytes(v).decode("latin-1"))
                  for n, v in entry["scope"].get("headers", [])]
        forwarded = "; ".join(f"{n}: {v}" for n, v in fields if n.startswith("x-forwarded-"))
    else:
        forwarded = "; ".join(f"{k}={v}" for k, v in entry["environ"].items()
                              if k.startswith("HTTP_X_FORWARDED_"))
    return client, scheme, forwarded


def direct_get(ctx: CheckContext, server: ServerUnderTest, path: str,
               headers: list[tuple[str | bytes, str | bytes]]) -> tuple[Any, Any]:
    """An HTTP/1.1 GET from CLIENT_ADDRESS straight to ``server`` (not through nginx); the
    client address and scheme the app was told."""
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port, source=CLIENT_ADDRESS,
                       timeout=TIMEOUT)
    conn.send(request_bytes("GET", path, [("Host", f"{server.host}:{server.port}"),
                                          ("X-Probe-Id", rid), *headers]))
    response = conn.read_response(timeout=TIMEOUT)
    conn.close()
    if response.status != 200:
        raise HarnessError(f"GET {path} straight to the server got status {response.status}, "
                           f"not the probe's 200 ({response.problems or response.body[:200]!r})")
    client, scheme, _ = app_view(ctx, seen(server, rid))
    return client, scheme


def judge_direct_client(ctx: CheckContext, server: ServerUnderTest, setting: str) -> None:
    """A client at CLIENT_ADDRESS talks to ``server`` itself, first plainly, then claiming
    another address and https (forwarded.SPOOF_HEADERS); each value the claim changes is a
    PROXY-04.i finding (HARDENING: no spec sentence demands the defence)."""
    plain_client, plain_scheme = direct_get(ctx, server, "/nginx-tls/direct-plain", [])
    client, scheme = direct_get(ctx, server, "/nginx-tls/direct-spoof", SPOOF_HEADERS)
    client_name, scheme_name = value_names(ctx)
    if scheme != plain_scheme:
        ctx.finding("PROXY-04.i", f"a client at {CLIENT_ADDRESS} talking to the server{setting}"
                    f" directly over plain HTTP, sending X-Forwarded-Proto: https (and "
                    f"Forwarded: proto=https), made {scheme_name} {scheme!r} (without those "
                    f"headers: {plain_scheme!r}); the trusted proxy is nginx at {NGINX_ADDRESS}")
    if client != plain_client:
        ctx.finding("PROXY-04.i", f"a client at {CLIENT_ADDRESS} talking to the server{setting}"
                    f" directly, claiming {SPOOFED_CLIENT} (X-Forwarded-For, Forwarded, "
                    f"X-Real-IP), made {client_name} {client!r} (without those headers: "
                    f"{plain_client!r})")


@check(
    id="deployment.nginx-tls-trusted",
    title="nginx terminating TLS and HTTP/2, trusted by the server: scheme https, the real "
          "client's address; a direct client still cannot claim them",
    requirements=["TLS-03", "PROXY-04"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=(NGINX_TLS,),
    own_server=True,
    section="PEP 3333 'environ Variables' (wsgi.url_scheme); asgi-www.rst 'HTTP Connection "
            "Scope' (scheme); RFC 3875 section 8.2; RFC 9110 section 17.4",
)
def nginx_tls_trusted(ctx: CheckContext) -> None:
    """The server runs with its TOML's [proxy] trust_args (trusting nginx at 127.0.0.1); a
    client at 127.0.0.2 sends an HTTP/2 GET over TLS to nginx (tls-h2 variant), which sends
    X-Forwarded-Proto: https and X-Forwarded-For: 127.0.0.2 upstream. A server with no trust
    option is unsupported. Sub-case "scheme": the app is invoked at an https URL, so the
    definitions bind (MUST): PEP 3333 (TLS-03.a) wsgi.url_scheme is "A string representing
    the "scheme" portion of the URL at which the application is being invoked."; asgi-www.rst
    (TLS-03.b) scheme is "URL scheme portion (likely "http" or "https")." Where the server's
    option does not cover the scheme (trust_covers), that is reported on RFC 9112 3.3
    (PROXY-04.h, INFO) instead. Sub-case "client address" (INFO, PROXY-04.g): RFC 3875 8.2
    lets the address be nginx's ("that client may be a proxy, gateway, or other intermediary
    acting on behalf of the actual source client"), so an address other than 127.0.0.2, or no
    option for it, is reported, never failed. Sub-case "a direct client": the same client
    talks to the trusting server itself, claiming 203.0.113.66 over https; believing it is a
    PROXY-04.i finding (HARDENING; RFC 9110 17.4 "However, data received in a request cannot
    be trusted.")."""
    stack = trusted_stack(ctx, "tls-h2")
    server, nginx, setting, covers = stack.server, stack.nginx, stack.setting, stack.covers
    rid = h2_get(ctx, h2_through(ctx, nginx), nginx, "/nginx-tls/trusted")
    client, scheme, forwarded = app_view(ctx, seen(server, rid))
    client_name, scheme_name = value_names(ctx)
    sent = f"nginx sent {forwarded or 'no X-Forwarded-* field the app saw'}"
    with ctx.case("scheme"):
        if "proto" not in covers:
            ctx.finding("PROXY-04.h", f"the server has no option to take the scheme from "
                        f"X-Forwarded-Proto ({setting} does not cover it): {scheme_name} is "
                        f"{scheme!r} for an HTTP/2 request over TLS ({sent})")
        elif scheme != "https":
            ctx.finding("TLS-03.b" if ctx.target.interface == "asgi" else "TLS-03.a",
                        f"with {setting}, {scheme_name} is {scheme!r} for a client's HTTP/2 "
                        f"request over TLS to nginx ({sent}); the app is invoked at an https "
                        f"URL")
    with ctx.case("client address"):
        if "for" not in covers:
            ctx.finding("PROXY-04.g", f"the server has no option to take the client address "
                        f"from X-Forwarded-For ({setting} does not cover it): {client_name} is"
                        f" {client!r}; the client is {CLIENT_ADDRESS}")
        elif client != CLIENT_ADDRESS:
            ctx.finding("PROXY-04.g", f"with {setting}, {client_name} is {client!r}; nginx's "
                        f"client is {CLIENT_ADDRESS} ({sent})")
    with ctx.case("a direct client"):
        judge_direct_client(ctx, server, f" (started with {setting})")


@check(
    id="deployment.nginx-tls-spoofing",
    title="behind nginx terminating TLS, a client talking to the server directly cannot make "
          "the scheme https or set the client address",
    requirements=["TLS-03", "PROXY-04"],
    level=Level.HARDENING,
    interfaces=("wsgi", "asgi"),
    via=(NGINX_TLS,),
    section="no spec text (a defence); RFC 9110 section 17.4",
)
def nginx_tls_spoofing(ctx: CheckContext) -> None:
    """The server of the nginx-tls path, with its default options (no trust configured
    beyond its own defaults), is reached directly by a client at 127.0.0.2, not through
    nginx: first a plain GET, then one sending X-Forwarded-Proto: https, X-Forwarded-For,
    Forwarded and X-Real-IP claiming 203.0.113.66 (deployment.forwarded-spoofing's set).
    TLS-03's "without that trust a direct client cannot make it so" rests on no spec sentence
    (its no_sentence): each value the headers change is a PROXY-04.i finding (HARDENING; RFC
    9110 17.4, "However, data received in a request cannot be trusted."). The client is not
    at 127.0.0.1, the address some servers trust by default (uvicorn, gunicorn); what that
    default does for a loopback client is deployment.forwarded-default-trust's report."""
    judge_direct_client(ctx, ctx.server, " (its default options)")


@check(
    id="deployment.nginx-tls-websocket",
    title="WebSocket through nginx terminating TLS, trusted by the server: the scope's "
          "scheme is wss",
    requirements=["TLS-01", "TLS-03", "PROXY-04"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=(NGINX_TLS,),
    own_server=True,
    section="RFC 6455 section 4.2 (the server includes the proxy); asgi-www.rst 'WebSocket "
            "Connection Scope' (scheme)",
)
def nginx_tls_websocket(ctx: CheckContext) -> None:
    """nginx does not proxy WebSocket over HTTP/2, so the client opens a WebSocket over TLS
    with HTTP/1.1 (ALPN http/1.1) to nginx's WebSocket proxying (tls-websocket variant:
    Upgrade and Connection passed on, X-Forwarded-Proto: https), in front of the server run
    with its [proxy] trust_args (unsupported without them, and where the server hands the app
    no websocket scope). The scope's scheme is defined by asgi-www.rst's WebSocket Connection
    Scope (TLS-01.d): "URL scheme portion (likely "ws" or "wss")." -- the scheme the client
    used, wss, as on a direct TLS connection (asgi-www.tls-ws-scheme). Why that holds behind
    nginx is RFC 6455 4.2 (TLS-03.c, said in the message, not a finding of its own): "the
    server for the purposes of this specification is considered to include all parts of the
    server-side infrastructure from the first device to terminate the TCP connection all the
    way to the server that processes requests and sends responses." So a scope scheme other
    than "wss" is a TLS-01.d finding; where the server's trust option does not cover the
    scheme (trust_covers), it is reported on PROXY-04.h (INFO)."""
    stack = trusted_stack(ctx, WEBSOCKET_VARIANT)
    server, nginx, setting, covers = stack.server, stack.nginx, stack.setting, stack.covers
    rid = ctx.new_rid()
    conn = ctx.connect(host=nginx.host, port=nginx.port, tls=nginx.client_tls(),
                       source=CLIENT_ADDRESS, timeout=TIMEOUT)
    ws = WebSocketClient(conn)
    handshake = ws.handshake("/ws/echo", host=f"localhost:{nginx.port}",
                             headers=[(b"x-probe-id", rid.encode())], timeout=TIMEOUT)
    entry = server.journal.wait_event(rid, Event.REQUEST, timeout=TIMEOUT)
    scope = entry["scope"] if entry else None
    if handshake.accepted:
        ws.close()
    if not isinstance(scope, dict) or scope.get("type") != "websocket":
        got = "no scope" if scope is None else f"a scope of type {scope.get('type')!r}"
        ctx.unsupported(f"through nginx over TLS the WebSocket handshake got "
                        f"{handshake.status or 'no answer'} and the app got {got}: no "
                        "WebSocket support in this configuration")
    scheme = scope.get("scheme", "ws")
    shown = (f"has scheme {scheme!r}" if "scheme" in scope
             else "has no 'scheme' (the default 'ws')")
    headers = [(bytes(n).decode("latin-1"), bytes(v).decode("latin-1"))
               for n, v in scope.get("headers", [])]
    proto = [v for n, v in headers if n.lower() == "x-forwarded-proto"]
    if "proto" not in covers:
        ctx.finding("PROXY-04.h", f"the server has no option to take the scheme from "
                    f"X-Forwarded-Proto ({setting} does not cover it): the websocket scope "
                    f"{shown} for a wss client")
    elif scheme != "wss":
        ctx.finding("TLS-01.d", f"with {setting}, the websocket scope {shown} "
                    f"for a client's WebSocket over TLS to nginx (nginx sent X-Forwarded-Proto:"
                    f" {', '.join(proto) or 'none the app saw'}); nginx and the server are one "
                    f"server to that client (RFC 6455 4.2, TLS-03.c), whose URL scheme is wss")
