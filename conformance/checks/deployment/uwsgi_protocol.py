"""The nginx deployment, the uwsgi protocol behind nginx's uwsgi_pass (PROXY-12).

Only for targets that declare a uwsgi-protocol socket in their TOML:

    [features]
    uwsgi_socket_args = ["--socket", "{host}:{port}"]   # added to the server's command

The check starts its own server with those arguments (the HTTP socket stays, so readiness
and the direct requests use it) and its own nginx of the ``uwsgi`` variant (proxy.py:
``uwsgi_pass`` with nginx's stock ``uwsgi_params``)."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.support.common import OBS_TEXT_VALUE
from conformance.context import CheckContext
from conformance.probes.contract import Event
from conformance.servers import (
    HOST,
    ServerStartError,
    ServerUnderTest,
    free_port,
)
from conformance.verdicts import HarnessError, Level
from conformance.wire import request_bytes

COMPARED = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE",
            "CONTENT_LENGTH", "SERVER_PROTOCOL", "wsgi.url_scheme", "wsgi.version")
# Headers that differ between the two paths by construction (hop, request id).
PER_HOP = ("HTTP_HOST", "HTTP_CONNECTION", "HTTP_X_PROBE_ID")
# Requests sent both ways: (method, target, extra headers, body).
REQUESTS: tuple[tuple[str, str, list[tuple[str | bytes, str | bytes]], bytes], ...] = (
    ("GET", "/uwsgi/plain?a=1&b=%20x&c=%2F", [("X-One", "1")], b""),
    ("POST", "/uwsgi/post", [("Content-Type", "text/plain")], b"hello over uwsgi"),
    ("GET", "/caf%C3%A9", [("X-Latin", OBS_TEXT_VALUE)], b""),
    ("GET", "/uwsgi/dup", [("X-Dup", "a"), ("X-Dup", "b")], b""),
)


def _seen(ctx: CheckContext, server: ServerUnderTest, host: str, port: int, how: str,
          method: str, target: str, headers: list[tuple[str | bytes, str | bytes]],
          body: bytes) -> dict[str, Any]:
    """Send one request to host:port; the environ and body the app journalled for it."""
    rid = ctx.new_rid()
    all_headers: list[tuple[str | bytes, str | bytes]] = [
        ("Host", "uwsgi.test"), ("X-Probe-Id", rid), *headers]
    if body:
        all_headers.append(("Content-Length", str(len(body))))
    conn = ctx.connect(host=host, port=port)
    conn.send(request_bytes(method, target, all_headers, body))
    response = conn.read_response(method=method, timeout=5.0)
    conn.close()
    entry = server.journal.wait_event(rid, Event.REQUEST, timeout=5.0)
    if entry is None:
        # Without the app's view there is nothing to compare: the suite could not run it.
        raise HarnessError(f"{how}: {method} {target} never reached the app within 5s "
                           f"(response status {response.status or 'none'})")
    got_body = server.journal.wait_event(rid, Event.BODY, timeout=5.0)
    return {**entry["environ"], "(body)": got_body["body"] if got_body else None}


def _normal(environ: dict[str, Any], key: str) -> Any:
    """PEP 3333: these keys "may be omitted" when empty, so absent and "" are the same."""
    value = environ.get(key)
    if value is None and key in ("SCRIPT_NAME", "CONTENT_TYPE", "CONTENT_LENGTH",
                                 "QUERY_STRING"):
        return ""
    return value


# The sentence a difference in each compared key breaks (the uwsgi protocol is another way
# of delivering the same request: each value keeps the definition it has over HTTP).
_KEY_SENTENCES = {
    "QUERY_STRING": "PROXY-12.d", "CONTENT_TYPE": "PROXY-12.e", "PATH_INFO": "PROXY-12.f",
    "wsgi.version": "WSGI-ENV-10.b", "wsgi.url_scheme": "WSGI-ENV-10.c",
    "(body)": "WSGI-IN-01.g",
}


def _built_by_nginx(key: str, http: Any, uwsgi: Any) -> bool:
    """Differences nginx makes, not the server: through uwsgi_pass nginx builds the HTTP_*
    variables, one per header line (1.22 passes repeated lines as repeated variables, which
    the server can only store one after the other) and Content-Type / Content-Length as
    HTTP_CONTENT_* besides CONTENT_*; the server passes on what it is given."""
    if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH") and http is None:
        return True
    parts = [p.strip() for p in http.split(",")] if isinstance(http, str) else []
    return key.startswith("HTTP_") and len(parts) > 1 and uwsgi in parts


def _sentence(key: str, http: Any, uwsgi: Any) -> str:
    """The sentence the app's value through uwsgi_pass breaks, given its value over HTTP."""
    cgi = key != "(body)" and not key.startswith("wsgi.")
    if cgi and uwsgi is not None and not isinstance(uwsgi, str):
        return "PROXY-12.c"
    if cgi and isinstance(uwsgi, str) and any(ord(c) > 0xFF for c in uwsgi):
        return "PROXY-12.c"  # not a native string of latin-1 code points (a UTF-8 decode)
    if key.startswith("HTTP_"):
        return "PROXY-12.g"
    return _KEY_SENTENCES.get(key, "PROXY-12.a")


@check(
    id="deployment.uwsgi-protocol",
    title="through nginx's uwsgi_pass the app sees the same environ as over HTTP",
    requirements=["PROXY-12", "WSGI-ENV-10", "WSGI-IN-01"],
    level=Level.MUST,
    interfaces=("wsgi",),
    section="PEP 3333 'environ Variables'; nginx ngx_http_uwsgi_module (uwsgi_pass)",
    via=("nginx",),
    own_server=True,
)
def uwsgi_protocol(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables: the CGI keys (REQUEST_METHOD, SCRIPT_NAME, PATH_INFO,
    QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH, SERVER_PROTOCOL, HTTP_*) and the body are
    defined by the request, not by the transport. Behind nginx's uwsgi_pass the server
    builds environ from the uwsgi protocol's variables (nginx's uwsgi_params); for the same
    request the app should see what it sees over HTTP. Each request is a sub-case and each
    differing key its own finding, on the sentence that defines it: "The environ dictionary
    is required to contain these CGI environment variables, as defined by the Common Gateway
    Interface specification" (PROXY-12.a), the QUERY_STRING, CONTENT_TYPE and PATH_INFO
    definitions (PROXY-12.d, .e, .f), "CGI-defined variables must be native strings"
    (PROXY-12.c), "The presence or absence of these variables should correspond with the
    presence or absence of the appropriate HTTP header in the request." (PROXY-12.g, SHOULD),
    the
    wsgi.version and wsgi.url_scheme definitions (WSGI-ENV-10.b, .c), and wsgi.input, "An
    input stream (file-like object) from which the HTTP request body bytes can be read."
    (WSGI-IN-01.g). Repeated header lines and HTTP_CONTENT_* through uwsgi_pass are nginx's
    doing (it builds those variables; see _built_by_nginx): recorded in the details, not
    judged."""
    args = ctx.target.feature("uwsgi_socket_args")
    if not args:
        ctx.unsupported("the target declares no uwsgi-protocol socket "
                        "([features] uwsgi_socket_args)")
    upstream_port = free_port()
    extra = [str(a).format(host=HOST, port=upstream_port) for a in args]
    server = ctx.start_server(extra_args=extra, label="uwsgi-protocol")
    try:
        proxy = ctx.nginx_in_front(f"{HOST}:{upstream_port}", variant="uwsgi")
        for method, target, headers, body in REQUESTS:
            with ctx.case(f"{method} {target}"):
                http = _seen(ctx, server, server.host, server.port, "over HTTP", method,
                             target, headers, body)
                uwsgi = _seen(ctx, server, proxy.host, proxy.port, "through uwsgi_pass",
                              method, target, headers, body)
                _judge_differences(ctx, http, uwsgi)
    except ServerStartError as exc:
        raise HarnessError(str(exc)) from None


def _judge_differences(ctx: CheckContext, http: dict[str, Any], uwsgi: dict[str, Any]) -> None:
    keys = list(COMPARED) + sorted(
        k for k in set(http) | set(uwsgi) if k.startswith("HTTP_") and k not in PER_HOP)
    keys.append("(body)")
    for key in keys:
        if _normal(http, key) == _normal(uwsgi, key):
            continue
        if _built_by_nginx(key, http.get(key), uwsgi.get(key)):
            ctx.details.setdefault("built_by_nginx", []).append(
                f"{key}: {http.get(key)!r} over HTTP, {uwsgi.get(key)!r} through uwsgi_pass")
        else:
            ctx.finding(_sentence(key, http.get(key), uwsgi.get(key)),
                        f"{key}: {http.get(key)!r} over HTTP, {uwsgi.get(key)!r} through "
                        "uwsgi_pass")
