"""The catalogue: every check names real requirement ids and cites a spec section."""

from __future__ import annotations

import re

import pytest

from conformance.catalogue import all_checks
from conformance.requirements import all_requirements
from tests.conftest import REPO

# The catalogue the project was seeded with, where it is beside the checkout.
SEED = REPO.parent / "shared" / "REQUIREMENTS.md"


def test_requirement_ids_exist() -> None:
    known = set(all_requirements())
    assert len(known) > 100
    for check in all_checks():
        unknown = set(check.requirements) - known
        assert not unknown, f"{check.id} names unknown requirement ids {unknown}"


@pytest.mark.skipif(not SEED.exists(), reason="../shared/REQUIREMENTS.md is not beside the "
                                              "checkout (it is only on the developers' machines)")
def test_the_project_catalogue_has_every_seeded_id() -> None:
    seeded = set(re.findall(r"^\| ([A-Z]+(?:-[A-Z0-9]+)*-\d{2}) \|", SEED.read_text(),
                            re.MULTILINE))
    assert seeded <= set(all_requirements()), seeded - set(all_requirements())


def test_issue_2_requirements_are_covered() -> None:
    """The foundation's requirement ids each have at least one check."""
    wanted = {"WSGI-ENV-01", "WSGI-ENV-02", "WSGI-ENV-03", "WSGI-ENV-04", "WSGI-ENV-05",
              "WSGI-ENV-08", "WSGI-ENV-10", "ASGI-SCOPE-01", "ASGI-SCOPE-02", "ASGI-SCOPE-03",
              "ASGI-SCOPE-04", "ASGI-SCOPE-05", "ASGI-SCOPE-07", "WSGI-RESP-06", "WSGI-RESP-07",
              "ASGI-HTTP-03", "ASGI-HTTP-05", "ASGI-LIFE-01", "ASGI-LIFE-03", "PROXY-02"}
    covered = {req for check in all_checks() for req in check.requirements}
    assert wanted <= covered, wanted - covered


def test_checks_cite_sections_and_spec_text() -> None:
    for check in all_checks():
        assert check.section and check.doc, check.id
        assert re.search(r"PEP 3333|asgi|RFC", check.doc), f"{check.id} cites no spec"
        assert check.id.startswith(check.area + ".")
