"""The app as `make app` starts it, driven in headless Chromium on a project that has run as
`make run` runs it (scores stored, outcomes measured): each page is checked for what a user
must see and saved as a screenshot in data/08_reporting/screens/ (git-ignored)."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest

from codepro_leads.app import tables
from codepro_leads.app.__main__ import streamlit_command
from tests.browser import browser_page, screen_path
from tests.conftest import run_pipeline
from tests.services import free_port, stop_process_group

_READY_TIMEOUT_S = 90
_WAIT_MS = 90_000
# Headings of the leads' table, as shown (Leads to call, Score a file's preview).
LEAD_HEADINGS = [tables.LEADS[col]["label"] for col in tables.LEAD_VIEW]
SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


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
def app_url(trained_project, tmp_path) -> Iterator[str]:
    """The app serving the trained project, after its new leads were scored and their outcomes
    measured, on a free port, in its own process group."""
    run_pipeline(trained_project, "inference")
    run_pipeline(trained_project, "outcomes", {"outcomes": {"min_matched_leads": 100}})
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


@pytest.fixture
def page(chromium):
    with browser_page(chromium, 1400, 1000) as page:
        yield page


def _save_screen(page, name: str) -> None:
    """The whole page as a PNG: Streamlit scrolls inside its main area, so the window is made
    as tall as that area for the shot."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, height)})
    page.wait_for_timeout(1500)  # charts redraw at the new size
    path = screen_path(name)
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000


def _headings(page) -> list[list[str]]:
    """The column headings of each table on the page."""
    return [
        table.locator('[role="columnheader"]').all_inner_texts()
        for table in page.locator('[data-testid="stDataFrame"]').all()
    ]


def _overflow(page) -> list[tuple[int, int]]:
    """(hidden width, hidden height) of each table: what a user would have to scroll to."""
    return [
        (sw - cw, sh - ch)
        for sw, cw, sh, ch in page.evaluate(
            """() => [...document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')]
                .map(e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight])"""
        )
    ]


def _charts(page) -> int:
    return page.locator('[data-testid="stVegaLiteChart"]').count()


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_a_lead_typed_in_the_browser_gets_the_champions_score(page, app_url, champion):
    page.goto(app_url)
    submit = page.get_by_role("button", name="Score this lead")
    submit.wait_for(timeout=_WAIT_MS)
    page.get_by_label("Lead id").fill("B-42")
    page.get_by_label("City").click()
    page.keyboard.type("Springfield")  # not a city the project knows: free text
    page.keyboard.press("Enter")
    page.get_by_label("Leads dropped").fill("3")
    page.get_by_text("Referred by someone").click()
    submit.click()
    page.get_by_text("Lead B-42 scored by ").wait_for(timeout=60_000)  # the last element
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    _save_screen(page, "score_a_lead")

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
    assert values == [
        str(expected["score"]),
        expected["grade"],
        f"{expected['probability']:.1%}",
        "yes" if expected["is_junk"] else "no",
    ]


def test_score_a_file_shows_counts_and_leads_in_words(page, app_url, trained_project, tmp_path):
    raw = pd.read_csv(trained_project / "data" / "01_raw" / "new_leads.csv", dtype=str)
    raw = raw.rename(columns={raw.columns[0]: "lead_id"})
    raw.loc[4, "created_date"] = "yesterday"
    upload = tmp_path / "leads.csv"
    raw.to_csv(upload, index=False)

    page.goto(f"{app_url}/score_file")
    page.locator('input[type="file"]').set_input_files(upload)
    page.get_by_text("Download the scored file").wait_for(timeout=_WAIT_MS)
    page.get_by_text("The first 100 scored leads").wait_for(timeout=_WAIT_MS)
    success = page.locator('[data-testid="stAlertContentSuccess"]').inner_text()
    _save_screen(page, "score_a_file")

    assert success.startswith("leads.csv: 1,000 rows, 999 scored, 1 rejected, in ")
    assert _headings(page) == [
        ["Grade", "Leads"],
        ["Row", "Lead", "Why it was not scored"],
        LEAD_HEADINGS,
    ]
    assert _overflow(page) == [(0, 0)] * 3  # every column in view, the preview full height
    assert _charts(page) == 1  # the grades


def test_leads_to_call_lists_the_best_leads_at_full_height(page, app_url):
    page.goto(f"{app_url}/leads_to_call")
    page.get_by_text("Export this list").wait_for(timeout=_WAIT_MS)
    page.locator('[role="columnheader"]').first.wait_for(state="attached", timeout=_WAIT_MS)
    summary = page.locator('[data-testid="stMarkdown"]').first.inner_text()
    _save_screen(page, "leads_to_call")

    assert re.fullmatch(
        r"[\d,]+ leads of 1,000, best score first \(the first 100 shown; the export has all\)\. "
        r"Scored by v1, latest at \d{4}-\d\d-\d\d \d\d:\d\d\.",
        summary,
    )
    assert _headings(page) == [LEAD_HEADINGS]
    assert _overflow(page) == [(0, 0)]
    assert SNAKE_CASE.findall(_main_text(page)) == []


def test_model_page_shows_single_points_as_numbers_and_tables_in_words(page, app_url):
    page.goto(f"{app_url}/model_health")
    page.get_by_text("Realized performance").wait_for(timeout=_WAIT_MS)
    page.locator('[role="columnheader"]').first.wait_for(state="attached", timeout=_WAIT_MS)
    metrics = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    text = _main_text(page)
    _save_screen(page, "model_and_monitoring")

    # One monitoring run and one scoring week: figures, not charts of one point.
    assert _charts(page) == 2  # completion rate by grade, score distribution
    assert metrics[5:] == ["v1 champion"]  # the realized ROC AUC, after the 5 test metrics
    assert re.search(r"Realized ROC AUC, week of \w{3} \d\d\s+v1 champion\s+0\.\d{3}$", text)
    assert _headings(page) == [
        [tables.MONITORING[col]["label"] for col in tables.MONITORING],
        [tables.PERFORMANCE[col]["label"] for col in tables.PERFORMANCE],
    ]
    assert _overflow(page) == [(0, 0), (0, 0)]
    assert re.search(r"\(largest PSI 0\.\d{3} on [A-Z][a-z ]+, 1,000 leads\)", text)
    assert SNAKE_CASE.findall(text) == []
