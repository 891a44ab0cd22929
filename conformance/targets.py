"""Targets: one TOML file per server configuration (DESIGN.md decision 9).

A target says how to start a server with a probe application, using the server's own CLI. The
bundled targets live in targets/ (installed as conformance.bundled_targets); a server author
passes the path of their own TOML to ``--target`` and needs no change to the suite. The
schema (README.md "Writing a target"):

    interface = "asgi"                      # "wsgi" or "asgi"
    description = "uvicorn, h11 parser"     # optional
    command = ["{bin}/uvicorn", "--host", "{host}", "--port", "{port}", "{app}"]
    startup_timeout = 20                    # seconds, optional
    app = "module:attr"                     # optional: load this instead of the probe app
    env = { NAME = "value" }                # optional, added to the server's environment
    uds_command = ["{bin}/uvicorn", "--uds", "{uds}", "{app}"]  # optional: on a Unix socket
    [version]                               # how to read the server's version (optional)
    distribution = "uvicorn"                # importlib.metadata name, or:
    command = ["{bin}/uvicorn", "--version"]
    [features]                              # optional features the server claims
    lifespan = true
    [wsgi]                                  # what wsgi.multithread/multiprocess/run_once must be
    multithread = false
    [proxy]                                 # optional: trust_args, trust_covers, untrusted_args,
    trust_args = ["--forwarded-allow-ips", "127.0.0.1"]   # prefix_args (see _PROXY_LIST_KEYS)
    checks = ["asgi-www.ws-", "rfc6455."]   # optional: only checks with these id prefixes run
                                            # (a variant that differs from another target in
                                            # one part only, such as its WebSocket library)
    unavailable = "why"                     # optional: the configuration cannot run here;
                                            # no check runs, the matrix gives the reason
    [tls]                                   # optional: the server serves TLS (its command
    client_certificate = "optional"         # names the run's certificates, below); whether
    alpn = ["h2", "http/1.1"]               # it asks for client certificates ("none",
                                            # "optional", "required") and the ALPN protocols
                                            # it offers. Only TLS and HTTP/2 checks run on it.
    h2_checked_on_twin = true               # optional: the HTTP/2 checks run on the plain
                                            # twin ("<name>" of "<name>-tls") by h2c prior
                                            # knowledge, not here by ALPN

Placeholders in command: {app} {host} {port} {uds} {python} (this interpreter) {bin} (its
directory, where a virtualenv's server scripts are). A server that names the app otherwise than
"module:attr" takes its parts: {app_module}, {app_attr}, or {app_dotted} ("module.attr", as
``twist web --wsgi`` wants it). A [tls] target's command names the run's certificates
(certificates.py): {tls_cert} (chain), {tls_key}, {tls_cert_and_key} (one file) and {tls_ca}
(the CA that signed the client certificate).
"""

from __future__ import annotations

import os
import re
import shlex
import string
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

# targets/ at the top of the repository, installed as the package conformance.bundled_targets.
BUNDLED_PACKAGE = "conformance.bundled_targets"
TLS_PLACEHOLDERS = frozenset({"tls_cert", "tls_key", "tls_ca", "tls_cert_and_key"})
PLACEHOLDERS = frozenset({"app", "app_module", "app_attr", "app_dotted", "host", "port", "uds",
                          "python", "bin"}) | TLS_PLACEHOLDERS
CLIENT_CERTIFICATE_MODES = ("none", "optional", "required")
# One of these must be in a command: where the probe app goes.
APP_PLACEHOLDERS = ("{app}", "{app_module}", "{app_dotted}")
PROBE_APPS = {
    "wsgi": "conformance.probes.wsgi_app:app",
    "asgi": "conformance.probes.asgi_app:app",
}
_KNOWN_KEYS = frozenset(
    {"name", "interface", "description", "command", "startup_timeout", "app", "env", "version",
     "features", "wsgi", "stop_timeout", "uds_command", "proxy", "checks", "unavailable", "tls"}
)
# [proxy] keys (all optional, lists of CLI arguments inserted before the {app} argument):
# trust_args make the server trust nginx's X-Forwarded-* from 127.0.0.1; trust_covers says
# which of "for" (client address) and "proto" (scheme) that option covers; untrusted_args
# narrow the server's trusted set to an address no client here has (for servers that trust
# loopback by default); prefix_args tell the server it is mounted under /app.
_PROXY_LIST_KEYS = ("trust_args", "trust_covers", "untrusted_args", "prefix_args")


class TargetError(Exception):
    """A target that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class TLSConfig:
    """A target's [tls] table."""

    client_certificate: str = "none"  # CLIENT_CERTIFICATE_MODES: what the command asks for
    alpn: tuple[str, ...] = ("http/1.1",)
    # Issue 11 asks for HTTP/2 "h2c prior knowledge where supported, TLS with ALPN otherwise":
    # where the plain twin serves h2c, the same HTTP/2 code is checked there, once.
    h2_checked_on_twin: bool = False


@dataclass(frozen=True)
class Target:
    name: str
    path: Path
    interface: str
    command: tuple[str, ...]
    description: str = ""
    startup_timeout: float = 20.0
    stop_timeout: float = 10.0
    app: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    version_distribution: str | None = None
    version_command: tuple[str, ...] = ()
    features: dict[str, Any] = field(default_factory=dict)
    wsgi_flags: dict[str, bool] = field(default_factory=dict)
    # The command listening on the Unix socket {uds} instead of {host}:{port} (optional).
    uds_command: tuple[str, ...] = ()
    proxy: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Check-id prefixes this configuration runs (empty: all that apply to its interface).
    checks: tuple[str, ...] = ()
    # Why this configuration cannot run at all (empty: it runs). A bundled configuration users
    # deploy but this platform or the pinned release cannot offer keeps its TOML, so that the
    # matrix says why it has no cells instead of leaving it out silently.
    unavailable: str = ""
    # A [tls] configuration: how it asks for client certificates, and the ALPN protocols it
    # offers. None: the server speaks plain TCP.
    tls: TLSConfig | None = None

    @property
    def offers(self) -> frozenset[str]:
        """What the configuration serves beyond plain HTTP/1.1: "tls"; "h2" (HTTP/2 over TLS
        by ALPN, or cleartext with prior knowledge: the feature h2c)."""
        offered: set[str] = set()
        if self.tls is not None:
            offered.add("tls")
            if "h2" in self.tls.alpn:
                offered.add("h2")
        elif self.feature("h2c"):
            offered.add("h2")
        return frozenset(offered)

    def runs(self, check_id: str) -> bool:
        """Whether this configuration runs the check (its ``checks`` prefixes, if any)."""
        return not self.checks or any(check_id.startswith(p) for p in self.checks)

    @property
    def probe_app(self) -> str:
        return self.app or PROBE_APPS[self.interface]

    def argv(self, *, host: str, port: int | None = None, uds: str | None = None,
             app: str | None = None, display: bool = False,
             tls: dict[str, str] | None = None) -> list[str]:
        """The command with its placeholders filled. ``display`` keeps the path placeholders
        ({python}, {bin}, {uds}, the {tls_*} files) as written, for records that are
        published (no machine's paths in them) while host, port and app, which a reader
        needs, are filled. ``tls`` maps the {tls_*} placeholders to the run's files."""
        values = self._values(host=host, port=port, uds=uds, app=app, display=display, tls=tls)
        return [part.format_map(values) for part in self.command]

    def uds_argv(self, *, uds: str, app: str | None = None, display: bool = False,
                 tls: dict[str, str] | None = None) -> list[str]:
        """The uds_command with its placeholders filled (empty when the target has none)."""
        values = self._values(host="", port=None, uds=uds, app=app, display=display, tls=tls)
        return [part.format_map(values) for part in self.uds_command]

    def _values(self, *, host: str, port: int | None, uds: str | None, app: str | None,
                display: bool, tls: dict[str, str] | None = None) -> dict[str, str]:
        paths = ({"python": "{python}", "bin": "{bin}", "uds": "{uds}"} if display else
                 {"python": sys.executable, "bin": str(Path(sys.executable).parent),
                  "uds": uds or ""})
        paths.update({name: "{" + name + "}" if display else (tls or {}).get(name, "")
                      for name in TLS_PLACEHOLDERS})
        module, _, attr = (app or self.probe_app).partition(":")
        return {"app": app or self.probe_app, "app_module": module, "app_attr": attr,
                "app_dotted": f"{module}.{attr}", "host": host,
                "port": "" if port is None else str(port), **paths}

    def proxy_args(self, key: str) -> tuple[str, ...]:
        """A [proxy] list (trust_args, trust_covers, untrusted_args, prefix_args) or ()."""
        return tuple(self.proxy.get(key, ()))

    def feature(self, name: str, default: Any = None) -> Any:
        return self.features.get(name, default)

    def version(self) -> str:
        """The server's version as its own metadata or CLI reports it; "unknown" otherwise."""
        if self.version_distribution:
            try:
                return metadata.version(self.version_distribution)
            except metadata.PackageNotFoundError:
                return "not installed"
        if self.version_command:
            argv = [p.format_map({"python": sys.executable,
                                  "bin": str(Path(sys.executable).parent)})
                    for p in self.version_command]
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                return "unknown"
            match = re.search(r"\d+(\.\d+)+\S*", out.stdout + out.stderr)
            return match.group(0) if match else "unknown"
        return "unknown"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _command(raw: Any, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        parts = shlex.split(raw)
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        parts = list(raw)
    else:
        raise TargetError(f"{where}: 'command' must be a list of strings or a string")
    if not parts:
        raise TargetError(f"{where}: 'command' is empty")
    for part in parts:
        try:
            unknown = _placeholders(part) - PLACEHOLDERS
        except ValueError as exc:
            raise TargetError(f"{where}: bad placeholder in command part {part!r}: {exc}") from None
        if unknown:
            raise TargetError(
                f"{where}: unknown placeholder(s) {sorted(unknown)} in command; "
                f"known: {sorted(PLACEHOLDERS)}"
            )
    return tuple(parts)


def load_target(path: Path) -> Target:
    """Read and validate one target TOML file."""
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(f"target file {where} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{where} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"{where} cannot be read: {exc}") from None

    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise TargetError(
            f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_KNOWN_KEYS)}")
    interface = data.get("interface")
    if interface not in PROBE_APPS:
        raise TargetError(f"{where}: 'interface' must be \"wsgi\" or \"asgi\", got {interface!r}")
    if "command" not in data:
        raise TargetError(f"{where}: 'command' is missing (the server's CLI, with {{app}} etc.)")
    command = _command(data["command"], where)
    if not any(a in p for p in command for a in APP_PLACEHOLDERS):
        raise TargetError(f"{where}: 'command' must contain {{app}} (or {{app_module}}, "
                          "{app_dotted}), where the probe app goes")

    version = data.get("version", {})
    if not isinstance(version, dict):
        raise TargetError(
            f"{where}: [version] must be a table (distribution = ... or command = ...)")
    env = data.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise TargetError(f"{where}: 'env' must be a table of strings")
    features = data.get("features", {})
    if not isinstance(features, dict):
        raise TargetError(f"{where}: [features] must be a table")
    wsgi_flags = data.get("wsgi", {})
    flags_ok = isinstance(wsgi_flags, dict) and all(
        isinstance(v, bool) for v in wsgi_flags.values())
    if not flags_ok:
        raise TargetError(f"{where}: [wsgi] must be a table of booleans")
    for key in ("startup_timeout", "stop_timeout"):
        if key in data and not isinstance(data[key], int | float):
            raise TargetError(f"{where}: '{key}' must be a number of seconds")
    proxy = data.get("proxy", {})
    proxy_ok = isinstance(proxy, dict) and set(proxy) <= set(_PROXY_LIST_KEYS) and all(
        isinstance(v, list) and all(isinstance(p, str) for p in v) for v in proxy.values())
    if not proxy_ok:
        raise TargetError(f"{where}: [proxy] must be a table of string lists with keys among "
                          f"{list(_PROXY_LIST_KEYS)}")
    uds_command = _command(data["uds_command"], where) if "uds_command" in data else ()
    if uds_command and not any("{uds}" in p for p in uds_command):
        raise TargetError(f"{where}: 'uds_command' must contain {{uds}}, the socket's path")
    app = data.get("app")
    if app is not None and (not isinstance(app, str) or ":" not in app):
        raise TargetError(f"{where}: 'app' must be \"module:attribute\"")
    checks = data.get("checks", [])
    if not (isinstance(checks, list) and checks == [c for c in checks if isinstance(c, str)
                                                    and c]):
        raise TargetError(f"{where}: 'checks' must be a list of check-id prefixes")
    unavailable = data.get("unavailable", "")
    if not isinstance(unavailable, str):
        raise TargetError(f"{where}: 'unavailable' must be a string: why it cannot run")
    tls = _tls(data.get("tls"), where)
    named = {p for part in command + uds_command for p in _placeholders(part)}
    if tls is None and named & TLS_PLACEHOLDERS:
        raise TargetError(f"{where}: the command names {sorted(named & TLS_PLACEHOLDERS)} "
                          "but the target has no [tls] table")

    return Target(
        name=str(data.get("name", path.stem)),
        path=path,
        interface=interface,
        command=command,
        description=str(data.get("description", "")),
        startup_timeout=float(data.get("startup_timeout", 20.0)),
        stop_timeout=float(data.get("stop_timeout", 10.0)),
        app=app,
        env=dict(env),
        version_distribution=version.get("distribution"),
        version_command=_command(version["command"], where) if "command" in version else (),
        features=dict(features),
        wsgi_flags=dict(wsgi_flags),
        uds_command=uds_command,
        proxy={k: tuple(v) for k, v in proxy.items()},
        checks=tuple(checks),
        unavailable=unavailable.strip(),
        tls=tls,
    )


def _tls(raw: Any, where: str) -> TLSConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"client_certificate", "alpn",
                                                "h2_checked_on_twin"}:
        raise TargetError(f"{where}: [tls] must be a table with client_certificate, alpn and "
                          "h2_checked_on_twin")
    mode = raw.get("client_certificate", "none")
    if mode not in CLIENT_CERTIFICATE_MODES:
        raise TargetError(f"{where}: [tls] client_certificate must be one of "
                          f"{list(CLIENT_CERTIFICATE_MODES)}, got {mode!r}")
    alpn = raw.get("alpn", ["http/1.1"])
    if not (isinstance(alpn, list) and alpn and all(p in ("h2", "http/1.1") for p in alpn)):
        raise TargetError(f"{where}: [tls] alpn must be a list of \"h2\" and \"http/1.1\"")
    on_twin = raw.get("h2_checked_on_twin", False)
    if not isinstance(on_twin, bool):
        raise TargetError(f"{where}: [tls] h2_checked_on_twin must be true or false")
    return TLSConfig(client_certificate=mode, alpn=tuple(alpn), h2_checked_on_twin=on_twin)


def bundled_targets() -> dict[str, Path]:
    return {Path(p.name).stem: Path(str(p)) for p in sorted(
        resources.files(BUNDLED_PACKAGE).iterdir(), key=lambda p: p.name)
        if p.name.endswith(".toml")}


def _looks_like_path(item: str) -> bool:
    return item.endswith(".toml") or os.sep in item


def resolve_targets(spec: str) -> list[Target]:
    """Turn the --target value into targets.

    Accepts a bundled name ("uvicorn-h11"), a family prefix ("uvicorn" = every bundled
    "uvicorn-*"), "all", a path to a TOML file, or a comma list of these.
    """
    bundled = bundled_targets()
    chosen: dict[str, Target] = {}
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if _looks_like_path(item):
            target = load_target(Path(item))
            chosen[target.name] = target
        elif item == "all":
            for path in bundled.values():
                target = load_target(path)
                chosen[target.name] = target
        elif item in bundled:
            chosen[item] = load_target(bundled[item])
        else:
            family = [name for name in bundled if name.startswith(item + "-")]
            if not family:
                raise TargetError(
                    f"unknown target {item!r}. Bundled targets: {', '.join(bundled)}; "
                    "or give the path of your own target TOML file (see README.md)."
                )
            for name in family:
                chosen[name] = load_target(bundled[name])
    if not chosen:
        raise TargetError("--target is empty; name a bundled target, 'all', or a TOML path")
    return list(chosen.values())
