"""The sales app's latency, measured as a user meets it: `make app`'s server on a trained
scratch project, driven in headless Chromium (Playwright, Debian's /usr/bin/chromium).

- form: a lead typed into "Score a lead", from the click (once dispatched) to the score on the
  page (browser round trip), and the champion's ``predict`` inside the app process (the page's
  own timing);
- upload: a file of N raw new leads on "Score a file", from handing the file to the page to
  the scored summary on screen (wall), and the read + validate + score inside the app.

Prints each measure, the medians and the server's peak RSS. Target: a lead no slower than the
HTTP server's 84 ms p50.

    .venv/bin/python benchmarks/bench_app.py --rows 25000 --leads 10 --uploads 3
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from harness import scratch_project, timed_run, write_demo_leads

from codepro_leads.app.__main__ import streamlit_command

NO_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.0, "precision": 0.0, "recall": 0.0}}}
CHROMIUM = "/usr/bin/chromium"
_SHOWN = "text => document.body.innerText.includes(text)"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_app(project: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        streamlit_command(port),
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return server, url
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the app did not start")


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


def _form_round_trips(page, url: str, leads: int) -> tuple[list[float], list[float]]:
    page.goto(url)
    submit = page.get_by_role("button", name="Score this lead")
    submit.wait_for(timeout=120_000)
    round_trips, in_app = [], []
    for i in range(leads + 1):  # the first one loads the model into the server: not counted
        page.get_by_label("Lead id").fill(f"B-{i}")
        submit.click()  # returns once the click is dispatched (after Playwright's own checks)
        start = time.perf_counter()
        # Checked every animation frame (a locator's wait polls at up to 1 s intervals).
        page.wait_for_function(_SHOWN, arg=f"Lead B-{i} scored by ", polling="raf")
        elapsed = time.perf_counter() - start
        answer = page.get_by_text(f"Lead B-{i} scored by ")  # the answer's last element
        if i:
            round_trips.append(elapsed * 1000)
            in_app.append(float(re.search(r" in ([\d.]+) ms", answer.inner_text())[1]))
    return round_trips, in_app


def _upload_times(page, url: str, leads: Path, uploads: int) -> tuple[list[float], list[float]]:
    walls, in_app = [], []
    for _ in range(uploads):
        page.goto(f"{url}/score_file")
        chooser = page.locator('input[type="file"]')
        chooser.wait_for(state="attached", timeout=120_000)
        start = time.perf_counter()
        chooser.set_input_files(leads)
        page.wait_for_function(_SHOWN, arg=" rejected, in ", polling="raf", timeout=600_000)
        walls.append(time.perf_counter() - start)
        done = page.get_by_text(re.compile(r"rows, [\d,]+ scored, [\d,]+ rejected, in"))
        in_app.append(float(re.search(r"in ([\d.]+) s", done.inner_text())[1]))
    return walls, in_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=25_000, help="leads in the uploaded file")
    parser.add_argument("--training-rows", type=int, default=240_000)
    parser.add_argument("--leads", type=int, default=10, help="form submissions measured")
    parser.add_argument("--uploads", type=int, default=3)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    project = scratch_project()
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{project / 'mlflow.db'}"
    labeled, new = project / "leads.csv", project / "new_leads.csv"
    write_demo_leads(labeled, args.training_rows)
    write_demo_leads(new, args.rows, labeled=False)
    timed_run(project, "data_processing", {"raw_leads_path": str(labeled)})
    timed_run(project, "training", NO_FLOOR)

    server, url = _start_app(project)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            round_trips, predict_ms = _form_round_trips(page, url, args.leads)
            walls, upload_in_app = _upload_times(page, url, new, args.uploads)
            browser.close()
        peak = _peak_rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    def show(label: str, values: list[float], unit: str) -> None:
        listed = ", ".join(f"{v:.1f}" for v in values)
        print(f"{label}: median {statistics.median(values):.1f} {unit} ({listed})")

    show("form, browser round trip", round_trips, "ms")
    show("form, predict in the app", predict_ms, "ms")
    show(f"upload {args.rows:,} leads, browser wall", walls, "s")
    show(f"upload {args.rows:,} leads, read+score in the app", upload_in_app, "s")
    print(f"app server peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
