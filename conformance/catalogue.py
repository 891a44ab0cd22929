"""Check metadata and the registry of checks.

Every check is a plain function ``fn(ctx) -> None`` registered with :func:`check`. The metadata
is what the catalogue command prints and what the matrix groups by: a stable id, the
requirement ids of ../shared/REQUIREMENTS.md it enforces, its level, the interfaces and paths
(direct, nginx) it applies to, and the spec section it cites.
"""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.verdicts import Level

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.targets import Target

CheckFunction = Callable[["CheckContext"], None]

INTERFACES = ("wsgi", "asgi")
VIAS = ("direct", "nginx")
# The third path (issue 11): a client speaks HTTP/2 over TLS to nginx, which terminates both
# and speaks HTTP/1.1 to the plain server. Only checks that name it run there.
NGINX_TLS = "nginx-tls"
ALL_VIAS = (*VIAS, NGINX_TLS)
# What a check can need of a configuration beyond plain HTTP/1.1 (Target.offers).
NEEDS = ("tls", "h2")


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
    # What the configuration must offer (NEEDS): "tls" (a [tls] target), "h2" (HTTP/2 direct).
    needs: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        """The check's source file, relative to the package: its spec document's folder and
        its section's module (``checks/rfc9112/s7_1_chunked.py``)."""
        return self.function.__module__.removeprefix("conformance.").replace(".", "/") + ".py"

    @property
    def doc(self) -> str:
        return (self.function.__doc__ or "").strip()

    def applies_to(self, interface: str, via: str) -> bool:
        return interface in self.interfaces and via in self.via

    def runs_on(self, target: Target, via: str) -> bool:
        """Whether the check has a cell for ``target`` reached ``via``. A TLS configuration
        runs only the checks that need TLS or HTTP/2 (its plain HTTP/1.1 twin runs the rest),
        and is not put behind nginx-tls (nginx already reaches it over TLS); nor the HTTP/2
        checks when its twin has them over h2c; a check that needs what the configuration
        does not offer does not run on it."""
        if not (self.applies_to(target.interface, via) and target.runs(self.id)):
            return False
        if target.tls is not None and (not self.needs or via == NGINX_TLS or (
                "h2" in self.needs and target.tls.h2_checked_on_twin)):
            return False
        return set(self.needs) <= target.offers

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "requirements": list(self.requirements),
            "level": self.level.value,
            "interfaces": list(self.interfaces),
            "via": "both" if set(self.via) == set(VIAS) else ",".join(self.via),
            "needs": list(self.needs),
            "section": self.section,
            "area": self.area,
            "module": self.module,
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
    needs: tuple[str, ...] = (),
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
            if name not in ALL_VIAS:
                raise ValueError(f"check {id!r}: unknown via {name!r}")
        for name in needs:
            if name not in NEEDS:
                raise ValueError(f"check {id!r}: unknown need {name!r}")
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
            needs=tuple(needs),
        )
        return fn

    return register


def all_checks() -> list[Check]:
    """Every registered check, in a stable order (area, then id). Checks live in one package
    per spec document and one module per section; ``support`` holds shared mechanisms."""
    import conformance.checks as package

    for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        importlib.import_module(module.name)
    return sorted(_REGISTRY.values(), key=lambda c: (c.area, c.id))


RENAMES_PATH = Path(__file__).parent / "renames.toml"


@cache
def renames() -> dict[str, str]:
    """Old check id -> current id (conformance/renames.toml)."""
    data = tomllib.loads(RENAMES_PATH.read_text(encoding="utf-8"))
    return dict(data.get("renamed", {}))


def canonical_id(check_id: str) -> str:
    """The current id of a check named by a current or an older id (results, baselines and
    reviews written before a rename keep meaning the same check)."""
    return renames().get(check_id, check_id)


def covered_requirements() -> set[str]:
    return {req for c in all_checks() for req in c.requirements}
