"""The requirement catalogue (requirements.toml, data): what a server can be held to, by id.

Checks name requirement ids; this module is where an id gets its statement, spec, section and
levels, so that the catalogue command and the tests read one source.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEVELS = ("MUST", "SHOULD", "OPTIONAL", "INFO", "HARDENING")


@dataclass(frozen=True)
class Requirement:
    id: str
    group: str
    spec: str
    section: str
    levels: tuple[str, ...]
    statement: str


@cache
def all_requirements() -> dict[str, Requirement]:
    """Every requirement by id, in the catalogue's order."""
    text = resources.files("conformance").joinpath("requirements.toml").read_text("utf-8")
    found: dict[str, Requirement] = {}
    for entry in tomllib.loads(text)["requirement"]:
        requirement = Requirement(
            id=entry["id"], group=entry["group"], spec=entry["spec"],
            section=entry["section"], levels=tuple(entry["levels"]),
            statement=entry["statement"])
        if requirement.id in found or not set(requirement.levels) <= set(LEVELS):
            raise ValueError(f"requirements.toml: bad or repeated entry {requirement.id}")
        found[requirement.id] = requirement
    return found
