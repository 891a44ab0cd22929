"""The probe's /probe/input behaviour: run a list of wsgi.input operations and journal each.

``ops`` (query parameter) is a comma-separated list: ``read``, ``read:N``, ``readline``,
``readline:N``, ``readlines``, ``readlines:N``, ``iter`` (list(wsgi.input)), ``readall``
(read(N) until b"") and ``body`` (read(CONTENT_LENGTH) when it is set, else readall, as a
careful app reads: through nginx a chunked request arrives with a Content-Length).
Each operation is journalled twice: ``input-start`` before it runs and
``input-step`` (result, or the exception it raised) after, so a read that blocks shows up as a
start without a step (checks/pep3333/input_and_error_streams.py waits for the steps with a
deadline).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from conformance.probes import journal
from conformance.probes.contract import Event

READALL_BLOCK = 7  # an odd size, so chunk boundaries and read sizes never line up
READALL_LIMIT = 10000  # read() calls before readall gives up (a stream that never ends)


def _run(stream: Any, op: str, environ: dict[str, Any]) -> Any:
    name, _, arg = op.partition(":")
    size = int(arg) if arg else None
    if name == "body":
        length = str(environ.get("CONTENT_LENGTH") or "")  # as proxy_probes.wsgi_digest
        name, size = ("read", int(length)) if length.isdigit() else ("readall", None)
    if name == "read":
        return stream.read() if size is None else stream.read(size)
    if name == "readline":
        return stream.readline() if size is None else stream.readline(size)
    if name == "readlines":
        return stream.readlines() if size is None else stream.readlines(size)
    if name == "iter":
        return list(stream)
    if name == "readall":
        parts: list[bytes] = []
        for _ in range(READALL_LIMIT):
            block = stream.read(size or READALL_BLOCK)
            if not block:
                return b"".join(parts)
            parts.append(bytes(block))
        raise RuntimeError(f"wsgi.input still returned data after {READALL_LIMIT} reads")
    raise ValueError(f"unknown input operation {op!r}")


def _type_names(result: Any) -> Any:
    if isinstance(result, list):
        return [type(item).__name__ for item in result]
    return type(result).__name__


def input_behaviour(environ: dict[str, Any], start_response: Callable[..., Any],
                    rid: str | None) -> Iterable[bytes]:
    from conformance.probes.wsgi_app import JournalledIterable, snapshot_environ

    journal.record(Event.REQUEST, rid, **snapshot_environ(environ))
    query = parse_qs(environ.get("QUERY_STRING", ""))
    ops = [op for op in (query.get("ops") or [""])[0].split(",") if op]
    stream = environ["wsgi.input"]
    for index, op in enumerate(ops):
        journal.record(Event.INPUT_START, rid, index=index, op=op)
        try:
            result = _run(stream, op, environ)
        except Exception as exc:  # the server's stream raised: that is the observation
            print(f"probe: wsgi.input {op} raised {exc!r}", file=sys.stderr)
            journal.record(Event.INPUT_STEP, rid, index=index, op=op, error=repr(exc))
        else:
            journal.record(Event.INPUT_STEP, rid, index=index, op=op, result=result,
                           types=_type_names(result))
    payload = b"input done\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(payload)))])
    return JournalledIterable(rid, [payload])
