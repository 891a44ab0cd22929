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
