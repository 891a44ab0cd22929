"""asgi-www.rst, "Websocket Connection Scope": the keys of the websocket scope, judged against
the bytes of the handshake and against the http scope the same server gives the same target."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.support.websocket import (
    JOURNAL_BOUND,
    Session,
    open_websocket,
    websocket_scope,
)
from conformance.context import CheckContext
from conformance.probes.contract import Event
from conformance.verdicts import Level
from conformance.websocket_wire import WebSocketClient
from conformance.wire import request_bytes

# A target with a percent-encoded UTF-8 character, an encoded slash and a query string: what
# path, raw_path and query_string hold is then distinguishable from what was sent.
TARGET_PATH = "/ws/echo/caf%C3%A9/a%2Fb"
TARGET_QUERY = "x=%20y&z=caf%C3%A9"
DUPLICATE = (b"X-Ws-Dup", (b"one", b"two"))
MOUNT = "/app"


@check(
    id="asgi-www.ws-scope",
    title="websocket scope: type, scheme, path, raw_path, query_string, headers, client, server, "
          "subprotocols",
    requirements=["ASGI-WS-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'Websocket Connection Scope'",
)
def ws_scope(ctx: CheckContext) -> None:
    """asgi-www.rst, Websocket Connection Scope. One handshake to a target with percent-encoded
    UTF-8, an encoded slash and a query, one header line sent twice and a mixed-case name, and
    the subprotocols "chat, superchat" in one Sec-WebSocket-Protocol line; then an HTTP GET of
    the same target, whose http scope the websocket scope must agree with where the spec
    defines both the same way:

    - ``type`` "websocket" (ASGI-WS-01.b: another type, such as b"websocket"; a server that
      hands the upgrade to the app as an http scope has no WebSocket support: unsupported);
    - ``scheme`` "ws" on plain TCP, and never empty (.c, .d);
    - ``path`` decoded as for http (.e); ``raw_path`` the bytes sent (.f; absent is allowed,
      .g: INFO); ``query_string`` the raw bytes after "?" (.h); ``root_path`` as for http
      (.i; the prefix option has its own check);
    - ``headers``: duplicates kept (.k, MUST), in order (.j, SHOULD), names lower-cased (.l,
      SHOULD), no pseudo-headers (.m);
    - ``client`` [host, port] of the client's socket (.n), ``server`` [host, port] listened on
      (.o);
    - ``subprotocols`` the client advertised (.p), from one comma-separated line and, in a
      second handshake, from two lines ("MAY appear multiple times ... logically the same as a
      single ... header field that contains all values", RFC 6455 11.3.4)."""
    headers = [(DUPLICATE[0], DUPLICATE[1][0]), (b"X-Ws-Case", b"Mixed"),
               (DUPLICATE[0], DUPLICATE[1][1])]
    session = open_websocket(ctx, f"{TARGET_PATH}?{TARGET_QUERY}",
                             subprotocols=["chat", "superchat"], headers=headers)
    entry = ctx.journal.wait_event(session.rid, Event.REQUEST, timeout=JOURNAL_BOUND)
    kind = entry["scope"].get("type") if entry else None
    if entry is not None and kind not in ("websocket", "http"):
        # The server took the handshake as a WebSocket (it is no http scope) but typed it
        # wrongly; an http scope is a server without WebSocket support (unsupported).
        ctx.finding("ASGI-WS-01.b", f"the WebSocket handshake reached the app with "
                                    f"scope['type'] {kind!r}, not 'websocket'")
        return
    scope = websocket_scope(ctx, session)
    session.client.close()
    http = _http_scope(ctx, f"{TARGET_PATH}?{TARGET_QUERY}")
    with ctx.case("type and scheme"):
        _judge_type_and_scheme(ctx, scope)
    with ctx.case("path, raw_path, query_string, root_path"):
        _judge_target(ctx, scope, http)
    with ctx.case("headers"):
        _judge_headers(ctx, scope)
    with ctx.case("client and server"):
        _judge_addresses(ctx, scope, session)
    with ctx.case("subprotocols in one line"):
        _judge_subprotocols(ctx, scope, "one line 'chat, superchat'")
    with ctx.case("subprotocols in two lines"):
        two = open_websocket(ctx, f"{TARGET_PATH}?{TARGET_QUERY}", headers=[
            (b"Sec-WebSocket-Protocol", b"chat"), (b"Sec-WebSocket-Protocol", b"superchat")])
        two_scope = websocket_scope(ctx, two)
        two.client.close()
        _judge_subprotocols(ctx, two_scope, "two lines 'chat' and 'superchat'")


def _http_scope(ctx: CheckContext, target: str) -> dict[str, Any]:
    exchange = ctx.request("GET", target)
    scope: dict[str, Any] = ctx.observed(exchange.rid, Event.REQUEST)["scope"]
    return scope


def _judge_type_and_scheme(ctx: CheckContext, scope: dict[str, Any]) -> None:
    if "scheme" not in scope:
        return  # "Optional (but must not be empty); default is "ws"."
    scheme = scope["scheme"]
    if scheme == "" or scheme is None:
        ctx.finding("ASGI-WS-01.d", f"scope['scheme'] is {scheme!r}: present but empty")
    elif scheme != "ws":
        ctx.finding("ASGI-WS-01.c", f"scope['scheme'] is {scheme!r} on a plain-TCP WebSocket "
                                    "(the URL scheme is 'ws')")


def _judge_target(ctx: CheckContext, scope: dict[str, Any], http: dict[str, Any]) -> None:
    sent_path = TARGET_PATH.encode("ascii")
    if scope.get("path") != http.get("path"):
        ctx.finding("ASGI-WS-01.e", f"scope['path'] is {scope.get('path')!r}; the same server's "
                                    f"http scope for the same target has {http.get('path')!r}")
    raw = scope.get("raw_path")
    if raw is None:
        ctx.finding("ASGI-WS-01.g", "scope['raw_path'] is absent or None (allowed: \"Some web "
                                    "server implementations may be unable to provide this.\")")
    elif raw != sent_path:
        ctx.finding("ASGI-WS-01.f", f"scope['raw_path'] is {raw!r}; the request line's path "
                                    f"was {sent_path!r}")
    query = scope.get("query_string", b"")
    if query != TARGET_QUERY.encode("ascii"):
        ctx.finding("ASGI-WS-01.h", f"scope['query_string'] is {query!r}; the bytes after '?' "
                                    f"were {TARGET_QUERY.encode()!r}")
    root, http_root = scope.get("root_path", ""), http.get("root_path", "")
    if root != http_root:
        ctx.finding("ASGI-WS-01.i", f"scope['root_path'] is {root!r}; the http scope of the same "
                                    f"server and target has {http_root!r}")


def _judge_headers(ctx: CheckContext, scope: dict[str, Any]) -> None:
    try:
        pairs = [(bytes(name), bytes(value)) for name, value in scope.get("headers") or []]
    except (TypeError, ValueError):
        ctx.finding("ASGI-WS-01.k", f"scope['headers'] is {scope.get('headers')!r}, not an "
                                    "iterable of [name, value] byte-string pairs")
        return
    name = DUPLICATE[0].lower()
    values = [v for n, v in pairs if n.lower() == name]
    if sorted(values) != sorted(DUPLICATE[1]):
        ctx.finding("ASGI-WS-01.k", f"the handshake sent {name!r} twice ({DUPLICATE[1]!r}); "
                                    f"scope['headers'] holds {values!r}")
    elif values != list(DUPLICATE[1]):
        ctx.finding("ASGI-WS-01.j", f"{name!r} values are {values!r}; sent in the order "
                                    f"{DUPLICATE[1]!r}")
    upper = [n for n, _ in pairs if n != n.lower()]
    if upper:
        ctx.finding("ASGI-WS-01.l", f"header names not lower-cased: {upper!r}")
    pseudo = [n for n, _ in pairs if n.startswith(b":")]
    if pseudo:
        ctx.finding("ASGI-WS-01.m", f"pseudo-headers in scope['headers']: {pseudo!r}")


def _judge_addresses(ctx: CheckContext, scope: dict[str, Any], session: Session) -> None:
    """[host, port] with the port an int ("Iterable[Unicode string, int]"; "the integer
    listening port"); both keys are optional ("if missing defaults to None")."""
    for key, ref, expected, whose in (
            ("client", "ASGI-WS-01.n", [ctx.host, session.conn.local_port], "the client's socket"),
            ("server", "ASGI-WS-01.o", [ctx.host, ctx.port], "the server's listening socket")):
        value = scope.get(key)
        if value is None:
            continue
        if not _pair(value) or list(value) != expected:
            port = value[1] if _pair(value) else None
            typed = f" (its port is a {type(port).__name__}, not an int)" if _pair(value) \
                and not isinstance(port, int) else ""
            ctx.finding(ref, f"scope[{key!r}] is {value!r}{typed}; {whose} is {expected!r}")


def _pair(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2


def _judge_subprotocols(ctx: CheckContext, scope: dict[str, Any], how: str) -> None:
    got = scope.get("subprotocols")
    if got is None or isinstance(got, str | bytes) or list(got) != ["chat", "superchat"]:
        ctx.finding("ASGI-WS-01.p", f"the client advertised 'chat' and 'superchat' ({how}); "
                                    f"scope['subprotocols'] is {got!r}")


@check(
    id="asgi-www.ws-scope-root-path-option",
    title="with the server's prefix option, the websocket scope's root_path and path equal the "
          "http scope's",
    requirements=["ASGI-WS-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-www.rst 'Websocket Connection Scope' (root_path, path)",
)
def ws_root_path_option(ctx: CheckContext) -> None:
    """asgi-www.rst, Websocket Connection Scope: ``root_path`` is "The root path this
    application is mounted at; same as SCRIPT_NAME in WSGI." (ASGI-WS-01.i) and ``path`` is
    defined word for word as for http (.e). The server runs with its documented prefix option
    (the TOML's [proxy] prefix_args, mounting the app at /app), and the same target is
    requested as HTTP and as a WebSocket: a server that applies its mount to http scopes but
    not to websocket scopes tells a WebSocket app a different mount for the same URL."""
    args = ctx.target.proxy_args("prefix_args")
    if not args:
        ctx.unsupported("the target declares no prefix option ([proxy] prefix_args)")
    server = ctx.start_server(extra_args=args, label="root-path")
    target = MOUNT + "/ws/echo/mounted"
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", target, [("Host", f"{server.host}:{server.port}"),
                                            ("X-Probe-Id", rid), ("Connection", "close")]))
    conn.read_response(timeout=5.0)
    http_entry = server.journal.wait_event(rid, Event.REQUEST, timeout=JOURNAL_BOUND)
    ws_rid = ctx.new_rid()
    ws_conn = ctx.connect(host=server.host, port=server.port)
    client = WebSocketClient(ws_conn)
    handshake = client.handshake(target, host=f"{server.host}:{server.port}",
                                 headers=[(b"x-probe-id", ws_rid.encode())])
    ws_entry = server.journal.wait_event(ws_rid, Event.REQUEST, timeout=JOURNAL_BOUND)
    if ws_entry is None or ws_entry["scope"].get("type") != "websocket":
        ctx.unsupported(f"with {' '.join(args)} the WebSocket handshake got "
                        f"{handshake.status or 'no answer'} and reached no websocket scope")
    client.close()
    if http_entry is None:
        ctx.unsupported(f"with {' '.join(args)} GET {target} never reached the app")
    http, ws = http_entry["scope"], ws_entry["scope"]
    for key, ref in (("root_path", "ASGI-WS-01.i"), ("path", "ASGI-WS-01.e")):
        if ws.get(key, "") != http.get(key, ""):
            ctx.finding(ref, f"with {' '.join(args)}, {target}: the websocket scope has "
                             f"{key} {ws.get(key, '')!r}, the http scope {http.get(key, '')!r}")
