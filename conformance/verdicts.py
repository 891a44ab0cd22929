"""The verdict model (DESIGN.md decision 6).

A cell ends in exactly one verdict: the worst of its findings (findings.py), or an outcome that
is not a finding, raised as one of the exceptions below (unsupported, error, skipped). The
plugin maps the verdict onto a pytest outcome:

=============  ==========================================  ===================================
verdict        meaning                                     pytest outcome
=============  ==========================================  ===================================
pass           the server did what the spec demands         passed
fail           a MUST was broken                            failed
warn           a SHOULD was broken                          passed (failed under --strict)
unsupported    an optional feature is absent                skipped
info           behaviour the specs leave open, reported     passed
hardening      a defence no spec sentence demands is absent passed
error          the harness could not complete the check     error (setup) or failed
=============  ==========================================  ===================================
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    UNSUPPORTED = "unsupported"
    INFO = "info"
    # A defence no spec sentence demands is missing: shown apart, never a spec fail or warn.
    HARDENING = "hardening"
    ERROR = "error"
    # Not a verdict on the server: the environment lacks something (nginx). Kept apart so the
    # matrix never shows an environment problem as a server property.
    SKIPPED = "skipped"


class Level(StrEnum):
    """The level of a requirement: the keyword of the sentence it rests on (MAY and "can"
    are INFO: reported, never failed); HARDENING rests on no sentence."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    OPTIONAL = "OPTIONAL"
    INFO = "INFO"
    HARDENING = "HARDENING"


class CheckOutcome(Exception):
    """Base for every non-pass outcome a check raises."""

    verdict: Verdict = Verdict.ERROR

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unsupported(CheckOutcome):
    """An optional feature is not offered by the server."""

    verdict = Verdict.UNSUPPORTED


class HarnessError(CheckOutcome):
    """The harness could not complete the check (server did not start, died, hung, ...)."""

    verdict = Verdict.ERROR


class CaseEnded(Exception):
    """A sub-case ended at a recorded finding (context.require); not an outcome of its own."""


class EnvironmentMissing(CheckOutcome):
    """Something the check needs is not installed here (nginx); the reason names the fix."""

    verdict = Verdict.SKIPPED
