"""The requirement catalogue (requirements.toml, data): what a server can be held to, by id.

A requirement groups the verbatim spec sentences it rests on; each sentence has a key (a, b,
...), the level of its own keyword (MUST, SHOULD; "may" and "can" are INFO) and the party it
binds. A finding names a requirement and, where the requirement's sentences have several
levels, the sentence: ``"HTTP-08.b"``. Its level is that sentence's level, never the check's
(DESIGN.md decision 6). A sentence that binds only the client or the application is quoted for
context and can never carry a finding against a server.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from conformance.verdicts import Level

# Who a sentence's duty falls on; only these make a server's finding.
BINDS_SERVER = frozenset({"server", "any"})


@dataclass(frozen=True)
class Sentence:
    key: str
    doc: str  # the spec file: pep-3333.rst, rfc9112.txt, ...
    section: str
    level: Level
    binds: str
    quote: str
    clause: str = ""
    exception: str = ""  # why the level is not the sentence's keyword (a definition, ...)
    note: str = ""
    # The key of the sentence whose clause this one belongs to: it restates that clause, gives
    # its reason, or limits it (a permission a server may take without any finding). It is no
    # separate way to break the requirement, so the clause table counts it with that clause.
    part_of: str = ""
    # The ref ("HTTP-12.a") of the same sentence, word for word, in another requirement, where
    # a check catches it: the clause is that one's, reached another way (PROXY-10's Expect
    # sentences: through nginx, which answers Expect itself, the direct checks catch them).
    same_as: str = ""

    @property
    def link(self) -> str:
        return spec_link(self.doc, self.section)


@dataclass(frozen=True)
class Requirement:
    id: str
    group: str
    spec: str
    section: str
    levels: tuple[Level, ...]
    statement: str
    sentences: tuple[Sentence, ...] = ()
    no_sentence: str = ""  # why no spec sentence supports (part of) it

    def rests_on(self, key: str = "") -> str:
        """What a finding on this requirement cites: the sentence, or the statement."""
        sentence = self.sentence(key) if key else self.only_server_sentence()
        if sentence is not None:
            return f"“{sentence.quote}” ({sentence.doc}, {sentence.section})"
        where = f" ({self.spec}, {self.section})" if self.section else f" ({self.spec})"
        return self.statement + where

    def sentence(self, key: str) -> Sentence | None:
        return next((s for s in self.sentences if s.key == key), None)

    def only_server_sentence(self) -> Sentence | None:
        binding = [s for s in self.sentences if s.binds in BINDS_SERVER]
        return binding[0] if len(binding) == 1 else None


class RequirementError(ValueError):
    """A finding names a requirement or sentence the catalogue cannot carry it on."""


@cache
def all_requirements() -> dict[str, Requirement]:
    """Every requirement by id, in the catalogue's order."""
    text = resources.files("conformance").joinpath("requirements.toml").read_text("utf-8")
    found: dict[str, Requirement] = {}
    for entry in tomllib.loads(text)["requirement"]:
        sentences = tuple(
            Sentence(key=s["key"], doc=s["doc"], section=s["section"], level=Level(s["level"]),
                     binds=s["binds"], quote=s["quote"], clause=s.get("clause", ""),
                     exception=s.get("exception", ""), note=s.get("note", ""),
                     part_of=s.get("part_of", ""), same_as=s.get("same_as", ""))
            for s in entry.get("sentence", []))
        requirement = Requirement(
            id=entry["id"], group=entry["group"], spec=entry["spec"],
            section=entry["section"], levels=tuple(Level(v) for v in entry["levels"]),
            statement=entry["statement"], sentences=sentences,
            no_sentence=entry.get("no_sentence", ""))
        if requirement.id in found:
            raise ValueError(f"requirements.toml: {requirement.id} appears twice")
        found[requirement.id] = requirement
    return found


def split_ref(ref: str) -> tuple[str, str]:
    """``"HTTP-08.b"`` -> ``("HTTP-08", "b")``; ``"HTTP-08"`` -> ``("HTTP-08", "")``."""
    requirement, _, key = ref.partition(".")
    return requirement, key


def level_of(ref: str) -> Level:
    """The level of a finding on ``ref`` ("ID" or "ID.key"): its sentence's level.

    "ID" alone is enough when the requirement has one sentence that binds a server (or none:
    HARDENING, INFO); otherwise the finding must name its sentence, so that it quotes exactly
    the words it rests on. A sentence that binds only the client or the application carries
    none."""
    requirement_id, key = split_ref(ref)
    requirement = all_requirements().get(requirement_id)
    if requirement is None:
        raise RequirementError(f"{requirement_id} is not in the requirement catalogue")
    if key:
        sentence = requirement.sentence(key)
        if sentence is None:
            raise RequirementError(f"{requirement_id} has no sentence {key!r}")
        if sentence.binds not in BINDS_SERVER:
            raise RequirementError(f"{ref} binds the {sentence.binds}, not the server: it "
                                   "cannot carry a finding against a server")
        return sentence.level
    binding = [s for s in requirement.sentences if s.binds in BINDS_SERVER]
    if len(binding) > 1:
        # The finding must quote the one sentence it rests on, whatever their levels.
        raise RequirementError(f"{requirement_id} rests on several sentences: name the one "
                               f"({', '.join(requirement_id + '.' + s.key for s in binding)})")
    if binding:
        return binding[0].level
    levels = set(requirement.levels)
    if len(levels) != 1:
        raise RequirementError(f"{requirement_id} has no sentence and levels "
                               f"{sorted(v.value for v in levels)}")
    return levels.pop()


_SPEC_URLS = {
    "pep-3333.rst": "https://peps.python.org/pep-3333/",
    "asgi.rst": "https://asgi.readthedocs.io/en/latest/specs/main.html",
    "asgi-www.rst": "https://asgi.readthedocs.io/en/latest/specs/www.html",
    "asgi-lifespan.rst": "https://asgi.readthedocs.io/en/latest/specs/lifespan.html",
    "asgi-extensions.rst": "https://asgi.readthedocs.io/en/latest/extensions.html",
    "asgi-tls.rst": "https://asgi.readthedocs.io/en/latest/specs/tls.html",
}


def spec_link(doc: str, section: str) -> str:
    """A link to the section of a spec document (RFC sections by number, others by heading)."""
    if doc.startswith("rfc") and doc.endswith(".txt"):
        number = section.split()[0] if section else ""
        anchor = f"#section-{number}" if number[:1].isdigit() else ""
        return f"https://www.rfc-editor.org/rfc/{doc.removesuffix('.txt')}{anchor}"
    base = _SPEC_URLS.get(doc, "")
    if not base or not section:
        return base
    slug = "".join(c if c.isalnum() else "-" for c in section.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"{base}#{slug}"
