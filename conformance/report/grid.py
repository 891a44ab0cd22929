"""The shape of a matrix, shared by the Markdown and HTML renderers: which cell a record
fills, the columns, the row order, and a unique anchor per non-pass cell."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Record = dict[str, Any]
Column = tuple[str, str, str]  # (interface, target, via)


def area_of(record: Record) -> str:
    return str(record.get("area") or record["check"].split(".", 1)[0])


def cell_of(record: Record) -> tuple[str, str, str]:
    return (record["check"], record["target"], record["via"])


def column_of(record: Record) -> Column:
    return (str(record.get("interface", "")), record["target"], record["via"])


def columns_of(records: list[Record]) -> list[Column]:
    """Every (interface, target, via) seen, sorted by interface, then target, then via."""
    return sorted({column_of(r) for r in records})


def record_key(record: Record) -> tuple[str, ...]:
    return (area_of(record), record["check"], *column_of(record))


def anchors_of(records: Iterable[Record]) -> dict[tuple[str, str, str], str]:
    """A unique anchor of [a-z0-9-] per cell; a clash (a.b vs a-b) gets a numbered suffix."""
    anchors: dict[tuple[str, str, str], str] = {}
    taken: set[str] = set()
    for record in records:
        base = "d-" + re.sub(r"[^a-z0-9]+", "-", "-".join(cell_of(record)).lower()).strip("-")
        anchor, number = base, 1
        while anchor in taken:
            number += 1
            anchor = f"{base}-{number}"
        taken.add(anchor)
        anchors[cell_of(record)] = anchor
    return anchors



def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit} more characters not shown)"
