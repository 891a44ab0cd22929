"""The journal: the probe apps' side channel to the harness (DESIGN.md decision 1).

The HTTP path is what is under test, so what the app saw (environ or scope, body events,
close() calls, http.disconnect, lifespan messages) is written here as one JSON line per event,
tagged with the request id the client chose (header ``x-probe-id``). The harness reads it
independently of the HTTP response.

Writers append each line with a single O_APPEND write, so lines from several worker processes
never interleave. Bytes and tuples survive the round trip (``{"__bytes__": hex}``,
``{"__tuple__": [...]}``) because their type is part of what the specs demand.

Gates are the other direction: a probe app that must wait for the client (a streamed block
has to arrive before the next is produced) polls for a gate file the harness creates.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.polling import poll_until

JOURNAL_ENV = "CONFORMANCE_JOURNAL"
GATES_ENV = "CONFORMANCE_GATES"
RID_HEADER = "x-probe-id"


def encode(value: Any) -> Any:
    """Make a value JSON-safe while keeping bytes, tuples and other types distinguishable."""
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return {"__object__": type(value).__name__}


def _decode_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "__bytes__" in obj:
            return bytes.fromhex(obj["__bytes__"])
        if "__tuple__" in obj:
            return tuple(obj["__tuple__"])
    return obj


def decode_line(line: str) -> dict[str, Any]:
    return json.loads(line, object_hook=_decode_hook)


def record(event: str, rid: str | None, **fields: Any) -> None:
    """Append one event to the journal named by $CONFORMANCE_JOURNAL (no-op when unset)."""
    path = os.environ.get(JOURNAL_ENV)
    if not path:
        return
    entry = {"event": event, "rid": rid, "t": time.time(), "pid": os.getpid(), **encode(fields)}
    line = (json.dumps(entry, ensure_ascii=True) + "\n").encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def gate_path(rid: str, number: int) -> Path | None:
    gates = os.environ.get(GATES_ENV)
    return Path(gates) / f"{rid}.{number}" if gates and rid else None


def gate_is_open(rid: str, number: int) -> bool:
    path = gate_path(rid, number)
    return path is not None and path.exists()


class Journal:
    """Reader side: incremental, indexed by request id, with deadline-bounded polls."""

    def __init__(self, path: Path, gates: Path) -> None:
        self.path = path
        self.gates = gates
        self._offset = 0
        self._partial = b""
        self.events: list[dict[str, Any]] = []
        # Events by request id as well: checks poll for one rid's events every 10 ms, and a
        # scan of a long run's whole journal on each poll cost more CPU than the servers did.
        self._by_rid: dict[str | None, list[dict[str, Any]]] = {}
        path.touch()
        gates.mkdir(parents=True, exist_ok=True)

    def refresh(self) -> None:
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            if line.strip():
                event = decode_line(line.decode("ascii"))
                self.events.append(event)
                self._by_rid.setdefault(event.get("rid"), []).append(event)

    def for_rid(self, rid: str | None) -> list[dict[str, Any]]:
        self.refresh()
        return list(self._by_rid.get(rid, ()))

    def saw(self, rid: str | None, event: str = "request") -> bool:
        """Whether the app journalled ``event`` for ``rid`` (by default: the request reached
        it), as it stands now, without waiting."""
        return any(e["event"] == event for e in self.for_rid(rid))

    def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        *,
        rid: str | None,
        timeout: float,
        poll: float = 0.01,
    ) -> list[dict[str, Any]] | None:
        """Poll until predicate(events of rid) holds; the events, or None at the deadline."""

        def satisfied() -> list[dict[str, Any]] | None:
            events = self.for_rid(rid)
            return events if predicate(events) else None

        return poll_until(satisfied, timeout, interval=poll)

    def wait_event(self, rid: str | None, event: str, *, timeout: float) -> dict[str, Any] | None:
        events = self.wait_for(lambda evs: any(e["event"] == event for e in evs), rid=rid,
                               timeout=timeout)
        if events is None:
            return None
        return next(e for e in events if e["event"] == event)

    def open_gate(self, rid: str, number: int) -> None:
        (self.gates / f"{rid}.{number}").touch()
