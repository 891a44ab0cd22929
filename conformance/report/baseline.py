"""Baselines: the known failures a server author expects, so that CI fails only on new ones.

A baseline file is ``{"schema_version": 1, "known": [{"check", "target", "via", "verdict"}]}``.
Under ``pytest --baseline=FILE`` a cell listed there with its verdict is expected (reported as
a known failure, not failing the run); any other failure fails as usual; a listed cell that now
passes is reported as fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.catalogue import canonical_id
from conformance.verdicts import Verdict

SCHEMA_VERSION = 1
NOT_PASSING = (Verdict.FAIL, Verdict.WARN, Verdict.ERROR)
Cell = tuple[str, str, str]


class BaselineError(Exception):
    pass


def write_baseline(records: list[dict[str, Any]], path: Path) -> int:
    known = sorted(
        ({"check": r["check"], "target": r["target"], "via": r["via"], "verdict": r["verdict"]}
         for r in records if r["verdict"] in NOT_PASSING),
        key=lambda k: (k["target"], k["via"], k["check"]),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "known": known}, indent=1)
                    + "\n", encoding="utf-8")
    return len(known)


def read_baseline(path: Path) -> dict[Cell, str]:
    """The known failures of a baseline file, by (check, target, via); a check named by an
    older id (conformance/renames.toml) is keyed by its current id."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return {(canonical_id(k["check"]), k["target"], k["via"]): k["verdict"]
                for k in payload["known"]}
    except FileNotFoundError:
        raise BaselineError(f"baseline file {path} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"{path} is not a baseline file ({type(exc).__name__}: {exc}); "
                            "write one with: conformance baseline RESULTS --out FILE") from None
