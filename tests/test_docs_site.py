"""The documentation site as the README says to open it: built by `mkdocs build` and opened
from disk (file://) in headless Chromium, its navigation followed to a page.

Screenshots for a reviewer: data/08_reporting/screens/docs_*.png (git-ignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import browser_page, screen_path
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site `make docs` builds, written to a temporary folder (not the project's site/)."""
    out = tmp_path_factory.mktemp("docs") / "site"
    mkdocs = Path(sys.executable).with_name("mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture
def page(chromium):
    with browser_page(chromium, 1400, 900) as page:
        yield page


def test_the_home_page_opened_from_disk_leads_to_pages(site, page):
    page.goto((site / "index.html").as_uri())
    assert page.title() == "CodePro lead scoring"
    page.screenshot(path=screen_path("docs_home"))

    page.locator(".md-nav--primary").get_by_role("link", name="Architecture", exact=True).click()
    page.wait_for_load_state()
    # A page of the site, not the folder listing a browser shows for a directory URL on disk.
    assert page.url == (site / "architecture.html").as_uri()
    assert page.title() == "Architecture - CodePro lead scoring"
    diagram = page.locator('img[src="img/architecture.svg"]')
    # Drawn at 85% of its size or more: its smallest text (14 units) is 12 px or more on screen.
    assert diagram.evaluate("d => d.getBoundingClientRect().width / d.naturalWidth") >= 0.85
    diagram.scroll_into_view_if_needed()
    page.screenshot(path=screen_path("docs_architecture"))


def test_names_in_the_first_column_of_tables_stay_on_one_line(site, page):
    page.goto((site / "pipelines" / "training.html").as_uri())
    # An inline element's client rects: one per line it spans.
    lines = page.locator("td:first-child code").evaluate_all(
        "codes => codes.map(c => [c.textContent, c.getClientRects().length])"
    )
    assert "training.quality_floor.roc_auc" in dict(lines)
    assert [name for name, count in lines if count != 1] == []
    page.locator("#parameters").scroll_into_view_if_needed()
    page.screenshot(path=screen_path("docs_training_parameters"))


def test_no_command_is_cut_off_in_its_code_box(site, page):
    cut = []
    for html in sorted(site.rglob("*.html")):
        page.goto(html.as_uri())
        # The whole command is in view: nothing hidden behind a horizontal scroll.
        widths = page.locator(".language-bash pre > code").evaluate_all(
            "cs => cs.map(c => [c.textContent.split('\\n')[0], c.scrollWidth - c.clientWidth])"
        )
        cut.extend(f"{html.relative_to(site)}: {first}" for first, hidden in widths if hidden > 0)
    assert cut == []
    page.goto((site / "pipelines" / "inference.html").as_uri())
    page.locator(".language-bash pre > code", has_text="curl").scroll_into_view_if_needed()
    page.screenshot(path=screen_path("docs_serving_curl"))
