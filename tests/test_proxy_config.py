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


def test_request_as_nginx_forwards_it() -> None:
    """deployment.differential: nginx's documented changes to a request, applied before the
    server sees it directly; a request nginx forwards unchanged needs no second look."""
    from conformance.checks.deployment.differential import as_nginx_forwards
    from conformance.oracle import GeneratedRequest

    req = GeneratedRequest(method="GET", path=b"/", query=None, version="HTTP/1.0",
                           headers=((b"x-$&R", b"a"), (b"X-Ok", b"b"), (b"x-$&R", b"c")),
                           body=b"", chunks=None)
    forwarded, changes = as_nginx_forwards(req)
    assert forwarded.headers == ((b"X-Ok", b"b"),)
    assert forwarded.version == "HTTP/1.1"
    assert changes == ["nginx drops fields whose names hold other than letters, digits and "
                       "'-' (x-$&R)", "nginx speaks HTTP/1.1 upstream whatever the client spoke"]
    chunked = GeneratedRequest(method="GET", path=b"/", query=None, headers=(),
                               body=b"", chunks=())
    forwarded, changes = as_nginx_forwards(chunked)
    assert forwarded.to_bytes("h", "r").endswith(b"Content-Length: 0\r\n\r\n")
    assert changes == ["nginx de-chunks a chunked request body and sends Content-Length"]
    plain = GeneratedRequest(method="POST", path=b"/", query=None, headers=(), body=b"x")
    assert as_nginx_forwards(plain) == (plain, [])


def test_differential_says_what_came_instead_of_a_status() -> None:
    from conformance.checks.deployment.differential import Observation, _refusal, no_response
    from conformance.wire import Response

    assert no_response(Response()) == "no response within 3 s"
    assert no_response(Response(problems=["the server closed the connection without a "
                                          "response"])) == "the connection closed with no response"
    assert no_response(Response(raw=b"HTTP/1.1 2")) == (
        "no complete response within 3 s (10 bytes)")
    log = ('2024/01/01 00:00:00 [info] 7#7: *3 client sent duplicate header line: '
           '"If-None-Match: ^", previous value: "If-None-Match: a", client: 127.0.0.1, '
           'server: localhost, request: "GET / HTTP/1.0"\n')
    assert _refusal(Observation(0, "no response within 3 s", False),
                    Observation(400, "400", False), log) == (
        'status: direct no response within 3 s, through nginx 400: nginx answered itself '
        '(its error log: client sent duplicate header line: "If-None-Match: ^", previous '
        'value: "If-None-Match: a"), the server never saw the request')
