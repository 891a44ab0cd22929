"""The clause table: each way a server can break a requirement, and the checks that catch it.

A clause is one sentence of the catalogue (requirements.toml) that binds the server: its
``clause`` line says, in one line, how a server breaks it. A clause is covered by a check when
the check declares the requirement and its code records a finding on that sentence ("HTTP-08.b",
or the bare id where the requirement has one server sentence). Coverage is read from the checks'
source (the modules of the check and the conformance.checks modules they import), so it cannot
drift from the code; the sub-case is the ``ctx.case("...")`` block a finding is written in, where
that is visible in the source. ``conformance catalogue --clauses`` prints the table.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from conformance.catalogue import Check, all_checks
from conformance.requirements import BINDS_SERVER, all_requirements
from conformance.verdicts import Level

REF = re.compile(r"((?:WSGI|ASGI|HTTP|PROXY|TLS|H2)-[A-Z0-9-]*\d{2})(?:\.([a-z]+))?")
PACKAGE_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Clause:
    ref: str  # "HTTP-08.b"
    requirement: str
    level: Level
    text: str  # how a server breaks it, one line
    checks: tuple[str, ...]  # the checks that record a finding on it
    cases: tuple[str, ...]  # the sub-cases those findings are written in, where visible
    # The sentences that are part of this clause (they restate it, give its reason, or limit
    # it: requirements.toml ``part_of``); their refs count as this clause's.
    parts: tuple[str, ...] = ()
    same_as: str = ""  # the same sentence in another requirement, caught there

    def as_json(self) -> dict[str, object]:
        return {"ref": self.ref, "requirement": self.requirement, "level": self.level.value,
                "clause": self.text, "checks": list(self.checks), "cases": list(self.cases),
                "parts": list(self.parts), "same_as": self.same_as}


def _case_name(node: ast.withitem) -> str | None:
    """The name of ``ctx.case(name)``: a constant, an f-string's constant parts, or the
    variable's name in braces (a case per loop value)."""
    call = node.context_expr
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "case" and call.args):
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{...}"
                       for v in arg.values)
    return "{" + ast.unparse(arg) + "}"


Found = tuple[tuple[str, str | None], ...]


def _refs_from(start: ast.AST, functions: dict[str, ast.FunctionDef]) -> Found:
    """Every requirement ref written as a string from ``start`` on, with the sub-case it is
    recorded in: the enclosing ``with ctx.case(...)``, followed into the module's own
    functions that ``start`` calls."""

    def visit(node: ast.AST, case: str | None, inside: frozenset[str]
              ) -> Iterator[tuple[str, str | None]]:
        if isinstance(node, ast.With):
            for item in node.items:
                case = _case_name(item) or case
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and REF.fullmatch(node.value)):
            yield node.value, case
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in functions and node.func.id not in inside):
            yield from visit(functions[node.func.id], case, inside | {node.func.id})
        for child in ast.iter_child_nodes(node):
            yield from visit(child, case, inside)

    return tuple(visit(start, None, frozenset()))


@cache
def _parsed(name: str) -> tuple[ast.Module, dict[str, ast.FunctionDef], tuple[str, ...]]:
    """Module ``name``'s syntax tree, its functions, and the check modules it imports."""
    module = importlib.import_module(name)
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    imported = tuple(node.module for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module
                     and (node.module.startswith("conformance.checks")
                          or node.module == "conformance.desync"))
    return tree, functions, imported


def _reachable_refs(check: Check) -> list[tuple[str, str | None]]:
    """The refs a check can record: from its own function (and the functions it calls, with
    their sub-cases), its module's constants, and every check module it imports."""
    tree, functions, imported = _parsed(check.function.__module__)
    refs = list(_refs_from(functions[check.function.__name__], functions))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.ClassDef):
            refs.extend(_refs_from(node, {}))
    seen: set[str] = {check.function.__module__}
    todo = list(imported)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        other, _, more = _parsed(name)
        refs.extend((ref, None) for ref, _ in _refs_from(other, {}))
        todo.extend(more)
    return refs


def _sentence_key(ref: str) -> str | None:
    """The "ID.key" a written ref stands for (a bare id: its only server sentence)."""
    match = REF.fullmatch(ref)
    if match is None:
        return None
    requirement = all_requirements().get(match.group(1))
    if requirement is None:
        return None
    if match.group(2):
        return ref
    only = requirement.only_server_sentence()
    return f"{requirement.id}.{only.key}" if only is not None else None


@cache
def clause_table() -> tuple[Clause, ...]:
    """Every distinct way to break a server-binding sentence of the catalogue, with the checks
    that catch it. A sentence marked ``part_of`` another is listed in that clause's ``parts``:
    a finding on either ref catches the clause."""
    covering: dict[str, set[str]] = {}
    cases: dict[str, set[str]] = {}
    for check in all_checks():
        for written, case in _reachable_refs(check):
            ref = _sentence_key(written)
            if ref is None or ref.split(".")[0] not in check.requirements:
                continue
            ref = clause_of(ref)
            covering.setdefault(ref, set()).add(check.id)
            if case:
                cases.setdefault(ref, set()).add(f"{check.id}: {case}")
    table = []
    for requirement in all_requirements().values():
        for sentence in requirement.sentences:
            if sentence.binds not in BINDS_SERVER or sentence.part_of:
                continue
            ref = f"{requirement.id}.{sentence.key}"
            parts = tuple(f"{requirement.id}.{s.key}" for s in requirement.sentences
                          if s.part_of == sentence.key and s.binds in BINDS_SERVER)
            caught_as = clause_of(sentence.same_as) if sentence.same_as else ref
            table.append(Clause(
                ref=ref, requirement=requirement.id, level=sentence.level,
                text=sentence.clause or " ".join(sentence.quote.split()),
                checks=tuple(sorted(covering.get(caught_as, ()))),
                cases=tuple(sorted(cases.get(caught_as, ()))), parts=parts,
                same_as=sentence.same_as))
    return tuple(table)


def clause_of(ref: str) -> str:
    """The clause a sentence ref belongs to: its own, or the one it is ``part_of``."""
    requirement, _, key = ref.partition(".")
    sentence = all_requirements()[requirement].sentence(key)
    return f"{requirement}.{sentence.part_of}" if sentence and sentence.part_of else ref


GAPS_PATH = PACKAGE_ROOT / "clause_gaps.txt"


def known_gaps() -> set[str]:
    """The clauses no check catches yet (clause_gaps.txt): a list that may only shrink."""
    lines = GAPS_PATH.read_text(encoding="utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}
