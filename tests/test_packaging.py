"""The wheel ships every folder of the package: pyproject.toml lists packages explicitly
(targets/ is mapped into the package as conformance.bundled_targets), so a new folder that is
not listed would be missing from every user's install while the checkout still works."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(folder.relative_to(REPO).parts)
        for folder in [REPO / "conformance", *(REPO / "conformance").rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    }
    assert set(config["packages"]) == on_disk | {"conformance.bundled_targets"}
    assert config["package-dir"] == {"conformance.bundled_targets": "targets"}
