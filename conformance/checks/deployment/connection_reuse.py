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
from conformance.wire import Response, request_bytes

FIRST_TIMEOUT = 2.5  # for the response to the request that may leave bytes behind
LOG_BOUND = 3.0  # for the server's log of a WSGI app error: a write and a flush
DEATH_WAIT = 0.5  # for a crash under way to end the server's process, once an answer was wrong
# What every deliberate error of the WSGI probe apps says (probes/proxy_probes.py, wsgi_app.py).
PROBE_ERROR = b"probe: deliberate error"
# The checks that judge a server dying on an app error ("trap and log", SHOULD).
CRASH_CHECK = {"wsgi": "pep3333.app-exception", "asgi": "asgi.app-exception"}


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
    # An ASGI app error: the server must end the instance and its connection (PROXY-06.g).
    ends_connection: bool = False


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
                      "PROXY-06.g" if asgi else "PROXY-06.b", app_error=not asgi,
                      ends_connection=asgi),
        # WSGI: closing after a response cut short is only a SHOULD (PEP 3333).
        _FirstRequest("app error mid-response", "GET", mid_error, (), b"",
                      "PROXY-06.g" if asgi else "PROXY-06.h", app_error=not asgi,
                      ends_connection=asgi),
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


def what_arrived(response: Response) -> str:
    """What the client got instead of its own answer, for a message: bytes that are not an
    HTTP response (nginx relays an upstream's unparsable bytes as HTTP/0.9) are quoted."""
    if response.status:
        return f"status {response.status} and body {response.body[:120]!r}"
    if response.raw:
        return (f"{response.raw[:160]!r} ({len(response.raw)} bytes), which is not an HTTP "
                "response")
    return f"no response within {RESPONSE_TIMEOUT:g}s"


def _send_first(ctx: CheckContext, nginx: Nginx, first: _FirstRequest,
                rid: str) -> tuple[Response, bool]:
    """Send the request that may leave bytes behind; what its client got, and whether the
    response ended (complete, or its connection closed) within FIRST_TIMEOUT. A server that
    leaves it unfinished (daphne after an app error mid-response) costs this short bound."""
    conn = ctx.connect(host=nginx.host, port=nginx.port, timeout=FIRST_TIMEOUT)
    conn.send(request_bytes(first.method, first.target,
                            ctx.base_headers(rid) + list(first.headers), first.body))
    response = conn.read_response(method=first.method, timeout=FIRST_TIMEOUT)
    ended = response.complete or conn.eof
    conn.close()
    return response, ended


def _partial(response: Response) -> str:
    """What the client got of a response that never ended, for a message."""
    if response.status:
        length = response.header("content-length")
        stated = f" of the {length.decode('latin-1')} its Content-Length states" if length else ""
        return f"status {response.status} and {len(response.body)} body bytes{stated}"
    return f"{len(response.raw)} bytes" if response.raw else "nothing"


def _note_unended(ctx: CheckContext, first: _FirstRequest, response: Response) -> None:
    """Record, as not judged here, an ASGI app error whose response neither completed nor
    closed: unbuffered nginx would have passed on either, so the server had ended neither.
    What ended it was the suite's client giving up (nginx then closes its upstream
    connection), so the pooled next request cannot show it; asgi.app-exception judges the
    server's end of the connection with its own bound."""
    ctx.details.setdefault("not_judged", []).append(
        f"{first.name}: through nginx, {first.method} {first.target} got {_partial(response)}, "
        f"and within {FIRST_TIMEOUT:g}s neither a complete response nor the connection's close "
        "(unbuffered nginx passes on either, so the server had ended neither); the suite's "
        "client gave up and closed, and nginx then closed its upstream connection: the "
        "server's end of the connection after an app error is judged by "
        f"{CRASH_CHECK['asgi']}")


def _pooled_case(ctx: CheckContext, first: _FirstRequest) -> None:
    # The server first: one that died in an earlier sub-case is restarted here, which stops
    # the nginx in front of the dead one, so the pool nginx is asked for after it.
    server = ctx.server
    nginx = ctx.nginx("pool")
    logged_from = _log_size(server)
    rid, second = ctx.new_rid(), ctx.new_rid()
    # Both requests are made before the first is sent: asking the context for headers after
    # a server died under the first would restart it, and so stop this pool nginx.
    whoami = request_bytes("GET", Route.WHOAMI, ctx.base_headers(second))
    # Its own response is not judged, but one that never ended must not pass unremarked.
    first_response, ended = _send_first(ctx, nginx, first, rid)
    if first.ends_connection and not ended:
        _note_unended(ctx, first, first_response)
    response = send(ctx, nginx, whoami)
    own = f"rid={second}\n".encode()
    # The log of the server that handled the request: a dead one's, not its replacement's.
    if first.app_error and not poll_until(lambda: _logged_since(server, logged_from),
                                          LOG_BOUND):
        ctx.finding("PROXY-06.i", f"the app raised RuntimeError({PROBE_ERROR.decode()}...) on "
                    f"{first.method} {first.target}, and within {LOG_BOUND:g}s the server's "
                    "log (stdout and stderr) does not name it")
    if response.status == 200 and response.body == own:
        return
    died = server.exit_status(DEATH_WAIT)
    if died is not None:
        # No server was left to keep the pooled connection, let alone leave bytes on it: not
        # a desync. The crash is the app-exception checks' to judge (trap and log, SHOULD).
        ctx.details.setdefault("not_judged", []).append(
            f"{first.name}: after {first.method} {first.target} the server process exited "
            f"(status {died}), and GET {Route.WHOAMI} from another client got "
            f"{what_arrived(response)}: no server was left to hold the pooled connection; "
            f"the crash is judged by {CRASH_CHECK[ctx.target.interface]}")
        return
    ctx.finding(first.sentence, f"after {first.method} {first.target} ({first.name}) on nginx's "
                f"one-connection upstream pool, GET {Route.WHOAMI} from another client got "
                f"{what_arrived(response)}, not its own answer {own!r}",
                nginx_errors=nginx_errors(nginx)[-5:])


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
    stderr, where the suite keeps its log) must name the exception's message. A server whose
    process died in a sub-case left no connection to carry bytes: that sub-case is recorded
    as not judged (the crash is pep3333.app-exception's or asgi.app-exception's), and the
    next one runs on a restarted server behind a new pool nginx. So is an ASGI app error whose
    own response neither completed nor closed within 2.5 s: only the suite's client giving up
    ended it, so the next request cannot tell; asgi.app-exception judges that sentence."""
    for first in _desync_cases(ctx):
        with ctx.case(first.name):
            _pooled_case(ctx, first)
