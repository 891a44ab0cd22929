"""Nothing of the producing machine in published output (DESIGN.md decision 7).

A results record is published: it must not say where the suite was checked out, which virtual
environment or temporary directory it used, whose home directory it ran in, or any value of
that machine's environment. Three things put them there, and each is handled here:

- absolute paths in server command lines, log tails, tracebacks and journalled values: every
  occurrence of a known path is replaced with a placeholder (``{checkout}``, ``{venv}``, ...),
  the same placeholders a target TOML uses where they exist (``{python}``, ``{bin}``);
- environ dictionaries that some servers fill from ``os.environ`` (wsgiref, granian): a key
  that no check judges and whose value is the producing process's own is withheld, and the
  record counts how many were;
- any other occurrence of a distinctive environment value (a container name in a log line):
  replaced with ``{env:NAME}``.

:func:`leaks` is the guard run on every file before it is written: it names what leaked
(never the value itself), so that a leak stops publication instead of reaching a page.
"""

from __future__ import annotations

import html
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import conformance

WITHHELD = "[withheld: the producing machine's environment]"
WITHHELD_WHY = ("environ keys that no check judges, whose values equal the environment of the "
                "process that produced this record (the server copied os.environ into environ)")
# Shorter values ("1", "yes", "C.UTF-8") say nothing about a machine and would match by chance.
MIN_ENV_VALUE = 8
# Variables of the run itself (pytest's current test id, the suite's own knobs such as
# CONFORMANCE_LIFESPAN=unsupported): not the machine's, and their values are words a record
# legitimately holds. They are still withheld from environ dicts, never rewritten in text.
RUN_VARIABLES = ("PYTEST_", "CONFORMANCE_", "HYPOTHESIS_")
# Keys a check judges: RFC 3875 4.1 meta-variables, PEP 3333's own and the wsgi.* keys. They
# stay even when a value happens to equal the environment's.
JUDGED_KEYS = frozenset({
    "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO",
    "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT",
    "REMOTE_PORT", "REMOTE_USER", "REQUEST_METHOD", "REQUEST_URI", "RAW_URI", "SCRIPT_NAME",
    "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE", "HTTPS",
})


def _judged(key: str) -> bool:
    return key in JUDGED_KEYS or key.startswith("wsgi.")


def machine_paths(*, workdir: Path | None = None, cwd: Path | None = None) -> dict[str, str]:
    """Absolute path -> placeholder, for every path of this machine a record may contain
    (both as given and resolved, so that a symlinked temp dir is caught either way)."""
    package_root = Path(conformance.__file__).resolve().parent.parent
    candidates: list[tuple[str, Path | str | None]] = [
        ("{python}", sys.executable),
        ("{bin}", Path(sys.executable).parent),
        ("{workdir}", workdir),
        ("{venv}", sys.prefix),
        ("{python-prefix}", sys.base_prefix),
        # An editable install or a checkout on sys.path; a wheel's parent is site-packages,
        # which {venv} covers already.
        ("{checkout}", package_root if (package_root / "pyproject.toml").exists() else None),
        ("{cwd}", cwd or Path.cwd()),
        ("{tmp}", tempfile.gettempdir()),
        ("~", Path.home()),
    ]
    paths: dict[str, str] = {}
    for placeholder, path in candidates:
        if path is None:
            continue
        for form in {str(path), os.path.realpath(path)}:
            # "/" or "/tmp" alone names no machine, and would rewrite every URL path.
            if form.count("/") >= 2 or (placeholder in ("{cwd}", "~") and len(form) > 1):
                paths.setdefault(form, placeholder)
    return paths


@dataclass
class Redactor:
    """Rewrites values so that they carry nothing of this machine (see the module doc)."""

    paths: Mapping[str, str]  # absolute path -> placeholder
    # The producing machine's environment: its distinctive values are rewritten anywhere.
    environment: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # What the servers were started with besides (the machine's plus the suite's knobs):
    # compared with journalled environ dicts only.
    server_environments: tuple[Mapping[str, str], ...] = ()
    withheld: int = 0  # environ keys withheld so far

    @classmethod
    def for_this_machine(cls, *, workdir: Path | None = None,
                         server_environments: Iterable[Mapping[str, str]] = ()) -> Redactor:
        return cls(machine_paths(workdir=workdir), dict(os.environ),
                   tuple(server_environments))

    @cached_property
    def _replacements(self) -> dict[str, str]:
        """Text -> placeholder, for every path and every distinctive environment value."""
        found = dict(self.paths)
        for name, value in sorted(self.environment.items()):
            if (len(value) >= MIN_ENV_VALUE and not value.isdigit()
                    and not name.startswith(RUN_VARIABLES)):
                found.setdefault(value, f"{{env:{name}}}")
        return found

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        texts = sorted(self._replacements, key=len, reverse=True)
        if not texts:
            return None
        # A path ends where a path character does not follow: /work/main, not /work/mainline.
        return re.compile("|".join(
            re.escape(text) + (r"(?![\w.-])" if text.startswith("/") else "") for text in texts))

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda m: self._replacements[m.group(0)], value)

    def value(self, value: Any) -> Any:
        """``value`` with every string rewritten and environ dicts trimmed, recursively."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            if isinstance(value.get("environ"), dict):
                value = {**value, "environ": self._trim_environ(value["environ"])}
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value

    def _trim_environ(self, environ: dict[str, Any]) -> dict[str, Any]:
        trimmed: dict[str, Any] = {}
        for key, value in environ.items():
            if not _judged(key) and any(key in env and value == env[key] for env in
                                        (self.environment, *self.server_environments)):
                trimmed[key] = WITHHELD
                self.withheld += 1
            else:
                trimmed[key] = value
        return trimmed

    def leaks(self, text: str) -> list[str]:
        """What of this machine ``text`` still holds, by placeholder (never the value)."""
        found = []
        for raw, placeholder in self._replacements.items():
            forms = {raw, html.escape(raw), html.escape(raw, quote=False)}
            if any(re.search(re.escape(form) + (r"(?![\w.-])" if form.startswith("/") else ""),
                             text) for form in forms):
                found.append(placeholder)
        return sorted(set(found))


class LeakError(Exception):
    """Output about to be published still holds something of the producing machine."""


def ensure_publishable(text: str, where: str, redactor: Redactor | None = None) -> None:
    """Raise :class:`LeakError` when ``text`` (bound for ``where``) holds a machine value."""
    found = (redactor or Redactor.for_this_machine()).leaks(text)
    if found:
        raise LeakError(f"{where} would publish {', '.join(found)} of this machine; nothing "
                        "was written (a redaction gap in the suite: please report it)")
