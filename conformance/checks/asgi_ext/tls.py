"""asgi-tls.rst: the tls extension absent on plain TCP ("When to use this extension") and, where
a TLS configuration offers it, its keys against the run's certificates and what the client
negotiated ("TLS Connection Scope")."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from conformance.catalogue import check
from conformance.checks.asgi_ext.advertised import advertised_extensions
from conformance.context import CheckContext
from conformance.verdicts import Level
from conformance.wire import Connection, request_bytes


@check(
    id="asgi-ext.tls-only-on-tls",
    title="the tls extension is not offered on a plain TCP connection",
    requirements=["ASGI-EXT-06", "ASGI-SCOPE-09", "TLS-02"],
    level=Level.MUST,
    interfaces=("asgi",),
    section="asgi-tls.rst 'When to use this extension'",
)
def tls_only_on_tls(ctx: CheckContext) -> None:
    """asgi-tls.rst, When to use this extension: "This extension must only be used for TLS
    connections. For non-TLS connections, the ASGI server is forbidden from providing this
    extension." (MUST). This check runs on plain-TCP configurations (directly, and through
    nginx, which speaks plain HTTP to them), so ``tls`` must be absent; what it holds on a
    TLS configuration is asgi-ext.tls-contents. The catalogue lists the sentence under the
    TLS extension (ASGI-EXT-06.b), under what scope["extensions"] holds (ASGI-SCOPE-09.e) and
    under TLS-02 (.c): one finding on each."""
    extensions = advertised_extensions(ctx)
    if "tls" in extensions:
        for ref in ("ASGI-EXT-06.b", "ASGI-SCOPE-09.e", "TLS-02.c"):
            ctx.finding(ref, f"scope['extensions'] offers 'tls' ({extensions['tls']!r}) on a "
                             "plain TCP connection")


# "Common values include 0x0303 for TLS 1.2 or 0x0304 for TLS 1.3." (and RFC 8446 B.1's).
TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
MANDATORY = ("server_cert", "tls_version", "cipher_suite")
RFC4514_TYPE = re.compile(r"(^|(?<!\\)[,+])\s*([A-Za-z][A-Za-z0-9-]*)\s*=")


@dataclass
class TlsExchange:
    """One request on its own TLS connection, and the tls extension the app was given."""

    label: str  # says which connection, in a finding
    presented: bool  # the client presented a client certificate
    conn: Connection
    context: ssl.SSLContext
    extensions: Any  # scope["extensions"] as the app saw it
    # False: the certificate presented was issued by a CA the server was not given
    verifiable: bool = True

    def client_cert(self, ctx: CheckContext) -> tuple[str, x509.Name]:
        """The PEM and subject of the certificate the client presented."""
        certs = ctx.harness.certificates
        return ((certs.client_cert_pem, certs.client_subject) if self.verifiable else
                (certs.unverifiable_client_cert_pem, certs.unverifiable_client_subject))


def _exchange(ctx: CheckContext, label: str, presented: bool) -> TlsExchange:
    context = ctx.client_tls(client_certificate=presented)
    assert context is not None  # the check needs "tls": a TLS configuration, direct
    rid = ctx.new_rid()
    conn = ctx.connect(tls=context)
    conn.send(request_bytes("GET", "/scope/tls-extension",
                            [("Host", f"{ctx.host}:{ctx.port}"), ("X-Probe-Id", rid)]))
    conn.read_response(method="GET")
    conn.close()
    return TlsExchange(label, presented, conn, context,
                       ctx.observed(rid)["scope"].get("extensions"))


UNVERIFIABLE = "with a client certificate the server cannot verify"


def _unverifiable_exchange(ctx: CheckContext) -> TlsExchange | None:
    """One GET presenting a client certificate issued by a CA the server was not given; None
    where the server refuses it in the handshake (what a server with Python's ssl does, and
    asgi-tls.rst allows: the sentence on client_cert_error only says what the app is told
    when the connection goes on)."""
    context = ctx.client_tls(unverifiable=True)
    assert context is not None
    rid = ctx.new_rid()
    try:
        conn = ctx.connect(tls=context)
        conn.send(request_bytes("GET", "/scope/tls-extension",
                                [("Host", f"{ctx.host}:{ctx.port}"), ("X-Probe-Id", rid)]))
    except OSError as exc:  # TLS 1.2: the server's alert ends the handshake itself
        ctx.details["unverifiable_certificate"] = f"refused in the handshake ({exc})"
        return None
    response = conn.read_response(method="GET")
    conn.close()
    entry = ctx.journal.wait_event(rid, "request", timeout=0.5 if not response.status else 5)
    if entry is None:  # TLS 1.3: the alert comes after the client's Finished, on the read
        ctx.details["unverifiable_certificate"] = (
            "refused: the request never reached the app "
            f"({'; '.join(response.problems) or f'status {response.status}'})")
        return None
    ctx.details["unverifiable_certificate"] = "accepted: the request reached the app"
    return TlsExchange(UNVERIFIABLE, True, conn, context,
                       entry["scope"].get("extensions"), verifiable=False)


@check(
    id="asgi-ext.tls-contents",
    title="on a TLS connection the tls extension, where offered, reports the certificates, "
          "version and cipher suite of that connection",
    requirements=["TLS-02", "ASGI-EXT-06"],
    level=Level.MUST,
    interfaces=("asgi",),
    via=("direct",),
    needs=("tls",),
    section="asgi-tls.rst 'TLS Connection Scope'",
)
def tls_contents(ctx: CheckContext) -> None:
    """asgi-tls.rst, TLS Connection Scope, judged on one GET per TLS connection: with the
    run's client certificate (mutual TLS) where the configuration asks for one, and without
    one where it does not demand it. The extension is optional ("named additions to a
    protocol specification that are optional", TLS-02.a): absent, the check is unsupported.
    Where offered, "The value will be a dictionary" (ASGI-EXT-06.e) and each key:

    - server_cert, tls_version, cipher_suite: "Mandatory." (TLS-02.d = ASGI-EXT-06.f);
    - server_cert: "The PEM-encoded conversion of the x509 certificate sent by the server"
      (.e): the leaf the server was given, as PEM (line breaks aside); "" where the server
      cannot provide it breaks "in that case this shall be None" (.g);
    - client_cert_chain: "An iterable of Unicode strings, where each string is a PEM-encoded
      x509 certificate." (.h); "The first certificate is the client certificate." (.i);
      "Any subsequent certificates are part of the certificate chain sent by the client,
      with each certificate signing the preceding one." (.j); "If the client did not provide
      a client certificate then it will be an empty iterable." (.k); None where the server
      cannot provide it breaks "in that case this shall be an empty iterable" (.l);
    - client_cert_name: "The x509 Distinguished Name of the Subject of the client
      certificate, as a single string encoded as defined in RFC4514" (.m); "If the client did
      not provide a client certificate then it will be None." (.n); "If client_cert_chain is
      provided and non-empty then this field must be provided and must contain information
      that is consistent with client_cert_chain[0]." (.o);
    - client_cert_error: "None if a client certificate was provided and successfully
      verified, or was not provided." (.p: the run's client certificate is issued by the CA
      the server verifies with); "If a client certificate was provided but verification
      failed, this is a non-empty string containing an error message or error code
      indicating why validation failed" (.q: where the configuration asks for client
      certificates, one more connection presents a certificate issued by a CA the server
      was not given; a server that refuses it in the handshake, as every server with
      Python's ssl does, is not judged on it);
    - tls_version: "This is one of the version numbers as defined in the TLS specifications,
      which is an unsigned integer." (.r) and "Common values include 0x0303 for TLS 1.2 or
      0x0304 for TLS 1.3." (.s): the version the client negotiated;
    - cipher_suite: "This is a 16-bit unsigned integer that encodes the pair of 8-bit
      integers specified in the relevant RFC, in network byte order." (.t): the IANA code of
      the suite the client negotiated.

    All MUST (definitions, and the musts and shalls). "Some web server implementations may be
    unable to provide this (e.g. if TLS is terminated by a separate proxy or load balancer)"
    (.f): None for server_cert, tls_version, cipher_suite, an empty chain or no name with a
    client certificate are allowed and reported as INFO. Direct only: through nginx the
    extension would describe nginx's own connection to the server, which the suite's client
    cannot see."""
    mode = ctx.target.tls.client_certificate if ctx.target.tls else "none"
    exchanges = []
    if mode != "none":
        exchanges.append(_exchange(ctx, "with the client certificate", presented=True))
    if mode != "required":
        exchanges.append(_exchange(ctx, "without a client certificate", presented=False))
    offered = [e for e in exchanges
               if isinstance(e.extensions, dict) and "tls" in e.extensions]
    if not offered:
        ctx.unsupported("scope['extensions'] has no 'tls' on a TLS connection (the extension "
                        "is optional)")
    if mode != "none":
        unverifiable = _unverifiable_exchange(ctx)
        if unverifiable is not None and isinstance(unverifiable.extensions, dict) \
                and "tls" in unverifiable.extensions:
            offered.append(unverifiable)
    for exchange in offered:
        with ctx.case(exchange.label):
            _judge(ctx, exchange, exchange.extensions["tls"])


def _judge(ctx: CheckContext, exchange: TlsExchange, tls: Any) -> None:
    where = f"{exchange.label}: "
    ctx.require(isinstance(tls, dict), "ASGI-EXT-06.e",
                f"{where}scope['extensions']['tls'] is {tls!r}, not a dictionary")
    missing = [key for key in MANDATORY if key not in tls]
    if missing:
        for ref in ("TLS-02.d", "ASGI-EXT-06.f"):
            ctx.finding(ref, f"{where}the tls extension lacks the mandatory {missing} "
                             f"(keys: {sorted(tls)})")
    unavailable = [key for key in MANDATORY if key in tls and tls[key] is None]
    _judge_server_cert(ctx, where, tls)
    unavailable += _judge_chain(ctx, exchange, where, tls)
    unavailable += _judge_name(ctx, exchange, where, tls)
    _judge_error(ctx, exchange, where, tls)
    _judge_version(ctx, exchange, where, tls)
    _judge_cipher(ctx, exchange, where, tls)
    if unavailable:
        ctx.finding("TLS-02.f", f"{where}{', '.join(unavailable)} not provided although the "
                                "server terminates TLS itself (allowed: \"Some web server "
                                "implementations may be unable to provide this\")")


def _certificates(text: str) -> list[x509.Certificate] | None:
    """The certificates of a PEM text, or None when it is no PEM."""
    try:
        return x509.load_pem_x509_certificates(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None


def _one_certificate(value: Any) -> x509.Certificate | None:
    """``value`` as the one certificate it PEM-encodes, or None when it is anything else."""
    found = _certificates(value) if isinstance(value, str) else None
    return found[0] if found is not None and len(found) == 1 else None


def _same(cert: x509.Certificate, pem: str) -> bool:
    return cert == x509.load_pem_x509_certificate(pem.encode("ascii"))


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 90 else f"{text[:60]}...{text[-20:]} ({len(text)} chars)"


def _judge_server_cert(ctx: CheckContext, where: str, tls: dict[str, Any]) -> None:
    value = tls.get("server_cert")
    if value is None:
        return  # absent: "Mandatory." above; None: .f
    if value == "":
        ctx.finding("TLS-02.g", f"{where}server_cert is '' (where a server cannot provide it, "
                                "\"this shall be None\")")
        return
    given = ctx.harness.certificates.server_cert_pem
    cert = _one_certificate(value)
    if cert is None or not _same(cert, given):
        what = ("not one PEM-encoded certificate" if cert is None else
                f"the certificate of {cert.subject.rfc4514_string()!r}")
        ctx.finding("TLS-02.e", f"{where}server_cert is {_brief(value)}: {what}, not the "
                                f"certificate the server was given ({_brief(given)})")


def _judge_chain(ctx: CheckContext, exchange: TlsExchange, where: str,
                 tls: dict[str, Any]) -> list[str]:
    """Judge client_cert_chain; the names of what is missing where the server may be unable
    to provide it (.f)."""
    chain = tls.get("client_cert_chain", [])
    if chain is None:
        ctx.finding("TLS-02.l", f"{where}client_cert_chain is None (where a server cannot "
                                "provide it, \"this shall be an empty iterable\")")
        return []
    if isinstance(chain, dict) and set(chain) == {"__object__"}:
        # An iterable the journal cannot carry (a generator): its items are not known here.
        ctx.details.setdefault("not_judged", []).append(
            f"{where}client_cert_chain is a {chain['__object__']} object")
        return []
    if not isinstance(chain, list | tuple):
        ctx.finding("TLS-02.h", f"{where}client_cert_chain is {_brief(chain)}, not an "
                                "iterable of PEM strings")
        return []
    certs = [_one_certificate(item) for item in chain]
    bad = [_brief(item) for item, cert in zip(chain, certs, strict=True) if cert is None]
    if bad:
        ctx.finding("TLS-02.h", f"{where}client_cert_chain has {bad}: not each a PEM-encoded "
                                "x509 certificate")
        return []
    if not exchange.presented:
        if chain:
            ctx.finding("TLS-02.k", f"{where}client_cert_chain has {len(chain)} "
                                    "certificate(s); the client provided none")
        return []
    if not chain:
        return ["client_cert_chain (empty)"]
    client_pem, client_subject = exchange.client_cert(ctx)
    first = certs[0]
    assert first is not None
    if not _same(first, client_pem):
        ctx.finding("TLS-02.i", f"{where}client_cert_chain[0] is the certificate of "
                                f"{first.subject.rfc4514_string()!r}, not the client's "
                                f"({client_subject.rfc4514_string()!r})")
    for index, (lower, upper) in enumerate(zip(certs, certs[1:], strict=False), start=1):
        assert lower is not None and upper is not None
        try:
            lower.verify_directly_issued_by(upper)
        except (ValueError, TypeError, InvalidSignature):
            ctx.finding("TLS-02.j", f"{where}client_cert_chain[{index}] "
                                    f"({upper.subject.rfc4514_string()!r}) did not sign "
                                    f"client_cert_chain[{index - 1}] "
                                    f"({lower.subject.rfc4514_string()!r})")
    return []


def _parse_name(text: str) -> x509.Name | None:
    """An RFC 4514 string as a Name (attribute type names are case-insensitive); None when
    it is not one."""
    for candidate in (text, RFC4514_TYPE.sub(lambda m: m.group(1) + m.group(2).upper() + "=",
                                             text)):
        try:
            return x509.Name.from_rfc4514_string(candidate)
        except ValueError:
            continue
    return None


def _judge_name(ctx: CheckContext, exchange: TlsExchange, where: str,
                tls: dict[str, Any]) -> list[str]:
    name = tls.get("client_cert_name")
    if name is not None and not isinstance(name, str):
        ctx.finding("TLS-02.m", f"{where}client_cert_name is {_brief(name)}, not a string")
        return []
    if not exchange.presented:
        if name is not None:
            ctx.finding("TLS-02.n", f"{where}client_cert_name is {name!r}; the client "
                                    "provided no certificate")
        return []
    chain = tls.get("client_cert_chain")
    first = _one_certificate(chain[0]) if isinstance(chain, list | tuple) and chain else None
    if name is None:
        if first is not None:
            ctx.finding("TLS-02.o", f"{where}client_cert_name is "
                                    f"{'None' if 'client_cert_name' in tls else 'absent'} "
                                    "although client_cert_chain is non-empty")
            return []
        return ["client_cert_name"]
    subject = first.subject if first is not None else exchange.client_cert(ctx)[1]
    parsed = _parse_name(name)
    if parsed is None:
        ctx.finding("TLS-02.m", f"{where}client_cert_name {name!r} is no RFC 4514 string "
                                f"(the subject is {subject.rfc4514_string()!r})")
    elif parsed != subject:
        ref = "TLS-02.o" if first is not None else "TLS-02.m"
        ctx.finding(ref, f"{where}client_cert_name {name!r} names another subject than "
                         f"the client certificate's {subject.rfc4514_string()!r} (RFC 4514 "
                         "writes the last RDN first)")
    return []


def _judge_error(ctx: CheckContext, exchange: TlsExchange, where: str,
                 tls: dict[str, Any]) -> None:
    error = tls.get("client_cert_error")
    if not exchange.verifiable:
        if not isinstance(error, str) or not error:
            ctx.finding("TLS-02.q", f"{where}client_cert_error is {_brief(error)}, not an "
                                    "error message: the client's certificate was issued by a "
                                    "CA the server was not given, and the server went on")
        return
    if error is not None:
        why = ("the client's certificate was issued by the CA the server verifies with, and "
               "the handshake succeeded" if exchange.presented else
               "the client provided no certificate")
        ctx.finding("TLS-02.p", f"{where}client_cert_error is {error!r}; {why}")


def _judge_version(ctx: CheckContext, exchange: TlsExchange, where: str,
                   tls: dict[str, Any]) -> None:
    version = tls.get("tls_version")
    if version is None:
        return
    negotiated = exchange.conn.tls_session.get("version")
    if not isinstance(version, int) or isinstance(version, bool) \
            or version not in TLS_VERSIONS.values():
        ctx.finding("TLS-02.r", f"{where}tls_version is {version!r}, not a TLS version number "
                                f"(the client negotiated {negotiated})")
    elif negotiated in TLS_VERSIONS and version != TLS_VERSIONS[negotiated]:
        ctx.finding("TLS-02.s", f"{where}tls_version is {version:#06x}; the client "
                                f"negotiated {negotiated} ({TLS_VERSIONS[negotiated]:#06x})")


def _judge_cipher(ctx: CheckContext, exchange: TlsExchange, where: str,
                  tls: dict[str, Any]) -> None:
    suite = tls.get("cipher_suite")
    if suite is None:
        return
    name = exchange.conn.tls_session.get("cipher")
    # OpenSSL's cipher id is 0x0300 followed by the two IANA bytes.
    codes = {c["name"]: c["id"] & 0xFFFF for c in exchange.context.get_ciphers()}
    expected = codes.get(str(name))
    if not isinstance(suite, int) or isinstance(suite, bool) or not 0 <= suite <= 0xFFFF:
        ctx.finding("TLS-02.t", f"{where}cipher_suite is {suite!r}, not a 16-bit unsigned "
                                f"integer (the client negotiated {name})")
    elif expected is None:
        ctx.details.setdefault("not_judged", []).append(
            f"{where}the negotiated cipher {name} has no IANA code in this OpenSSL's list")
    elif suite != expected:
        ctx.finding("TLS-02.t", f"{where}cipher_suite is {suite:#06x}; the client negotiated "
                                f"{name} ({expected:#06x})")
