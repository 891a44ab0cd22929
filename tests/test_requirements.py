"""The requirement catalogue against the spec texts: every quote is in ../shared/specs word for
word, and every sentence's level is its own keyword unless the catalogue says why not."""

from __future__ import annotations

import re
from functools import cache

import pytest

from conformance.requirements import BINDS_SERVER, all_requirements, level_of
from conformance.verdicts import Level
from tests.conftest import REPO

SPECS = REPO.parent / "shared" / "specs"
# The keywords of RFC 2119 and the plain-English forms the PEP and ASGI texts use for them.
KEYWORDS = {
    Level.MUST: r"(?i)\b(must|required|shall|forbidden|mandatory)\b",
    Level.SHOULD: r"(?i)\b(should|recommended)\b",
    Level.INFO: r"(?i)\b(may|can|cannot|optional|optionally|allowed|free|not required)\b",
}


def _normalise(text: str) -> str:
    """As ../shared/tools/find-sentence does: markup and runs of white space ignored."""
    text = text.replace("**", "").replace("``", "").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


@cache
def _spec_texts() -> dict[str, str]:
    return {p.name: _normalise(p.read_text(errors="replace")) for p in SPECS.iterdir()
            if p.suffix in (".rst", ".txt")}


def _sentences() -> list[tuple[str, object]]:
    return [(f"{r.id}.{s.key}", s) for r in all_requirements().values() for s in r.sentences]


@pytest.mark.skipif(not SPECS.is_dir(), reason="../shared/specs is not beside the checkout: "
                    "the spec texts are where the catalogue was written, not in the package")
def test_every_quote_is_in_its_spec_word_for_word() -> None:
    texts = _spec_texts()
    missing = [f"{ref} ({s.doc}): {s.quote[:80]}" for ref, s in _sentences()  # type: ignore[attr-defined]
               if _normalise(s.quote) not in texts.get(s.doc, "")]  # type: ignore[attr-defined]
    assert not missing, "quotes not found verbatim:\n" + "\n".join(missing)


def test_every_level_is_its_sentences_keyword_or_says_why_not() -> None:
    wrong = []
    for ref, sentence in _sentences():
        level, quote = sentence.level, sentence.quote  # type: ignore[attr-defined]
        if sentence.exception:  # type: ignore[attr-defined]
            continue
        pattern = KEYWORDS.get(level)
        if pattern is None or not re.search(pattern, quote):
            wrong.append(f"{ref}: {level} but “{quote[:100]}”")
    assert not wrong, "levels without their keyword:\n" + "\n".join(wrong)


def test_requirements_rest_on_sentences_or_say_why_none() -> None:
    for requirement in all_requirements().values():
        assert requirement.sentences or requirement.no_sentence, requirement.id
        binding = {s.level for s in requirement.sentences if s.binds in BINDS_SERVER}
        assert binding <= set(requirement.levels), requirement.id
        if not binding:
            assert set(requirement.levels) <= {Level.HARDENING, Level.INFO}, requirement.id


def test_a_finding_cannot_rest_on_a_client_rule() -> None:
    client_only = [f"{r.id}.{s.key}" for r in all_requirements().values() for s in r.sentences
                   if s.binds not in BINDS_SERVER]
    assert client_only, "the catalogue quotes client and application rules for context"
    with pytest.raises(ValueError, match="not the server"):
        level_of(client_only[0])


def test_every_sentence_a_check_names_exists_and_binds_the_server() -> None:
    """Each "ID.key" written in the checks (and each bare "ID" a finding is made on) resolves
    to one sentence of the catalogue that a server can break, so no finding ends as a harness
    error, or quotes the wrong words, only when a server finally triggers it."""
    sources = [*(REPO / "conformance" / "checks").rglob("*.py"), REPO / "conformance" / "desync.py"]
    refs: set[str] = set()
    for path in sources:
        text = path.read_text()
        refs |= set(re.findall(r'"((?:WSGI|ASGI|HTTP|PROXY|TLS|H2)-[A-Z0-9-]*\d{2}\.[a-z]+)"',
                               text))
        refs |= set(re.findall(r'(?:finding|require)\([^"]*?"((?:WSGI|ASGI|HTTP|PROXY|TLS|H2)'
                               r'-[A-Z0-9-]*\d{2})"', text))
    assert len(refs) > 100
    broken = []
    for ref in sorted(refs):
        try:
            level_of(ref)
        except ValueError as exc:
            broken.append(f"{ref}: {exc}")
    assert not broken, "\n".join(broken)
