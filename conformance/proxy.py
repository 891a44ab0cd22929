"""A real nginx in front of the server under test (DESIGN.md decision 5).

The suite writes an nginx configuration into a temporary directory (pid file, temp paths and
error log all inside it, ``daemon off``, an ephemeral port) and runs nginx in the foreground
as a managed process. The default variant is the deployment most guides recommend for Python
apps: HTTP/1.1 to a keep-alive upstream pool, buffering off so streams pass through.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from conformance.servers import HOST, ManagedProcess, ServerStartError, free_port, http_answers

INSTALL_HINT = "nginx is not installed; install it with: apt-get install -y nginx-light"
# The HTTP version nginx speaks to the upstream in the default variant (proxy_http_version).
UPSTREAM_HTTP_VERSION = "HTTP/1.1"

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
    upstream app_server {{
        server {upstream_host}:{upstream_port};
        keepalive 8;
    }}
    server {{
        listen {host}:{port};
        server_name localhost;
        location / {{
            proxy_pass http://app_server;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_read_timeout 30s;
        }}
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


def render_config(*, workdir: Path, port: int, upstream_port: int) -> str:
    # As root, nginx workers would switch to "nobody" and lose access to our temp directory.
    user = "user root;" if os.geteuid() == 0 else ""
    return _CONFIG.format(user=user, dir=workdir, host=HOST, port=port, upstream_host=HOST,
                          upstream_port=upstream_port)


class Nginx:
    """nginx proxying to one upstream server, started and stopped by the suite."""

    def __init__(self, workdir: Path, upstream_port: int) -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = free_port()
        self.config_path = workdir / "nginx.conf"
        self.config_path.write_text(render_config(workdir=workdir, port=self.port,
                                                  upstream_port=upstream_port))
        argv = [binary, "-p", str(workdir), "-c", str(self.config_path), "-e",
                str(workdir / "error.log")]
        self.process = ManagedProcess(argv, log_path=workdir / "nginx.out", env=dict(os.environ),
                                      stop_timeout=5.0)

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise ServerStartError(f"nginx exited at start:\n{self.log_tail()}")
            if http_answers(self.host, self.port, timeout=1.0):
                return
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(f"nginx did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        parts = []
        for name in ("nginx.out", "error.log"):
            path = self.workdir / name
            if path.exists():
                parts += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(parts)

    def stop(self) -> None:
        self.process.stop()
