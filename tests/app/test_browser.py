"""The app as `make app` starts it, driven in headless Chromium: a lead typed into the form
gets the champion's score, and a screenshot shows it."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from datetime import date

import pandas as pd
import pytest

from codepro_leads.app.__main__ import streamlit_command
from tests.browser import HEADLESS_FLAGS
from tests.conftest import PROJECT_ROOT
from tests.services import free_port, stop_process_group

SCREENSHOT = PROJECT_ROOT / "data" / "08_reporting" / "app_score_a_lead.png"
_READY_TIMEOUT_S = 90


def _wait_until_healthy(server: subprocess.Popen, url: str, log) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.3)


@pytest.fixture
def app_url(trained_project, tmp_path):
    """The app serving the trained project on a free port, in its own process group."""
    port = free_port()
    log = tmp_path / "app.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            streamlit_command(port),
            cwd=trained_project,
            env=dict(os.environ),  # the project's MLFLOW_TRACKING_URI
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(server, url, log)
        yield url
    finally:
        stop_process_group(server)


def test_a_lead_typed_in_the_browser_gets_the_champions_score(chromium, app_url, champion):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=[f for f in HEADLESS_FLAGS if f != "--headless"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(app_url)
            submit = page.get_by_role("button", name="Score this lead")
            submit.wait_for(timeout=90_000)
            page.get_by_label("Lead id").fill("B-42")
            page.get_by_label("City").click()
            page.keyboard.type("Springfield")  # not a city the project knows: free text
            page.keyboard.press("Enter")
            page.get_by_label("Leads dropped").fill("3")
            page.get_by_text("Referred by someone").click()
            submit.click()
            page.get_by_text("Lead B-42 scored by ").wait_for(timeout=60_000)  # the last element
            values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOT, full_page=True)
        finally:
            browser.close()

    model = champion.model
    levels = model.scorer.encoder.categorical_levels
    record = {
        "lead_id": "B-42",
        "created_date": date.today().isoformat(),
        "city_mapped": "Springfield",
        **{col: levels[col][0] for col in model.processing_params["categorical_columns"]},
        "total_leads_droppped": 3,
        "referred_lead": 1,
        **{
            col: 0
            for cols in model.processing_params["interaction_groups"].values()
            for col in cols
        },
    }
    expected = model.answer(pd.DataFrame([record])).iloc[0]
    assert values[:2] == [str(expected["score"]), expected["grade"]]
    assert SCREENSHOT.stat().st_size > 10_000
