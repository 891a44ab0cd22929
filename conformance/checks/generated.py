"""Generated requests against the oracle (DESIGN.md decision 8).

For every valid request Hypothesis generates, the environ or scope the probe app journalled
must equal what conformance/oracle.py derives from the request bytes. A failure is shrunk to a
minimal request, whose exact bytes, the app's view and the differences go into the results.
Runs are derandomised: the same suite version generates the same examples every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conformance import oracle, strategies
from conformance.catalogue import check
from conformance.checks.common import check_settings
from conformance.context import CheckContext
from conformance.oracle import GeneratedRequest
from conformance.verdicts import Level
from conformance.wire import Connection, WireTimeout

EXAMPLE_TIMEOUT = 3.0  # seconds for one generated request's response and journal entries
Compare = Callable[[GeneratedRequest, str, Connection, dict[str, Any], list[dict[str, Any]]],
                   list[str]]


class _Mismatch(AssertionError):
    pass


def run_property(ctx: CheckContext, requests: st.SearchStrategy[GeneratedRequest],
                 compare: Compare) -> None:
    """Send each generated request on a fresh connection and compare the app's view."""
    server = ctx.server
    host = f"{server.host}:{server.port}"
    failure: dict[str, Any] = {}

    @check_settings(ctx.harness.examples)
    @given(requests)
    def prop(req: GeneratedRequest) -> None:
        rid = ctx.untracked_rid()
        data = req.to_bytes(host, rid)
        diffs: list[str] = []
        with Connection(server.host, server.port, timeout=EXAMPLE_TIMEOUT) as conn:
            conn.send_split(data, list(req.cuts))
            try:
                response = conn.read_response(method=req.method, timeout=EXAMPLE_TIMEOUT)
            except WireTimeout:
                response = None
            entry = None
            if response is not None and response.status == 200:
                entry = ctx.journal.wait_event(rid, "body", timeout=EXAMPLE_TIMEOUT)
            if entry is None:
                status = response.status if response else "no response"
                diffs.append(f"the app never saw this valid request (server answered {status})")
            else:
                events = ctx.journal.for_rid(rid)
                request_entry = next(e for e in events if e["event"] == "request")
                diffs = compare(req, rid, conn, request_entry, events)
        if diffs:
            failure.update(request=req, rid=rid, sent=bytes(conn.sent),
                           received=bytes(conn.received), diffs=diffs, port=conn.port)
            raise _Mismatch("; ".join(diffs))

    try:
        prop()
    except _Mismatch:
        # Replay the minimal request on a tracked connection: its bytes, the app's view of it
        # and the reproducer go into the evidence.
        replay = failure["request"]
        rid = ctx.new_rid()
        conn = ctx.connect(timeout=EXAMPLE_TIMEOUT)
        conn.send_split(replay.to_bytes(host, rid), list(replay.cuts))
        conn.read_response(method=replay.method, timeout=EXAMPLE_TIMEOUT)
        ctx.fail(
            "minimal generated request on which the app's view differs from the spec's: "
            + "; ".join(failure["diffs"]),
            minimal_request=repr(failure["request"]),
            sent=failure["sent"],
            received=failure["received"],
            examples=ctx.harness.examples,
        )


def _wsgi_compare(req: GeneratedRequest, rid: str, conn: Connection, entry: dict[str, Any],
                  events: list[dict[str, Any]]) -> list[str]:
    host = f"{conn.host}:{conn.port}"
    diffs = oracle.environ_differences(oracle.expected_environ(req, host=host, rid=rid),
                                       entry["environ"])
    body_event = next(e for e in events if e["event"] == "body")
    diffs += oracle.body_differences(req, entry["environ"], body_event["body"],
                                     body_event.get("readable", True))
    return diffs


def _asgi_compare(req: GeneratedRequest, rid: str, conn: Connection, entry: dict[str, Any],
                  events: list[dict[str, Any]]) -> list[str]:
    host = f"{conn.host}:{conn.port}"
    expected = oracle.expected_scope(req, host=host, rid=rid, server_port=conn.port,
                                     client_port=conn.local_port)
    diffs = oracle.scope_differences(expected, entry["scope"])
    body = next(e["body"] for e in events if e["event"] == "body")
    if body != req.body:
        diffs.append(f"http.request bodies concatenate to {body!r}, sent {req.body!r}")
    receives = [e for e in events if e["event"] == "receive"]
    finals = [e for e in receives if e.get("type") == "http.request" and not e["more_body"]]
    if len(finals) != 1:
        diffs.append(f"expected exactly one http.request with more_body False, got {receives!r}")
    return diffs


@check(
    id="wsgi-environ.generated-requests",
    title="for generated valid requests the environ equals the oracle's",
    requirements=["WSGI-ENV-02", "WSGI-ENV-03", "WSGI-ENV-04", "WSGI-ENV-05", "WSGI-ENV-06",
                  "WSGI-ENV-07", "WSGI-ENV-08", "WSGI-IN-06"],
    level=Level.MUST,
    interfaces=("wsgi",),
    via=("direct",),
    section="PEP 3333 'environ Variables'; 'Unicode Issues'; 'URL Reconstruction'; "
            "'Input and Error Streams'; 'Other HTTP Features'",
)
def wsgi_generated(ctx: CheckContext) -> None:
    """PEP 3333, environ Variables and Unicode Issues, for generated valid requests (methods,
    percent-encoded paths with %2F, %25 and bytes 0x80-0xFF, raw query strings, mixed-case and
    repeated headers, bodies with Content-Length or chunked in random chunk sizes with chunk
    extensions, each request split across TCP writes at random offsets): REQUEST_METHOD,
    PATH_INFO (the percent-decoded path as latin-1, so %2F is "/"), QUERY_STRING (raw),
    SERVER_PROTOCOL, CONTENT_TYPE, CONTENT_LENGTH and every HTTP_* key equal the oracle's, and
    wsgi.input yields the body ("an application should not attempt to read more data than is
    specified by the CONTENT_LENGTH variable", Input and Error Streams: a chunked body is read
    to EOF only under wsgi.input_terminated; see oracle.body_differences for WSGI-IN-06)."""
    run_property(ctx, strategies.wsgi_requests(), _wsgi_compare)


@check(
    id="asgi-scope.generated-requests",
    title="for generated valid requests the scope and body events equal the oracle's",
    requirements=["ASGI-SCOPE-02", "ASGI-SCOPE-03", "ASGI-SCOPE-04", "ASGI-SCOPE-05",
                  "ASGI-SCOPE-07", "ASGI-HTTP-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="asgi-www.rst 'HTTP Connection Scope'; 'Request - receive event'",
)
def asgi_generated(ctx: CheckContext) -> None:
    """asgi-www.rst, HTTP Connection Scope and Request, for generated valid requests: type,
    http_version, method, scheme, path (percent-decoded UTF-8), raw_path (verbatim), query_string
    (raw), headers (order and duplicates kept; names compared case-insensitively, lower-casing
    is its own check), client and server equal the oracle's, and the http.request bodies
    concatenate to the body with exactly one final more_body False."""
    run_property(ctx, strategies.asgi_requests(), _asgi_compare)
