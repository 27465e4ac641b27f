"""Debian's headless Chromium for the browser tests (the app, the kedro-viz graph).

``chromium`` (session scope) is the path of ``/usr/bin/chromium``; the bootstrap installs
Debian's ``chromium`` package when it is missing (root with apt only), as ``.ci/run`` does.
Without it the browser tests are skipped, except in CI (``CI=true``), where they fail.
``browser_page`` opens a page in it with Playwright; screenshots go to ``SCREENS``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENS = Path(__file__).resolve().parents[1] / "data" / "08_reporting" / "screens"

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


@contextmanager
def browser_page(chromium: str, width: int, height: int) -> Iterator[Page]:
    """A fresh Chromium page of ``width`` x ``height`` (a first-time visitor: no saved state)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright adds its own headless flag.
        args = [flag for flag in HEADLESS_FLAGS if flag != "--headless"]
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def screen_path(name: str) -> Path:
    """Where a page's screenshot is kept for a reviewer (git-ignored)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS / f"{name}.png"
