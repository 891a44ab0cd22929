"""The nginx deployment, nginx's keep-alive pool: no leftovers reach the next request (PROXY-06)."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.catalogue import check
from conformance.checks.deployment.nginx_exchange import RESPONSE_TIMEOUT, nginx_errors, send
from conformance.context import CheckContext
from conformance.polling import poll_until
from conformance.probes.contract import Route
from conformance.proxy import Nginx
from conformance.servers import ServerUnderTest
from conformance.verdicts import Level
from conformance.wire import request_bytes

FIRST_TIMEOUT = 2.5  # for the response to the request that may leave bytes behind
LOG_BOUND = 3.0  # for the server's log of a WSGI app error: a write and a flush
# What every deliberate error of the WSGI probe apps says (probes/proxy_probes.py, wsgi_app.py).
PROBE_ERROR = b"probe: deliberate error"


@dataclass(frozen=True)
class _FirstRequest:
    """A request whose handling could leave bytes behind, and the sentence it rests on."""

    name: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    sentence: str
    app_error: bool = False  # a WSGI app error the server should trap and log (PROXY-06.i)


def _desync_cases(ctx: CheckContext) -> list[_FirstRequest]:
    asgi = ctx.target.interface == "asgi"
    mid_error = f"{Route.ERROR}?after_start=1" if asgi else Route.RAISE_IN_ITER
    small, large = b"u" * 10, b"L" * (256 * 1024)
    return [
        _FirstRequest("unread small body", "POST", Route.WHOAMI,
                      (("Content-Length", "10"),), small, "PROXY-06.a"),
        _FirstRequest("early response, unread large body", "POST", Route.WHOAMI,
                      (("Content-Length", str(len(large))),), large, "PROXY-06.a"),
        _FirstRequest("HEAD", "HEAD", Route.WHOAMI, (), b"", "PROXY-06.e"),
        _FirstRequest("204", "GET", f"{Route.STATUS}?code=204", (), b"", "PROXY-06.f"),
        _FirstRequest("304", "GET", f"{Route.STATUS}?code=304", (), b"", "PROXY-06.f"),
        # ASGI: the server must end the instance and its connection (asgi.rst). WSGI: no
        # sentence says how; its own error response must be framed to keep the connection.
        _FirstRequest("app error before the response", "GET", Route.ERROR, (), b"",
                      "PROXY-06.g" if asgi else "PROXY-06.b", app_error=not asgi),
        # WSGI: closing after a response cut short is only a SHOULD (PEP 3333).
        _FirstRequest("app error mid-response", "GET", mid_error, (), b"",
                      "PROXY-06.g" if asgi else "PROXY-06.h", app_error=not asgi),
    ]


def _log_size(server: ServerUnderTest) -> int:
    try:
        return server.log_path.stat().st_size
    except OSError:
        return 0


def _logged_since(server: ServerUnderTest, offset: int) -> bool:
    """Whether the server's log (its stdout and stderr) names the probe's error after
    ``offset``: a server that traps and logs it writes at least the exception's message."""
    try:
        with server.log_path.open("rb") as log:
            log.seek(offset)
            return PROBE_ERROR in log.read()
    except OSError:
        return False


def _pooled_case(ctx: CheckContext, nginx: Nginx, first: _FirstRequest) -> None:
    logged_from = _log_size(ctx.server)
    rid = ctx.new_rid()
    # Its own response is not judged; a server that leaves it unfinished (daphne after an
    # app error mid-response) costs a short bound, not the full one.
    send(ctx, nginx, request_bytes(first.method, first.target,
                                   ctx.base_headers(rid) + list(first.headers), first.body),
         method=first.method, timeout=FIRST_TIMEOUT)
    second = ctx.new_rid()
    response = send(ctx, nginx, request_bytes("GET", Route.WHOAMI, ctx.base_headers(second)))
    own = f"rid={second}\n".encode()
    if first.app_error and not poll_until(lambda: _logged_since(ctx.server, logged_from),
                                          LOG_BOUND):
        ctx.finding("PROXY-06.i", f"the app raised RuntimeError({PROBE_ERROR.decode()}...) on "
                    f"{first.method} {first.target}, and within {LOG_BOUND:g}s the server's "
                    "log (stdout and stderr) does not name it")
    if response.status == 200 and response.body == own:
        return
    got = (f"status {response.status} and body {response.body[:120]!r}" if response.status
           else f"no response within {RESPONSE_TIMEOUT:g}s")
    ctx.finding(first.sentence, f"after {first.method} {first.target} ({first.name}) on nginx's "
                f"one-connection upstream pool, GET {Route.WHOAMI} from another client got "
                f"{got}, not its own answer {own!r}", nginx_errors=nginx_errors(nginx)[-5:])


@check(
    id="deployment.pooled-desync",
    title="nginx's pooled upstream connection never carries one request's leftovers into the next",
    requirements=["PROXY-06"],
    level=Level.MUST,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    section="RFC 9112 section 9.3 (persistence) and 6.3 (message body length); asgi.rst "
            "'Error Handling'; PEP 3333 'Handling the Content-Length Header'",
)
def pooled_desync(ctx: CheckContext) -> None:
    """Behind nginx with a one-connection keep-alive pool, each request whose handling could
    leave bytes behind is followed, from another client connection, by GET /probe/whoami,
    which must get its own answer (rid=<its id>). Each is a sub-case, on its sentence: an
    unread body or an early response, RFC 9112 9.3 (PROXY-06.a) "A server MUST read the
    entire request message body or close the connection after sending its response"; HEAD,
    RFC 9110 9.3.2 (PROXY-06.e) "the server MUST NOT send content in the response"; 204 and
    304, the framing definition of RFC 9112 6.3 (PROXY-06.f); an ASGI app error, asgi.rst
    (PROXY-06.g) "they must terminate the application instance and its associated connection
    if this happens"; a WSGI app error before the response, the self-defined length a
    persistent connection needs (PROXY-06.b); a WSGI app error mid-response, PEP 3333
    (PROXY-06.h, SHOULD) "the server should close the connection". For both WSGI app errors,
    PEP 3333 (PROXY-06.i, SHOULD): "Servers should trap and log any exception that aborts an
    application or the iteration of its return value.": the server's output (stdout and
    stderr, where the suite keeps its log) must name the exception's message."""
    nginx = ctx.nginx("pool")
    for first in _desync_cases(ctx):
        with ctx.case(first.name):
            _pooled_case(ctx, nginx, first)
