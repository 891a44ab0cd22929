"""Headless Chromium for the report page: its DOM after the scripts ran, and a screenshot.

Used by the browser test and by `make matrix` (the screenshot kept in reports/). Chromium's
flags are the ones this machine's closed network needs (no background networking at all).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = "chromium is not installed; install it with: apt-get install -y chromium"
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars"]


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run([binary, *_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=True)


def dump_dom(page: Path, fragment: str = "", timeout: float = 60) -> str:
    """The page's DOM as Chromium serialises it after load (scripts run, hash applied)."""
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    return _run(["--virtual-time-budget=2000", "--dump-dom", url], timeout).stdout


def screenshot(page: Path, out: Path, width: int = 1400, height: int = 1000,
               timeout: float = 60) -> None:
    _run([f"--window-size={width},{height}", "--virtual-time-budget=2000",
          f"--screenshot={out.resolve()}", page.resolve().as_uri()], timeout)
