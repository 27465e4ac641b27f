"""The MLflow UI as `make mlflow-ui` starts it, on a small trained project, in headless
Chromium: a training run's page, the registry list and a model version's page show what a user
comes for. Screenshots go to data/08_reporting/screens/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow import MlflowClient

from codepro_leads.features.processing import raw_columns
from tests.browser import browser_page, screen_path
from tests.conftest import PROJECT_ROOT, load_params, make_project, train_small_demo
from tests.services import free_port, stop_process_group

pytestmark = pytest.mark.slow

MODEL = "codepro-lead-scorer"


def mlflow_ui_command(port: int) -> tuple[list[str], dict[str, str]]:
    """The Makefile's mlflow-ui command on ``port``, read from the Makefile itself."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = re.search(r"^mlflow-ui:.*\n\t(.*\\\n)*.*", makefile, re.M)
    words = recipe.group(0).split("\n", 1)[1].replace("\\\n", " ").split()
    env = dict(word.split("=", 1) for word in words if re.fullmatch(r"[A-Z_]+=\S*", word))
    command = [word for word in words if not re.fullmatch(r"[A-Z_]+=\S*", word)]
    command[0] = str(Path(sys.executable).with_name("mlflow"))  # $(BIN)/mlflow
    return [*command[:-1], str(port)], env


@pytest.fixture(scope="module")
def mlflow_ui(tmp_path_factory):
    """One training run in a small project, and `make mlflow-ui`'s server on it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = train_small_demo(make_project(tmp_path_factory.mktemp("mlflow_ui"), monkeypatch))
        client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
        experiment = client.get_experiment_by_name("codepro_leads")
        (run,) = client.search_runs([experiment.experiment_id])
    port = free_port()
    command, env = mlflow_ui_command(port)
    log = root / "mlflow_ui.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            command,
            cwd=root,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as one
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url, experiment, run, server
    finally:
        stop_process_group(server)


@pytest.fixture
def page(chromium):
    with browser_page(chromium, 1600, 1000) as page:
        yield page


def test_the_training_run_page_shows_its_rounded_metrics(mlflow_ui, page):
    url, experiment, run, _ = mlflow_ui
    # The documented link: MLflow's model-training views (its default is GenAI's).
    page.goto(
        f"{url}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}"
        "?workflowType=machine_learning"
    )
    page.get_by_text(run.info.run_name).first.wait_for(timeout=60_000)
    auc = f"{run.data.metrics['test_roc_auc']:.4f}"
    page.get_by_role("cell", name=auc, exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=screen_path("mlflow_training_run"), full_page=True)
    text = page.inner_text("body")
    assert "training run" in text
    assert "test_roc_auc" in text
    assert "Evaluation runs" not in text  # GenAI's sidebar


def test_the_documented_runs_view_lists_the_training_runs_only(mlflow_ui, page):
    url, experiment, run, _ = mlflow_ui
    page.goto(
        f"{url}/#/experiments/{experiment.experiment_id}/runs?workflowType=machine_learning"
        "&searchFilter=tags.pipeline%20%3D%20%27training%27"
    )
    page.get_by_text("1 matching run").wait_for(timeout=60_000)
    page.screenshot(path=screen_path("mlflow_training_runs"))
    assert "Evaluation runs" not in page.inner_text("body")


def test_the_registry_list_shows_the_champion_version(mlflow_ui, page):
    url, *_ = mlflow_ui
    page.goto(f"{url}/#/models?workflowType=machine_learning")
    page.get_by_text(MODEL).first.wait_for(timeout=60_000)
    page.get_by_text("version 1").first.wait_for(timeout=30_000)
    page.keyboard.press("Escape")  # MLflow's one-time pop-up about its new registry UI
    page.get_by_role("dialog").wait_for(state="hidden", timeout=10_000)
    page.wait_for_timeout(1000)  # the pop-up's grey mask fades out
    page.screenshot(path=screen_path("mlflow_registry"), full_page=True)
    assert "champion" in page.inner_text("body")


def test_the_version_page_lists_the_inputs_a_request_carries(mlflow_ui, page):
    url, *_ = mlflow_ui
    params = load_params("data_processing")
    inputs = [params["key_column"], *raw_columns(params)]
    page.goto(f"{url}/#/models/{MODEL}/versions/1?workflowType=machine_learning")
    # "Inputs (0)" until the version's MLmodel (its signature) has loaded.
    heading = page.get_by_text(f"Inputs ({len(inputs)})", exact=True)
    heading.wait_for(timeout=60_000)
    heading.click()  # the schema's rows start folded
    page.get_by_text("whatsapp_chat_click").wait_for(timeout=10_000)
    page.get_by_text("Schema", exact=True).evaluate("node => node.scrollIntoView()")
    page.screenshot(path=screen_path("mlflow_model_version"))
    lines = page.inner_text("body").splitlines()
    # Each raw column, optional, of any type: the model judges the values itself.
    listed = lines.index(f"Inputs ({len(inputs)})") + 1
    assert lines[listed : listed + 2 * len(inputs)] == [
        line for col in inputs for line in (f"{col} (optional)", "any")
    ]


def test_make_mlflow_ui_starts_one_worker_and_no_job_consumers(mlflow_ui):
    """Last in the module: MLflow starts its job runner and consumers (huey) seconds after the
    server answers, when job execution is on."""
    *_, server = mlflow_ui
    command, env = mlflow_ui_command(5000)
    assert env == {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    assert command[command.index("--workers") + 1] == "1"
    processes = subprocess.run(
        ["pgrep", "-g", str(server.pid), "-a"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # The mlflow command and its single uvicorn process, nothing else.
    assert len(processes) == 2, processes
    assert "uvicorn" in processes[1] and "--workers 1" in processes[1]
