"""Editorial data joined to results records when the matrix is rendered, never at run time.

A record keeps ids only (check, target, requirements); the words people wrote about it, the
review of a non-passing cell (reviews.toml) and the spec text the check enforces (the check's
docstring in the catalogue), are looked up here, so that a changed review or citation
re-renders the matrix without re-running a single server.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from conformance.reviews import review_for

# Only these verdicts carry a review: a pass needs no justification.
REVIEWED_VERDICTS = frozenset({"fail", "warn", "info", "hardening"})


@cache
def _spec_texts() -> dict[str, str]:
    from conformance.catalogue import all_checks

    return {check.id: " ".join(check.doc.split()) for check in all_checks()}


@cache
def _modules() -> dict[str, str]:
    from conformance.catalogue import all_checks

    return {check.id: f"conformance/{check.module}" for check in all_checks()}


def _current_id(record: dict[str, Any]) -> str:
    from conformance.catalogue import canonical_id

    return canonical_id(str(record.get("check", "")))


def spec_text_of(record: dict[str, Any]) -> str:
    """The spec text the record's check enforces, whitespace folded ("" for an unknown id)."""
    return _spec_texts().get(_current_id(record), "")


def module_of(record: dict[str, Any]) -> str:
    """The source file of the record's check: its spec document's package and its section's
    module, so a reader goes from a cell to the code and sentence in one step."""
    return _modules().get(_current_id(record), "")


def review_of(record: dict[str, Any]) -> dict[str, str] | None:
    """The review of a non-passing cell: ``{"finding": server|suite|open, "note": ...}``."""
    if record.get("verdict") not in REVIEWED_VERDICTS:
        return None
    return review_for(str(record.get("check", "")), str(record.get("target", "")),
                      str(record.get("verdict", "")))


def findings_of(record: dict[str, Any]) -> list[dict[str, str]]:
    """The record's findings, each with the words its requirement rests on: the catalogue's
    verbatim sentence where it has one, else its statement."""
    from conformance.requirements import all_requirements, split_ref

    catalogue = all_requirements()
    shown = []
    for finding in record.get("findings") or []:
        ref = str(finding.get("requirement", ""))
        requirement_id, key = split_ref(ref)
        requirement = catalogue.get(requirement_id)
        shown.append({
            "requirement": ref,
            "level": str(finding.get("level", "")),
            "case": str(finding.get("case", "")),
            "message": str(finding.get("message", "")),
            "rests_on": requirement.rests_on(key) if requirement else "",
        })
    return shown
