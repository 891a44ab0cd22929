"""asgi-lifespan.rst, "Scope": the lifespan scope's keys, and an app raising on it."""

from __future__ import annotations

from conformance.catalogue import check
from conformance.checks.asgi_lifespan.lifespan_servers import (
    lifespan_events,
    lifespan_server,
    state_request,
)
from conformance.context import CheckContext
from conformance.polling import poll_until
from conformance.probes.asgi_app import LIFESPAN_ENV
from conformance.probes.contract import Event
from conformance.servers import http_answers
from conformance.verdicts import HarnessError, Level
from conformance.wire import request_bytes


@check(
    id="asgi-lifespan.raise-keeps-serving",
    title="an app raising on the lifespan scope: the server continues and serves requests",
    requirements=["ASGI-LIFE-04"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Scope'",
)
def raise_keeps_serving(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Scope: "If an exception is raised when calling the application
    callable with a lifespan.startup message or a scope with type lifespan, the server must
    continue but not send any lifespan events." (ASGI-LIFE-04, MUST). The app raises at once
    on the lifespan scope; the server must go on and serve requests: exiting, not serving
    within the target's startup timeout, or not passing a request to the app breaks it."""
    server = ctx.start_server(env={LIFESPAN_ENV: "raise"}, label="lifespan-raise",
                              wait_ready=False)

    def exited_or_answering() -> str | None:
        if not server.alive():
            return "exited"
        return "answering" if http_answers(server.host, server.port, timeout=0.5) else None

    # The target's startup timeout is counted from the app's raise (its lifespan scope), not
    # from the spawn (the server's own boot and import come before it): first until the app
    # got the scope (or the server already exited or answers), then the whole bound from
    # there.
    outcome = poll_until(lambda: exited_or_answering() or (
        "raised" if server.journal.saw(None, Event.LIFESPAN_SCOPE) else None),
        ctx.target.startup_timeout, interval=0.05)
    if outcome == "raised":
        outcome = poll_until(exited_or_answering, ctx.target.startup_timeout, interval=0.05)
    answering = outcome == "answering"
    raised = server.journal.saw(None, Event.LIFESPAN_SCOPE)
    if not answering and not server.alive():
        if not raised:
            raise HarnessError(f"the server exited (status {server.exit_status()}) "
                               f"before calling the app:\n{server.log_tail()}")
        ctx.require(False, "ASGI-LIFE-04",
                    "the server exited after the app raised on the lifespan scope "
                    f"(status {server.exit_status()}):\n{server.log_tail()}")
    since = ("after the app raised on the lifespan scope" if raised else
             "after it was started (and never called the app with a lifespan scope)")
    ctx.require(answering, "ASGI-LIFE-04",
                f"the server did not serve within {ctx.target.startup_timeout:g}s {since}:\n"
                f"{server.log_tail()}")
    if not raised:
        ctx.unsupported("the server sent no lifespan scope (lifespan protocol not supported)")
    rid = ctx.new_rid()
    conn = ctx.connect(host=server.host, port=server.port)
    conn.send(request_bytes("GET", "/lifespan/after-raise",
                            [("Host", f"{server.host}:{server.port}"), ("X-Probe-Id", rid),
                             ("Connection", "close")]))
    response = conn.read_response(timeout=5.0)
    if server.journal.wait_event(rid, Event.REQUEST, timeout=5.0) is None:
        ctx.finding("ASGI-LIFE-04", "after the lifespan exception a request got "
                                    f"{response.status or 'nothing'} and never reached the app")


@check(
    id="asgi-lifespan.scope-keys",
    title="the lifespan scope has type \"lifespan\", asgi.version \"3.0\", and a dict state",
    requirements=["ASGI-LIFE-02"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    own_server=True,
    section="asgi-lifespan.rst 'Scope'; asgi.rst 'Applications', 'Version History'",
)
def scope_keys(ctx: CheckContext) -> None:
    """asgi-lifespan.rst, Scope: "type (*Unicode string*) -- "lifespan"." (ASGI-LIFE-02.c;
    asgi.rst: "In scopes, the type key must be a Unicode string", .b); "asgi["version"]
    (*Unicode string*) -- The version of the ASGI spec." (.d) and asgi.rst's "scope["asgi"]
    will also be present as a dictionary containing a scope["asgi"]["version"] key that
    corresponds to the ASGI version the server implements" (.e): the probe app is a single
    callable, and "3.0 (2019-03-04): Changed to single-callable application style" (.j), so
    the version is "3.0"; "asgi["spec_version"] (*Unicode string*) -- The version of this spec
    being used." (.i); "state Optional(*dict[Unicode string, Any]*) -- An empty namespace
    where the application can persist state to be used when handling subsequent requests."
    (.f). Definitions and two musts: all MUST. asgi.rst: "scope must be a dict." (.a): a
    mapping of another class breaks it. "ASGI servers that implement this feature will
    provide state as part of the lifespan scope" (.g): a lifespan scope without state is
    "Optional; if missing the server does not support this feature." (.h), unless a request
    scope has a state all the same (one request to ``/probe/state`` tells)."""
    server = lifespan_server(ctx, "lifespan-scope")
    entry = lifespan_events(server, Event.LIFESPAN_SCOPE)[0]
    scope = entry["scope"]
    if not entry.get("scope_is_dict", True):
        ctx.finding("ASGI-LIFE-02.a", f"the lifespan scope is a {entry.get('scope_class')}, "
                                      "not a dict")
    if "state" not in scope:
        seen, conn = state_request(ctx, server)
        conn.close()
        if seen["present"]:
            ctx.finding("ASGI-LIFE-02.g", "a request scope has a state but the lifespan "
                                          "scope has none: the app cannot persist anything "
                                          "at startup for the requests")
    kind = scope.get("type")
    if not isinstance(kind, str):
        ctx.finding("ASGI-LIFE-02.b", f"lifespan scope['type'] is {kind!r}, not a str")
    elif kind != "lifespan":
        ctx.finding("ASGI-LIFE-02.c", f"lifespan scope['type'] is {kind!r}, not 'lifespan'")
    asgi = scope.get("asgi")
    ctx.require(isinstance(asgi, dict), "ASGI-LIFE-02.e",
                f"lifespan scope['asgi'] is {asgi!r}, not a dict")
    assert isinstance(asgi, dict)
    version = asgi.get("version")
    if not isinstance(version, str):
        ctx.finding("ASGI-LIFE-02.d", f"lifespan scope['asgi']['version'] is {version!r}, "
                                      "not a str")
    elif version != "3.0":
        ctx.finding("ASGI-LIFE-02.j", f"lifespan scope['asgi']['version'] is {version!r} "
                                      "although the server calls the app as a single callable "
                                      "(ASGI 3.0)")
    if "spec_version" in asgi and not isinstance(asgi["spec_version"], str):
        ctx.finding("ASGI-LIFE-02.i", f"lifespan scope['asgi']['spec_version'] is "
                                      f"{asgi['spec_version']!r}, not a str")
    if "state" in scope and entry["scope_types"]["state"] != "dict":
        ctx.finding("ASGI-LIFE-02.f", f"lifespan scope['state'] is a "
                                      f"{entry['scope_types']['state']}, not a dict")
