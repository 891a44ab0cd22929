"""The clause table: every way a server can break a requirement, and what catches it."""

from __future__ import annotations

from conformance.clauses import clause_table, known_gaps
from conformance.requirements import BINDS_SERVER, all_requirements


def test_every_server_sentence_is_a_clause() -> None:
    sentences = {f"{r.id}.{s.key}" for r in all_requirements().values() for s in r.sentences
                 if s.binds in BINDS_SERVER}
    table = clause_table()
    assert {clause.ref for clause in table} == sentences
    assert all(clause.text for clause in table)


def test_a_clause_no_check_catches_is_a_listed_gap() -> None:
    """A clause without a check that records its finding fails here unless it is listed in
    conformance/clause_gaps.txt; a listed clause that a check now catches must leave the list
    (so the list only shrinks)."""
    uncaught = {clause.ref for clause in clause_table() if not clause.checks}
    gaps = known_gaps()
    assert not uncaught - gaps, f"clauses no check catches: {sorted(uncaught - gaps)}"
    assert not gaps - uncaught, f"caught now, remove from the list: {sorted(gaps - uncaught)}"


def test_the_table_follows_findings_into_sub_cases() -> None:
    """A finding written inside ``with ctx.case(...)`` (or in a function the case calls) is
    attributed to that sub-case."""
    by_ref = {clause.ref: clause for clause in clause_table()}
    assert any(case.startswith("pep3333.optional-cgi-keys: POST")
               for case in by_ref["WSGI-ENV-04.e"].cases)
    assert "rfc9112.http10-no-chunked" in by_ref["HTTP-11.a"].checks
