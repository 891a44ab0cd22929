"""The TLS checks catch each clause they are about (TLS-01, TLS-02): every stack below is a
real uvicorn or gunicorn serving TLS with the run's certificates, around a wrapper of
tests/broken/broken_tls.py that reports the scheme or the tls extension wrongly, and must give
the stated verdict with that clause's finding at its sentence's level. ``tls-correct`` offers
the tls extension read off the real connection and passes: no real server offers it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BROKEN, broken_target, check_broken_stack, run_suite

# targets/uvicorn-h11-tls.toml's command, with the server's certificate path in the
# environment (``env`` execs uvicorn): the wrappers read the PEM the server was given.
UVICORN_TLS = ('["env", "BROKEN_TLS_CERT={tls_cert}", '
               '"{bin}/uvicorn", "--host", "{host}", "--port", "{port}", "--http", "h11", '
               '"--ssl-certfile", "{tls_cert}", "--ssl-keyfile", "{tls_key}", '
               '"--ssl-ca-certs", "{tls_ca}", "--ssl-cert-reqs", "1", "{app}"]')
# The same uvicorn, its handshake also accepting the certificate of a CA it was not given
# (tests/broken/broken_tls.py run as a script): the wrappers judge verification by ca.pem.
UVICORN_TLS_ANY_CLIENT = UVICORN_TLS.replace('"{bin}/uvicorn", ',
                                             f'"{{python}}", "{BROKEN}/broken_tls.py", ')
MUTUAL_TLS = '[tls]\nclient_certificate = "optional"\nalpn = ["http/1.1"]'
GUNICORN_TLS = ('["{bin}/gunicorn", "-k", "sync", "-w", "1", "--no-control-socket", '
                '"-b", "{host}:{port}", "--certfile", "{tls_cert}", "--keyfile", "{tls_key}", '
                '"{app}"]')
SERVER_TLS = '[tls]\nclient_certificate = "none"\nalpn = ["http/1.1"]'

SCHEME, WS_SCHEME = "asgi-www.tls-scheme", "asgi-www.tls-ws-scheme"
CONTENTS, URL_SCHEME = "asgi-ext.tls-contents", "pep3333.tls-url-scheme"

# (name, interface, app, command, extra TOML, via or None, {check id: expected}); the
# expectation comes last, as in every BROKEN_STACKS table (tests/test_clauses.py reads it).
Row = tuple[str, str, str, str | None, str, str | None, dict[str, str]]
BROKEN_STACKS: list[Row] = [
    # scheme "http" and "ws" over TLS; server_cert the CA's, tls_version a str, OpenSSL's
    # 32-bit cipher id, client_cert_error set; with the client's certificate the server's in
    # client_cert_chain[0] and the name in certificate order; without, a chain and a name.
    ("tls-wrong-a", "asgi", "broken_tls:tls_wrong_a_scheme_http", UVICORN_TLS, MUTUAL_TLS, None,
     {SCHEME: "fail: TLS-01.a", WS_SCHEME: "fail: TLS-01.d",
      CONTENTS: "fail: TLS-02.e, TLS-02.r, TLS-02.t, TLS-02.p, TLS-02.i, TLS-02.o, "
                "TLS-02.k, TLS-02.n"}),
    # Through nginx (which reaches the server over TLS while the client spoke plain HTTP to
    # nginx) "http" and "ws" name the client's URL: only a scheme naming neither URL fails.
    ("tls-crossed-nginx", "asgi", "broken_tls:tls_crossed_schemes", UVICORN_TLS,
     MUTUAL_TLS, "nginx", {SCHEME: "fail: TLS-01.a", WS_SCHEME: "fail: TLS-01.d"}),
    ("wsgi-url-scheme-ws-nginx", "wsgi", "broken_tls:url_scheme_ws", GUNICORN_TLS, SERVER_TLS,
     "nginx", {URL_SCHEME: "fail: TLS-01.h"}),
    # scheme "" and none for the websocket; server_cert "", no cipher_suite, TLS 1.2's number;
    # a chain whose second certificate did not sign the first and a one-line (not RFC 4514)
    # name; without a client certificate client_cert_chain None.
    ("tls-wrong-b", "asgi", "broken_tls:tls_wrong_b_scheme_empty", UVICORN_TLS, MUTUAL_TLS,
     None,
     {SCHEME: "fail: TLS-01.b", WS_SCHEME: "fail: TLS-01.d",
      CONTENTS: "fail: TLS-02.g, TLS-02.d, ASGI-EXT-06.f, TLS-02.s, TLS-02.j, TLS-02.m, "
                "TLS-02.l"}),
    # client_cert_chain the PEM string itself; without a client certificate tls is True.
    ("tls-wrong-c", "asgi", "broken_tls:tls_wrong_c", UVICORN_TLS, MUTUAL_TLS, None,
     {CONTENTS: "fail: TLS-02.h, ASGI-EXT-06.e"}),
    # What a server behind a TLS-terminating proxy may say: allowed, reported.
    # A client certificate that failed verification, reported as verified (None).
    ("tls-unverified-as-verified", "asgi", "broken_tls:tls_unverified_as_verified",
     UVICORN_TLS_ANY_CLIENT, MUTUAL_TLS, None, {CONTENTS: "fail: TLS-02.q"}),
    ("tls-unavailable", "asgi", "broken_tls:tls_unavailable", UVICORN_TLS, MUTUAL_TLS, None,
     {CONTENTS: "info: TLS-02.f"}),
    ("tls-on-plain-tcp", "asgi", "broken_tls:tls_on_plain_tcp", None, "", None,
     {"asgi-ext.tls-only-on-tls": "fail: TLS-02.c, ASGI-EXT-06.b"}),
    ("wsgi-url-scheme-http", "wsgi", "broken_tls:url_scheme_http", GUNICORN_TLS, SERVER_TLS,
     None, {URL_SCHEME: "fail: TLS-01.h"}),
    ("wsgi-url-scheme-missing", "wsgi", "broken_tls:url_scheme_missing", GUNICORN_TLS,
     SERVER_TLS, None, {URL_SCHEME: "fail: TLS-01.f"}),
    ("wsgi-url-scheme-bytes", "wsgi", "broken_tls:url_scheme_bytes", GUNICORN_TLS, SERVER_TLS,
     None, {URL_SCHEME: "fail: TLS-01.g"}),
]


@pytest.mark.parametrize("name,interface,app,command,extra,via,expected",
                         BROKEN_STACKS, ids=[row[0] for row in BROKEN_STACKS])
def test_check_catches_broken_tls(tmp_path: Path, name: str, interface: str, app: str,
                                  command: str | None, extra: str, via: str | None,
                                  expected: dict[str, str]) -> None:
    check_broken_stack(tmp_path, name, interface, app, command, expected, extra_toml=extra,
                       via=via)


# Correct reports pass the same checks (check_broken_stack wants a message, so a pass has its
# own test): the tls extension as read off the connection, and gunicorn's own wsgi.url_scheme.
# Through nginx the client's own "http" / "ws" (nginx's listener is plain) is as right as the
# TLS hop's "https" / "wss", whatever made the server say it (here: a wrapper that always does).
PASSING_STACKS = [
    ("tls-correct", "asgi", "broken_tls:tls_correct", UVICORN_TLS, MUTUAL_TLS, "direct",
     (SCHEME, WS_SCHEME, CONTENTS)),
    # The failed verification reported in client_cert_error (the details say that the
    # connection with the unverifiable certificate reached the app: the clause was judged).
    ("tls-correct-unverifiable", "asgi", "broken_tls:tls_correct", UVICORN_TLS_ANY_CLIENT,
     MUTUAL_TLS, "direct", (CONTENTS,)),
    ("wsgi-tls-correct", "wsgi", "conformance.probes.wsgi_app:app", GUNICORN_TLS, SERVER_TLS,
     "direct", (URL_SCHEME,)),
    ("client-scheme-nginx", "asgi", "broken_tls:tls_wrong_a_scheme_http", UVICORN_TLS,
     MUTUAL_TLS, "nginx", (SCHEME, WS_SCHEME)),
    ("wsgi-client-scheme-nginx", "wsgi", "broken_tls:url_scheme_http", GUNICORN_TLS,
     SERVER_TLS, "nginx", (URL_SCHEME,)),
]


@pytest.mark.parametrize("name,interface,app,command,extra,via,checks", PASSING_STACKS,
                         ids=[row[0] for row in PASSING_STACKS])
def test_correct_tls_report_passes(tmp_path: Path, name: str, interface: str, app: str,
                                   command: str, extra: str, via: str,
                                   checks: tuple[str, ...]) -> None:
    target = broken_target(tmp_path, name, interface, app, command)
    target.write_text(target.read_text() + "\n" + extra + "\n")
    run = run_suite(tmp_path, f"--target={target}", f"--via={via}",
                    f"--checks={','.join(checks)}")
    assert {check: run.verdict(check, name, via) for check in checks} == dict.fromkeys(
        checks, "pass"), run.output[-3000:]
    assert run.returncode == 0
    if CONTENTS in checks:  # the unverifiable certificate: judged where accepted, else not
        details = next(r["details"] for r in run.records if r["check"] == CONTENTS)
        accepted = "accepted: the request reached the app"
        assert (details.get("unverifiable_certificate") == accepted) == (
            command == UVICORN_TLS_ANY_CLIENT), details
