"""The nginx deployment, what the app sees directly and through nginx (PROXY-09).

What nginx is documented to change is listed once, in :data:`PROXY_CHANGES`; values that
differ between any two connections (the client's port, the request id) in
:data:`PER_CONNECTION`. Every other difference between the two views is reported."""

from __future__ import annotations

import re
from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import check_settings
from conformance.context import CheckContext
from conformance.oracle import GeneratedRequest
from conformance.probes.contract import Event
from conformance.verdicts import Level
from conformance.wire import Connection, WireTimeout

EXAMPLE_TIMEOUT = 3.0
MAX_EXAMPLES = 25  # two requests each; the oracle checks already cover the direct view
# Examples left unanswered on either path (no response in EXAMPLE_TIMEOUT, or the connection
# closed with none) after which the rest are not sent: each can cost EXAMPLE_TIMEOUT, the
# difference is recorded with the first, and more would only repeat it (socketify: 25 of 25
# examples, 40-55 s).
MAX_UNANSWERED = 2

# What nginx (proxy.py's default variant) changes, by design (RFC 9110 section 7.6: a proxy
# removes hop-by-hop fields and may add its own; RFC 9112 section 2.5: it speaks its own HTTP
# version upstream). ASGI header names and WSGI environ keys.
PROXY_CHANGES = {
    "x-forwarded-for": "added by proxy_set_header X-Forwarded-For",
    "x-forwarded-proto": "added by proxy_set_header X-Forwarded-Proto",
    "connection": "hop-by-hop (RFC 9110 7.6.1): nginx sends its own (empty) Connection",
    "keep-alive": "hop-by-hop (RFC 9110 7.6.1)",
    "host": "proxy_set_header Host $http_host: same value, moved first",
    "http_version": "nginx speaks HTTP/1.1 upstream whatever the client spoke",
    "HTTP_X_FORWARDED_FOR": "added by proxy_set_header X-Forwarded-For",
    "HTTP_X_FORWARDED_PROTO": "added by proxy_set_header X-Forwarded-Proto",
    "HTTP_CONNECTION": "hop-by-hop (RFC 9110 7.6.1)",
    "HTTP_KEEP_ALIVE": "hop-by-hop (RFC 9110 7.6.1)",
    "SERVER_PROTOCOL": "nginx speaks HTTP/1.1 upstream whatever the client spoke",
    # A chunked request body is de-chunked and buffered by nginx (proxy_request_buffering on),
    # which then sends Content-Length upstream (RFC 9112 6.1: a proxy may re-frame the body).
    "transfer-encoding": "nginx de-chunks a chunked request body and sends Content-Length",
    "content-length": "nginx de-chunks a chunked request body and sends Content-Length",
    "HTTP_TRANSFER_ENCODING": "nginx de-chunks a chunked request body and sends Content-Length",
    "CONTENT_LENGTH": "nginx de-chunks a chunked request body and sends Content-Length",
    # The same Content-Length, where the server also keeps it as HTTP_* (Twisted's WSGI
    # container; RFC 3875 4.1.18 SHOULD remove it, judged by pep3333.http-headers).
    "HTTP_CONTENT_LENGTH": "nginx de-chunks a chunked request body and sends Content-Length",
    # A request nginx answers itself with a 4xx never reaches the server (nginx refuses some
    # valid requests, e.g. a repeated Authorization field: ngx_http_process_unique_header_line).
    "refused-by-nginx": "nginx answered a 4xx itself; the server never saw the request",
    # ignore_invalid_headers (on by default): a field whose name holds a tchar other than a
    # letter, digit or "-" (RFC 9110 5.6.2 allows "!#$%&'*+.^`|~" too) is dropped.
    "invalid-names": "nginx drops fields whose names hold other than letters, digits and '-'",
}
_NGINX_VALID_NAME = re.compile(r"[A-Za-z0-9-]+")
_NGINX_VALID_KEY = re.compile(r"HTTP_[A-Z0-9_]+")  # the same names as CGI keys
# Values that differ between any two connections or requests, proxy or not. mod_wsgi stamps
# every request with its id, its timings, the daemon thread and the Apache child that took it
# (mod_wsgi src/server/wsgi_environ.c and wsgi_adapter.c set these mod_wsgi.* keys).
PER_CONNECTION = {"x-probe-id", "HTTP_X_PROBE_ID", "REMOTE_PORT", "gunicorn.socket",
                  "mod_wsgi.request_id", "mod_wsgi.request_start", "mod_wsgi.queue_start",
                  "mod_wsgi.daemon_start", "mod_wsgi.application_start",
                  "mod_wsgi.thread_id", "mod_wsgi.server_pid"}
_SET_ASIDE = set(PROXY_CHANGES) | PER_CONNECTION


def _asgi_view(scope: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in scope.items() if k not in PROXY_CHANGES and k != "headers"}
    client = scope.get("client")
    view["client"] = client[0] if client else None  # the port is per connection
    # asgi-www.rst: "order of header names is not important" (nginx puts the Content-Length
    # it regenerates first), the order of one name's values is: a stable sort by name.
    view["headers"] = sorted(((bytes(n).lower().decode("latin-1"), bytes(v))
                              for n, v in scope.get("headers", [])
                              if bytes(n).lower().decode("latin-1") not in _SET_ASIDE
                              and _NGINX_VALID_NAME.fullmatch(bytes(n).decode("latin-1"))),
                             key=lambda pair: pair[0])
    return view


def _wsgi_view(environ: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in environ.items() if k not in _SET_ASIDE
            and not (k.startswith("HTTP_") and not _NGINX_VALID_KEY.fullmatch(k))}


def _observe(ctx: CheckContext, host: str, port: int, req: GeneratedRequest) -> dict[str, Any]:
    rid = ctx.untracked_rid()
    with Connection(host, port, timeout=EXAMPLE_TIMEOUT) as conn:
        conn.send(req.to_bytes(f"{ctx.server.host}:{ctx.server.port}", rid))
        try:
            response = conn.read_response(method=req.method, timeout=EXAMPLE_TIMEOUT)
        except WireTimeout:
            return {"status": "no response"}
    entry = ctx.journal.wait_event(rid, Event.REQUEST, timeout=EXAMPLE_TIMEOUT) if (
        response.status == 200) else None
    if entry is None:  # the app journals before it answers: no wait needed here
        return {"status": response.status, "reached_app": bool(ctx.journal.for_rid(rid))}
    if ctx.target.interface == "asgi":
        return {"status": 200, **_asgi_view(entry["scope"])}
    return {"status": 200, **_wsgi_view(entry["environ"])}


def _differences(direct: dict[str, Any], proxied: dict[str, Any]) -> list[str]:
    refused = (isinstance(proxied["status"], int) and 400 <= proxied["status"] < 500
               and not proxied.get("reached_app"))
    if "refused-by-nginx" in PROXY_CHANGES and direct["status"] == 200 and refused:
        return []
    if direct["status"] != 200 or proxied["status"] != 200:
        # Only one side reached the app (nginx refuses some requests the server takes, e.g.
        # a repeated Authorization field): the answer is the difference.
        return ([] if direct["status"] == proxied["status"] else
                [f"status: direct {direct['status']!r}, through nginx {proxied['status']!r}"])
    return [f"{key}: direct {direct.get(key, '<absent>')!r}, through nginx "
            f"{proxied.get(key, '<absent>')!r}"
            for key in sorted(set(direct) | set(proxied)) if direct.get(key) != proxied.get(key)]


# Always among a WSGI target's examples, whatever order Hypothesis draws the others in: a
# chunked body, which nginx (request buffering on) forwards with a Content-Length instead.
CHUNKED_EXAMPLE = GeneratedRequest(method="POST", path=b"/differential/chunked", query=None,
                                   headers=(), body=b"hello", chunks=((5, b""),))


@check(
    id="deployment.differential",
    title="what the app sees directly and through nginx differs only in the proxy's changes",
    requirements=["PROXY-09"],
    level=Level.INFO,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    section="RFC 9110 section 7.6 (message forwarding); REQUIREMENTS PROXY-09",
)
def differential(ctx: CheckContext) -> None:
    """Reported, never failed: no sentence binds the server to what the app sees through
    nginx (PROXY-09's no_sentence); the sentences of PROXY-09 bind nginx, e.g. RFC 9110 3.7
    (PROXY-09.b) "A gateway communicates with inbound servers using any protocol that it
    desires, including private extensions to HTTP that are outside the scope of this
    specification." For up to 25 generated valid requests (conformance/strategies.py), each
    is sent straight to the server and through nginx; the environ / scope the app saw is
    compared once the proxy's documented changes (PROXY_CHANGES in this module) and
    per-connection values are set aside. Each other field that differs is its own INFO
    finding (with the first request that shows it): nginx and the server share the
    responsibility, and the direct checks judge the server's own view."""
    from hypothesis import example, given

    from conformance import strategies  # Hypothesis: imported when a check generates

    requests = (strategies.asgi_requests() if ctx.target.interface == "asgi"
                else strategies.wsgi_requests())
    nginx = ctx.nginx("default")
    server = ctx.server
    found: dict[str, str] = {}
    first: list[GeneratedRequest] = []
    unanswered: list[GeneratedRequest] = []

    def compare(req: GeneratedRequest) -> None:
        if len(unanswered) >= MAX_UNANSWERED:
            return
        direct = _observe(ctx, server.host, server.port, req)
        proxied = _observe(ctx, nginx.host, nginx.port, req)
        if {"no response", 0} & {direct["status"], proxied["status"]}:
            unanswered.append(req)
        for diff in _differences(direct, proxied):
            found.setdefault(diff.split(":", 1)[0], f"{diff} (request {req!r})")
            first[:] = first or [req]

    if ctx.target.interface == "wsgi":  # the ASGI strategy sends no chunked bodies
        compare = example(CHUNKED_EXAMPLE)(compare)
    prop = check_settings(min(ctx.harness.examples, MAX_EXAMPLES), shrink=False)(
        given(requests)(compare))
    prop()
    if len(unanswered) >= MAX_UNANSWERED:
        ctx.details["stopped_after_unanswered"] = len(unanswered)
    if not found:
        return
    # The first differing request again on tracked connections: its bytes both ways and the
    # app's two views go into the evidence.
    for host, port in ((server.host, server.port), (nginx.host, nginx.port)):
        conn = ctx.connect(host=host, port=port, timeout=EXAMPLE_TIMEOUT)
        conn.send(first[0].to_bytes(f"{server.host}:{server.port}", ctx.new_rid()))
        conn.read_response(method=first[0].method, timeout=EXAMPLE_TIMEOUT)
        conn.close()
    ctx.details["differences"] = found
    for difference in found.values():
        ctx.finding("PROXY-09", f"beyond nginx's documented changes, {difference}")
