"""Opening a WebSocket to the probe and reading what the app journalled about it: shared by
the WebSocket checks (asgi_www/websocket_*.py, rfc6455/, asgi_ext/websocket_denial.py and
deployment/websocket.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from conformance.checks.support.overlap import overlapped
from conformance.context import CheckContext
from conformance.probes.asgi_websocket import spec_version
from conformance.probes.contract import Event
from conformance.websocket_wire import Handshake, WebSocketClient
from conformance.wire import Connection, escape_bytes

# How long the suite waits for the app's journal after a WebSocket step: the probe journals at
# once, so this only absorbs a loaded machine (the suite's bound, not the server's).
JOURNAL_BOUND = 5.0


@dataclass
class Session:
    """One WebSocket opened to the probe: the request id, the client, the handshake's answer."""

    rid: str
    conn: Connection
    client: WebSocketClient
    handshake: Handshake


def open_websocket(ctx: CheckContext, target: str, *, subprotocols: Sequence[str] = (),
                   headers: Iterable[tuple[bytes, bytes]] = (),
                   timeout: float = 5.0, tracked: bool = True,
                   at: tuple[str, int] | None = None) -> Session:
    """Open a WebSocket to ``target`` on the check's path (direct or nginx), or ``at`` another
    address (an nginx variant), with the probe's request id as the first extra header. An
    untracked one (a generated example) stays out of the evidence; its caller closes its
    connection."""
    host, port = at or (ctx.host, ctx.port)
    if tracked:
        rid, conn = ctx.new_rid(), ctx.connect(host=host, port=port, timeout=timeout)
    else:
        rid, conn = ctx.untracked_rid(), Connection(host, port, timeout=timeout)
    client = WebSocketClient(conn)
    handshake = client.handshake(
        target, host=f"{host}:{port}", subprotocols=subprotocols,
        headers=[(b"x-probe-id", rid.encode()), *headers], timeout=timeout)
    return Session(rid, conn, client, handshake)


def open_websockets(ctx: CheckContext, targets: Sequence[str], *,
                    timeout: float = 5.0) -> list[Session]:
    """Open a WebSocket to each of ``targets`` on the check's path, as open_websocket does, with
    the handshakes side by side (overlap.py): each keeps its own ``timeout``; the connections
    and request ids are recorded in the order of ``targets``."""
    host, port = ctx.host, ctx.port
    opened = [(ctx.new_rid(), ctx.connect(host=host, port=port, timeout=timeout))
              for _ in targets]
    clients = [WebSocketClient(conn) for _, conn in opened]
    handshakes = overlapped([
        partial(client.handshake, target, host=f"{host}:{port}",
                headers=[(b"x-probe-id", rid.encode())], timeout=timeout)
        for target, (rid, _), client in zip(targets, opened, clients, strict=True)])
    return [Session(rid, conn, client, handshake) for (rid, conn), client, handshake
            in zip(opened, clients, handshakes, strict=True)]


def websocket_scope(ctx: CheckContext, session: Session) -> dict[str, Any]:
    """The scope the app got for this WebSocket. A server that never hands the app a
    ``websocket`` scope has no WebSocket support: the check is unsupported, not failed (an
    optional feature of a server, as the issue and the matrix treat it)."""
    entry = ctx.journal.wait_event(session.rid, Event.REQUEST, timeout=JOURNAL_BOUND)
    scope = entry["scope"] if entry else None
    if not isinstance(scope, dict) or scope.get("type") != "websocket":
        seen = "no scope" if scope is None else f"a scope of type {scope.get('type')!r}"
        ctx.unsupported(
            f"the server answered the WebSocket handshake with "
            f"{session.handshake.status or 'nothing'} and the app got {seen}: no WebSocket "
            "support in this configuration")
    return scope


def app_events(ctx: CheckContext, rid: str, event: str = Event.WS_RECEIVE) -> list[dict[str, Any]]:
    """The WS_RECEIVE (or WS_SEND) entries the app journalled for ``rid`` so far."""
    return [e for e in ctx.journal.for_rid(rid) if e["event"] == event]


def wait_app_message(ctx: CheckContext, rid: str, message_type: str, *, count: int = 1,
                     timeout: float = JOURNAL_BOUND) -> list[dict[str, Any]] | None:
    """Wait until the app received ``count`` messages of ``message_type``; they, or None."""

    def of_type(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e["message"] for e in events if e["event"] == Event.WS_RECEIVE
                and e["message"].get("type") == message_type]

    events = ctx.journal.wait_for(lambda evs: len(of_type(evs)) >= count, rid=rid,
                                  timeout=timeout)
    return None if events is None else of_type(events)


def declared_version(scope: dict[str, Any]) -> tuple[int, ...]:
    """The scope's asgi.spec_version as numbers ("2.0" when missing)."""
    return spec_version(scope)


def version_text(scope: dict[str, Any]) -> str:
    return ".".join(str(n) for n in declared_version(scope))


def received_text(conn: Connection, limit: int = 400) -> str:
    """What the server sent on this connection, escaped, for a finding's message."""
    data = bytes(conn.received)
    return escape_bytes(data[:limit]) + ("..." if len(data) > limit else "")


@dataclass(frozen=True)
class DisconnectRefs:
    """The sentences websocket.disconnect breaks when it loses the client's close code, lacks
    1005 for a Close frame without one, or loses the reason: ASGI-WS-05's directly,
    PROXY-08's through nginx."""

    code: str
    no_code: str
    reason: str


def judge_disconnect(ctx: CheckContext, event: dict[str, Any], scope: dict[str, Any],
                     code: int | None, reason: str, refs: DisconnectRefs,
                     where: str = "") -> None:
    """websocket.disconnect after the client's Close frame with ``code`` (None: no code) and
    ``reason``: the code as sent, 1005 when none was, the reason from spec_version 2.5."""
    got = event.get("code")
    if code is None and got != 1005:
        ctx.finding(refs.no_code, f"the client's Close frame had no status code; {where}"
                                  f"websocket.disconnect has code {got!r}, not 1005")
    elif code is not None and got != code:
        ctx.finding(refs.code, f"the client closed with code {code}; {where}"
                               f"websocket.disconnect has code {got!r}")
    if reason and declared_version(scope) >= (2, 5) and event.get("reason") != reason:
        shown = "no reason" if "reason" not in event else repr(event["reason"])
        ctx.finding(refs.reason, f"spec_version {version_text(scope)}: the client closed with "
                                 f"reason {reason!r}; {where}websocket.disconnect has {shown}")
