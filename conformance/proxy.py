"""A real nginx in front of the server under test (DESIGN.md decision 5).

The suite writes an nginx configuration into a temporary directory (pid file, temp paths and
error log all inside it, ``daemon off``, an ephemeral port) and runs nginx in the foreground
as a managed process. The default variant is the deployment most guides recommend for Python
apps: HTTP/1.1 to a keep-alive upstream pool, buffering off so streams pass through. The other
variants (:data:`VARIANTS`) are the deployments the proxy checks need: nginx's own default
upstream protocol (HTTP/1.0, buffered), a one-connection keep-alive pool, a prefix mount, a
Unix-socket upstream, request buffering off, a TLS-terminating proxy's forwarded headers,
TLS and HTTP/2 to the client (tls-h2, the nginx-tls path). In front of a TLS configuration
nginx reaches the server over TLS with the run's client certificate.

:class:`RecordingRelay` sits between nginx and the server when a check must see the bytes the
server sends upstream (nginx re-frames them before the client sees them).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from conformance.certificates import Certificates
from conformance.polling import poll_until
from conformance.servers import (
    HOST,
    READY_POLL,
    ManagedProcess,
    ServerStartError,
    free_port,
    http_answers,
)

INSTALL_HINT = "nginx is not installed; install it with: apt-get install -y nginx-light"
# The HTTP version nginx speaks to the upstream in the default variant (proxy_http_version).
UPSTREAM_HTTP_VERSION = "HTTP/1.1"
# What the "forwarded" variant claims about the client, as a TLS-terminating proxy in front of
# a client at this address would (TEST-NET-3, RFC 5737: never a real peer here).
FORWARDED_CLIENT = "203.0.113.7"
FORWARDED_PROTO = "https"
PREFIX = "/app/"


@dataclass(frozen=True)
class Variant:
    """One nginx deployment shape. Every field maps onto one or two nginx directives."""

    name: str
    http_version: str = "1.1"  # "1.0" is nginx's default proxy_http_version
    keepalive: int = 8  # upstream keep-alive pool size; 0 = a new connection per request
    buffering: bool = False  # proxy_buffering
    request_buffering: bool = True  # proxy_request_buffering
    prefix: str = "/"  # location; the URI is passed upstream unchanged unless strip_prefix
    strip_prefix: bool = False  # proxy_pass http://app_server/: the prefix is replaced by "/"
    forwarded: bool = False  # fixed X-Forwarded-For / -Proto, as described above
    max_body: str = ""  # client_max_body_size when nginx's 1m default is too small
    protocol: str = "http"  # "uwsgi": uwsgi_pass with nginx's stock uwsgi_params (PROXY-12)
    # nginx's documented WebSocket proxying: Upgrade and Connection passed on through the
    # $connection_upgrade map (PROXY-08); needs the HTTP/1.1 upstream.
    websocket: bool = False
    # TLS and HTTP/2 to the client (the nginx-tls path, issue 11): listen ssl with http2,
    # the run's server certificate; HTTP/1.1 to the plain upstream, as in "default".
    tls_listen: bool = False

    @property
    def upstream_version(self) -> str:
        return f"HTTP/{self.http_version}"


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("default"),
    # nginx as installed: proxy_http_version 1.0, Connection: close, buffering on (PROXY-01).
    Variant("http10", http_version="1.0", keepalive=0, buffering=True),
    Variant("unbuffered", http_version="1.0", keepalive=0, buffering=False),
    # One pooled connection: the next request certainly reuses the previous one's (PROXY-06).
    Variant("pool", keepalive=1, max_body="64m"),
    Variant("prefix", prefix=PREFIX),
    Variant("prefix-strip", prefix=PREFIX, strip_prefix=True),
    Variant("no-request-buffering", request_buffering=False, max_body="64m"),
    Variant("forwarded", forwarded=True),
    # nginx -> uwsgi protocol -> server (PROXY-12); no keep-alive pool for uwsgi_pass.
    Variant("uwsgi", keepalive=0, protocol="uwsgi"),
    Variant("websocket", websocket=True),
    Variant("tls-h2", tls_listen=True),
    # A TLS listener with nginx's WebSocket proxying: nginx does not proxy WebSocket over
    # HTTP/2, so a wss client speaks HTTP/1.1 over TLS (ALPN http/1.1) to it (TLS-03.c).
    Variant("tls-websocket", tls_listen=True, websocket=True),
)}
# The variant of the nginx-tls path (catalogue.NGINX_TLS).
NGINX_TLS_VARIANT = "tls-h2"
# The map of nginx's WebSocket proxying guide: "upgrade" when the client asked for one, else
# "close" (the variant keeps no idle upstream connection for plain requests then).
WEBSOCKET_MAP = """\
    map $http_upgrade $connection_upgrade {
        default upgrade;
        '' close;
    }
"""
# nginx's uwsgi_params as Debian ships it (/etc/nginx/uwsgi_params), written into the config
# so that no file under /etc/nginx is needed.
UWSGI_PARAMS = (
    "QUERY_STRING $query_string", "REQUEST_METHOD $request_method",
    "CONTENT_TYPE $content_type", "CONTENT_LENGTH $content_length",
    "REQUEST_URI $request_uri", "PATH_INFO $document_uri", "DOCUMENT_ROOT $document_root",
    "SERVER_PROTOCOL $server_protocol", "REQUEST_SCHEME $scheme", "HTTPS $https if_not_empty",
    "REMOTE_ADDR $remote_addr", "REMOTE_PORT $remote_port", "SERVER_PORT $server_port",
    "SERVER_NAME $server_name",
)

_CONFIG = """\
worker_processes 1;
{user}
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{maps}    upstream app_server {{
        server {upstream};
{pool}    }}
    server {{
        listen {host}:{port}{listen};
        server_name localhost;
{tls}        location {prefix} {{
{location}        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def nginx_version() -> str | None:
    binary = nginx_binary()
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"nginx/(\S+)", out.stderr + out.stdout)
    return match.group(1) if match else "unknown"


def _listen(variant: Variant, certificates: Certificates | None) -> tuple[str, str]:
    """The listen directive's parameters and the server block's TLS directives."""
    if not variant.tls_listen:
        return "", ""
    if certificates is None:
        raise ValueError(f"the nginx variant {variant.name!r} needs the run's certificates")
    # "http2 on" replaced the listen parameter in nginx 1.25.1; Debian 12 ships 1.22.
    modern = _installed_version() >= (1, 25, 1)
    lines = ["http2 on;"] if modern else []
    lines += [f"ssl_certificate {certificates.server_cert};",
              f"ssl_certificate_key {certificates.server_key};"]
    return (" ssl" if modern else " ssl http2"), "".join(f"        {line}\n" for line in lines)


@functools.cache
def _installed_version() -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", nginx_version() or "")[:3])


def _upstream_tls(certificates: Certificates) -> list[str]:
    """nginx reaching a TLS configuration over TLS: it verifies the server against the run's
    CA and presents the run's client certificate (a re-encrypting deployment). TLS 1.3 is
    named because nginx before 1.23.4 leaves it out of proxy_ssl_protocols by default, and
    some servers (granian: rustls) accept nothing older."""
    return ["proxy_ssl_protocols TLSv1.2 TLSv1.3;",
            "proxy_ssl_trusted_certificate " + str(certificates.ca) + ";",
            "proxy_ssl_verify on;", "proxy_ssl_name localhost;",
            "proxy_ssl_certificate " + str(certificates.client_cert) + ";",
            "proxy_ssl_certificate_key " + str(certificates.client_key) + ";"]


def _location(variant: Variant, upstream_tls: Certificates | None = None) -> str:
    """The directives inside the location block: how requests are passed upstream."""
    if variant.protocol == "uwsgi":
        lines = ["uwsgi_pass app_server;", "uwsgi_read_timeout 30s;"]
        lines += [f"uwsgi_param {param};" for param in UWSGI_PARAMS]
        return "".join(f"            {line}\n" for line in lines)
    scheme = "https" if upstream_tls else "http"
    lines = [f"proxy_pass {scheme}://app_server{'/' if variant.strip_prefix else ''};"]
    if upstream_tls:
        lines += _upstream_tls(upstream_tls)
    if variant.websocket:
        lines += ["proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                  "proxy_set_header Connection $connection_upgrade;"]
    elif variant.http_version != "1.0":
        # HTTP/1.1 upstream; an empty Connection lets the pooled connection stay open.
        lines += ["proxy_http_version 1.1;", 'proxy_set_header Connection "";']
    lines.append("proxy_set_header Host $http_host;")
    if variant.forwarded:
        lines += [f"proxy_set_header X-Forwarded-For {FORWARDED_CLIENT};",
                  f"proxy_set_header X-Forwarded-Proto {FORWARDED_PROTO};"]
    else:
        lines += ["proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                  "proxy_set_header X-Forwarded-Proto $scheme;"]
    lines.append(f"proxy_buffering {'on' if variant.buffering else 'off'};")
    if variant.max_body:
        lines.append(f"client_max_body_size {variant.max_body};")
    if not variant.request_buffering:
        lines.append("proxy_request_buffering off;")
    lines.append("proxy_read_timeout 30s;")
    return "".join(f"            {line}\n" for line in lines)


def render_config(*, workdir: Path, port: int, upstream_port: int | None = None,
                  variant: str = "default", upstream: str | None = None,
                  certificates: Certificates | None = None, upstream_tls: bool = False) -> str:
    """The nginx.conf of ``variant``; ``upstream`` ("unix:/path" or "host:port") overrides
    the default upstream of 127.0.0.1:``upstream_port``. ``certificates``: the run's, for a
    TLS listener and for ``upstream_tls`` (the upstream is a TLS configuration)."""
    chosen = VARIANTS[variant]
    listen, tls = _listen(chosen, certificates)
    if upstream_tls and certificates is None:
        raise ValueError("a TLS upstream needs the run's certificates")
    # As root, nginx workers would switch to "nobody" and lose access to our temp directory.
    user = "user root;" if os.geteuid() == 0 else ""
    pool = f"        keepalive {chosen.keepalive};\n" if chosen.keepalive else ""
    return _CONFIG.format(user=user, dir=workdir, host=HOST, port=port,
                          upstream=upstream or f"{HOST}:{upstream_port}", pool=pool,
                          maps=WEBSOCKET_MAP if chosen.websocket else "",
                          prefix=chosen.prefix, listen=listen, tls=tls,
                          location=_location(chosen, certificates if upstream_tls else None))


class Nginx:
    """nginx proxying to one upstream server, started and stopped by the suite."""

    def __init__(self, workdir: Path, upstream_port: int | None = None, *,
                 variant: str = "default", upstream: str | None = None,
                 certificates: Certificates | None = None, upstream_tls: bool = False) -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = free_port()
        self.variant = VARIANTS[variant]
        self.certificates = certificates
        self.config_path = workdir / "nginx.conf"
        self.config_path.write_text(render_config(
            workdir=workdir, port=self.port, upstream_port=upstream_port, variant=variant,
            upstream=upstream, certificates=certificates, upstream_tls=upstream_tls))
        argv = [binary, "-p", str(workdir), "-c", str(self.config_path), "-e",
                str(workdir / "error.log")]
        self.process = ManagedProcess(argv, log_path=workdir / "nginx.out", env=dict(os.environ),
                                      stop_timeout=5.0)

    def wait_ready(self, timeout: float = 10.0) -> None:
        process = self.process
        tls = self.client_tls()

        def state() -> str | None:
            if not process.alive():
                return "exited"
            answers = http_answers(self.host, self.port, timeout=1.0, tls=tls)
            return "serving" if answers else None

        outcome = poll_until(state, timeout, interval=READY_POLL)
        if outcome == "serving":
            return
        if outcome == "exited":
            raise ServerStartError(f"nginx exited at start:\n{self.log_tail()}")
        self.stop()
        raise ServerStartError(f"nginx did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def client_tls(self, alpn: tuple[str, ...] = ("http/1.1",)) -> ssl.SSLContext | None:
        """A client context for this nginx's TLS listener (None when it listens plain)."""
        if not self.variant.tls_listen or self.certificates is None:
            return None
        return self.certificates.client_context(alpn=alpn)

    def error_log(self) -> str:
        path = self.workdir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, lines: int = 20) -> str:
        parts = []
        for name in ("nginx.out", "error.log"):
            path = self.workdir / name
            if path.exists():
                parts += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(parts)

    def stop(self) -> None:
        self.process.stop()


class RecordingRelay:
    """A TCP relay that records, per connection, the bytes the upstream server sends back.

    nginx re-frames what it forwards, so the server's own framing towards nginx (PROXY-01:
    no chunked coding in a response to an HTTP/1.0 request) is only visible here.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.2)
        self.host, self.port = HOST, self.listener.getsockname()[1]
        self.received: list[bytearray] = []  # server -> nginx, one per connection
        self._sockets: list[socket.socket] = []
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5.0)
            except OSError:
                client.close()
                continue
            record = bytearray()
            with self._lock:
                self.received.append(record)
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, record),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bytearray | None) -> None:
        src.settimeout(None)
        try:
            while data := src.recv(65536):
                if record is not None:
                    with self._lock:
                        record += data
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)  # pass the half-close on: close-delimited bodies
        except OSError:
            with contextlib.suppress(OSError):
                dst.close()

    def upstream_bytes(self) -> list[bytes]:
        with self._lock:
            return [bytes(r) for r in self.received]

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
