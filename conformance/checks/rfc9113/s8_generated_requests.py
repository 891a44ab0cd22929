"""RFC 9113 8 "Expressing HTTP Semantics in HTTP/2", for generated valid requests: sent as
HTTP/2 against the oracle (issue 11 item 4; DESIGN.md decision 8), the HTTP/2 side of
asgi-www.scope-generated-requests.

Each request Hypothesis generates (conformance/strategies.py ``http2_requests``: the same
methods, paths, queries, fields and bodies as the HTTP/1.1 property, field names in lower case,
the body cut into DATA frames) goes on a fresh HTTP/2 connection; the scope the probe app
journalled must be what conformance/oracle_h2.py derives from the pseudo-headers and fields,
and the http.request bodies must be the DATA frames. A difference on a MUST fails the
property, which shrinks to one minimal request; it is sent again on a recorded connection, so
its frames, the app's view and the differences are the evidence. Every other sentence an
example broke is its own finding, with the first request that showed it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from conformance import oracle_h2
from conformance.catalogue import check
from conformance.checks.rfc9113.s8_1_1_malformed_requests import reaction
from conformance.checks.rfc9113.s8_3_1_request_pseudo_headers import (
    Difference,
    pseudo_header_differences,
)
from conformance.checks.support.common import check_settings
from conformance.context import JOURNAL_TIMEOUT, CheckContext
from conformance.h2_wire import H2Client, H2Stream
from conformance.oracle_h2 import H2Request
from conformance.probes.contract import Event
from conformance.requirements import level_of
from conformance.verdicts import Level
from conformance.wire import Connection

EXAMPLE_TIMEOUT = 3.0  # seconds for one generated request's response and journal entries
# The scope keys pseudo_header_differences judges; the rest go by these sentences.
_JUDGED = {"http_version", "method", "scheme", "path", "raw_path", "query_string", "headers"}
_SCOPE_SENTENCES = {"type": "ASGI-SCOPE-01.d", "root_path": "ASGI-SCOPE-06.a"}


class _Mismatch(AssertionError):
    pass


@dataclass
class _Seen:
    failure: dict[str, Any] = field(default_factory=dict)
    first: dict[str, tuple[H2Request, str]] = field(default_factory=dict)
    # Sentences whose difference rested on the app not (fully) seeing the request within the
    # search's short waits: reported only when a patient replay shows them again.
    absent: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int
    scheme: str
    tls: ssl.SSLContext | None

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"


@check(
    id="rfc9113.generated-requests",
    title="for generated valid requests sent as HTTP/2 the scope and body events equal the "
          "oracle's",
    requirements=["H2-01", "H2-02", "ASGI-SCOPE-01", "ASGI-SCOPE-05", "ASGI-SCOPE-06",
                  "ASGI-HTTP-01"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    section="RFC 9113 8.1, 8.3.1; asgi-www.rst 'HTTP Connection Scope', 'Request - receive "
            "event'",
    needs=("h2",),
)
def generated_h2(ctx: CheckContext) -> None:
    """RFC 9113 8.3.1 and asgi-www.rst, for generated valid requests sent as HTTP/2: the
    scope's http_version, method, scheme, path, raw_path, query_string and host come from
    the pseudo-header fields as rfc9113.request-pseudo-headers judges them (H2-01.a-.l, MUST
    each); no pseudo-header among the headers (H2-01.k); the other fields as sent, duplicates
    kept ("Duplicates are possible and must be preserved in the message as received.",
    ASGI-SCOPE-05.c) with their exact bytes (ASGI-SCOPE-05.g); type and root_path as on
    HTTP/1.1 (ASGI-SCOPE-01.d, -06.a; client and server hold nothing of HTTP/2's and are
    asgi-www.scope-client-and-server's). The http.request bodies
    concatenate to the DATA frames ("If more_body is set, treat as start of body and
    concatenate on further chunks.", H2-02.b) and END_STREAM gives more_body False (H2-02.c).
    A valid request that never reaches the app breaks "Sent to the application to indicate
    an incoming request." (ASGI-HTTP-01.a); one refused only for its obs-text field bytes
    breaks RFC 9110 5.5's SHOULD (ASGI-SCOPE-05.h)."""
    tls = ctx.client_tls(alpn=("h2", "http/1.1"))
    endpoint = _Endpoint(ctx.server.host, ctx.server.port,
                         "https" if tls is not None else "http", tls)
    if tls is not None:
        with Connection(endpoint.host, endpoint.port, tls=tls) as conn:
            alpn = conn.tls_session.get("alpn")
        if alpn != "h2":
            ctx.unsupported(f"HTTP/2: the TLS handshake selected {alpn!r} by ALPN, not h2")
    seen = _Seen()
    from hypothesis import given

    from conformance import strategies  # Hypothesis: imported when a check generates

    @check_settings(ctx.harness.examples)
    @given(strategies.http2_requests())
    def prop(req: H2Request) -> None:
        diffs, absent = _example(ctx, endpoint, req, patient=False)
        for ref, text in diffs:
            if ref not in seen.first:
                seen.first[ref] = (req, text)
                if absent:
                    seen.absent.add(ref)
        must = [d for d in diffs if level_of(d[0]) in (Level.MUST, Level.OPTIONAL)]
        if must:
            seen.failure.update(request=req, diffs=diffs, absent=absent)
            raise _Mismatch("; ".join(text for _, text in must))

    try:
        prop()
    except _Mismatch:
        replayed = _replay(ctx, endpoint, seen.failure["request"])
        diffs = seen.failure["diffs"]
        if seen.failure["absent"]:
            _unconfirmed(ctx, {ref for ref, _ in diffs}, replayed)
            diffs = replayed
        for ref, text in diffs:
            ctx.finding(ref, f"minimal generated HTTP/2 request on which the app's view "
                             f"differs from the spec's: {text}",
                        minimal_request=repr(seen.failure["request"]),
                        examples=ctx.harness.examples)
            seen.first.pop(ref, None)
        for ref, _ in seen.failure["diffs"]:
            seen.first.pop(ref, None)
    replays: dict[int, list[Difference]] = {}
    for ref, (req, _) in list(seen.first.items()):
        if ref in seen.absent:
            if id(req) not in replays:
                replays[id(req)] = _replay(ctx, endpoint, req)
            again = next((t for r, t in replays[id(req)] if r == ref), None)
            _unconfirmed(ctx, {ref}, replays[id(req)])
            if again is None:
                del seen.first[ref]
            else:
                seen.first[ref] = (req, again)
    if seen.first and not seen.failure and not replays:
        _replay(ctx, endpoint, next(iter(seen.first.values()))[0])
    for ref, (req, text) in seen.first.items():
        ctx.finding(ref, f"generated HTTP/2 request on which the app's view differs from the "
                         f"oracle's: {text}", request=repr(req), examples=ctx.harness.examples)


def _send(endpoint: _Endpoint, client: H2Client, req: H2Request, rid: str) -> int:
    fields = req.field_block(authority=endpoint.authority, scheme=endpoint.scheme, rid=rid)
    return client.request(fields, req.data_frames())


def _example(ctx: CheckContext, endpoint: _Endpoint, req: H2Request, *,
             patient: bool) -> tuple[list[Difference], bool]:
    """Send ``req`` on a fresh connection: the differences of the app's view from the
    oracle's, and whether they rest on the app not (fully) seeing the request."""
    rid = ctx.untracked_rid()
    with Connection(endpoint.host, endpoint.port, timeout=EXAMPLE_TIMEOUT,
                    tls=endpoint.tls) as conn:
        return _judged(ctx, endpoint, req, H2Client(conn), rid, patient=patient)


def _judged(ctx: CheckContext, endpoint: _Endpoint, req: H2Request, client: H2Client, rid: str,
            *, patient: bool) -> tuple[list[Difference], bool]:
    stream = client.response(_send(endpoint, client, req, rid), EXAMPLE_TIMEOUT)
    # Whatever the server answered (a refusal, or nothing within EXAMPLE_TIMEOUT), the app may
    # still be called, or still be reading the body: "never saw" and "never ended" rest on
    # JOURNAL_TIMEOUT more seconds without the request or body event, counted from the answer
    # (or from the end of the wait for one); the wait ends at the event. Hypothesis's search
    # and shrinking (not ``patient``) wait EXAMPLE_TIMEOUT after a 200 and look once after
    # anything else: such a difference is reported only when the patient replay shows it.
    wait = JOURNAL_TIMEOUT if patient else EXAMPLE_TIMEOUT if stream.status == 200 else 0.0
    body = ctx.journal.wait_event(rid, Event.BODY, timeout=wait)
    if body is None or stream.status != 200:
        # the request event is journalled before the body's: waited for above
        return [_unseen(ctx, endpoint, req, answer_on_stream(client, stream),
                        ctx.journal.saw(rid))], True
    events = ctx.journal.for_rid(rid)
    entry = next(e for e in events if e["event"] == Event.REQUEST)
    return _compare(req, rid, endpoint, entry["scope"], events), False


def _unconfirmed(ctx: CheckContext, refs: set[str], replayed: list[Difference]) -> None:
    """Record the sentences of a quick look that the patient replay did not show again."""
    missing = sorted(refs - {ref for ref, _ in replayed})
    if missing:
        ctx.details.setdefault("not_confirmed_by_patient_replay", []).extend(missing)


def _reaches_app(ctx: CheckContext, endpoint: _Endpoint, req: H2Request) -> bool:
    rid = ctx.untracked_rid()
    with Connection(endpoint.host, endpoint.port, timeout=EXAMPLE_TIMEOUT,
                    tls=endpoint.tls) as conn:
        client = H2Client(conn)
        stream = client.response(_send(endpoint, client, req, rid), EXAMPLE_TIMEOUT)
    return stream.status == 200 and ctx.journal.wait_event(
        rid, Event.REQUEST, timeout=EXAMPLE_TIMEOUT) is not None


def answer_on_stream(client: H2Client, stream: H2Stream) -> str:
    """What the server answered on the request's stream: a response, a stream or connection
    error (RST_STREAM, GOAWAY with its code, the connection closed), or nothing in time. A
    missing status alone is no silence: a GOAWAY at once is an answer."""
    got = reaction(client, stream)
    if got.status:
        return f"server answered {got.describe()}"
    if got.error == "connection closed":
        return "server closed the connection without a response"
    if got.error:
        return f"server answered {got.error} and no response"
    # Not an error to reaction() (a reset with NO_ERROR), but no silence either.
    early = client.ended_early(stream)
    return (f"server sent no response: {early}" if early else
            f"server answered nothing within {EXAMPLE_TIMEOUT:g}s")


def _unseen(ctx: CheckContext, endpoint: _Endpoint, req: H2Request, answered: str,
            head_seen: bool) -> Difference:
    """A valid request whose http.request events the app never got in full; ``answered``
    says what the server sent instead (answer_on_stream)."""
    if head_seen:
        return "H2-02.c", (f"the app saw this valid request, but its body never ended with "
                           f"more_body False within {JOURNAL_TIMEOUT:g}s after the answer "
                           f"({answered})")
    never = f"the app never saw this valid request within {JOURNAL_TIMEOUT:g}s after the answer"
    if req.has_obs_text and _reaches_app(ctx, endpoint, req.without_obs_text()):
        return "ASGI-SCOPE-05.h", (f"{never} ({answered}), and saw it with its field values' "
                                   "obs-text bytes (0x80-0xFF) replaced by 'x': the server "
                                   "refused obs-text")
    return "ASGI-HTTP-01.a", f"{never} ({answered})"


def _compare(req: H2Request, rid: str, endpoint: _Endpoint, scope: dict[str, Any],
             events: list[dict[str, Any]]) -> list[Difference]:
    expected = oracle_h2.expected_scope(req, authority=endpoint.authority,
                                        scheme=endpoint.scheme, rid=rid)
    diffs = pseudo_header_differences(scope, method=req.method, scheme=endpoint.scheme,
                                      authority=endpoint.authority.encode(), target=req.target)
    for key, ref in _SCOPE_SENTENCES.items():
        # An absent key is no difference here: root_path is "Optional; if missing defaults
        # to """, and a scope without type is asgi-www.scope-type-and-version's.
        if scope.get(key, expected[key]) != expected[key]:
            diffs.append((ref, f"{key}: expected {expected[key]!r}, got {scope.get(key)!r}"))
    diffs += _field_differences(expected["headers"], scope)
    body = next(e for e in events if e["event"] == Event.BODY).get("body")
    if body != req.body:
        diffs.append(("H2-02.b", f"the http.request bodies concatenate to {body!r}; the DATA "
                                 f"frames {[len(f) for f in req.data_frames()]} carried "
                                 f"{req.body!r}"))
    return diffs


def _by_name(pairs: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    grouped: dict[bytes, list[bytes]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return dict(sorted(grouped.items()))


def _field_differences(expected: list[tuple[bytes, bytes]], scope: dict[str, Any]
                       ) -> list[Difference]:
    """The regular fields (host and pseudo-headers are pseudo_header_differences'), each
    name's values in order: duplicates merged or dropped break "must be preserved" (.c),
    anything else the exact bytes (.g)."""
    got_pairs = []
    for entry in scope.get("headers") or []:
        try:
            name, value = (bytes(part) if not isinstance(part, str) else part.encode("latin-1")
                           for part in entry)
        except (TypeError, ValueError):
            continue
        if name.lower() != b"host" and not name.startswith(b":"):
            got_pairs.append((name.lower(), value))
    want = _by_name([(n, v) for n, v in expected if n != b"host"])
    got = _by_name(got_pairs)
    if want == got:
        return []
    merged = any(len(values) > 1 and len(got.get(name, [])) < len(values)
                 for name, values in want.items())
    return [("ASGI-SCOPE-05.c" if merged else "ASGI-SCOPE-05.g",
             f"headers: expected {want!r}, got {got!r}")]


def _replay(ctx: CheckContext, endpoint: _Endpoint, req: H2Request) -> list[Difference]:
    """Send ``req`` again on a recorded connection (its frames and the app's view of it go
    into the evidence), judged patiently: the differences it shows now."""
    client = ctx.http2(timeout=EXAMPLE_TIMEOUT)
    return _judged(ctx, endpoint, req, client, ctx.new_rid(), patient=True)[0]
