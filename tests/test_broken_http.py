"""The HTTP framing and hygiene checks (issue 4, HTTP-01..19) catch a deliberately lax server:
tests/broken/lax_server.py, a threaded socket server with every classic parsing sin (see its
docstring), and variants of it that get one part right, so that each level a check can report
(fail, warn, hardening, info) is shown on some server. Same table format as
tests/test_broken_servers.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.desync import Case, Outcome, Parts, judge
from tests.conftest import BROKEN, broken_target, check_broken_stack, run_suite
from tests.test_broken_asgi import NAIVE_SERVER
from tests.test_broken_wsgi import variant

PROBE = "conformance.probes.wsgi_app:app"
ASGI_PROBE = "conformance.probes.asgi_app:app"
# uvicorn (h11) with its Date header switched off: an ASGI server that adds no Date.
UVICORN_NO_DATE = ('["{bin}/uvicorn", "--http", "h11", "--host", "{host}", "--port", "{port}", '
                   '"--lifespan", "on", "--no-access-log", "--no-date-header", "{app}"]')


def lax(*flags: str) -> str:
    extra = "".join(f'"{flag}", ' for flag in flags)
    return (f'["{{python}}", "{BROKEN}/lax_server.py", {extra}"--host", "{{host}}", '
            '"--port", "{port}", "{app}"]')


# (variant name, interface, app, command, {check id: expected verdict})
BROKEN_STACKS: list[tuple[str, str, str, str | None, dict[str, str]]] = [
    ("lax-framing", "wsgi", PROBE, lax(), {
        # Serving 0x1, +1, 1_0 and keeping the connection open rest on RFC 9112 2.2's SHOULD
        # (HTTP-01.d); the check used to report them at its own MUST. Its MUST: lax-chunk-wrap.
        "rfc9112.chunk-size": "warn: HTTP-01.d",
        "rfc9112.cl-te": "fail: HTTP-02.b, HTTP-02.c",
        "rfc9112.transfer-encoding": "fail: HTTP-03.a, HTTP-03.g",
        "rfc9112.content-length": "fail: HTTP-04.a, HTTP-04.b",
        # The search's first MUST is now a Transfer-Encoding mutation (HTTP-02.b, served by
        # Content-Length and kept open), which Hypothesis shrinks to a differing duplicate
        # Content-Length, the last value taken: its body served as a request.
        "rfc9112.generated-invalid-framing": "fail: HTTP-16.b",
    }),
    # A 64-bit chunk size: 2**68 wraps to 0 and the bytes after it are served (HTTP-01.c).
    ("lax-chunk-wrap", "wsgi", PROBE, lax("--wrap-chunk-size"), {
        "rfc9112.chunk-size": "fail: HTTP-01.c",
    }),
    # The plain lax server closes when the client half-closes, which is what RFC 9112 6.3
    # asks; the app's 200 after a short read is not the server's (an error response is a MAY).
    # This one holds the connection open after the client's EOF (HTTP-05.a).
    ("lax-truncated", "wsgi", PROBE, lax("--hold-on-eof"), {
        "rfc9112.truncated-body": "fail: HTTP-05.a",
    }),
    # Final coding checked: only the SHOULD 501 for "gzip, chunked" and the hardening cases
    # ("\x0bchunked" recovered, "chunked, chunked") are left.
    ("lax-te-final", "wsgi", PROBE, lax("--strict-te"), {
        "rfc9112.transfer-encoding": "warn: HTTP-03.b",
        # "gzip" rejected and closed; "Content-Length: +5" still served (HTTP-18.b).
        "rfc9112.invalid-then-valid": "fail: HTTP-18.b",
    }),
    # A request with both framing fields gets the rest of the read as its body, then a close
    # (pyruvate): the marker read as body is the Content-Length-or-nothing framing that 6.3's
    # "the Transfer-Encoding overrides the Content-Length" excludes (HTTP-02.c), not the close.
    ("lax-both-rest-as-body", "wsgi", PROBE,
     lax("--strict-te", "--strict-cl", "--both-rest-as-body"), {
        "rfc9112.generated-invalid-framing": "fail: HTTP-02.c",
    }),
    ("lax-te-501", "wsgi", PROBE, lax("--strict-te", "--te-501"), {
        "rfc9112.transfer-encoding": "hardening: HTTP-03.h",
    }),
    # Content-Length parsed strictly, but with Transfer-Encoding too it still wins and the
    # marker is then served on the same connection: 6.1's close after such a request (HTTP-02.b).
    ("lax-strict-cl", "wsgi", PROBE, lax("--strict-cl"), {
        "rfc9112.generated-invalid-framing": "fail: HTTP-02.b",
        # "+5" rejected and closed; "Transfer-Encoding: gzip" still served (HTTP-18.c).
        "rfc9112.invalid-then-valid": "fail: HTTP-18.c",
    }),
    # Content-Length parsed strictly and Transfer-Encoding winning over it, then a close: only
    # the SHOULD on odd chunk sizes (HTTP-01.d) is left.
    ("lax-strict-framing", "wsgi", PROBE, lax("--strict-cl", "--strict-te"), {
        "rfc9112.generated-invalid-framing": "warn: HTTP-01.d",
    }),
    ("lax-headers", "wsgi", PROBE, lax(), {
        "rfc9112.field-syntax": "fail: HTTP-06.a, HTTP-06.b, HTTP-06.d",
        "rfc9112.host": "fail: HTTP-07.a, HTTP-16.a",
        "rfc9112.host-value": "fail: HTTP-07.a",
        # PATH_INFO is the absolute URL: PEP 3333's PATH_INFO definition (HTTP-08.i) and 9112
        # 3.2.2 are MUSTs; the check used to report it at its own SHOULD.
        "rfc9112.request-target": "fail: HTTP-08.i, HTTP-08.d",
        "rfc9112.invalid-utf8-path": "warn: HTTP-09.a, HTTP-09.b",
        # The app's two Set-Cookie lines merged into one (RFC 9110 5.3; PEP 3333's should).
        "rfc9110.duplicates": "fail: HTTP-16.e, HTTP-16.f",
        # A long request line is neither answered nor closed: 9112 3 says MUST 414 (HTTP-19.a);
        # the catalogue's level for HTTP-19 changed from SHOULD to MUST.
        "rfc9112.oversized": "fail: HTTP-19.a",
    }),
    # MUST rules kept (space before colon rejected, CR and NUL replaced): bad names are left.
    ("lax-strict-fields", "wsgi", PROBE, lax("--strict-fields"), {
        "rfc9112.field-syntax": "warn: HTTP-06.e",
    }),
    ("lax-absolute-form", "wsgi", PROBE, lax("--absolute-form"), {
        "rfc9112.request-target": "warn: HTTP-08.d",
    }),
    # Invalid targets rejected too: only "*" with GET, served, is reported.
    ("lax-strict-target", "wsgi", PROBE, lax("--absolute-form", "--strict-target"), {
        "rfc9112.request-target": "info: HTTP-08.k",
    }),
    # Two "Content-Length: 5" lines read as 55: the marker becomes body (HTTP-16.b).
    ("lax-join-duplicates", "wsgi", PROBE, lax("--join-duplicates"), {
        "rfc9110.duplicates": "fail: HTTP-16.b",
    }),
    # 414 and 431 as required, but every later request gets 503 (HTTP-19.c, a SHOULD).
    ("lax-oversize-answer", "wsgi", PROBE, lax("--oversize-answer"), {
        "rfc9112.oversized": "warn: HTTP-19.c",
    }),
    ("lax-connection", "wsgi", PROBE, lax(), {
        "rfc9112.bodiless-responses": "fail: HTTP-10.a",
        "rfc9112.http10-no-chunked": "fail",
        "rfc9110.expect-continue": "fail: HTTP-12.g",
        "rfc9112.persistence": "fail: HTTP-12.j, HTTP-13.e, HTTP-13.f",
        "rfc9112.close": "fail: HTTP-15.a, HTTP-15.b, HTTP-15.c",
        # A WSGI server must add the Date the app omitted: PEP 3333's "must add it"
        # (HTTP-17.b), where the check used to report a SHOULD. ASGI: asgi-no-date.
        "rfc9110.date": "fail: HTTP-17.b",
        # Bad lines served (HTTP-18.a, a warn); "+5" and "gzip" framings too (MUSTs).
        "rfc9112.invalid-then-valid": "fail: HTTP-18.a, HTTP-18.b, HTTP-18.c",
    }),
    # Closes after Connection: close without saying so (HTTP-15.c, a SHOULD).
    ("lax-honour-close", "wsgi", PROBE, lax("--honour-close"), {
        "rfc9112.close": "warn: HTTP-15.c",
    }),
    # A 400 that announces "Connection: close", then the next request served (HTTP-18.d).
    ("lax-reject-but-stay", "wsgi", PROBE, lax("--reject-but-stay"), {
        "rfc9112.invalid-then-valid": "fail: HTTP-18.d",
    }),
    # No ASGI text gives the server the Date duty: reported (HTTP-17.d). uvicorn's own 400 to
    # an invalid request-line carries no Date either, with or without this switch: that one
    # is the origin server's alone (HTTP-17.a).
    ("asgi-no-date", "asgi", ASGI_PROBE, UVICORN_NO_DATE, {
        "rfc9110.date": "fail: HTTP-17.a, HTTP-17.d",
    }),
    ("lax-reorder", "wsgi", PROBE, lax("--reorder"), {
        "rfc9112.pipelining-order": "fail: HTTP-14.a",
    }),
    # Issue 13: one broken variant per clause, each one switch of the lax server (a switch that
    # makes one part right isolates it: --discard-head, --strict-expect, --drain).
    ("lax-date-asctime", "wsgi", PROBE, lax("--date-asctime"),
     {"rfc9110.date": "fail: HTTP-17.c"}),
    ("lax-date-twice", "wsgi", PROBE, lax("--date-twice"), {"rfc9110.date": "fail: HTTP-17.e"}),
    ("lax-frame-all", "wsgi", PROBE, lax("--discard-head", "--frame-all"),
     {"rfc9112.bodiless-responses": "fail: HTTP-10.c, HTTP-10.d, HTTP-10.g"}),
    ("lax-framed-1xx", "wsgi", PROBE, lax("--strict-expect", "--framed-1xx"),
     {"rfc9110.expect-continue": "fail: HTTP-10.f"}),
    ("lax-expect-hang", "wsgi", PROBE, lax("--strict-expect", "--expect-hang"),
     {"rfc9110.expect-continue": "fail: HTTP-12.a"}),
    ("lax-continue-hang", "wsgi", PROBE, lax("--strict-expect", "--continue-hang"),
     {"rfc9110.expect-continue": "fail: HTTP-12.h"}),
    ("lax-continue-hang-early", "wsgi", PROBE, lax("--strict-expect", "--continue-hang-early"),
     {"rfc9110.expect-continue": "fail: HTTP-12.h"}),
    # No 100 and no final status until the client, done waiting, sends the content.
    ("lax-expect-silent", "wsgi", PROBE, lax("--strict-expect", "--expect-silent"),
     {"rfc9110.expect-continue": "fail: HTTP-12.a"}),
    ("lax-expect-no-body", "wsgi", PROBE, lax("--expect-no-body"),
     {"rfc9110.expect-continue": "fail: HTTP-12.c"}),
    ("lax-drain", "wsgi", PROBE, lax("--drain"), {"rfc9112.persistence": "info: HTTP-13.e"}),
    # (Its close after an unread body is not announced either: HTTP-12.i, a warn.)
    ("lax-one-shot", "wsgi", PROBE, lax("--one-shot"),
     {"rfc9112.persistence": "fail: HTTP-13.c, HTTP-12.i"}),
    # Of two requests in one write only the last is served (bjoern): the first was dropped and
    # the one answer is the later request's, which breaks the order of answers (HTTP-14.a),
    # not the rule for a server without persistence (HTTP-13.c).
    ("lax-last-of-read", "wsgi", PROBE, lax("--drain", "--last-of-read"),
     {"rfc9112.persistence": "fail: HTTP-14.a", "rfc9112.pipelining-order": "fail: HTTP-14.a",
      "rfc9112.bodiless-responses": "fail: HTTP-14.a"}),
    # Every response says "close" (no persistent connections: HTTP-13.b, a warn) and the
    # connection stays open (HTTP-13.g).
    ("lax-announce-close", "wsgi", PROBE, lax("--drain", "--announce-close"),
     {"rfc9112.persistence": "fail: HTTP-13.g, HTTP-13.b"}),
    ("lax-close-hold", "wsgi", PROBE, lax("--close-hold"), {"rfc9112.close": "fail: HTTP-15.a"}),
    ("lax-close-late", "wsgi", PROBE, lax("--close-late"), {"rfc9112.close": "fail: HTTP-15.b"}),
    # Issue 13, second pass: switches (or ASGI wrappers around uvicorn) that each break one
    # clause; rows of different checks share a variant where each check's verdict comes from
    # that one clause. Well-formed chunk extensions refused (HTTP-01.f), an obs-fold dropped
    # (HTTP-06.c), a 100 Continue with content (HTTP-10.e), a big header section unanswered
    # (HTTP-19.b).
    ("lax-one-clause-each", "wsgi", PROBE,
     lax("--reject-chunk-ext", "--strict-fields", "--fold-drop", "--strict-expect",
         "--continue-body", "--head-silent"),
     {"rfc9112.chunk-size": "fail: HTTP-01.f", "rfc9112.field-syntax": "fail: HTTP-06.c",
      "rfc9110.expect-continue": "fail: HTTP-10.e", "rfc9112.oversized": "fail: HTTP-19.b"}),
    # "Content-Length:\t5" taken for no length (HTTP-04.e); the invalid targets get 400, but
    # the connection stays open (HTTP-08.h, a warn); an 8000-octet request-line gets 414
    # (HTTP-19.d, a warn); the app's 200 has a Date, the server's own 400 none (HTTP-17.a);
    # the 100 Continue waits for the body (HTTP-12.b).
    ("lax-one-clause-each-2", "wsgi", PROBE,
     lax("--strict-cl", "--cl-ows-ignored", "--absolute-form", "--strict-target",
         "--reject-open", "--short-lines", "--date", "--strict-expect", "--continue-late"),
     {"rfc9112.generated-invalid-framing": "fail: HTTP-04.e",
      "rfc9112.request-target": "warn: HTTP-08.h", "rfc9112.oversized": "warn: HTTP-19.d",
      "rfc9110.date": "fail: HTTP-17.a", "rfc9110.expect-continue": "fail: HTTP-12.b"}),
    # uvicorn hands the app an absolute-form target's URL as its path: reported (HTTP-08.j);
    # the wrapper calls a body cut short complete (HTTP-05.d) and decodes the path as latin-1
    # (HTTP-09.c).
    ("asgi-complete-on-disconnect", "asgi", "lax_server:complete_on_disconnect", None,
     {"rfc9112.truncated-body": "fail: HTTP-05.d", "rfc9112.invalid-utf8-path": "fail: HTTP-09.c",
      "rfc9112.request-target": "info: HTTP-08.j"}),
    ("asgi-swallow-disconnect", "asgi", "lax_server:swallow_disconnect", None,
     {"rfc9112.truncated-body": "info: ASGI-HTTP-03.d"}),
    ("asgi-wrong-event-on-disconnect", "asgi", "lax_server:wrong_event_on_disconnect", None,
     {"rfc9112.truncated-body": "fail: HTTP-05.e"}),
    # A server that writes the app's body for HEAD (and 204/304): HTTP-10.a.
    ("asgi-naive-head", "asgi", ASGI_PROBE, NAIVE_SERVER,
     {"rfc9112.bodiless-responses": "fail: HTTP-10.a"}),
    # wsgiref's parsing behind an HTTP/1.1 status line (tests/broken/broken_wsgiref_variants.py
    # "no-100"): as an HTTP/1.1 recipient the Transfer-Encoding sentences (HTTP-03.a/.b,
    # HTTP-18.c) and the missing-Host rule (HTTP-07.a) reach it, which they do not on wsgiref
    # itself, an HTTP/1.0 server (LENIENT_STACKS below).
    ("wsgiref-http11", "wsgi", PROBE, variant("no-100"), {
        "rfc9112.transfer-encoding": "fail: HTTP-03.a, HTTP-03.b",
        "rfc9112.invalid-then-valid": "fail: HTTP-18.b, HTTP-18.c",
        "rfc9112.host": "fail: HTTP-07.a, HTTP-16.a"}),
]


@pytest.mark.parametrize("name,interface,app,command,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_server(tmp_path: Path, name: str, interface: str, app: str,
                                     command: str | None, expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected)


# Issue 13, item 3: a sub-case that accepts one of the server's permitted alternatives earns
# its pass by what the app saw. Each row runs one check on a server that takes the alternative
# wrongly (one switch each, tests/broken/lax_server.py) and names the findings it must report
# in the sub-cases concerned, as (sub-case, requirement sentence, level); no MUST finding may
# come from another sub-case. A row without findings is a server that takes the alternative
# rightly: the same check passes on it.
# (variant, interface, app, command, check id, verdict, {(sub-case, ref, level)})
LENIENT_STACKS: list[tuple[str, str, str, str, str, str, set[tuple[str, str, str]]]] = [
    # Chunked wins over Content-Length and the connection closes: the right alternative.
    ("lax-te-final", "wsgi", PROBE, lax("--strict-te"), "rfc9112.cl-te", "pass", set()),
    # Chunked wins and the connection closes, but the app is told the Content-Length that
    # Transfer-Encoding overrides (CL.TE: 91 for an empty body; TE.CL: 4, and reads 4 bytes).
    # PEP 3333 hands on "The contents of any Content-Length fields" (RFC 3875 4.2's recalculated
    # CONTENT_LENGTH conflicts with it), so this is reported on the permission used (INFO).
    ("lax-te-keeps-cl", "wsgi", PROBE, lax("--strict-te", "--te-keeps-cl"), "rfc9112.cl-te",
     "info", {("CL.TE (Content-Length first)", "HTTP-02.a", "INFO"),
              ("CL.TE (Transfer-Encoding first)", "HTTP-02.a", "INFO"),
              ("TE.CL (Content-Length ends inside the first chunk)", "HTTP-02.a", "INFO")}),
    # ",chunked" and "gzip, chunked" served and framed as chunked, but the app reads the chunk
    # framing: the list was not taken as chunked (HTTP-03.f), nor chunked decoded (HTTP-01.b).
    ("lax-list-te-raw", "wsgi", PROBE, lax("--strict-te", "--list-te-raw"),
     "rfc9112.transfer-encoding", "fail",
     {('Transfer-Encoding: ",chunked" (empty list element)', "HTTP-03.f", "MUST"),
      ("Transfer-Encoding: gzip, chunked (unknown coding)", "HTTP-01.b", "MUST"),
      ("Transfer-Encoding: gzip, chunked (unknown coding)", "HTTP-03.b", "SHOULD")}),
    # A bare CR in a chunk extension replaced with SP, but the extension handed to the app
    # (so a well-formed one is not ignored either: HTTP-01.f).
    ("lax-chunk-ext-in-data", "wsgi", PROBE, lax("--chunk-ext-in-data"), "rfc9112.chunk-size",
     "fail", {("bare CR in chunk extension", "HTTP-01.e", "MUST"),
              ("unknown chunk extensions", "HTTP-01.f", "MUST")}),
    # "5, 5" used once, and the app told CONTENT_LENGTH 5: the right alternative.
    ("lax-strict-cl", "wsgi", PROBE, lax("--strict-cl"), "rfc9112.content-length", "pass",
     set()),
    # "5, 5" framed by 5, but the app told CONTENT_LENGTH "5, 5" (it cannot read the body):
    # the field's contents, as PEP 3333 defines CONTENT_LENGTH; reported on the MAY (INFO).
    ("lax-raw-cl-list", "wsgi", PROBE, lax("--strict-cl", "--raw-cl-list"),
     "rfc9112.content-length", "info",
     {('Content-Length: "5, 5" (same values: allowed)', "HTTP-04.d", "INFO")}),
    # (The lax server also merges the app's Set-Cookie lines: that sub-case's MUST.)
    ("lax-raw-cl-list", "wsgi", PROBE, lax("--strict-cl", "--raw-cl-list"),
     "rfc9110.duplicates", "fail",
     {("two identical Content-Length lines", "HTTP-16.c", "INFO"),
      ("two Set-Cookie lines from the app", "HTTP-16.e", "MUST"),
      ("two Set-Cookie lines from the app", "HTTP-16.f", "SHOULD")}),
    # absolute-form answered 200 by the server itself: the app never saw it.
    ("lax-answer-absolute", "wsgi", PROBE, lax("--answer-absolute", "--strict-target"),
     "rfc9112.request-target", "fail", {("absolute-form", "HTTP-08.a", "MUST")}),
    # wsgiref answers as HTTP/1.0, so it processes the requests as HTTP/1.0 (RFC 9110 6.2) and
    # RFC 9112 6.1 assumes it "will not understand how to process transfer-encoded content":
    # the Transfer-Encoding requests it serves are a missing defence (HTTP-03.h), not HTTP-03.a,
    # HTTP-03.b or HTTP-18.c; "+5" is still no Content-Length (HTTP-18.b); the request without
    # Host, a fault of "any HTTP/1.1 request message" only, is not judged (its HTTP/1.1
    # counterpart: wsgiref-http11 above).
    ("wsgiref", "wsgi", PROBE, None, "rfc9112.transfer-encoding", "hardening",
     {('Transfer-Encoding: "\\x0bchunked"', "HTTP-03.h", "HARDENING"),
      ("Transfer-Encoding: foo (unknown, final)", "HTTP-03.h", "HARDENING"),
      ("Transfer-Encoding: chunked, foo", "HTTP-03.h", "HARDENING"),
      ("Transfer-Encoding: chunked, chunked", "HTTP-03.h", "HARDENING"),
      ("Transfer-Encoding: gzip, chunked (unknown coding)", "HTTP-03.h", "HARDENING")}),
    ("wsgiref", "wsgi", PROBE, None, "rfc9112.invalid-then-valid", "fail",
     {("Content-Length: +5", "HTTP-18.b", "MUST"),
      ("Transfer-Encoding: gzip (chunked not final)", "HTTP-03.h", "HARDENING")}),
    ("wsgiref", "wsgi", PROBE, None, "rfc9112.host", "fail",
     {("two Host fields, same value", "HTTP-16.a", "MUST"),
      ("two Host fields, different values", "HTTP-16.a", "MUST")}),
    # A path segment over 255 octets gets 403 (a file name it cannot map, as Apache under
    # mod_wsgi-express); the 8000-octet request-line, its bulk in the query, is served.
    ("lax-segment-403", "wsgi", PROBE, lax("--segment-403"), "rfc9112.oversized", "pass",
     set()),
    # send() of an unknown event type neither raises nor returns; the connection stays open.
    ("asgi-hang-unknown-event", "asgi", "lax_server:hang_unknown_events", None,
     "asgi.invalid-events", "warn", {("unknown-type", "ASGI-HTTP-08.a", "SHOULD")}),
]


@pytest.mark.parametrize("name,interface,app,command,check_id,verdict,expected",
                         LENIENT_STACKS, ids=[f"{row[0]}-{row[4]}" for row in LENIENT_STACKS])
def test_lenient_branch_earns_its_pass(tmp_path: Path, name: str, interface: str, app: str,
                                       command: str | None, check_id: str, verdict: str,
                                       expected: set[tuple[str, str, str]]) -> None:
    target = broken_target(tmp_path, name, interface, app, command)
    run = run_suite(tmp_path, f"--target={target}", "--via=direct", f"--checks={check_id}")
    record = next(r for r in run.records if r["check"] == check_id)
    assert record["verdict"] == verdict, f"{check_id} on {name}: {run.output[-3000:]}"
    findings = {(f["case"], f["requirement"], f["level"]) for f in record["findings"]}
    cases = {case for case, _, _ in expected}
    assert {f for f in findings if f[0] in cases} == expected, sorted(findings)
    assert not {f for f in findings if f[0] not in cases and f[2] == "MUST"}, sorted(findings)
    for finding in record["findings"]:
        assert finding["message"], finding


# The judge of a served request's body (desync._body_problems), on made-up outcomes.
PARTS = Parts(host=b"h", base=b"", smuggle=b"GET /desync-smuggled HTTP/1.1\r\n\r\n")


def _served(case: Case, environ: dict[str, Any] | None, body: bytes | None,
            end: str = "http.request") -> Outcome:
    """An outcome where the app saw ``environ`` (None: an ASGI scope, whose receive() ended
    with ``end``) and read ``body``."""
    request: dict[str, Any] = {"event": "request"}
    request.update({"environ": environ} if environ is not None else {"scope": {"headers": []}})
    events = [request]
    if environ is None:
        events.append({"event": "receive", "type": end, "more_body": False})
    events += [{"event": "body", "body": body}] if body is not None else []
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\necho\n"
    from conformance.wire import parse_responses

    return Outcome(case, b"", response, parse_responses(response, ["POST"], eof=True), True,
                   False, {"invalid": events}, case.bodies(PARTS))


TE_CL = Case("te.cl", lambda p: b"", framing="HTTP-02.c", body=lambda p: p.smuggle)


def test_body_judge_takes_the_framed_body() -> None:
    assert judge(_served(TE_CL, {"CONTENT_LENGTH": str(len(PARTS.smuggle))}, PARTS.smuggle)) == []
    assert judge(_served(TE_CL, None, PARTS.smuggle)) == []  # ASGI: the body alone


TE_CL_TOLD = Case("te.cl", lambda p: b"", framing="HTTP-02.c", body=lambda p: p.smuggle,
                  told_length="HTTP-02.a")


def test_body_judge_reports_another_body_and_length() -> None:
    problems = judge(_served(TE_CL, {"CONTENT_LENGTH": "4"}, b"GET "))
    assert [p.ref for p in problems] == ["HTTP-02.c"]
    assert "read the body b'GET '" in problems[0].message
    # The overridden length handed on (PEP 3333: "The contents of any Content-Length fields"):
    # reported on the case's permission; an app that read as far as it was told is not blamed.
    [told] = judge(_served(TE_CL_TOLD, {"CONTENT_LENGTH": "4"}, b"GET "))
    assert (told.ref, "CONTENT_LENGTH '4'" in told.message) == ("HTTP-02.a", True)
    wrong_length = {"CONTENT_LENGTH": "91", "wsgi.input_terminated": True}
    assert [p.ref for p in judge(_served(TE_CL_TOLD, wrong_length, PARTS.smuggle))] == [
        "HTTP-02.a"]
    assert [p.ref for p in judge(_served(TE_CL, None, b""))] == ["HTTP-02.c"]


def test_body_judge_leaves_an_unreadable_wsgi_body_and_permits_alternatives() -> None:
    # Neither CONTENT_LENGTH nor wsgi.input_terminated: the app could not read any body.
    assert judge(_served(TE_CL, {}, b"")) == []
    gzip_case = Case("gzip", lambda p: b"", framing="HTTP-01.b", body=(b"\x1f\x8b..", b"hello"))
    assert judge(_served(gzip_case, {"wsgi.input_terminated": True}, b"hello")) == []
    assert judge(_served(gzip_case, {"wsgi.input_terminated": True}, b"\x1f\x8b..")) == []
    assert [p.ref for p in judge(_served(gzip_case, None, b"5\r\nhello"))] == ["HTTP-01.b"]
    # An ASGI app whose receive() ended in http.disconnect was not told a body: a rejection.
    assert judge(_served(gzip_case, None, b"", end="http.disconnect")) == []


def test_body_judge_tells_a_body_cut_short_from_a_misparsed_one() -> None:
    bare_cr = Case("bare cr", lambda p: b"", framing="HTTP-01.e", body=b"A",
                   cut_short="HTTP-01.d")
    terminated = {"wsgi.input_terminated": True}
    assert [p.ref for p in judge(_served(bare_cr, terminated, b""))] == ["HTTP-01.d"]
    assert [p.ref for p in judge(_served(bare_cr, terminated, b"a bA"))] == ["HTTP-01.e"]
    assert judge(_served(bare_cr, terminated, b"A")) == []


def test_the_recommended_request_line_is_8000_octets_its_bulk_in_the_query() -> None:
    """rfc9112.oversized's HTTP-19.d line: exactly the 8000 octets RFC 9112 3 recommends, with
    no path segment longer than a file name (the length is the line's, not a segment's)."""
    from conformance.checks.rfc9112.s3_request_line import long_line_target

    target = long_line_target()
    assert len(f"GET {target} HTTP/1.1") == 8000
    path, _, query = target.partition("?")
    assert max(len(segment) for segment in path.split("/")) <= 255 and len(query) > 7900
