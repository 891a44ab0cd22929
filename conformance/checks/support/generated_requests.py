"""Generated requests against the oracle (DESIGN.md decision 8): the machinery of
pep3333.generated-environ and asgi-www.scope-generated-requests.

For every valid request Hypothesis generates, the environ or scope the probe app journalled
must equal what conformance/oracle.py derives from the request bytes. Each difference rests on
the spec sentence of the key it concerns (REQ-ID.key). A difference whose sentence is a MUST
fails the property, which Hypothesis shrinks to a minimal request whose exact bytes, the app's
view and the differences go into the results; every other sentence an example broke (of any
level, a SHOULD or a choice the spec leaves open included) is its own finding, with the first
request that showed it. Runs are derandomised: the same suite version generates the same examples.

obs-text (bytes 0x80-0xFF in a field value) is valid, but the only sentence on a recipient's
handling of it is RFC 9110 5.5's "A recipient SHOULD treat other allowed octets in field
content (i.e., obs-text) as opaque data." (WSGI-ENV-05.g, ASGI-SCOPE-05.h). A valid request the
app never saw that carries obs-text is sent again with those bytes replaced by "x": when that
twin reaches the app, obs-text was the objection, and the finding is that SHOULD rather than
the MUST of a request never delivered or the leeway of an objectionable path; so the property
does not fail on it, and a MUST failure still shrinks to one minimal request. An HTTP_* value
whose expected form has non-ASCII characters, and that keeps its visible ASCII characters but
differs in those or in SP/HTAB (obs-text dropped, or stripped as whitespace like \\xa0 and
\\x85, with the SP/HTAB the strip then reaches), rests on the same SHOULD
(WSGI-ENV-05.g); a scope header value is bytes "of the exact byte sequences sent by the
client", a MUST either way (ASGI-SCOPE-05.g).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from conformance import oracle
from conformance.checks.support.common import check_settings
from conformance.context import JOURNAL_TIMEOUT, CheckContext
from conformance.oracle import GeneratedRequest
from conformance.requirements import level_of
from conformance.verdicts import Level
from conformance.wire import Connection, WireTimeout

if TYPE_CHECKING:
    from hypothesis import strategies as st

EXAMPLE_TIMEOUT = 3.0  # seconds for one generated request's response and journal entries
# One difference: the sentence it rests on (REQ-ID.key) and what was seen.
Difference = tuple[str, str]
Compare = Callable[[GeneratedRequest, str, Connection, dict[str, Any], list[dict[str, Any]]],
                   list[Difference]]
# What a request the app did not (fully) see breaks: (request, status, app saw the head).
# The sentences that let a WSGI server refuse a path (an encoded "/", non-ASCII or "%"):
# RFC 3875 4.1.5's MAYs.
_PATH_LEEWAY = ("WSGI-ENV-06.k", "WSGI-ENV-06.j")
Unseen = Callable[[GeneratedRequest, int, bool], Difference]
# RFC 9110 5.5 "A recipient SHOULD treat other allowed octets in field content (i.e.,
# obs-text) as opaque data.", as each interface's generated check declares it.
OBS_TEXT_SENTENCES = {"wsgi": "WSGI-ENV-05.g", "asgi": "ASGI-SCOPE-05.h"}


def answered(status: int) -> str:
    """What the server answered a generated request, 0 for nothing within EXAMPLE_TIMEOUT."""
    return (f"server answered {status}" if status else
            f"server answered nothing within {EXAMPLE_TIMEOUT:g}s")


NEVER_SAW = "the app never saw this valid request"
# What a blame on a request the app did not (fully) see rests on (_differences).
WATCHED = (f" [after the answer, or {EXAMPLE_TIMEOUT:g}s without one, the app's journal was "
           f"watched {JOURNAL_TIMEOUT:g}s more]")


class _Mismatch(AssertionError):
    pass


@dataclass
class _Seen:
    """What the examples showed: the minimal failing one (MUST differences) and, per sentence,
    the first example with a difference on it (the shrinking phase tries many more)."""

    failure: dict[str, Any] = field(default_factory=dict)
    first: dict[str, tuple[GeneratedRequest, str]] = field(default_factory=dict)
    # The sentences whose difference rested on the app not (fully) seeing the request within
    # the search's short waits: each is confirmed by a patient replay before it is reported.
    absent: set[str] = field(default_factory=set)


def run_property(ctx: CheckContext, requests: st.SearchStrategy[GeneratedRequest],
                 compare: Compare, unseen: Unseen) -> None:
    """Send each generated request on a fresh connection and compare the app's view."""
    from hypothesis import given
    from hypothesis.errors import Flaky

    server = ctx.server
    host = f"{server.host}:{server.port}"
    seen = _Seen()

    @check_settings(ctx.harness.examples)
    @given(requests)
    def prop(req: GeneratedRequest) -> None:
        rid = ctx.untracked_rid()
        with Connection(server.host, server.port, timeout=EXAMPLE_TIMEOUT) as conn:
            conn.send_split(req.to_bytes(host, rid), list(req.cuts), tolerate_close=True)
            diffs, absent = _differences(ctx, req, rid, conn, compare, unseen, patient=False)
        must = [d for d in diffs if level_of(d[0]) in (Level.MUST, Level.OPTIONAL)]
        for ref, text in diffs:
            if ref not in seen.first:
                seen.first[ref] = (req, text)
                if absent:
                    seen.absent.add(ref)
        if must:
            seen.failure.update(request=req, sent=bytes(conn.sent),
                                received=bytes(conn.received), diffs=diffs, absent=absent)
            raise _Mismatch("; ".join(text for _, text in must))

    try:
        prop()
    except _Mismatch:
        _report_failure(ctx, host, seen, compare, unseen)
    except Flaky:
        # An example that failed once and not when Hypothesis sent it again (a server whose
        # answer depends on how its reads fall): seen on a valid request all the same, so it
        # is reported, marked; anything else is a suite error.
        if not seen.failure:
            raise
        _report_failure(ctx, host, seen, compare, unseen,
                        note=" (seen once; not reproduced when Hypothesis sent it again)")
    _report_others(ctx, host, seen, compare, unseen)


def _differences(ctx: CheckContext, req: GeneratedRequest, rid: str, conn: Connection,
                 compare: Compare, unseen: Unseen, *,
                 patient: bool) -> tuple[list[Difference], bool]:
    """The differences of one example, and whether they rest on the app not (fully) seeing
    the request. Hypothesis's search and shrinking (``patient`` False) wait EXAMPLE_TIMEOUT
    for the body after a 200 and look at the journal once after anything else: hundreds of
    examples on a failing server cannot each wait out the journal's bound. A difference of
    that kind is only reported after a patient replay (_confirmed) shows it again."""
    try:
        response = conn.read_response(method=req.method, timeout=EXAMPLE_TIMEOUT)
    except WireTimeout:
        response = None
    entry = None
    answered_200 = response is not None and response.status == 200
    if answered_200:
        entry = ctx.journal.wait_event(rid, "body",
                                       timeout=JOURNAL_TIMEOUT if patient else EXAMPLE_TIMEOUT)
    if entry is None:
        status = response.status if response else 0
        found = _unseen(ctx, req, status, ctx.journal.saw(rid), unseen)
        if level_of(found[0]) not in _BLAMES:
            return [found], False
        if not patient:
            return [found], True
        if not answered_200:
            # A refusal, or no answer within EXAMPLE_TIMEOUT: the app may still be called, or
            # still be reading the body. "never saw" and "could not read its body" blame the
            # server only after JOURNAL_TIMEOUT more seconds without the body event (journalled
            # after the request's), ended by the event. A sentence that blames nothing (the
            # leeway to refuse a path, a 411) stands on the look above: waiting could only
            # turn it into a blame, so a server that uses the leeway pays nothing.
            ctx.journal.wait_event(rid, "body", timeout=JOURNAL_TIMEOUT)
            found = _unseen(ctx, req, status, ctx.journal.saw(rid), unseen)
        blames = level_of(found[0]) in _BLAMES
        return [(found[0], found[1] + WATCHED) if blames else found], blames
    events = ctx.journal.for_rid(rid)
    request_entry = next(e for e in events if e["event"] == "request")
    return compare(req, rid, conn, request_entry, events), False


_BLAMES = (Level.MUST, Level.SHOULD, Level.OPTIONAL)


def _unseen(ctx: CheckContext, req: GeneratedRequest, status: int, head_seen: bool,
            unseen: Unseen) -> Difference:
    """The sentence a valid request the app did not (fully) see breaks, and what was seen."""
    difference = unseen(req, status, head_seen)
    # RFC 3875's leeway to refuse a path covers the path, not how the client's writes cut
    # it: a request that reaches the app when sent in one write was refused for its split
    # (bjoern fails a %XX escape cut across two reads), so it was never delivered.
    if (not head_seen and req.cuts and difference[0] in _PATH_LEEWAY
            and _reaches_app(ctx, replace(req, cuts=()))):
        return ("WSGI-ENV-02.h",
                f"{NEVER_SAW} ({answered(status)}) sent in writes cut at {list(req.cuts)}, and "
                f"saw it sent in one write: the server refused the split, not the path")
    # Whatever else the request has that a server might object to (a path of non-ASCII
    # bytes, say), the twin shows whether obs-text was the objection.
    if not head_seen and req.has_obs_text and _reaches_app(ctx, req.without_obs_text()):
        return (OBS_TEXT_SENTENCES[ctx.target.interface],
                f"{NEVER_SAW} ({answered(status)}), and saw it with its field values' obs-text "
                f"bytes (0x80-0xFF) replaced by 'x': the server refused obs-text")
    return difference


def _reaches_app(ctx: CheckContext, req: GeneratedRequest) -> bool:
    """Whether ``req``, sent on a fresh connection, reaches the app with a 200."""
    server = ctx.server
    rid = ctx.untracked_rid()
    with Connection(server.host, server.port, timeout=EXAMPLE_TIMEOUT) as conn:
        conn.send_split(req.to_bytes(f"{server.host}:{server.port}", rid), list(req.cuts),
                        tolerate_close=True)
        try:
            response = conn.read_response(method=req.method, timeout=EXAMPLE_TIMEOUT)
        except WireTimeout:
            return False
    return (response.status == 200
            and ctx.journal.wait_event(rid, "request", timeout=EXAMPLE_TIMEOUT) is not None)


def _replay(ctx: CheckContext, host: str, req: GeneratedRequest, compare: Compare,
            unseen: Unseen) -> list[Difference]:
    """Send ``req`` again on a tracked connection (its bytes, the app's view of it and the
    reproducer go into the evidence), judged patiently: the differences it shows now."""
    rid = ctx.new_rid()
    conn = ctx.connect(timeout=EXAMPLE_TIMEOUT)
    conn.send_split(req.to_bytes(host, rid), list(req.cuts), tolerate_close=True)
    return _differences(ctx, req, rid, conn, compare, unseen, patient=True)[0]


def _confirmed(ctx: CheckContext, refs: set[str], replayed: list[Difference]) -> None:
    """Record which sentences of a quick look the patient replay did not show again: they
    rested on the search's short waits, so they are not reported."""
    unconfirmed = sorted(refs - {ref for ref, _ in replayed})
    if unconfirmed:
        ctx.details.setdefault("not_confirmed_by_patient_replay", []).extend(unconfirmed)


def _report_failure(ctx: CheckContext, host: str, seen: _Seen, compare: Compare,
                    unseen: Unseen, note: str = "") -> None:
    failure = seen.failure
    replayed = _replay(ctx, host, failure["request"], compare, unseen)
    diffs = failure["diffs"]
    if failure["absent"]:
        # The minimal example's differences rested on the app not seeing it within the
        # search's waits: what stands is what the patient replay shows.
        _confirmed(ctx, {ref for ref, _ in diffs}, replayed)
        diffs = replayed
    details = {"minimal_request": repr(failure["request"]), "sent": failure["sent"],
               "received": failure["received"], "examples": ctx.harness.examples}
    for ref, text in diffs:
        ctx.finding(ref, f"minimal generated request on which the app's view differs from "
                         f"the spec's{note}: {text}", **details)
        seen.first.pop(ref, None)  # the minimal example stands for this sentence
    for ref, _ in failure["diffs"]:
        seen.first.pop(ref, None)


def _report_others(ctx: CheckContext, host: str, seen: _Seen, compare: Compare,
                   unseen: Unseen) -> None:
    """Every other sentence an example broke, with the first request that showed it; one that
    rested on the app not seeing the request only if a patient replay shows it again."""
    replays: dict[int, list[Difference]] = {}
    for ref, (req, _) in list(seen.first.items()):
        if ref in seen.absent:
            if id(req) not in replays:
                replays[id(req)] = _replay(ctx, host, req, compare, unseen)
            replayed = replays[id(req)]
            again = next((t for r, t in replayed if r == ref), None)
            _confirmed(ctx, {ref}, replayed)
            if again is None:
                del seen.first[ref]
                continue
            seen.first[ref] = (req, again)
    if seen.first and not seen.failure and not replays:
        # The evidence of a cell without a MUST failure: the first of these requests.
        _replay(ctx, host, next(iter(seen.first.values()))[0], compare, unseen)
    for ref, (req, text) in seen.first.items():
        ctx.finding(ref, f"generated request on which the app's view differs from the "
                         f"oracle's: {text}", request=repr(req),
                    examples=ctx.harness.examples)


# -- WSGI ----------------------------------------------------------------------------------

# The sentence each compared environ key's value rests on (a definition of what the server
# produces, or the MUST that it be present).
_ENVIRON_SENTENCES = {
    "REQUEST_METHOD": "WSGI-ENV-02.e", "SERVER_PROTOCOL": "WSGI-ENV-03.b",
    "SCRIPT_NAME": "WSGI-ENV-06.b", "QUERY_STRING": "WSGI-ENV-07.b",
    "CONTENT_TYPE": "WSGI-ENV-04.e", "CONTENT_LENGTH": "WSGI-ENV-04.f",
}
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _skeleton(path: str) -> str:
    """The path with each run of non-ASCII characters as one marker: what is left when the
    treatment of non-ASCII bytes, which RFC 3875 leaves to the system, is set aside."""
    return _NON_ASCII.sub("\x00", path)


def _path_info_sentence(expected: str, got: Any) -> str:
    if not isinstance(got, str):
        return "WSGI-ENV-05.a" if got is not None else "WSGI-ENV-04.a"
    if any(ord(c) > 0xFF for c in got):
        return "WSGI-ENV-06.g"
    if got and not got.startswith("/"):
        return "WSGI-ENV-06.e"  # PATH_INFO = "" | ( "/" path )
    if _skeleton(got) == _skeleton(expected):
        return "WSGI-ENV-05.h"  # only non-ASCII bytes differ: "system-defined"
    if _ascii_lower(got) == _ascii_lower(expected):
        return "WSGI-ENV-06.f"  # the path's case not preserved
    decoded = unquote_to_bytes(got.encode("latin-1")).decode("latin-1")
    return "WSGI-ENV-06.c" if decoded == expected else "WSGI-ENV-06.a"


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_UPPER_TO_LOWER)


_ASCII_UPPER_TO_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _cgi_name(name: bytes) -> str:
    """RFC 3875 4.1.18: upper case, "-" to "_", "HTTP_" in front."""
    return "HTTP_" + name.decode("latin-1").upper().replace("-", "_")


def _header_sentence(req: GeneratedRequest, key: str, want: Any, got: Any, host: str,
                     rid: str) -> str:
    if got is None:
        return "WSGI-ENV-08.b"  # presence "should correspond"
    if oracle.only_obs_text_differs(want, got):
        return "WSGI-ENV-05.g"  # obs-text not passed through as opaque data (SHOULD)
    repeated = sum(_cgi_name(n) == key for n, _ in req.all_headers(host, rid)) > 1
    return "WSGI-ENV-08.h" if repeated else "WSGI-ENV-08.a"


def _environ_sentence(req: GeneratedRequest, key: str, expected: dict[str, Any],
                      environ: dict[str, Any], host: str, rid: str) -> str:
    got = environ.get(key)
    if key == "PATH_INFO":
        return _path_info_sentence(expected["PATH_INFO"], got)
    if isinstance(got, str) and any(ord(c) > 0xFF for c in got):
        return "WSGI-ENV-05.d"
    if key.startswith("HTTP_"):
        return _header_sentence(req, key, expected[key], got, host, rid)
    if got is None and key in _ENVIRON_SENTENCES:
        # "must be present, unless their value would be an empty string", in the requirement
        # of the key concerned
        return _PRESENCE_SENTENCES.get(key, "WSGI-ENV-04.a")
    if key == "QUERY_STRING" and isinstance(got, str) and got in _decoded_forms(
            expected["QUERY_STRING"] or ""):
        return "WSGI-ENV-07.c"  # "contains a URL-encoded search or parameter string"
    if key == "CONTENT_LENGTH" and req.chunked and got not in (None, ""):
        return "WSGI-IN-06.e"  # "recalculate the CONTENT_LENGTH": not the decoded length
    return _ENVIRON_SENTENCES.get(key, "WSGI-ENV-04.a")


_PRESENCE_SENTENCES = {"REQUEST_METHOD": "WSGI-ENV-02.b", "SERVER_PROTOCOL": "WSGI-ENV-03.a",
                       "QUERY_STRING": "WSGI-ENV-07.a"}


def _decoded_forms(raw: str) -> tuple[str, ...]:
    """The query string percent-decoded (with or without "+" as a space), as latin-1 code
    points: what a server that decodes it hands over."""
    forms = (unquote_to_bytes(raw.encode("latin-1")),
             unquote_to_bytes(raw.replace("+", " ").encode("latin-1")))
    return tuple(form.decode("latin-1") for form in forms if form.decode("latin-1") != raw)


def _body_sentence(req: GeneratedRequest, text: str, body: bytes) -> str:
    if text.startswith("chunked body"):
        return "WSGI-IN-06.h"  # no CONTENT_LENGTH and no end-of-file: left open by the PEP
    if not req.chunked:
        return "WSGI-IN-01.g"
    # PEP 3333's "must handle any supported inbound "hop-by-hop" headers" binds the codings
    # a server supports: one that handed over the framing as sent (or nothing) did not decode
    # at all, which only RFC 9112 7.1's "A recipient MUST be able to parse and decode the
    # chunked transfer coding." reaches.
    return "WSGI-IN-06.c" if oracle.undecoded(req, body) else "WSGI-IN-06.a"


def wsgi_compare(req: GeneratedRequest, rid: str, conn: Connection, entry: dict[str, Any],
                  events: list[dict[str, Any]]) -> list[Difference]:
    host = f"{conn.host}:{conn.port}"
    expected = oracle.expected_environ(req, host=host, rid=rid)
    environ = entry["environ"]
    diffs: list[Difference] = []
    for text in oracle.environ_differences(expected, environ, oracle.sent_twins(req)):
        key = text.split(":")[0]
        ref = ("WSGI-ENV-08.f" if key.startswith("HTTP_* twins")  # HTTP_CONTENT_* of sent ones
               else "WSGI-ENV-08.b" if key.startswith("HTTP_* keys")  # keys for headers not sent
               else _environ_sentence(req, key, expected, environ, host, rid))
        diffs.append((ref, text))
    body_event = next(e for e in events if e["event"] == "body")
    body = body_event["body"]
    diffs += [(_body_sentence(req, text, body), text) for text in oracle.body_differences(
        req, environ, body, body_event.get("readable", True))]
    kind = body_event.get("body_type")  # the journal keeps bytes and bytearray alike
    if kind not in (None, "bytes", "NoneType"):
        diffs.append(("WSGI-IN-01.d", f"wsgi.input.read() returned a {kind}, not bytes"))
    return diffs


def wsgi_unseen(req: GeneratedRequest, status: int, head_seen: bool) -> Difference:
    """A valid request the app never saw, or whose body it could not read. RFC 3875 lets a
    server reject a PATH_INFO it finds objectionable (an encoded "/", bytes outside ASCII) and
    RFC 9112 a body without Content-Length with 411; a chunked request refused otherwise
    breaks "A recipient MUST be able to parse the chunked transfer coding", a chunked body that
    could not be read "A recipient MUST be able to parse and decode the chunked transfer
    coding." and anything else "invokes the application callable once for each request"."""
    if head_seen:
        return ("WSGI-IN-06.c" if req.chunked else "WSGI-IN-01.g",
                f"the app saw this valid request but could not read its "
                f"{'chunked ' if req.chunked else ''}body ({answered(status)})")
    never = f"{NEVER_SAW} ({answered(status)})"
    if req.chunked and status == 411:
        # "Length Required" names the missing Content-Length, whatever the path: the MAY of
        # RFC 9112 6.3, not RFC 3875's leeway to refuse a path.
        return "WSGI-IN-06.d", never + "; its body was chunked"
    decoded = unquote_to_bytes(req.path)
    if status >= 400 and b"%2f" in req.path.lower():
        return "WSGI-ENV-06.k", never + "; its path has an encoded '/'"
    if status >= 400 and (not decoded.isascii() or b"%25" in req.path):
        return "WSGI-ENV-06.j", never + "; its path has percent-encoded non-ASCII or '%'"
    if req.chunked:  # not even the head reached the app: the chunked framing was not parsed
        return "WSGI-IN-06.b", never + "; its body was chunked"
    return "WSGI-ENV-02.h", never


# -- ASGI ----------------------------------------------------------------------------------

# The sentence each scope key's value rests on (the key's definition in asgi-www.rst).
_SCOPE_SENTENCES = {
    "type": "ASGI-SCOPE-01.d", "http_version": "ASGI-SCOPE-02.a", "method": "ASGI-SCOPE-02.c",
    "scheme": "ASGI-SCOPE-02.d", "path": "ASGI-SCOPE-03.a", "raw_path": "ASGI-SCOPE-03.c",
    "query_string": "ASGI-SCOPE-04.a", "root_path": "ASGI-SCOPE-06.a",
    "client": "ASGI-SCOPE-07.a", "server": "ASGI-SCOPE-07.b",
}


def _headers_sentence(expected: list[tuple[bytes, bytes]],
                      got: list[tuple[bytes, bytes]]) -> str:
    """Duplicates merged or dropped break "must be preserved"; anything else the exact bytes."""
    def count(pairs: list[tuple[bytes, bytes]]) -> dict[bytes, int]:
        counted: dict[bytes, int] = {}
        for name, _ in pairs:
            counted[bytes(name).lower()] = counted.get(bytes(name).lower(), 0) + 1
        return counted
    want, have = count(expected), count(got)
    merged = any(n > 1 and have.get(name, 0) < n for name, n in want.items())
    return "ASGI-SCOPE-05.c" if merged else "ASGI-SCOPE-05.g"


def asgi_compare(req: GeneratedRequest, rid: str, conn: Connection, entry: dict[str, Any],
                  events: list[dict[str, Any]]) -> list[Difference]:
    host = f"{conn.host}:{conn.port}"
    expected = oracle.expected_scope(req, host=host, rid=rid, server_port=conn.port,
                                     client_port=conn.local_port)
    scope = entry["scope"]
    diffs: list[Difference] = []
    for text in oracle.scope_differences(expected, scope):
        key = text.split(":")[0]
        ref = (_headers_sentence(expected["headers"], scope.get("headers") or [])
               if key == "headers" else _SCOPE_SENTENCES.get(key, "ASGI-SCOPE-05.a"))
        diffs.append((ref, text))
    body = next(e["body"] for e in events if e["event"] == "body")
    if body != req.body:
        diffs.append(("ASGI-HTTP-01.c", f"http.request bodies concatenate to {body!r}, sent "
                                        f"{req.body!r}"))
    receives = [e for e in events if e["event"] == "receive"]
    finals = [e for e in receives if e.get("type") == "http.request" and not e["more_body"]]
    if len(finals) != 1:
        diffs.append(("ASGI-HTTP-01.e", f"expected exactly one http.request with more_body "
                                        f"False, got {receives!r}"))
    return diffs


def asgi_unseen(req: GeneratedRequest, status: int, head_seen: bool) -> Difference:
    """A valid request whose http.request events the app never got in full."""
    if head_seen:
        return "ASGI-HTTP-01.c", (f"the app saw this valid request but not its whole body "
                                  f"({answered(status)})")
    return "ASGI-HTTP-01.a", f"{NEVER_SAW} ({answered(status)})"
