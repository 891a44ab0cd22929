"""Check metadata and the registry of checks.

Every check is a plain function ``fn(ctx) -> None`` registered with :func:`check`. The metadata
is what the catalogue command prints and what the matrix groups by: a stable id, the
requirement ids of ../shared/REQUIREMENTS.md it enforces, its level, the interfaces and paths
(direct, nginx) it applies to, and the spec section it cites.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.verdicts import Level

if TYPE_CHECKING:
    from conformance.context import CheckContext

CheckFunction = Callable[["CheckContext"], None]

INTERFACES = ("wsgi", "asgi")
VIAS = ("direct", "nginx")


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    requirements: tuple[str, ...]
    level: Level
    interfaces: tuple[str, ...]
    via: tuple[str, ...]
    section: str
    area: str
    function: CheckFunction = field(compare=False, repr=False)
    # A check that starts its own server (lifespan variants) must not share the target's one.
    own_server: bool = False

    @property
    def doc(self) -> str:
        return (self.function.__doc__ or "").strip()

    def applies_to(self, interface: str, via: str) -> bool:
        return interface in self.interfaces and via in self.via

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "requirements": list(self.requirements),
            "level": self.level.value,
            "interfaces": list(self.interfaces),
            "via": "both" if set(self.via) == set(VIAS) else self.via[0],
            "section": self.section,
            "area": self.area,
            "doc": " ".join(self.doc.split()),
        }


_REGISTRY: dict[str, Check] = {}


def check(
    *,
    id: str,
    title: str,
    requirements: list[str] | tuple[str, ...],
    level: Level,
    interfaces: tuple[str, ...],
    section: str,
    via: tuple[str, ...] = VIAS,
    own_server: bool = False,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``fn`` as a check. The area is the id's part before the first dot."""

    def register(fn: CheckFunction) -> CheckFunction:
        if id in _REGISTRY:
            raise ValueError(f"duplicate check id {id!r}")
        if not fn.__doc__:
            raise ValueError(f"check {id!r} needs a docstring citing its spec section")
        for name in interfaces:
            if name not in INTERFACES:
                raise ValueError(f"check {id!r}: unknown interface {name!r}")
        for name in via:
            if name not in VIAS:
                raise ValueError(f"check {id!r}: unknown via {name!r}")
        _REGISTRY[id] = Check(
            id=id,
            title=title,
            requirements=tuple(requirements),
            level=level,
            interfaces=tuple(interfaces),
            via=tuple(via),
            section=section,
            area=id.split(".", 1)[0],
            function=fn,
            own_server=own_server,
        )
        return fn

    return register


def all_checks() -> list[Check]:
    """Every registered check, in a stable order (area, then id)."""
    import conformance.checks as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return sorted(_REGISTRY.values(), key=lambda c: (c.area, c.id))


def covered_requirements() -> set[str]:
    return {req for c in all_checks() for req in c.requirements}
