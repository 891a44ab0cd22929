"""ASGI HTTP extensions and root_path (asgi-extensions.rst; asgi-tls.rst; asgi-www.rst
"HTTP Connection Scope").

An extension is optional: where scope["extensions"] does not advertise it the verdict is
``unsupported``. Where it is advertised, the probe app (``/probe/ext?kind=...``) uses it and
the client checks the bytes against what the extension's own section says (ASGI-EXT-*, each
finding at its sentence's level); that an advertised extension works at all rests only on
"can be used to get more functionality" (ASGI-SCOPE-09.b), never a finding of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import observed_scope
from conformance.context import CheckContext
from conformance.probes.asgi_respond import EARLY_HINT_LINK, EXT_FILE, TRAILER
from conformance.verdicts import Level
from conformance.wire import request_bytes

ASGI = ("asgi",)
MOUNT = "/app"  # the mount every target's [proxy] prefix_args configure


def _extensions(ctx: CheckContext) -> dict[str, Any]:
    scope = observed_scope(ctx, ctx.request("GET", "/scope/extensions"))
    extensions = scope.get("extensions")
    return extensions if isinstance(extensions, dict) else {}


def _require(ctx: CheckContext, name: str) -> None:
    if name not in _extensions(ctx):
        ctx.unsupported(f"scope['extensions'] does not advertise {name!r}")


def _send_error(ctx: CheckContext, rid: str) -> str | None:
    """The exception send() of the extension's event raised, if it raised."""
    result = ctx.observed(rid, "send-result")
    return str(result["error"]) if result["raised"] else None


@check(
    id="asgi-scope.root-path",
    title="root_path is a str (and path starts with it: reported when not)",
    requirements=["ASGI-SCOPE-06"],
    level=Level.MUST,
    interfaces=ASGI,
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
    id="asgi-scope.root-path-option",
    title="with the server's prefix option: root_path is a str; what root_path and path are (info)",
    requirements=["ASGI-SCOPE-06"],
    level=Level.MUST,
    interfaces=ASGI,
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
        rid = ctx.new_rid()
        conn = ctx.connect(host=server.host, port=server.port)
        conn.send(request_bytes("GET", target + "?q=1",
                                [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid),
                                 ("Connection", "close")]))
        response = conn.read_response(timeout=5.0)
        entry = server.journal.wait_event(rid, "request", timeout=5.0)
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


@check(
    id="asgi-ext.pathsend",
    title="http.response.pathsend, where advertised, sends the file's bytes as the body",
    requirements=["ASGI-EXT-02", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-extensions.rst 'Path Send'",
)
def pathsend(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Path Send: "Path Send allows you to send the contents of a file
    path to the HTTP client without handling file descriptors, offloading the operation
    directly to the server." (ASGI-EXT-02.c): where the server advertises the extension, the
    file's contents are the response body. A definition of the feature: MUST where offered
    (where it is not, the verdict is unsupported). A send() that raises, or a body other
    than the file, breaks it."""
    _require(ctx, "http.response.pathsend")
    exchange = ctx.request("GET", "/probe/ext?kind=pathsend")
    error = _send_error(ctx, exchange.rid)
    response = exchange.response
    if error or not (response.status == 200 and response.body == Path(EXT_FILE).read_bytes()):
        raised = f"send() of http.response.pathsend raised {error}; " if error else ""
        ctx.finding("ASGI-EXT-02.c", f"{raised}the response is {response.status or 'nothing'} "
                                     f"with {len(response.body)} body bytes, not the file's "
                                     f"{Path(EXT_FILE).stat().st_size}")


@check(
    id="asgi-ext.zerocopysend",
    title="http.response.zerocopysend, where advertised, sends the file (a closed fd: reported)",
    requirements=["ASGI-EXT-05", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-extensions.rst 'Zero Copy Send'",
)
def zerocopysend(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Zero Copy Send: "Zero Copy Send allows you to send the contents
    of a file descriptor to the HTTP client with zero copy" (ASGI-EXT-05.k, a definition:
    MUST where offered). A send() that raises, or a body other than the file, breaks it.
    "After calling this extension to respond, the ASGI application itself should actively
    close the used file descriptor - ASGI servers are not responsible for closing
    descriptors." That puts the closing on the application and forbids the server nothing:
    a server that closes the descriptor is reported (ASGI-EXT-05.j, INFO)."""
    _require(ctx, "http.response.zerocopysend")
    exchange = ctx.request("GET", "/probe/ext?kind=zerocopysend")
    error = _send_error(ctx, exchange.rid)
    body = exchange.response.body
    if error or body != Path(EXT_FILE).read_bytes():
        raised = f"send() of http.response.zerocopysend raised {error}; " if error else ""
        ctx.finding("ASGI-EXT-05.k", f"{raised}the response has {len(body)} body bytes, not "
                                     f"the file's {Path(EXT_FILE).stat().st_size}")
    if not ctx.observed(exchange.rid, "fd-after-send")["open"]:
        ctx.finding("ASGI-EXT-05.j", "the server closed the application's file descriptor "
                                     "after sending it")


@check(
    id="asgi-ext.trailers",
    title="http.response.trailers, where advertised, sends trailers only after TE: trailers",
    requirements=["ASGI-EXT-03", "ASGI-HTTP-11", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-extensions.rst 'HTTP Trailers'; asgi-www.rst 'Response Start - send event'",
)
def trailers(ctx: CheckContext) -> None:
    """asgi-www.rst, Response Start: with ``trailers`` True "the server must wait until it
    receives a "http.response.trailers" message after the *Response Body* event."
    (ASGI-EXT-03.c, MUST); asgi-extensions.rst, HTTP Trailers: "The ASGI server will only
    send the trailing headers in case the client has sent the TE: trailers header in the
    request." (.f, a definition of the extension: MUST where offered). On HTTP/1.1 trailers
    need chunked framing (RFC 9110 6.5.1, .h). Two sub-cases: with TE: trailers the body and
    then the trailers must arrive; without it no trailers. Direct only: nginx does not
    forward an upstream's trailers."""
    _require(ctx, "http.response.trailers")
    with ctx.case("TE: trailers"):
        allowed = ctx.request("GET", "/probe/ext?kind=trailers", headers=[("TE", "trailers")])
        error = _send_error(ctx, allowed.rid)
        response = allowed.response
        got = [(n.lower(), v) for n, v in response.trailers]
        if error or not (response.status == 200 and response.body == b"body-before-trailers\n"
                         and TRAILER in got):
            raised = f"send() of http.response.trailers raised {error}; " if error else ""
            ctx.finding("ASGI-EXT-03.c", f"{raised}with TE: trailers the response is "
                                         f"{response.status or 'nothing'} "
                                         f"{response.body[:60]!r} with trailers {got!r}, "
                                         f"expected the body and then {TRAILER!r} "
                                         f"({response.problems})")
    with ctx.case("no TE"):
        refused = ctx.request("GET", "/probe/ext?kind=trailers")
        if refused.response.trailers:
            ctx.finding("ASGI-EXT-03.f", "without TE: trailers the server still sent trailers "
                                         f"{refused.response.trailers}")


@check(
    id="asgi-ext.early-hints",
    title="http.response.early_hint, where advertised, gives a 103 with the Link headers",
    requirements=["ASGI-EXT-04", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-extensions.rst 'Early Hints'; RFC 9110 15.2",
)
def early_hints(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Early Hints: "ASGI servers that implement this extension will
    allow early hints to be sent." (ASGI-EXT-04.j, a definition: MUST where offered, so a
    send() that raises breaks it). "The ASGI server should then attempt to send an
    informational response to the client with the provided links as Link headers." (.d,
    SHOULD: a 103 without the link warns). "The server may decide to ignore this message"
    (.e): no 103 at all is reported (INFO). RFC 9110 15.2: a 1xx comes "prior to completing
    the requested action and sending a final response" (.g): the final response must follow
    intact."""
    _require(ctx, "http.response.early_hint")
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/ext?kind=early-hint",
                            ctx.base_headers(rid) + [("Connection", "close")]))
    first = conn.read_response(timeout=5.0, skip_interim=False)
    final = conn.read_response(timeout=5.0) if first.status == 103 else first
    error = _send_error(ctx, rid)
    if error:
        ctx.finding("ASGI-EXT-04.j", f"send() of http.response.early_hint raised {error} "
                                     "although the server advertises the extension")
    if not (final.status == 200 and final.body == b"final\n"):
        ctx.finding("ASGI-EXT-04.g", f"the final response is {final.status or 'nothing'} "
                                     f"{final.body[:60]!r} ({final.problems}), not 200 "
                                     "b'final\\n'")
    if first.status == 103 and EARLY_HINT_LINK not in first.header_all("link"):
        ctx.finding("ASGI-EXT-04.d", f"the 103 carries Link {first.header_all('link')!r}, not "
                                     f"{EARLY_HINT_LINK!r}")
    elif first.status != 103 and not error:
        ctx.finding("ASGI-EXT-04.e", "the server accepted the early hint but sent no 103 "
                                     "(allowed: it may ignore it)")


@check(
    id="asgi-ext.tls-only-on-tls",
    title="the tls extension is not offered on a plain TCP connection",
    requirements=["ASGI-EXT-06", "ASGI-SCOPE-09"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-tls.rst 'When to use this extension'",
)
def tls_only_on_tls(ctx: CheckContext) -> None:
    """asgi-tls.rst, When to use this extension: "This extension must only be used for TLS
    connections. For non-TLS connections, the ASGI server is forbidden from providing this
    extension." (ASGI-EXT-06.b, MUST). The suite's connections are plain TCP, so ``tls``
    must be absent (whether it is present, with its mandatory keys, on TLS is not checked:
    no target runs TLS)."""
    extensions = _extensions(ctx)
    if "tls" in extensions:
        ctx.finding("ASGI-EXT-06.b", f"scope['extensions'] offers 'tls' ({extensions['tls']!r}) "
                                     "on a plain TCP connection")


@check(
    id="asgi-ext.no-debug",
    title="the debug extension is not offered",
    requirements=["ASGI-EXT-07", "ASGI-SCOPE-09"],
    level=Level.SHOULD,
    interfaces=ASGI,
    section="asgi-extensions.rst 'Debug'",
)
def no_debug(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Debug: "This extension is not meant to be used in production,
    only for testing purposes, and ASGI servers should not implement it." (ASGI-EXT-07,
    SHOULD). Offering ``http.response.debug`` in the server's normal configuration is a
    warn."""
    if "http.response.debug" in _extensions(ctx):
        ctx.finding("ASGI-EXT-07", "scope['extensions'] offers 'http.response.debug' in the "
                                   "server's normal configuration")
