"""The suite's own WebSocket client (conformance/websocket_wire.py) against a minimal wsproto
server on a real socket: what the client sends in a closing handshake is what RFC 6455 asks
of it, so no server is judged on a reaction to the suite's own protocol error."""

from __future__ import annotations

import socket
import threading

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request

from conformance.websocket_wire import WebSocketClient
from conformance.wire import Connection

CLOSE_OPCODE = 0x8


def _serve_one(listener: socket.socket, frames: list[bytes]) -> None:
    """Accept one WebSocket, answer the client's Close frame with one, record every byte the
    client sent after the handshake, and close once the client has."""
    sock, _ = listener.accept()
    server = WSConnection(ConnectionType.SERVER)
    after_handshake = False
    with sock:
        while data := sock.recv(65536):
            if after_handshake:
                frames.append(data)
            server.receive_data(data)
            for event in server.events():
                if isinstance(event, Request):
                    sock.sendall(server.send(AcceptConnection()))
                    after_handshake = True
                elif isinstance(event, CloseConnection):
                    sock.sendall(server.send(event.response()))
                    sock.shutdown(socket.SHUT_WR)


def _close_opcodes(sent: bytes) -> int:
    """How many frames with the Close opcode ``sent`` holds (client frames are masked: a
    2-byte head, a 4-byte mask, and payloads under 126 bytes here)."""
    count, at = 0, 0
    while at + 2 <= len(sent):
        if sent[at] & 0x0F == CLOSE_OPCODE:
            count += 1
        at += 2 + 4 + (sent[at + 1] & 0x7F)
    return count


@pytest.mark.parametrize("code", [None, 1000])
def test_the_client_sends_one_close_frame_in_a_closing_handshake(code: int | None) -> None:
    """RFC 6455 5.5.1: an endpoint answers a Close frame only if it "did not previously send a
    Close frame". The client's Close without a status code goes out raw (wsproto always writes
    one), and the server's answer must not get a second Close from the client."""
    listener = socket.create_server(("127.0.0.1", 0))
    frames: list[bytes] = []
    thread = threading.Thread(target=_serve_one, args=(listener, frames), daemon=True)
    thread.start()
    try:
        conn = Connection("127.0.0.1", listener.getsockname()[1], timeout=5)
        client = WebSocketClient(conn)
        assert client.handshake("/", host="127.0.0.1", timeout=5).status == 101
        answer = client.close_handshake(code, timeout=5)
        thread.join(timeout=5)
    finally:
        listener.close()
    assert answer is not None and answer.kind == "close"
    assert _close_opcodes(b"".join(frames)) == 1, frames
