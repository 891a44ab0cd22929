"""Findings: the cell's verdict is its worst finding, every finding is listed, and a check's
own outcome (error, unsupported) combines with them without hiding a broken MUST."""

from __future__ import annotations

from conformance.findings import Finding, headline, verdict_of, worst
from conformance.harness import combine
from conformance.verdicts import Level, Verdict

MUST = Finding("HTTP-05", Level.MUST, "kept the connection open", "truncated body")
SHOULD = Finding("HTTP-08", Level.SHOULD, "NUL in the target served", "NUL")
INFO = Finding("HTTP-21", Level.INFO, "'*' with GET served", "asterisk")
HARDENING = Finding("WSGI-ENV-09", Level.HARDENING, "X-A_B merged with X-A-B")


def test_verdict_is_the_worst_finding() -> None:
    assert verdict_of([]) is Verdict.PASS
    assert verdict_of([INFO]) is Verdict.INFO
    assert verdict_of([HARDENING, INFO]) is Verdict.HARDENING
    assert verdict_of([INFO, SHOULD, HARDENING]) is Verdict.WARN
    assert verdict_of([SHOULD, MUST, INFO]) is Verdict.FAIL
    assert verdict_of([Finding("TLS-02", Level.OPTIONAL, "x")]) is Verdict.FAIL


def test_headline_leads_with_the_worst_and_lists_the_others() -> None:
    text = headline([INFO, SHOULD, MUST])
    assert text.startswith("[HTTP-05 MUST, truncated body] kept the connection open")
    assert "also 2 more" in text and text.index("HTTP-08") < text.index("HTTP-21")
    assert [f.requirement for f in worst([INFO, SHOULD, MUST])] == ["HTTP-05", "HTTP-08",
                                                                   "HTTP-21"]


def test_an_error_never_hides_a_broken_must() -> None:
    verdict, message = combine([MUST, SHOULD], Verdict.ERROR, "harness error: boom")
    assert verdict is Verdict.FAIL and "kept the connection open" in message and "boom" in message
    verdict, message = combine([SHOULD], Verdict.ERROR, "harness error: boom")
    assert verdict is Verdict.ERROR and message.startswith("harness error: boom")
    assert "NUL in the target served" in message
    assert combine([], Verdict.UNSUPPORTED, "no pathsend") == (Verdict.UNSUPPORTED, "no pathsend")
    assert combine([SHOULD], None, "") == (Verdict.WARN, headline([SHOULD]))


def test_headline_of_no_finding_and_of_one() -> None:
    """No finding: no message. One finding: it alone, labelled with its requirement, level and
    sub-case (no sub-case: no ", "), and no "also" tail."""
    assert headline([]) == ""
    assert headline([SHOULD]) == "[HTTP-08 SHOULD, NUL] NUL in the target served"
    assert headline([HARDENING]) == "[WSGI-ENV-09 HARDENING] X-A_B merged with X-A-B"


def test_headline_lists_every_other_finding_shortened() -> None:
    """Two findings or more: the worst in full, then "also N more:" and each other finding,
    labelled, separated by "; ", its message cut to 160 characters (the last one "…")."""
    assert headline([SHOULD, MUST]) == (
        "[HTTP-05 MUST, truncated body] kept the connection open | also 1 more: "
        "[HTTP-08 SHOULD, NUL] NUL in the target served")
    long_worst = Finding("HTTP-01", Level.MUST, "w" * 300)
    exact = Finding("HTTP-02", Level.SHOULD, "e" * 160)
    over = Finding("HTTP-03", Level.INFO, "o" * 161)
    assert headline([over, exact, long_worst]) == (
        "[HTTP-01 MUST] " + "w" * 300 + " | also 2 more: [HTTP-02 SHOULD] " + "e" * 160 +
        "; [HTTP-03 INFO] " + "o" * 159 + "…")


def test_finding_as_json() -> None:
    """A finding in the results file (results.schema.json): its requirement, the requirement's
    level, the verdict that level gives, its sub-case and message."""
    assert SHOULD.as_json() == {"requirement": "HTTP-08", "level": "SHOULD", "verdict": "warn",
                                "case": "NUL", "message": "NUL in the target served"}
    assert HARDENING.as_json()["case"] == "" and HARDENING.as_json()["verdict"] == "hardening"


def test_a_close_delimited_body_tells_the_apps_bytes_from_the_servers() -> None:
    """pep3333.app-exception: bytes the server wrote after the app's block (pyruvate's 500
    status line) are named as the server's, not counted as the body."""
    from conformance.checks.pep3333.error_handling import _before_close

    assert _before_close(b"first block\n") == "12 bytes before the close"
    assert _before_close(b"first") == "5 bytes before the close"
    assert _before_close(b"first block\nHTTP/1.1 500 Internal Server Error\r\n\r\n") == (
        "12 bytes from the app, then 38 bytes the server wrote into the body itself, "
        "b'HTTP/1.1 500 Internal Server Error\\r\\n\\r\\n', before the close")


def test_a_hop_by_hop_response_names_the_apps_transfer_encoding() -> None:
    """pep3333.hop-by-hop: the app's Transfer-Encoding over the app's raw body is said to be
    the app's, passed on; any other malformed response is only called malformed."""
    from conformance.checks.pep3333.start_response import _malformed
    from conformance.wire import parse_response

    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    passed_on, _ = parse_response(head + b"hello\n", eof=True)
    assert passed_on is not None
    assert _malformed(passed_on).startswith(
        "the app's 'Transfer-Encoding: chunked' went out over the app's unchunked body "
        "b'hello\\n', both passed on as the app gave them: [\"invalid chunk size line")
    cut, _ = parse_response(head + b"6\r\nhel", eof=True)
    assert cut is not None and _malformed(cut).startswith("the response is malformed: ")
