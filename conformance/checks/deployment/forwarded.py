"""The nginx deployment, forwarded client address and scheme: trust and spoofing (PROXY-04).

No spec text mentions X-Forwarded-*, Forwarded or trusting a proxy: read literally, RFC 3875
4.1.8 and asgi-www.rst's client describe the immediate peer (nginx). So following a trusted
proxy's headers is reported (INFO) and refusing them from an untrusted client is a defence
(HARDENING), never a spec fail. A request with no forwarding header is another matter: there
the definitions of the client address and scheme bind (MUST), whatever the server trusts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.catalogue import check
from conformance.checks.deployment.observed_get import get, seen
from conformance.context import CheckContext
from conformance.proxy import FORWARDED_CLIENT, FORWARDED_PROTO, Nginx
from conformance.servers import ServerUnderTest
from conformance.verdicts import Level

SPOOFED_CLIENT = "203.0.113.66"
# Every common way of claiming another client address or scheme, sent straight to the server.
SPOOF_HEADERS: list[tuple[str | bytes, str | bytes]] = [
    ("X-Forwarded-For", SPOOFED_CLIENT), ("X-Forwarded-Proto", "https"),
    ("Forwarded", f"for={SPOOFED_CLIENT};proto=https"), ("X-Real-IP", SPOOFED_CLIENT)]
PEER = "127.0.0.1"


def client_and_scheme(ctx: CheckContext, entry: dict[str, Any]) -> tuple[Any, Any]:
    """The client address and scheme the app was told (a journal entry's scope or environ)."""
    if ctx.target.interface == "asgi":
        scope = entry["scope"]
        client = scope.get("client")
        return (client[0] if client else None), scope.get("scheme", "http")
    environ = entry["environ"]
    return environ.get("REMOTE_ADDR"), environ.get("wsgi.url_scheme")


def value_names(ctx: CheckContext) -> tuple[str, str]:
    """What the app calls the client address and the scheme, for messages."""
    return (("scope client", "scope scheme") if ctx.target.interface == "asgi"
            else ("REMOTE_ADDR", "wsgi.url_scheme"))


@dataclass(frozen=True)
class TrustedStack:
    """The server started trusting nginx (its TOML's [proxy] trust_args) behind an nginx."""

    server: ServerUnderTest
    nginx: Nginx
    setting: str  # the trust options, for messages
    covers: frozenset[str]  # what they make the server take from nginx: "for", "proto"


def trusted_stack(ctx: CheckContext, variant: str) -> TrustedStack:
    """Start the server with its trust options and put nginx (``variant``) in front;
    unsupported where the server has no such option."""
    trust = ctx.target.proxy_args("trust_args")
    if not trust:
        ctx.unsupported("the target declares no [proxy] trust_args: the server has no command-"
                        "line option to trust a proxy's X-Forwarded-* headers")
    server = ctx.start_server(extra_args=trust, label="trusted")
    return TrustedStack(server, ctx.nginx_in_front(server, variant), " ".join(trust),
                        frozenset(ctx.target.proxy_args("trust_covers")) or frozenset(
                            {"for", "proto"}))


@check(
    id="deployment.forwarded-trusted",
    title="with the server trusting nginx, client address and scheme follow X-Forwarded-*",
    requirements=["PROXY-04"],
    level=Level.INFO,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    own_server=True,
    section="no spec text (X-Forwarded-* is a convention); RFC 3875 section 8.2; RFC 9112 "
            "section 3.3",
)
def forwarded_trusted(ctx: CheckContext) -> None:
    """Reported, never failed: no spec text names X-Forwarded-For or X-Forwarded-Proto, and
    the texts let the address be the proxy's, RFC 3875 8.2 (PROXY-04.g): "They identify the
    client for the immediate request to the server; that client may be a proxy, gateway, or
    other intermediary acting on behalf of the actual source client." For the scheme, RFC
    9112 3.3 (PROXY-04.h, no keyword): "If the server's configuration provides for a fixed URI
    scheme, or a scheme is provided by a trusted outbound gateway, that scheme is used for the
    target URI." The server runs with its TOML's [proxy] trust_args (trusting 127.0.0.1);
    nginx stands for a TLS-terminating proxy whose client is 203.0.113.7 (X-Forwarded-For:
    203.0.113.7, X-Forwarded-Proto: https). Each part the option covers (trust_covers) that
    does not follow, and each part the server has no option for, is an INFO finding on those
    sentences; no option at all is unsupported."""
    stack = trusted_stack(ctx, "forwarded")
    covers, setting = stack.covers, stack.setting
    client, scheme = client_and_scheme(ctx, seen(stack.server, get(
        ctx, stack.nginx.host, stack.nginx.port, "/forwarded/trusted")))
    client_name, scheme_name = value_names(ctx)
    if "for" not in covers:
        ctx.finding("PROXY-04.g", f"the server has no option to take the client address from "
                    f"X-Forwarded-For ({setting} does not cover it): {client_name} is "
                    f"{client!r}")
    elif client != FORWARDED_CLIENT:
        ctx.finding("PROXY-04.g", f"with {setting}, {client_name} is {client!r} behind a proxy "
                    f"sending X-Forwarded-For: {FORWARDED_CLIENT}")
    if "proto" not in covers:
        ctx.finding("PROXY-04.h", f"the server has no option to take the scheme from "
                    f"X-Forwarded-Proto ({setting} does not cover it): {scheme_name} is "
                    f"{scheme!r}")
    elif scheme != FORWARDED_PROTO:
        ctx.finding("PROXY-04.h", f"with {setting}, {scheme_name} is {scheme!r} behind a proxy "
                    f"sending X-Forwarded-Proto: {FORWARDED_PROTO}")


def _spoof(ctx: CheckContext, server: ServerUnderTest) -> tuple[Any, Any]:
    rid = get(ctx, server.host, server.port, "/forwarded/spoof", SPOOF_HEADERS)
    return client_and_scheme(ctx, seen(server, rid))


def _plain_request(ctx: CheckContext, server: ServerUnderTest) -> tuple[Any, Any]:
    """A request with no forwarding header at all: whatever the server trusts, the client
    address is the peer's and the scheme is http (the connection is plain HTTP), as the
    definitions say. Absent keys are allowed: REMOTE_ADDR is only a SHOULD in PEP 3333
    (PROXY-04.c) and scope client is Optional. The client address and scheme seen."""
    client, scheme = client_and_scheme(
        ctx, seen(server, get(ctx, server.host, server.port, "/forwarded/plain")))
    client_name, scheme_name = value_names(ctx)
    asgi = ctx.target.interface == "asgi"
    if client is not None and client != PEER:
        ctx.finding("PROXY-04.d" if asgi else "PROXY-04.a",
                    f"a request with no forwarding header from {PEER} made {client_name} "
                    f"{client!r}, not the peer's address")
    if scheme != "http":
        ctx.finding("PROXY-04.e" if asgi else "PROXY-04.f",
                    f"a request with no forwarding header on a plain-HTTP connection made "
                    f"{scheme_name} {scheme!r}, not 'http'")
    return client, scheme


@check(
    id="deployment.forwarded-spoofing",
    title="a client not trusted as a proxy cannot set the client address or scheme",
    requirements=["PROXY-04"],
    level=Level.HARDENING,
    interfaces=("wsgi", "asgi"),
    via=("direct",),
    own_server=True,
    section="no spec text (a defence); RFC 9110 section 17.4",
)
def forwarded_spoofing(ctx: CheckContext) -> None:
    """A defence no spec sentence demands (HARDENING): no spec text names the forwarding
    headers or trust in a proxy; RFC 9110 17.4 (PROXY-04.i, no keyword for the server) gives
    the reason: "However, data received in a request cannot be trusted." A client on
    127.0.0.1 sends X-Forwarded-For, X-Forwarded-Proto, Forwarded and X-Real-IP claiming
    203.0.113.66 over https; REMOTE_ADDR / scope client should stay 127.0.0.1 and the scheme
    http. Each one believed is its own finding (sub-case "forwarding headers"). Sub-case "no
    forwarding headers" first sends a plain request, where no trust is at stake and the
    definitions bind (MUST): RFC 3875 4.1.8 (PROXY-04.a) "The REMOTE_ADDR variable MUST be set
    to the network address of the client sending the request to the server."; asgi-www.rst
    client (PROXY-04.d) "host is the remote host's IPv4 or IPv6 address"; the scheme
    definitions (ASGI PROXY-04.e, WSGI PROXY-04.f): 'http' on a plain-HTTP connection. An
    absent REMOTE_ADDR or scope client is not judged (PEP 3333 only asks for it, PROXY-04.c;
    scope client is Optional); a value the plain request gets too is not blamed on the
    headers. Some servers (uvicorn, gunicorn) trust 127.0.0.1 by default: for them the check
    narrows the trusted set with the TOML's [proxy] untrusted_args to an address no client
    here has (192.0.2.1); what the default does for a loopback client is reported by
    deployment.forwarded-default-trust."""
    untrusted = ctx.target.proxy_args("untrusted_args")
    server = (ctx.start_server(extra_args=untrusted, label="untrusted") if untrusted
              else ctx.server)
    with ctx.case("no forwarding headers"):
        plain_client, plain_scheme = _plain_request(ctx, server)
    with ctx.case("forwarding headers"):
        client, scheme = _spoof(ctx, server)
        client_name, scheme_name = value_names(ctx)
        setting = f" (started with {' '.join(untrusted)})" if untrusted else ""
        # Believed means the headers changed the value: one that is wrong without them too
        # is the first sub-case's finding, not the headers'.
        if client != plain_client:
            ctx.finding("PROXY-04.i", f"an untrusted client{setting} claiming "
                        f"{SPOOFED_CLIENT} made {client_name} {client!r}; the peer is {PEER}")
        if scheme != plain_scheme:
            ctx.finding("PROXY-04.i", f"an untrusted client{setting} claiming https made "
                        f"{scheme_name} {scheme!r} on a plain-HTTP connection")


@check(
    id="deployment.forwarded-default-trust",
    title="whether the server's defaults believe X-Forwarded-* from a loopback client",
    requirements=["PROXY-04"],
    level=Level.INFO,
    interfaces=("wsgi", "asgi"),
    via=("direct",),
    section="no spec text (what 'trust' is by default); RFC 3875 section 8.2; RFC 9112 "
            "section 3.3",
)
def forwarded_default_trust(ctx: CheckContext) -> None:
    """Reported, never failed: which proxies a server trusts is its configuration (RFC 9112
    3.3, PROXY-04.h: "a scheme is provided by a trusted outbound gateway"), and the address
    may be a proxy's (RFC 3875 8.2, PROXY-04.g: "that client may be a proxy, gateway, or
    other intermediary acting on behalf of the actual source client"). A server whose default
    trusted set is the loopback address (uvicorn's and gunicorn's forwarded_allow_ips default
    127.0.0.1) lets any local process set the client address or scheme. With the server's
    default options, a loopback client sends the spoofing headers of
    deployment.forwarded-spoofing; each one believed is an INFO finding (pass when none is)."""
    client, scheme = _spoof(ctx, ctx.server)
    client_name, scheme_name = value_names(ctx)
    if client != PEER:
        ctx.finding("PROXY-04.g", f"with its default options the server believes a loopback "
                    f"client's forwarding headers: {client_name} {client!r}, the peer is {PEER}")
    if scheme != "http":
        ctx.finding("PROXY-04.h", f"with its default options the server believes a loopback "
                    f"client's forwarding headers: {scheme_name} {scheme!r} on plain HTTP")
