"""A shared server that dies under a check is restarted before the next request through
nginx: the nginx kept for it would answer 502 to every later request of the check, which the
check would read as the server's answers (socketify-wsgi's latin1-strings cell through nginx
was an error for that reason)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from conformance.harness import Harness
from conformance.proxy import nginx_binary
from conformance.targets import resolve_targets
from conformance.wire import Connection, request_bytes


def _status_through(host: str, port: int) -> int:
    with Connection(host, port, timeout=5) as conn:
        conn.send(request_bytes("GET", "/probe/ready", [("Host", "x"), ("Connection", "close")]))
        return conn.read_response().status


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")
def test_nginx_after_a_server_death_reaches_a_restarted_server(tmp_path: Path) -> None:
    (target,) = resolve_targets("wsgiref")
    harness = Harness(tmp_path / "run")
    try:
        nginx = harness.nginx_for(target)
        assert _status_through(nginx.host, nginx.port) == 200
        dead = harness.server_for(target)
        assert dead.process is not None
        os.kill(dead.process.pid, signal.SIGKILL)
        dead.process.wait_exit(5)
        again = harness.nginx_for(target)
        assert harness.server_for(target) is not dead
        assert _status_through(again.host, again.port) == 200
    finally:
        harness.close()
