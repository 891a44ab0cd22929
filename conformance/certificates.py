"""Certificates made at run time (issue 11): a throwaway CA, a server certificate for
127.0.0.1 and localhost, and a client certificate for mutual TLS; and a client certificate
no server can verify, issued by a second throwaway CA that no server is given (asgi-tls.rst's
client_cert_error "If a client certificate was provided but verification failed"). trustme
makes them
(cryptography underneath); nothing is committed and nothing outlives the run's directory.

A target's command names the files with placeholders ({tls_cert}, {tls_key}, {tls_ca},
{tls_cert_and_key}); the checks compare what a server reports (the ASGI tls extension) with
these very certificates and with what the suite's client negotiated.
"""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

SERVER_NAMES = ("localhost", "127.0.0.1")
# The client certificate's identity: what client_cert_name must name (asgi-tls.rst: an
# RFC 4514 Distinguished Name).
CLIENT_COMMON_NAME = "conformance-client"
CLIENT_IDENTITY = "client@conformance.invalid"
UNVERIFIABLE_COMMON_NAME = "conformance-client-unverifiable"
# Defects make_certificates can give the server's files, for the suite's own tests of bad input
# (issue 11): a certificate whose validity has ended (signed by the run's CA, so that expiry is
# the only fault the client finds), and a key that belongs to another certificate.
SERVER_DEFECTS = ("expired", "mismatched-key")


@dataclass(frozen=True)
class Certificates:
    """PEM files in one directory, and what a check compares a server's report with."""

    directory: Path
    ca: Path  # the CA certificate: servers verify client certificates with it
    server_cert: Path  # the server's certificate chain (leaf first)
    server_key: Path
    server_cert_and_key: Path  # both in one file, for servers that take one
    client_cert: Path
    client_key: Path
    server_cert_pem: str  # the leaf PEM the server was given (tls extension server_cert)
    client_cert_pem: str
    client_subject: x509.Name  # the client certificate's subject
    # A client certificate issued by another CA, whose certificate (unverifiable-ca.pem) no
    # target command names: a server that verifies with ``ca`` cannot verify it.
    unverifiable_client_cert: Path
    unverifiable_client_key: Path
    unverifiable_client_cert_pem: str
    unverifiable_client_subject: x509.Name

    def placeholders(self) -> dict[str, str]:
        """The target-command placeholders and their file paths."""
        return {"tls_cert": str(self.server_cert), "tls_key": str(self.server_key),
                "tls_ca": str(self.ca), "tls_cert_and_key": str(self.server_cert_and_key)}

    def client_context(self, *, alpn: tuple[str, ...] = ("http/1.1",),
                       client_certificate: bool = False,
                       unverifiable: bool = False) -> ssl.SSLContext:
        """A client context that trusts only the run's CA and checks the server's name,
        presenting the client certificate (``client_certificate``), or the one no server
        can verify (``unverifiable``)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        context.set_alpn_protocols(list(alpn))
        if unverifiable:
            context.load_cert_chain(str(self.unverifiable_client_cert),
                                    str(self.unverifiable_client_key))
        elif client_certificate:
            context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context


def make_certificates(directory: Path, *, server_defect: str | None = None) -> Certificates:
    """A fresh CA, server and client certificate, written into ``directory`` (0700).
    ``server_defect`` (SERVER_DEFECTS, tests only) spoils the server's certificate or key."""
    if server_defect is not None and server_defect not in SERVER_DEFECTS:
        raise ValueError(f"server_defect must be one of {SERVER_DEFECTS}, not {server_defect!r}")
    # Imported here: a run without TLS configurations never loads them (a tenth of start-up).
    import trustme
    from cryptography import x509

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = trustme.CA(organization_name="gateway-conformance throwaway CA")
    if server_defect == "expired":
        now = datetime.datetime.now(datetime.UTC)
        server = ca.issue_cert(*SERVER_NAMES, not_before=now - datetime.timedelta(days=2),
                               not_after=now - datetime.timedelta(days=1))
    else:
        server = ca.issue_cert(*SERVER_NAMES)
    client = ca.issue_cert(CLIENT_IDENTITY, common_name=CLIENT_COMMON_NAME)
    stranger = trustme.CA(organization_name="gateway-conformance CA no server is given")
    unverifiable = stranger.issue_cert(CLIENT_IDENTITY, common_name=UNVERIFIABLE_COMMON_NAME)
    paths = {name: directory / f"{name}.pem" for name in (
        "ca", "server-cert", "server-key", "server-cert-and-key", "client-cert", "client-key",
        "unverifiable-ca", "unverifiable-client-cert", "unverifiable-client-key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(paths["server-cert"]), append=True)
    server_key = (ca.issue_cert(*SERVER_NAMES).private_key_pem
                  if server_defect == "mismatched-key" else server.private_key_pem)
    server_key.write_to_path(str(paths["server-key"]))
    server_key.write_to_path(str(paths["server-cert-and-key"]))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(paths["server-cert-and-key"]), append=True)
    for blob in client.cert_chain_pems:
        blob.write_to_path(str(paths["client-cert"]), append=True)
    client.private_key_pem.write_to_path(str(paths["client-key"]))
    client_pem = client.cert_chain_pems[0].bytes()
    stranger.cert_pem.write_to_path(str(paths["unverifiable-ca"]))
    unverifiable.cert_chain_pems[0].write_to_path(str(paths["unverifiable-client-cert"]))
    unverifiable.private_key_pem.write_to_path(str(paths["unverifiable-client-key"]))
    unverifiable_pem = unverifiable.cert_chain_pems[0].bytes()
    return Certificates(
        directory=directory, ca=paths["ca"], server_cert=paths["server-cert"],
        server_key=paths["server-key"], server_cert_and_key=paths["server-cert-and-key"],
        client_cert=paths["client-cert"], client_key=paths["client-key"],
        server_cert_pem=server.cert_chain_pems[0].bytes().decode("ascii"),
        client_cert_pem=client_pem.decode("ascii"),
        client_subject=x509.load_pem_x509_certificate(client_pem).subject,
        unverifiable_client_cert=paths["unverifiable-client-cert"],
        unverifiable_client_key=paths["unverifiable-client-key"],
        unverifiable_client_cert_pem=unverifiable_pem.decode("ascii"),
        unverifiable_client_subject=x509.load_pem_x509_certificate(unverifiable_pem).subject,
    )
