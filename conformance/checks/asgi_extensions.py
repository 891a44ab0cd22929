"""ASGI HTTP extensions and root_path (asgi-extensions.rst; asgi-tls.rst; asgi-www.rst
"HTTP Connection Scope").

An extension is optional: where scope["extensions"] does not advertise it the verdict is
``unsupported``. Where it is advertised it must work (ASGI-SCOPE-09): the probe app
(``/probe/ext?kind=...``) uses it and the client checks the bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.catalogue import check
from conformance.checks.common import observed_scope
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


def _sent_ok(ctx: CheckContext, rid: str, kind: str) -> None:
    result = ctx.observed(rid, "send-result")
    ctx.expect(not result["raised"],
               f"the server advertises the {kind} extension but send() of its event raised "
               f"{result['error']}")


@check(
    id="asgi-scope.root-path",
    title="root_path is a str that path starts with (reported when the server sets one)",
    requirements=["ASGI-SCOPE-06"],
    level=Level.MUST,
    interfaces=ASGI,
    section="asgi-www.rst 'HTTP Connection Scope' (root_path); 'WSGI Compatibility'",
)
def root_path(ctx: CheckContext) -> None:
    """asgi-www.rst: ``root_path`` (Unicode string) is "The root path this application is
    mounted at; same as SCRIPT_NAME in WSGI. Optional; if missing defaults to ''"; WSGI
    Compatibility: "PATH_INFO can be derived by stripping root_path from path", so path
    includes the prefix. For a server started without a mount prefix root_path must be a str
    that path starts with; what the server reports, when not empty, is given as info."""
    scope = observed_scope(ctx, ctx.request("GET", "/mounted/app?x=1"))
    value = scope.get("root_path", "")
    ctx.expect(isinstance(value, str), f"scope['root_path'] is {value!r}, not a str")
    ctx.expect(scope.get("path", "").startswith(value),
               f"scope['path'] {scope.get('path')!r} does not start with root_path {value!r}")
    if value:
        ctx.info(f"without a configured prefix the server reports root_path {value!r} "
                 f"(path {scope.get('path')!r})")


@check(
    id="asgi-scope.root-path-option",
    title="with the server's prefix option: what root_path and path are (info)",
    requirements=["ASGI-SCOPE-06"],
    level=Level.INFO,
    interfaces=ASGI,
    via=("direct",),
    own_server=True,
    section="asgi-www.rst 'HTTP Connection Scope' (root_path); 'WSGI Compatibility'",
)
def root_path_option(ctx: CheckContext) -> None:
    """asgi-www.rst: ``root_path`` is "The root path this application is mounted at; same as
    SCRIPT_NAME in WSGI", and "PATH_INFO can be derived by stripping root_path from path":
    path includes root_path. The server runs with its documented prefix option (the TOML's
    [proxy] prefix_args, mounting the app at /app) and is sent GET /app/mounted/x and GET
    /mounted/x directly (a proxy may keep or strip the prefix, and servers document one or the
    other). What it reports is info; when neither request gives root_path "/app" and path
    "/app/mounted/x" (the view from which an app derives both its mount and its own path),
    it warns."""
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
        views.append(f"GET {target}: root_path {root!r}, path {path!r}")
        consistent |= root == MOUNT and path == MOUNT + "/mounted/x"
    report = f"with {' '.join(args)}: " + "; ".join(views)
    if not consistent:
        ctx.warn(f"{report}. In neither deployment is root_path the mount {MOUNT!r} with path "
                 f"{MOUNT + '/mounted/x'!r}, so the application cannot derive its own path "
                 "and mount (asgi-www.rst 'WSGI Compatibility')")
    ctx.info(report)


@check(
    id="asgi-ext.pathsend",
    title="http.response.pathsend, where advertised, sends the file's bytes as the body",
    requirements=["ASGI-EXT-02", "ASGI-SCOPE-09"],
    level=Level.OPTIONAL,
    interfaces=ASGI,
    section="asgi-extensions.rst 'Path Send'",
)
def pathsend(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Path Send: "Except for the characteristics of path-send, it
    should behave the same as ordinary http.response.body": the response body is the file's
    content."""
    _require(ctx, "http.response.pathsend")
    exchange = ctx.request("GET", "/probe/ext?kind=pathsend")
    _sent_ok(ctx, exchange.rid, "pathsend")
    ctx.expect(exchange.response.status == 200 and
               exchange.response.body == Path(EXT_FILE).read_bytes(),
               f"pathsend: got {exchange.response.status} with {len(exchange.response.body)} "
               "body bytes, not the file's content")


@check(
    id="asgi-ext.zerocopysend",
    title="http.response.zerocopysend, where advertised, sends the file and leaves it open",
    requirements=["ASGI-EXT-05", "ASGI-SCOPE-09"],
    level=Level.OPTIONAL,
    interfaces=ASGI,
    section="asgi-extensions.rst 'Zero Copy Send'",
)
def zerocopysend(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Zero Copy Send: "it should behave the same as ordinary
    http.response.body"; "After calling this extension to respond, the ASGI application
    itself should actively close the used file descriptor - ASGI servers are not responsible
    for closing descriptors": the body is the file and the descriptor stays open."""
    _require(ctx, "http.response.zerocopysend")
    exchange = ctx.request("GET", "/probe/ext?kind=zerocopysend")
    _sent_ok(ctx, exchange.rid, "zerocopysend")
    ctx.expect(exchange.response.body == Path(EXT_FILE).read_bytes(),
               f"zerocopysend: {len(exchange.response.body)} body bytes, not the file's content")
    ctx.expect(ctx.observed(exchange.rid, "fd-after-send")["open"],
               "the server closed the application's file descriptor")


@check(
    id="asgi-ext.trailers",
    title="http.response.trailers, where advertised, sends trailers only after TE: trailers",
    requirements=["ASGI-EXT-03", "ASGI-HTTP-11", "ASGI-SCOPE-09"],
    level=Level.OPTIONAL,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-extensions.rst 'HTTP Trailers'",
)
def trailers(ctx: CheckContext) -> None:
    """asgi-extensions.rst, HTTP Trailers: with ``trailers`` True in the start the app sends
    http.response.trailers after the last body; "The ASGI server will only send the trailing
    headers in case the client has sent the TE: trailers header in the request." On HTTP/1.1
    trailers need chunked framing (RFC 9112 7.1.2). Direct only: nginx does not forward an
    upstream's trailers."""
    _require(ctx, "http.response.trailers")
    allowed = ctx.request("GET", "/probe/ext?kind=trailers", headers=[("TE", "trailers")])
    _sent_ok(ctx, allowed.rid, "trailers")
    response = allowed.response
    ctx.expect(response.status == 200 and response.body == b"body-before-trailers\n",
               f"got {response.status} {response.body[:60]!r} ({response.problems})")
    got = [(n.lower(), v) for n, v in response.trailers]
    ctx.expect(TRAILER in got, f"with TE: trailers the response trailers are {got!r}, "
                               f"expected {TRAILER!r}")
    refused = ctx.request("GET", "/probe/ext?kind=trailers")
    ctx.expect(not refused.response.trailers,
               f"without TE: trailers the server still sent trailers {refused.response.trailers}")


@check(
    id="asgi-ext.early-hints",
    title="http.response.early_hint, where advertised, gives a 103 with the Link headers",
    requirements=["ASGI-EXT-04", "ASGI-SCOPE-09"],
    level=Level.OPTIONAL,
    interfaces=ASGI,
    via=("direct",),
    section="asgi-extensions.rst 'Early Hints'",
)
def early_hints(ctx: CheckContext) -> None:
    """asgi-extensions.rst, Early Hints: "The ASGI server should then attempt to send an
    informational response to the client with the provided links as Link headers. The server
    may decide to ignore this message, for example if the HTTP/1.1 protocol is used" (RFC
    8297). A 103 must carry the link and precede an intact final response; no 103 at all is
    the server's allowed choice: info."""
    _require(ctx, "http.response.early_hint")
    rid = ctx.new_rid()
    conn = ctx.connect()
    conn.send(request_bytes("GET", "/probe/ext?kind=early-hint",
                            ctx.base_headers(rid) + [("Connection", "close")]))
    first = conn.read_response(timeout=5.0, skip_interim=False)
    final = conn.read_response(timeout=5.0) if first.status == 103 else first
    _sent_ok(ctx, rid, "early_hint")
    ctx.expect(final.status == 200 and final.body == b"final\n",
               f"the final response is {final.status} {final.body[:60]!r}")
    if first.status != 103:
        ctx.info("the server accepted the early hint but sent no 103 (allowed: it may ignore it)")
    ctx.expect(EARLY_HINT_LINK in first.header_all("link"),
               f"the 103 carries Link {first.header_all('link')!r}, not {EARLY_HINT_LINK!r}")


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
    extension." The suite's connections are plain TCP, so ``tls`` must be absent (whether
    it is present, with its mandatory keys, on TLS is not checked: no target runs TLS)."""
    extensions = _extensions(ctx)
    ctx.expect("tls" not in extensions,
               f"scope['extensions'] offers 'tls' ({extensions['tls']!r}) on a plain TCP "
               "connection" if "tls" in extensions else "")


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
    only for testing purposes, and ASGI servers should not implement it." Offering
    ``http.response.debug`` in the server's normal configuration is a warn."""
    ctx.expect("http.response.debug" not in _extensions(ctx),
               "scope['extensions'] offers 'http.response.debug' in the server's normal "
               "configuration")
