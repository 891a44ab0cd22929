"""The nginx deployment, a prefix mount behind nginx: how the app sees the path (PROXY-05)."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import check
from conformance.checks.deployment.observed_get import get, seen
from conformance.context import CheckContext
from conformance.proxy import PREFIX
from conformance.verdicts import Level


def _prefix_view(ctx: CheckContext, entry: dict[str, Any], path: str) -> tuple[str, bool]:
    """The split the app saw, and whether it gives back the requested path."""
    if ctx.target.interface == "asgi":
        scope = entry["scope"]
        root, seen_path = scope.get("root_path", ""), scope.get("path", "")
        return (f"root_path {root!r}, path {seen_path!r}",
                seen_path == path and seen_path.startswith(root))
    environ = entry["environ"]
    root, rest = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
    return f"SCRIPT_NAME {root!r}, PATH_INFO {rest!r}", root + rest == path


@check(
    id="deployment.prefix-mount",
    title="mounted under /app/ behind nginx: SCRIPT_NAME/PATH_INFO or root_path/path",
    requirements=["PROXY-05"],
    level=Level.INFO,
    interfaces=("wsgi", "asgi"),
    via=("nginx",),
    own_server=True,
    section="PEP 3333 'URL Reconstruction'; asgi-www.rst 'WSGI Compatibility' (root_path)",
)
def prefix_mount(ctx: CheckContext) -> None:
    """Reported, never failed: no spec text says how a server behind a prefix-keeping or
    prefix-stripping proxy splits the path, and the texts that relate the parts only say
    what can be derived and what may differ: asgi-www.rst, WSGI Compatibility (PROXY-05.f)
    "PATH_INFO can be derived by stripping root_path from path"; PEP 3333, URL
    Reconstruction (PROXY-05.g) "Note that such a reconstructed URL may not be precisely the
    same URI as requested by the client."
    The server runs with the TOML's [proxy] prefix_args (its documented prefix setting)
    behind nginx's location /app/, once passing /app/mounted/x unchanged and once stripping
    the prefix (proxy_pass http://app_server/), one sub-case each: servers document either
    deployment. Each reports the split the app saw (ASGI on PROXY-05.f, WSGI on PROXY-05.g);
    when neither gives back the requested path, that is one more INFO finding."""
    args = ctx.target.proxy_args("prefix_args")
    server = ctx.start_server(extra_args=args, label="prefix") if args else ctx.server
    path = f"{PREFIX}mounted/x"
    setting = " ".join(args) or "no prefix option"
    ref = "PROXY-05.f" if ctx.target.interface == "asgi" else "PROXY-05.g"
    consistent = False
    for variant in ("prefix", "prefix-strip"):
        with ctx.case(variant):
            nginx = ctx.nginx_in_front(server, variant) if args else ctx.nginx(variant)
            statuses: list[int] = []
            rid = get(ctx, nginx.host, nginx.port, path + "?q=1", statuses=statuses)
            if statuses[0] != 200:  # the server refuses this deployment's path: reported
                ctx.finding(ref, f"with {setting}, GET {path} through nginx ({variant}) got "
                                 f"status {statuses[0]}")
                continue
            view, gives_back = _prefix_view(ctx, seen(server, rid), path)
            consistent |= gives_back
            ctx.finding(ref, f"with {setting}, GET {path} through nginx ({variant}): {view}")
    if not consistent:
        ctx.finding(ref, f"with {setting}, neither nginx deployment gives a split that gives "
                         f"back the requested path {path}")
