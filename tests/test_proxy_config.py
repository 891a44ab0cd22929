"""Unit tests for the proxy instrument: nginx variants, the recording relay, the target
schema's uds_command and [proxy] table, and where extra server options go."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from conformance.proxy import VARIANTS, RecordingRelay, render_config
from conformance.servers import insert_before_app
from conformance.targets import TargetError, load_target

DEFAULT_LOCATION = """\
        location / {
            proxy_pass http://app_server;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_read_timeout 30s;
        }
"""


def _config(variant: str, **kwargs: object) -> str:
    return render_config(workdir=Path("/tmp/w"), port=1, upstream_port=2, variant=variant,
                         **kwargs)  # type: ignore[arg-type]


def test_default_variant_is_the_keepalive_unbuffered_deployment() -> None:
    config = _config("default")
    assert DEFAULT_LOCATION in config
    assert "server 127.0.0.1:2;\n        keepalive 8;" in config
    assert "client_max_body_size" not in config


def test_http10_variant_is_nginx_as_installed() -> None:
    config = _config("http10")
    assert "proxy_http_version" not in config and "keepalive" not in config
    assert "proxy_buffering on;" in config


@pytest.mark.parametrize("variant,directive", [
    ("pool", "keepalive 1;"),
    ("prefix", "location /app/ {\n            proxy_pass http://app_server;\n"),
    ("prefix-strip", "proxy_pass http://app_server/;"),
    ("no-request-buffering", "proxy_request_buffering off;"),
    ("forwarded", "proxy_set_header X-Forwarded-Proto https;"),
])
def test_variant_directives(variant: str, directive: str) -> None:
    assert variant in VARIANTS
    assert directive in _config(variant)


def test_unix_socket_upstream() -> None:
    assert "server unix:/tmp/s.sock;" in _config("default", upstream="unix:/tmp/s.sock")


@pytest.mark.parametrize("argv,expected", [
    (["waitress-serve", "--threads=4", "m:a"], ["waitress-serve", "--threads=4", "-X", "m:a"]),
    (["uwsgi", "--module", "m:a", "--die"], ["uwsgi", "-X", "--module", "m:a", "--die"]),
    (["hypercorn", "-b", "h:1", "wsgi:m:a"], ["hypercorn", "-b", "h:1", "-X", "wsgi:m:a"]),
])
def test_extra_args_go_before_the_app(argv: list[str], expected: list[str]) -> None:
    assert insert_before_app(argv, "m:a", ["-X"]) == expected


def _target(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text('interface = "asgi"\ncommand = ["srv", "{app}"]\n' + extra)
    return path


def test_target_proxy_table_and_uds_command(tmp_path: Path) -> None:
    target = load_target(_target(tmp_path, 'uds_command = ["srv", "--uds", "{uds}", "{app}"]\n'
                                           '[proxy]\ntrust_args = ["--trust", "127.0.0.1"]\n'))
    assert target.proxy_args("trust_args") == ("--trust", "127.0.0.1")
    assert target.proxy_args("prefix_args") == ()
    assert target.uds_argv(uds="/s.sock")[:3] == ["srv", "--uds", "/s.sock"]


@pytest.mark.parametrize("extra,message", [
    ('[proxy]\ntrust = ["x"]\n', "[proxy]"),
    ('[proxy]\ntrust_args = "x"\n', "[proxy]"),
    ('uds_command = ["srv", "{app}"]\n', "{uds}"),
])
def test_target_proxy_errors(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(TargetError, match=message.replace("[", r"\[").replace("{", r"\{")):
        load_target(_target(tmp_path, extra))


def test_relay_records_what_the_upstream_sends() -> None:
    upstream = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = upstream.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nclose-delimited")

    threading.Thread(target=answer, daemon=True).start()
    relay = RecordingRelay("127.0.0.1", upstream.getsockname()[1])
    try:
        with socket.create_connection((relay.host, relay.port), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.0\r\n\r\n")
            received = b""
            while chunk := client.recv(1024):  # the relay passes the server's close on
                received += chunk
        deadline = time.monotonic() + 5
        while not relay.upstream_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert received.endswith(b"close-delimited")
        assert relay.upstream_bytes() == [received]
    finally:
        relay.stop()
        upstream.close()
