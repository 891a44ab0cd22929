"""The nginx deployment, what the app sees directly and through nginx (PROXY-09).

What nginx is documented to change is listed once, in :data:`PROXY_CHANGES`; values that
differ between any two connections (the client's port, the request id) in
:data:`PER_CONNECTION`. A difference that goes away when the request is sent straight to the
server as nginx forwards it (:func:`as_nginx_forwards`) follows from those changes; every
other difference between the two views is reported."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import check_settings
from conformance.context import CheckContext
from conformance.oracle import GeneratedRequest
from conformance.probes.contract import Event
from conformance.verdicts import Level
from conformance.wire import Connection, Response, WireTimeout

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
_NGINX_CLIENT_ERROR = re.compile(r"\*\d+ (client (?:sent|intended) .*?)(?: while |, client: |$)")
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


@dataclass(frozen=True)
class Observation:
    """What one request got on one path."""

    status: int  # 0: no complete response
    answer: str  # the status, or what came instead of one, for a message
    reached_app: bool
    view: dict[str, Any] | None = None  # what the app saw, set-aside values left out


def no_response(response: Response) -> str:
    """What came instead of a status line, for a message (wire.Response's status 0)."""
    if response.raw:
        return f"no complete response within {EXAMPLE_TIMEOUT:g} s ({len(response.raw)} bytes)"
    if response.problems and "closed" in response.problems[0]:
        return "the connection closed with no response"
    return f"no response within {EXAMPLE_TIMEOUT:g} s"


def _observe(ctx: CheckContext, host: str, port: int, req: GeneratedRequest) -> Observation:
    rid = ctx.untracked_rid()
    with Connection(host, port, timeout=EXAMPLE_TIMEOUT) as conn:
        conn.send(req.to_bytes(f"{ctx.server.host}:{ctx.server.port}", rid))
        try:
            response = conn.read_response(method=req.method, timeout=EXAMPLE_TIMEOUT)
        except WireTimeout:
            response = Response()
    answer = str(response.status) if response.status else no_response(response)
    entry = ctx.journal.wait_event(rid, Event.REQUEST, timeout=EXAMPLE_TIMEOUT) if (
        response.status == 200) else None
    if entry is None:  # the app journals before it answers: no wait needed here
        return Observation(response.status, answer, bool(ctx.journal.for_rid(rid)))
    view = (_asgi_view(entry["scope"]) if ctx.target.interface == "asgi"
            else _wsgi_view(entry["environ"]))
    return Observation(200, answer, True, view)


def _nginx_keeps(name: bytes) -> bool:
    return bool(_NGINX_VALID_NAME.fullmatch(name.decode("latin-1")))


def as_nginx_forwards(req: GeneratedRequest) -> tuple[GeneratedRequest, list[str]]:
    """``req`` with the documented changes nginx makes to a request it forwards (those of
    PROXY_CHANGES that change what the server parses, not what it is told), and which of them
    applied: fields with names nginx drops left out, a chunked body sent with Content-Length
    (nginx sends one even for an empty body), HTTP/1.1. The forwarding fields nginx adds are
    not: what a server does with them is the forwarded-* checks' question."""
    changes: list[str] = []
    kept = tuple((name, value) for name, value in req.headers if _nginx_keeps(name))
    dropped = dict.fromkeys(name.decode("latin-1") for name, _ in req.headers
                            if not _nginx_keeps(name))
    if dropped:
        changes.append(f"{PROXY_CHANGES['invalid-names']} ({', '.join(dropped)})")
    forwarded = replace(req, headers=kept, version="HTTP/1.1")
    if req.chunked:
        forwarded = replace(forwarded, chunks=None)
        if not forwarded.sends_content_length:
            forwarded = replace(forwarded, headers=kept + ((b"Content-Length", b"0"),))
        changes.append(PROXY_CHANGES["transfer-encoding"])
    if req.version != "HTTP/1.1":
        changes.append(PROXY_CHANGES["http_version"])
    return forwarded, changes


def _refused_by_nginx(proxied: Observation) -> bool:
    return 400 <= proxied.status < 500 and not proxied.reached_app


def _refusal(direct: Observation, proxied: Observation, log: str) -> str:
    """A request nginx answered itself, for the details: why, from the lines its error log
    gained meanwhile (it logs a client's bad request at level info: "client sent duplicate
    header line: ...")."""
    reasons = [match.group(1) for match in map(_NGINX_CLIENT_ERROR.search, log.splitlines())
               if match]
    why = f" (its error log: {reasons[0]})" if reasons else ""
    return (f"status: direct {direct.answer}, through nginx {proxied.answer}: nginx answered "
            f"itself{why}, the server never saw the request")


def _differences(direct: Observation, proxied: Observation) -> dict[str, str]:
    """Each difference between what the two paths got, by key ("status" or a view key)."""
    if direct.view is None or proxied.view is None:
        # Only one side reached the app, or neither: the answer is the difference.
        return ({} if direct.answer == proxied.answer else
                {"status": f"status: direct {direct.answer}, through nginx {proxied.answer}"})
    return {key: f"{key}: direct {direct.view.get(key, '<absent>')!r}, through nginx "
                 f"{proxied.view.get(key, '<absent>')!r}"
            for key in sorted(set(direct.view) | set(proxied.view))
            if direct.view.get(key) != proxied.view.get(key)}


def _value_of(observation: Observation, key: str) -> str:
    if key == "status" or observation.view is None:
        return observation.answer
    return repr(observation.view.get(key, "<absent>"))


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
    per-connection values are set aside. A request nginx refused itself never reached the
    server: nothing to compare. Where the two differ, the request is sent straight to the
    server again as nginx forwards it (as_nginx_forwards): what no longer differs then
    follows from those changes (details "explained"; what the server does with the request
    as the client sent it is the direct checks' question). Each other field that differs is
    its own INFO finding (with the first request that shows it): nginx and the server share
    the responsibility, and the direct checks judge the server's own view."""
    from hypothesis import example, given

    from conformance import strategies  # Hypothesis: imported when a check generates

    requests = (strategies.asgi_requests() if ctx.target.interface == "asgi"
                else strategies.wsgi_requests())
    nginx = ctx.nginx("default")
    server = ctx.server
    found: dict[str, str] = {}
    explained: dict[str, str] = {}
    first: list[tuple[GeneratedRequest, GeneratedRequest]] = []  # (sent directly, to nginx)
    unanswered: list[GeneratedRequest] = []

    def compare(req: GeneratedRequest) -> None:
        if len(unanswered) >= MAX_UNANSWERED:
            return
        direct = _observe(ctx, server.host, server.port, req)
        logged = len(nginx.error_log())
        proxied = _observe(ctx, nginx.host, nginx.port, req)
        if not direct.status or not proxied.status:
            unanswered.append(req)
        if _refused_by_nginx(proxied):  # the server never saw it: nothing to compare
            if direct.answer != proxied.answer:
                explained.setdefault("refused-by-nginx", (
                    f"{_refusal(direct, proxied, nginx.error_log()[logged:])} "
                    f"(request {req!r})"))
            return
        differences = _differences(direct, proxied)
        sent_directly, note = req, ""
        forwarded, changes = as_nginx_forwards(req)
        if differences and changes:
            again = _observe(ctx, server.host, server.port, forwarded)
            remaining = _differences(again, proxied)
            how = "; ".join(changes)
            for key in differences.keys() - remaining.keys():
                explained.setdefault(key, (
                    f"{differences[key]}; sent directly as nginx forwards it ({how}): "
                    f"{_value_of(again, key)} (request {req!r})"))
            differences, sent_directly = remaining, forwarded
            note = f"; direct: sent as nginx forwards it ({how})"
        for key, difference in differences.items():
            found.setdefault(key, f"{difference} (request {req!r}{note})")
            first[:] = first or [(sent_directly, req)]

    if ctx.target.interface == "wsgi":  # the ASGI strategy sends no chunked bodies
        compare = example(CHUNKED_EXAMPLE)(compare)
    prop = check_settings(min(ctx.harness.examples, MAX_EXAMPLES), shrink=False)(
        given(requests)(compare))
    prop()
    if len(unanswered) >= MAX_UNANSWERED:
        ctx.details["stopped_after_unanswered"] = len(unanswered)
    if explained:
        ctx.details["explained"] = explained
    if not found:
        return
    # The first differing request again on tracked connections: its bytes both ways and the
    # app's two views go into the evidence.
    sent_directly, sent_to_nginx = first[0]
    for host, port, req in ((server.host, server.port, sent_directly),
                            (nginx.host, nginx.port, sent_to_nginx)):
        conn = ctx.connect(host=host, port=port, timeout=EXAMPLE_TIMEOUT)
        conn.send(req.to_bytes(f"{server.host}:{server.port}", ctx.new_rid()))
        conn.read_response(method=req.method, timeout=EXAMPLE_TIMEOUT)
        conn.close()
    ctx.details["differences"] = found
    for difference in found.values():
        ctx.finding("PROXY-09", f"beyond nginx's documented changes, {difference}")
