"""TLS configurations of the bundled servers, and bad input (issue 11): the [tls] table is
validated, published commands keep the {tls_*} placeholders, a server given a bad certificate
or refusing the handshake gives a start error that names the TLS problem (quickly, without a
traceback) while the run goes on, and HTTP/2 offered to an HTTP/1.1-only server is
unsupported."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conformance.catalogue import all_checks
from conformance.certificates import SERVER_DEFECTS, make_certificates
from conformance.context import CheckContext
from conformance.harness import Harness
from conformance.servers import TLS_FAILURE_GRACE, ServerStartError, ServerUnderTest
from conformance.targets import (
    TLS_PLACEHOLDERS,
    TargetError,
    bundled_targets,
    load_target,
    resolve_targets,
)
from conformance.verdicts import Unsupported
from tests.conftest import run_suite, write_target

UVICORN = '["{bin}/uvicorn", "--host", "{host}", "--port", "{port}", "--http", "h11"'
UVICORN_TLS = (UVICORN + ', "--ssl-certfile", "{tls_cert}", "--ssl-keyfile", "{tls_key}", '
               '"{app}"]')
# A start error must come well inside the default 20 s start-up deadline: at once for a
# certificate the client refuses, after the grace for a server that ends every handshake.
QUICK = TLS_FAILURE_GRACE + 4.0


def tls_targets() -> list[str]:
    return sorted(name for name, path in bundled_targets().items()
                  if load_target(path).tls is not None)


@pytest.mark.parametrize("body,message", [
    (f'interface = "asgi"\ncommand = {UVICORN_TLS}\n[tls]\nclient_certificate = "maybe"',
     "client_certificate must be one of"),
    (f'interface = "asgi"\ncommand = {UVICORN_TLS}\n[tls]\nalpn = ["h3"]',
     "alpn must be a list"),
    (f'interface = "asgi"\ncommand = {UVICORN_TLS}\n[tls]\nalpn = []', "alpn must be a list"),
    (f'interface = "asgi"\ncommand = {UVICORN_TLS}\n[tls]\nversion = "1.3"',
     r"\[tls\] must be a table"),
    (f'interface = "asgi"\ncommand = {UVICORN_TLS}\ntls = "yes"', r"\[tls\] must be a table"),
    (f'interface = "asgi"\ncommand = {UVICORN_TLS}', "names .*tls_cert.* no \\[tls\\] table"),
    ('interface = "asgi"\ncommand = ["x", "{app}"]\nuds_command = ["x", "{uds}", "{tls_ca}"]',
     "names .*tls_ca.* no \\[tls\\] table"),
])
def test_tls_table_is_validated(tmp_path: Path, body: str, message: str) -> None:
    path = write_target(tmp_path, "bad", body)
    with pytest.raises(TargetError, match=message) as info:
        load_target(path)
    assert str(path) in str(info.value)


def test_tls_targets_are_twins_of_plain_targets() -> None:
    """Each bundled TLS configuration is named <plain twin>-tls and is that server, with the
    same interface, version source and WSGI flags; only TLS and HTTP/2 checks run on it."""
    names = tls_targets()
    assert {"uvicorn-h11-tls", "hypercorn-tls", "granian-asgi-tls", "gunicorn-sync-tls",
            "daphne-tls"} <= set(names)
    bundled = bundled_targets()
    for name in names:
        tls, plain = load_target(bundled[name]), load_target(bundled[name.removesuffix("-tls")])
        assert name.endswith("-tls") and plain.tls is None, name
        assert (tls.interface, tls.version_distribution, tls.version_command, tls.wsgi_flags) == (
            plain.interface, plain.version_distribution, plain.version_command,
            plain.wsgi_flags), name
        assert tls.offers == ({"tls", "h2"} if "h2" in tls.tls.alpn else {"tls"}), name
        assert not tls.uds_command, name


def test_published_commands_keep_the_tls_placeholders(tmp_path: Path) -> None:
    """The display command (what results publish) names {tls_cert} etc., never the run's
    files; the command run has the files."""
    certificates = make_certificates(tmp_path / "certificates")
    for name in tls_targets():
        (target,) = resolve_targets(name)
        server = ServerUnderTest(target, tmp_path / name, certificates=certificates)
        named = {p for p in TLS_PLACEHOLDERS if f"{{{p}}}" in " ".join(target.command)}
        assert named, name
        for placeholder in named:
            assert f"{{{placeholder}}}" in server.display_command_line, name
            path = certificates.placeholders()[placeholder]
            assert path in server.command_line and path not in server.display_command_line
        assert str(tmp_path) not in server.display_command_line, name


def start_error(target_name: str, workdir: Path, defect: str | None = None,
                path: Path | None = None) -> tuple[str, float]:
    """Start a TLS target with the run's certificates (spoilt by ``defect``) and return the
    start error and how long it took to come."""
    target = load_target(path) if path else resolve_targets(target_name)[0]
    certificates = make_certificates(workdir / "certificates", server_defect=defect)
    server = ServerUnderTest(target, workdir / "server", certificates=certificates)
    started = time.monotonic()
    try:
        server.start()
        with pytest.raises(ServerStartError) as info:
            server.wait_ready()
    finally:
        server.stop()
    return str(info.value), time.monotonic() - started


def test_certificate_defects_are_named(tmp_path: Path) -> None:
    """An expired certificate: the handshake fails at once and the error says why; a key that
    is not the certificate's: the server exits and its log says so."""
    assert SERVER_DEFECTS == ("expired", "mismatched-key")
    message, took = start_error("uvicorn-h11-tls", tmp_path / "expired", "expired")
    assert "the TLS handshake with 127.0.0.1:" in message and "failed" in message
    assert "certificate has expired" in message and "{tls_cert}" in message
    assert "Traceback" not in message.split("log tail:")[0] and took < QUICK
    message, took = start_error("uvicorn-h11-tls", tmp_path / "key", "mismatched-key")
    assert "exited with status" in message and "KEY_VALUES_MISMATCH" in message
    assert took < QUICK


def test_a_server_that_ends_every_handshake_is_named(tmp_path: Path) -> None:
    """gevent's WSGIServer wraps each connection in TLS only once accepted: with a key that is
    not the certificate's it runs on and ends every handshake (a reset, or a plain close when
    the ClientHello was read before it closed: which one is a matter of timing). That ends
    the start-up after the grace, not at the 20 s deadline."""
    message, took = start_error("gevent-pywsgi-tls", tmp_path, "mismatched-key")
    assert "the TLS handshake" in message
    assert "ConnectionResetError" in message or "UNEXPECTED_EOF_WHILE_READING" in message
    assert "its TLS set-up failed (see the log)" in message
    assert "KEY_VALUES_MISMATCH" in message.split("log tail:")[1]
    assert TLS_FAILURE_GRACE <= took < QUICK


def test_a_server_without_tls_is_named(tmp_path: Path) -> None:
    """A [tls] target whose command does not turn TLS on answers the ClientHello in plain
    text: said at once."""
    path = write_target(tmp_path, "plain-in-tls", f'interface = "asgi"\ncommand = {UVICORN}, '
                        '"{app}"]\n[tls]\nclient_certificate = "none"\n')
    message, took = start_error("", tmp_path, path=path)
    assert "WRONG_VERSION_NUMBER" in message and "in plain text" in message
    assert took < QUICK


def test_a_server_demanding_a_client_certificate_is_named(tmp_path: Path) -> None:
    """granian with --ssl-client-verify demands a client certificate (no optional mode); a
    target that says "none" presents none, and the refused handshake is named."""
    path = write_target(tmp_path, "granian-demands", """
interface = "asgi"
command = ["{bin}/granian", "--interface", "asgi", "--host", "{host}", "--port", "{port}",
           "--workers", "1", "--no-access-log", "--ssl-certificate", "{tls_cert}",
           "--ssl-keyfile", "{tls_key}", "--ssl-ca", "{tls_ca}", "--ssl-client-verify", "{app}"]
[tls]
client_certificate = "none"
""")
    message, took = start_error("", tmp_path, path=path)
    assert "the TLS handshake" in message and "CERTIFICATE_REQUIRED" in message
    assert 'client_certificate = "required"' in message
    assert took < QUICK


def test_http2_to_an_http11_only_tls_server_is_unsupported(tmp_path: Path) -> None:
    """uvicorn selects no ALPN protocol: an HTTP/2 client is told unsupported, not failed."""
    (target,) = resolve_targets("uvicorn-h11-tls")
    check = all_checks()[0]
    harness = Harness(tmp_path / "run")
    try:
        ctx = CheckContext(check, target, "direct", harness)
        with pytest.raises(Unsupported, match="ALPN, not h2"):
            ctx.http2()
        ctx.cleanup()
    finally:
        harness.close()


def test_a_bad_tls_target_is_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    """In one run: a server whose key is not its certificate's, and one serving a
    certificate of another CA, are errors naming the TLS problem; the good TLS target's
    cell is not an error."""
    tls_check = next(c.id for c in all_checks()
                     if "tls" in c.needs and "asgi" in c.interfaces and "direct" in c.via)
    mine = make_certificates(tmp_path / "mine", server_defect="mismatched-key")
    foreign = make_certificates(tmp_path / "foreign")
    for name, cert, key in (("bad-key", mine.server_cert, mine.server_key),
                            ("foreign-ca", foreign.server_cert, foreign.server_key)):
        # The files by path: the run's own certificates are good ones.
        command = UVICORN + f', "--ssl-certfile", "{cert}", "--ssl-keyfile", "{key}", "{{app}}"]'
        write_target(tmp_path, name, f'interface = "asgi"\ncommand = {command}\n'
                     '[tls]\nclient_certificate = "none"\n')
    run = run_suite(tmp_path, f"--target={tmp_path / 'bad-key.toml'},"
                    f"{tmp_path / 'foreign-ca.toml'},uvicorn-h11-tls",
                    "--via=direct", f"--checks={tls_check}", timeout=120)
    records = {r["target"]: r for r in run.records}
    assert records["bad-key"]["verdict"] == "error"
    assert "could not be started" in records["bad-key"]["message"]
    assert "KEY_VALUES_MISMATCH" in records["bad-key"]["evidence"]["log_tail"]
    assert records["foreign-ca"]["verdict"] == "error"
    assert "the TLS handshake" in records["foreign-ca"]["message"]
    assert "CERTIFICATE_VERIFY_FAILED" in records["foreign-ca"]["message"]
    assert records["uvicorn-h11-tls"]["verdict"] != "error", records["uvicorn-h11-tls"]
    assert "Traceback" not in run.output
