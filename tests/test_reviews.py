"""Every failure in the published matrix was looked at: reviews.toml says whose it is."""

from __future__ import annotations

import re

from conformance.catalogue import all_checks
from conformance.report.results import read_results
from conformance.reviews import FINDINGS, all_reviews, review_for
from conformance.targets import bundled_targets
from tests.conftest import REPO


def test_reviews_name_real_checks_and_targets() -> None:
    checks = {c.id for c in all_checks()}
    targets = set(bundled_targets()) | {"*"}
    for entry in all_reviews():
        assert entry["check"] in checks, entry
        assert set(entry["targets"]) <= targets, entry
        assert entry["finding"] in FINDINGS and len(entry["note"]) > 20


def test_review_notes_name_no_path_of_a_machine() -> None:
    # The notes are published beside the cells: a reviewer's scratch files stay out of them.
    for entry in all_reviews():
        assert not re.search(r"(?<![\w.])/(tmp|work|root|home|var)/", entry["note"]), entry


def test_every_published_fail_and_warn_is_reviewed() -> None:
    records = read_results(sorted((REPO / "reports" / "results").glob("*.json")))
    assert records, "reports/results is empty: run make matrix"
    unreviewed = sorted({(r["check"], r["target"], r["verdict"]) for r in records
                         if r["verdict"] in ("fail", "warn", "hardening")
                         and review_for(r["check"], r["target"], r["verdict"]) is None})
    assert not unreviewed, f"add these to conformance/reviews.toml: {unreviewed}"


def test_a_specific_target_beats_the_wildcard() -> None:
    specific = review_for("rfc9112.chunk-size", "cheroot")
    assert specific is not None and "0x1" in specific["note"]
