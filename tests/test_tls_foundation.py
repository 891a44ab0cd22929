"""The TLS and HTTP/2 foundation (issue 11): run-time certificates, TLS on the recorded socket
layer, the nginx configurations of the nginx-tls path and of a TLS upstream, and which checks
run on which configuration."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from conformance.catalogue import NGINX_TLS, Check
from conformance.certificates import CLIENT_COMMON_NAME, make_certificates
from conformance.proxy import render_config
from conformance.targets import TargetError, bundled_targets, load_target
from conformance.verdicts import Level
from conformance.wire import Connection


def _tls_echo_server(context: ssl.SSLContext) -> tuple[int, dict[str, object]]:
    """A one-connection TLS server that answers one line and reports the client's cert."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: dict[str, object] = {}

    def serve() -> None:
        raw, _ = listener.accept()
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                seen["peer"] = conn.getpeercert()
                conn.recv(100)
                conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        except OSError as exc:  # the client refused the handshake
            seen["error"] = exc
        finally:
            listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], seen


def test_certificates_make_a_verifiable_server_and_client(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    assert certs.server_cert_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert certs.server_cert_pem in certs.server_cert.read_text()
    assert CLIENT_COMMON_NAME in certs.client_subject.rfc4514_string()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs.server_cert, certs.server_key)
    server.load_verify_locations(cafile=str(certs.ca))
    server.verify_mode = ssl.CERT_OPTIONAL
    port, seen = _tls_echo_server(server)
    with Connection("127.0.0.1", port, timeout=5,
                    tls=certs.client_context(client_certificate=True)) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.read_response(timeout=5).status == 204
    assert conn.tls_session["version"] in ("TLSv1.2", "TLSv1.3")
    assert conn.tls_session["cipher"]
    peer = seen["peer"]
    assert isinstance(peer, dict)
    assert ((("commonName", CLIENT_COMMON_NAME),) in peer["subject"])


def test_a_client_refuses_a_server_the_run_ca_did_not_sign(tmp_path: Path) -> None:
    ours, theirs = make_certificates(tmp_path / "a"), make_certificates(tmp_path / "b")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(theirs.server_cert, theirs.server_key)
    port, _ = _tls_echo_server(server)
    with pytest.raises(ssl.SSLCertVerificationError):
        Connection("127.0.0.1", port, timeout=5, tls=ours.client_context())


def test_nginx_tls_listener_and_tls_upstream(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    listener = render_config(workdir=tmp_path, port=8443, upstream_port=9000,
                             variant="tls-h2", certificates=certs)
    assert " ssl" in listener and "http2" in listener
    assert f"ssl_certificate {certs.server_cert};" in listener
    assert "proxy_pass http://app_server;" in listener
    assert "proxy_http_version 1.1;" in listener  # HTTP/1.1 to the server
    upstream = render_config(workdir=tmp_path, port=8080, upstream_port=9000,
                             certificates=certs, upstream_tls=True)
    assert "proxy_pass https://app_server;" in upstream
    assert f"proxy_ssl_certificate {certs.client_cert};" in upstream
    assert "proxy_ssl_verify on;" in upstream and " ssl" not in upstream.split("listen")[1][:30]
    with pytest.raises(ValueError, match="certificates"):
        render_config(workdir=tmp_path, port=1, upstream_port=2, variant="tls-h2")


def _target(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(body)
    return path


def _check(needs: tuple[str, ...], via: tuple[str, ...] = ("direct", "nginx")) -> Check:
    return Check(id="x.y", title="t", requirements=("TLS-01",), level=Level.MUST,
                 interfaces=("asgi",), via=via, section="s", area="x",
                 function=lambda ctx: None, needs=needs)


def test_which_checks_run_on_plain_tls_and_h2_configurations(tmp_path: Path) -> None:
    plain = load_target(_target(tmp_path, "plain", 'interface = "asgi"\n'
                                'command = ["s", "{app}"]\n'))
    h2c = load_target(_target(tmp_path, "h2c", 'interface = "asgi"\ncommand = ["s", "{app}"]\n'
                              "[features]\nh2c = true\n"))
    tls = load_target(_target(tmp_path, "plain-tls", 'interface = "asgi"\n'
                              'command = ["s", "--cert", "{tls_cert}", "{app}"]\n'
                              '[tls]\nalpn = ["h2", "http/1.1"]\n'))
    assert (plain.offers, h2c.offers, tls.offers) == (
        frozenset(), frozenset({"h2"}), frozenset({"tls", "h2"}))
    ordinary, needs_tls, needs_h2 = _check(()), _check(("tls",)), _check(("h2",), ("direct",))
    through_nginx_tls = _check((), (NGINX_TLS,))
    assert ordinary.runs_on(plain, "direct") and not ordinary.runs_on(tls, "direct")
    assert needs_tls.runs_on(tls, "direct") and needs_tls.runs_on(tls, "nginx")
    assert not needs_tls.runs_on(plain, "direct") and not needs_tls.runs_on(h2c, "direct")
    assert needs_h2.runs_on(h2c, "direct") and needs_h2.runs_on(tls, "direct")
    assert not needs_h2.runs_on(plain, "direct")
    twin_checked = load_target(_target(tmp_path, "h2c-tls", 'interface = "asgi"\n'
                                       'command = ["s", "--cert", "{tls_cert}", "{app}"]\n'
                                       '[tls]\nalpn = ["h2"]\nh2_checked_on_twin = true\n'))
    assert "h2" in twin_checked.offers and not needs_h2.runs_on(twin_checked, "direct")
    assert needs_tls.runs_on(twin_checked, "direct")
    assert through_nginx_tls.runs_on(plain, NGINX_TLS)
    assert not through_nginx_tls.runs_on(tls, NGINX_TLS)
    for name, path in bundled_targets().items():
        target = load_target(path)
        if target.tls is not None and target.tls.h2_checked_on_twin:
            twin = load_target(bundled_targets()[name.removesuffix("-tls")])
            assert twin.feature("h2c"), f"{name}: its HTTP/2 checks need a twin with h2c"
    # The published command keeps the placeholder, never this machine's certificate path.
    assert "{tls_cert}" in tls.argv(host="127.0.0.1", port=1, display=True)
    assert "/x/cert.pem" in tls.argv(host="127.0.0.1", port=1, tls={"tls_cert": "/x/cert.pem"})
    with pytest.raises(TargetError, match=r"\[tls\]"):
        load_target(_target(tmp_path, "bad", 'interface = "asgi"\n'
                            'command = ["s", "{tls_key}", "{app}"]\n'))
