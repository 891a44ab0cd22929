"""Findings: what a check found, each resting on one requirement of the catalogue.

A check no longer stops at its first problem: it records a :class:`Finding` per problem and
goes on with its other sub-cases. A finding names its requirement id; its level is that
requirement's level in requirements.toml, never the check's (DESIGN.md decision 6). The cell's
verdict is the worst finding's, and its message leads with that finding and lists the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conformance.verdicts import Level, Verdict

# What a broken requirement of each level makes of the cell. An OPTIONAL feature's rules bind
# a server that offers it as a MUST does (absence is "unsupported", decided elsewhere).
VERDICT_OF_LEVEL = {
    Level.MUST: Verdict.FAIL,
    Level.OPTIONAL: Verdict.FAIL,
    Level.SHOULD: Verdict.WARN,
    Level.HARDENING: Verdict.HARDENING,
    Level.INFO: Verdict.INFO,
}
# Worst first: the verdict a cell takes when findings of several levels meet.
SEVERITY = (Verdict.FAIL, Verdict.WARN, Verdict.HARDENING, Verdict.INFO)


@dataclass(frozen=True)
class Finding:
    requirement: str
    level: Level
    message: str
    case: str = ""  # the sub-case it came from, if the check has several

    @property
    def verdict(self) -> Verdict:
        return VERDICT_OF_LEVEL[self.level]

    def as_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "level": self.level.value,
                "verdict": self.verdict.value, "case": self.case, "message": self.message}


def worst(findings: Iterable[Finding]) -> list[Finding]:
    """The findings ordered worst first (stable within a level)."""
    return sorted(findings, key=lambda f: SEVERITY.index(f.verdict))


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    ordered = worst(findings)
    return ordered[0].verdict if ordered else Verdict.PASS


def headline(findings: Iterable[Finding]) -> str:
    """The cell's message: the worst finding in full, then the others by level and case."""
    ordered = worst(findings)
    if not ordered:
        return ""
    first = ordered[0]
    text = f"{_label(first)}{first.message}"
    if len(ordered) > 1:
        others = "; ".join(f"{_label(f)}{_short(f.message)}" for f in ordered[1:])
        text += f" | also {len(ordered) - 1} more: {others}"
    return text


def _label(finding: Finding) -> str:
    case = f", {finding.case}" if finding.case else ""
    return f"[{finding.requirement} {finding.level.value}{case}] "


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
