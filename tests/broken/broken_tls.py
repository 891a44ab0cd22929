"""Deliberately broken TLS reports (TLS-01, TLS-02), for tests/test_broken_tls.py: wrappers
around the probe apps under a real uvicorn or gunicorn serving TLS with the run's
certificates.

No server the suite runs offers the ASGI tls extension, so the wrappers offer it themselves:
:func:`connection_tls` reads it off the real connection (uvicorn's h11 cycle, whose bound
``receive`` knows its transport: the TLS object says the version, the cipher and the client's
certificate) and off the certificate the server was given (its path in $BROKEN_TLS_CERT, set
by the target's command). ``tls_correct`` offers exactly that and must pass; each other
wrapper breaks some keys, per connection with or without the client's certificate.

Run as a script, this module is uvicorn whose handshake also accepts the client certificate
no server is given the CA of (a server with a verify callback that goes on regardless), while
the wrappers judge verification by the CA the server was given, ca.pem: ``tls_correct`` then
reports the failure in client_cert_error, ``tls_unverified_as_verified`` reports None.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from conformance.probes.asgi_app import app as asgi_probe
from conformance.probes.wsgi_app import app as wsgi_probe

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Tls = dict[str, Any]

CERT_ENV = "BROKEN_TLS_CERT"
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def _pem(name: str) -> str:
    """The first certificate of one of the run's PEM files (beside $BROKEN_TLS_CERT)."""
    text = (Path(os.environ[CERT_ENV]).parent / name).read_text()
    end = "-----END CERTIFICATE-----\n"
    return text[:text.index(end) + len(end)]


def _verification_error(peer: bytes) -> str | None:
    """Why the client's certificate (DER) fails verification by the server's CA (ca.pem)."""
    issuer = x509.load_pem_x509_certificate(_pem("ca.pem").encode())
    try:
        x509.load_der_x509_certificate(peer).verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature) as exc:
        return f"unable to get local issuer certificate ({type(exc).__name__})"
    return None


def connection_tls(receive: Receive) -> Tls:
    """The tls extension asgi-tls.rst defines, for the connection this request came on."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        raise RuntimeError("broken_tls: no TLS object on this connection")
    peer = ssl_object.getpeercert(binary_form=True)
    name, version = ssl_object.cipher()[0], ssl_object.version()
    codes = {c["name"]: c["id"] & 0xFFFF for c in ssl_object.context.get_ciphers()}
    return {
        "server_cert": _pem("server-cert.pem"),
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(peer)] if peer else [],
        "client_cert_name": (x509.load_der_x509_certificate(peer).subject.rfc4514_string()
                             if peer else None),
        "client_cert_error": _verification_error(peer) if peer else None,
        "tls_version": TLS_VERSIONS[version],
        "cipher_suite": codes[name],
    }


def _offering(change: Callable[[Tls, bool], Any], *, scheme: str | None = "keep",
              ws_scheme: str | None = "keep") -> App:
    """The probe with scope["extensions"]["tls"] = change(the connection's tls, whether the
    client presented a certificate) on http scopes, and the schemes replaced ("keep": as the
    server gave them; None: removed)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("path") != "/probe/ready":
            scope = dict(scope)
            new = scheme if scope["type"] == "http" else ws_scheme
            if new is None:
                scope.pop("scheme", None)
            elif new != "keep":
                scope["scheme"] = new
            if scope["type"] == "http":
                real = connection_tls(receive)
                offered = change(dict(real), bool(real["client_cert_chain"]))
                scope["extensions"] = {**(scope.get("extensions") or {}), "tls": offered}
        await asgi_probe(scope, receive, send)

    return app


def _with(tls: Tls, **changes: Any) -> Tls:
    for key, value in changes.items():
        if value is _DROP:
            tls.pop(key, None)
        else:
            tls[key] = value
    return tls


_DROP = object()


def _wrong_a(tls: Tls, presented: bool) -> Tls:
    """The CA's certificate as server_cert (TLS-02.e), the version as OpenSSL names it (.r),
    OpenSSL's 32-bit cipher id (.t), an error although the certificate verified (.p); with a
    client certificate the server's in its place (.i) and the name's RDNs in certificate
    order, not RFC 4514's (.o); without one, the client's certificate and name all the
    same (.k, .n)."""
    client = _pem("client-cert.pem")
    subject = x509.load_pem_x509_certificate(client.encode()).subject
    forward = ",".join(reversed(subject.rfc4514_string().split(",")))
    _with(tls, server_cert=_pem("ca.pem"), tls_version="TLSv1.3",
          cipher_suite=0x03000000 | tls["cipher_suite"], client_cert_error="ok")
    if presented:
        return _with(tls, client_cert_chain=[_pem("server-cert.pem")], client_cert_name=forward)
    return _with(tls, client_cert_chain=[client], client_cert_name=subject.rfc4514_string())


def _wrong_b(tls: Tls, presented: bool) -> Tls:
    """server_cert "" (TLS-02.g), no cipher_suite (.d), TLS 1.2's number on TLS 1.3 (.s);
    with a client certificate the server's leaf after it, which did not sign it (.j), and
    the name as OpenSSL's one-line form (.m); without one, the chain None (.l)."""
    _with(tls, server_cert="", cipher_suite=_DROP, tls_version=0x0303)
    if presented:
        oneline = "".join(f"/{part}" for part in
                          reversed(tls["client_cert_name"].split(",")))
        return _with(tls, client_cert_chain=[*tls["client_cert_chain"], _pem("server-cert.pem")],
                     client_cert_name=oneline)
    return _with(tls, client_cert_chain=None)


def _wrong_c(tls: Tls, presented: bool) -> Any:
    """With a client certificate the chain is the PEM string itself, not an iterable of PEM
    strings (TLS-02.h); without one the extension is True, not a dictionary
    (ASGI-EXT-06.e)."""
    if presented:
        return _with(tls, client_cert_chain=tls["client_cert_chain"][0])
    return True


def _unavailable(tls: Tls, presented: bool) -> Tls:
    """What a server behind a TLS-terminating proxy may report (TLS-02.f, allowed: INFO)."""
    return _with(tls, server_cert=None, tls_version=None, cipher_suite=None,
                 client_cert_chain=[], client_cert_name=None)


tls_correct = _offering(lambda tls, presented: tls)
tls_wrong_a_scheme_http = _offering(_wrong_a, scheme="http", ws_scheme="ws")
tls_wrong_b_scheme_empty = _offering(_wrong_b, scheme="", ws_scheme=None)
# Each scope with the other's kind of scheme: wrong on any path, nginx's included (where the
# client's "http" / "ws" would be right).
tls_crossed_schemes = _offering(lambda tls, presented: tls, scheme="ws", ws_scheme="https")
tls_wrong_c = _offering(_wrong_c)
tls_unavailable = _offering(_unavailable)
# A failed verification reported as a successful one (TLS-02.q), all else right.
tls_unverified_as_verified = _offering(lambda tls, presented: _with(tls, client_cert_error=None))


async def tls_on_plain_tcp(scope: Scope, receive: Receive, send: Send) -> None:
    """A tls extension on a plain TCP connection (TLS-02.c), as a proxy-fed server might."""
    if scope["type"] == "http":
        scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": {
            "server_cert": None, "tls_version": None, "cipher_suite": None}}}
    await asgi_probe(scope, receive, send)


# -- WSGI ----------------------------------------------------------------------------------
Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def _url_scheme(value: Any) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/probe/ready":
            if value is _DROP:
                environ.pop("wsgi.url_scheme", None)
            else:
                environ["wsgi.url_scheme"] = value
        return wsgi_probe(environ, start_response)

    return app


url_scheme_http = _url_scheme("http")  # TLS-01.h
url_scheme_missing = _url_scheme(_DROP)  # TLS-01.f
url_scheme_bytes = _url_scheme(b"https")  # TLS-01.g
url_scheme_ws = _url_scheme("ws")  # TLS-01.h on any path


# -- uvicorn accepting any client certificate in the handshake ----------------------------
def main() -> None:
    """``broken_tls.py [uvicorn's arguments]`` with --ssl-ca-certs naming the run's ca.pem:
    uvicorn trusting that CA and the one of unverifiable-client-cert.pem beside it, so that
    the handshake goes on where a server with Python's ssl would refuse it."""
    import sys

    import uvicorn.main

    args = sys.argv[1:]
    ca = Path(args[args.index("--ssl-ca-certs") + 1])
    both = ca.parent / "ca-and-unverifiable-ca.pem"
    both.write_text(ca.read_text() + (ca.parent / "unverifiable-ca.pem").read_text())
    args[args.index("--ssl-ca-certs") + 1] = str(both)
    uvicorn.main.main(args)


if __name__ == "__main__":
    main()
