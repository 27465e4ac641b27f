"""Debian's headless Chromium for the browser tests (the app, the kedro-viz graph).

``chromium`` (session scope) is the path of ``/usr/bin/chromium``; the bootstrap installs
Debian's ``chromium`` package when it is missing (root with apt only), as ``.ci/run`` does.
Without it the browser tests are skipped, except in CI (``CI=true``), where they fail.
``screenshot`` renders a page, JavaScript included, into a PNG file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Flags that work on a machine with no screen, no GPU and no network but loopback.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _install_with_apt() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=300"]  # another pytest worker may hold the lock
    for command in (
        ["apt-get", *wait, "update"],
        ["apt-get", *wait, "install", "-y", "--no-install-recommends", "chromium"],
    ):
        subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's Chromium, installed first when missing."""
    found = shutil.which("chromium")
    if found is None:
        _install_with_apt()
        found = shutil.which("chromium")
    if found is None:
        reason = "Chromium not found (apt-get install --no-install-recommends chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium is required in CI: {reason}")
        pytest.skip(reason)
    return found


def screenshot(
    chromium: str, url: str, out: Path, *, size: str = "1400,900", render_ms: int = 8000
) -> Path:
    """A PNG of ``url`` after ``render_ms`` of virtual time (JS apps need 5 s or more to draw
    more than their loading skeleton)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [chromium, *HEADLESS_FLAGS, f"--window-size={size}", "--hide-scrollbars"]
        + [f"--virtual-time-budget={render_ms}", f"--screenshot={out}", url],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    return out
