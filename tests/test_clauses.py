"""The clause table: every way a server can break a requirement, and what catches it."""

from __future__ import annotations

from conformance.clauses import clause_of, clause_table, known_gaps
from conformance.requirements import BINDS_SERVER, all_requirements


def test_every_server_sentence_is_a_clause() -> None:
    sentences = {f"{r.id}.{s.key}" for r in all_requirements().values() for s in r.sentences
                 if s.binds in BINDS_SERVER}
    table = clause_table()
    listed = {clause.ref for clause in table} | {part for c in table for part in c.parts}
    assert listed == sentences
    assert all(clause.text for clause in table)


def test_a_sentence_part_of_another_names_a_server_clause_of_its_requirement() -> None:
    """``part_of`` (a restatement, reason or limit of another sentence's clause) names a
    sentence of the same requirement that binds the server and is itself a clause, and says
    why in its note."""
    for requirement in all_requirements().values():
        for sentence in requirement.sentences:
            if not sentence.part_of:
                continue
            target = requirement.sentence(sentence.part_of)
            ref = f"{requirement.id}.{sentence.key}"
            assert target is not None and target.binds in BINDS_SERVER, ref
            assert not target.part_of, f"{ref}: part_of a part"
            assert sentence.note, f"{ref}: say why it is no clause of its own"


def test_a_sentence_same_as_another_is_that_caught_clause_word_for_word() -> None:
    from conformance.requirements import all_requirements

    by_ref = {clause.ref: clause for clause in clause_table()}
    linked = [c for c in clause_table() if c.same_as]
    assert linked, "no clause names the same sentence elsewhere"
    for clause in linked:
        requirement, _, key = clause.same_as.partition(".")
        other = all_requirements()[requirement].sentence(key)
        mine = all_requirements()[clause.requirement].sentence(clause.ref.split(".")[1])
        assert other is not None and mine is not None and other.quote == mine.quote, clause
        caught = by_ref[clause_of(clause.same_as)]
        assert caught.checks, f"{clause.same_as} is caught by no check"
        assert clause.checks == caught.checks


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


def proven_clauses() -> dict[str, set[str]]:
    """Clause ref -> the broken stacks whose test asserts that clause's finding (the rows of
    every tests/test_broken_*.py BROKEN_STACKS table written "verdict: REF, REF")."""
    import importlib
    from pathlib import Path

    from tests.conftest import expectation

    proven: dict[str, set[str]] = {}
    for path in sorted(Path(__file__).parent.glob("test_broken_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, *_, expected in getattr(module, "BROKEN_STACKS", []):
            for check_id, value in expected.items():
                for ref in expectation(value)[1]:
                    proven.setdefault(ref, set()).add(f"{name} ({check_id})")
        # Rows that assert a check's exact (sub-case, clause, level) findings.
        for name, *_, check_id, _verdict, findings in getattr(module, "LENIENT_STACKS", []):
            for _case, ref, _level in findings:
                proven.setdefault(ref, set()).add(f"{name} ({check_id})")
    return proven


def test_clauses_proven_by_broken_variants_are_clauses_of_their_checks() -> None:
    """Each clause a broken-stack row names is a server-binding sentence of a requirement that
    its check declares, and is caught by that check in the clause table. A row may name a
    sentence that is part of a clause (``part_of``): its ref counts as the clause's."""
    from conformance.catalogue import all_checks

    by_ref = {clause.ref: clause for clause in clause_table()}
    requirements = {check.id: set(check.requirements) for check in all_checks()}
    proven = proven_clauses()
    assert proven, "no broken-stack row names the clauses it proves"
    for ref, rows in proven.items():
        full = clause_of(ref) if "." in ref else next(r for r in by_ref
                                                      if r.split(".")[0] == ref)
        assert full in by_ref, f"{ref} ({rows}) is no server-binding clause"
        for row in rows:
            check_id = row.rsplit("(", 1)[1].rstrip(")")
            assert ref.split(".")[0] in requirements[check_id], (ref, row)
