"""Which extensions the server advertises in scope["extensions"], and what the probe app's
send() of an extension's event did (no checks here).

An extension is optional: where scope["extensions"] does not advertise it the verdict is
``unsupported``. Where it is advertised, the probe app (``/probe/ext?kind=...``) uses it and
the client checks the bytes against what the extension's own section says (ASGI-EXT-*, each
finding at its sentence's level); that an advertised extension works at all rests only on
"can be used to get more functionality" (ASGI-SCOPE-09.b), never a finding of its own.
"""

from __future__ import annotations

from typing import Any

from conformance.checks.asgi_www.pipelined_follow_up import pipelined, stray_bytes
from conformance.checks.support.common import observed_scope
from conformance.context import CheckContext
from conformance.probes.contract import Event, Route


def advertised_extensions(ctx: CheckContext) -> dict[str, Any]:
    """scope["extensions"] of a plain request (empty when it is absent or not a dict)."""
    scope = observed_scope(ctx, ctx.request("GET", "/scope/extensions"))
    extensions = scope.get("extensions")
    return extensions if isinstance(extensions, dict) else {}


def require_advertised(ctx: CheckContext, name: str) -> None:
    """Unsupported unless the server advertises the extension ``name``. Its entry is a dict:
    "If the server supports an extension, it should place an entry into the extensions
    dictionary under the extension's name, and the value of that entry should itself be a
    dict." (ASGI-SCOPE-09.a, SHOULD: another value warns, and the extension is still used)."""
    extensions = advertised_extensions(ctx)
    if name not in extensions:
        ctx.unsupported(f"scope['extensions'] does not advertise {name!r}")
    if not isinstance(extensions[name], dict):
        ctx.finding("ASGI-SCOPE-09.a", f"scope['extensions'][{name!r}] is "
                                       f"{extensions[name]!r}, not a dict")


def send_error(ctx: CheckContext, rid: str) -> str | None:
    """The exception send() of the extension's event raised, if it raised."""
    result = ctx.observed(rid, Event.SEND_RESULT)
    return str(result["error"]) if result["raised"] else None


def head_leaks(ctx: CheckContext, kind: str, content: bytes) -> tuple[int, list[str]]:
    """HEAD of /probe/ext?kind=``kind`` (a file-sending extension), with a pipelined
    follow-up: the status and what of the file's bytes reached the client where no content
    may (the extension "should behave the same as" http.response.body, RFC 9110 9.3.2)."""
    conn, head, second = pipelined(ctx, "HEAD", f"{Route.EXT}?kind={kind}", ctx.new_rid())
    leaked = stray_bytes(conn, second)
    if content[:80] in bytes(conn.received):
        leaked.append("the file's first bytes reached the client")
    return head.status, leaked
