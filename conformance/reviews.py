"""Reviews: a person's verdict on a server's non-passing cell, kept as data (reviews.toml).

DESIGN.md asks that every failure be justified and that the results say whether a failure is
the server's or the suite's. The harness attaches the matching review to each non-passing
record; the report shows it beside the bytes.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from conformance.catalogue import canonical_id

REVIEWS_PATH = Path(__file__).parent / "reviews.toml"
FINDINGS = ("server", "suite", "open")


@cache
def _reviews() -> tuple[dict[str, Any], ...]:
    entries = tomllib.loads(REVIEWS_PATH.read_text(encoding="utf-8")).get("review", [])
    for entry in entries:
        if entry.get("finding") not in FINDINGS or not entry.get("note") or entry.get(
                "verdict", "fail") not in ("fail", "warn", "info", "hardening"):
            raise ValueError(f"reviews.toml: bad entry {entry!r}")
    return tuple(entries)


def review_for(check: str, target: str, verdict: str | None = None) -> dict[str, str] | None:
    """The review of ``check`` on ``target`` (an entry naming the target beats a "*" one).

    An entry that names the verdict it reviewed (``verdict = "fail"``) applies only to that
    verdict: when a re-run changes the verdict, the old review no longer speaks for the cell."""
    general = None
    for entry in _reviews():
        if canonical_id(entry["check"]) != canonical_id(check):
            continue
        if verdict is not None and entry.get("verdict", verdict) != verdict:
            continue
        if target in entry["targets"]:
            return {"finding": entry["finding"], "note": entry["note"]}
        if "*" in entry["targets"]:
            general = {"finding": entry["finding"], "note": entry["note"]}
    return general


def all_reviews() -> tuple[dict[str, Any], ...]:
    return _reviews()
