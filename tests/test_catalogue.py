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


# -- the layout: one package per spec document, one module per section --------------------

def _module_docstring(check_module: str) -> str:
    import importlib

    doc = (importlib.import_module(check_module).__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split())  # the first paragraph


def test_each_check_lives_in_its_documents_package() -> None:
    """A matrix cell's id names its spec document, and the document names the package: from
    ``rfc9112.chunk-size`` a reader goes to conformance/checks/rfc9112/ (its module is shown in
    the catalogue and the results). No check lives outside a document package."""
    documents = {"pep3333", "asgi", "asgi-www", "asgi-lifespan", "asgi-ext", "rfc9112",
                 "rfc9110", "rfc9113", "rfc6455", "deployment"}
    for check in all_checks():
        assert check.area in documents, check.id
        package = check.module.split("/")[1]
        assert package == check.area.replace("-", "_"), (check.id, check.module)
        assert len(check.module.split("/")) == 3, check.module  # checks/<document>/<section>.py


def test_each_module_is_a_section_its_checks_cite() -> None:
    """An RFC module is named by its section number (s7_1_chunked.py: RFC 9112 7.1) and its
    checks' section starts there; any other module's docstring names its section in double
    quotes, and its checks cite that section."""
    for check in all_checks():
        name = check.module.rsplit("/", 1)[1].removesuffix(".py")
        numbered = re.match(r"s(\d+(?:_\d+)*)_", name)
        if check.area.startswith("rfc"):
            assert numbered, check.module
            number = numbered.group(1).replace("_", ".")
            assert check.section.startswith(f"RFC {check.area[3:]} {number}"), \
                (check.id, check.section)
            continue
        headline = _module_docstring(check.function.__module__)
        if check.area == "deployment":
            # No spec document: a module per concern of the PROXY-* requirements, named in
            # its docstring's first paragraph.
            named = set(re.findall(r"PROXY-\d\d", headline))
            assert named & set(check.requirements), (check.id, check.module)
            continue
        quoted = re.findall(r'"([^"]+)"', headline)
        assert quoted, f"{check.module}: the docstring's first line names no section"
        assert any(q in check.section for q in quoted), (check.id, quoted, check.section)


def test_renamed_ids_name_current_checks() -> None:
    """Every old id of renames.toml leads to a check that exists, and no current id is also
    an old one (a results file, a baseline or a review keeps meaning one check)."""
    from conformance.catalogue import canonical_id, renames

    current = {check.id for check in all_checks()}
    assert renames()
    for old, new in renames().items():
        assert new in current, (old, new)
        assert old not in current, old
        assert canonical_id(old) == new
