"""Start-up: kedro-mlflow's own hook and commands, configured by mlflow.yml; settings' env."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kedro.framework.session import KedroSession
from mlflow.tracking import MlflowClient

from tests.conftest import make_raw, run_pipeline

pytestmark = pytest.mark.slow


def _kedro(project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=project,
        env={**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"},
        capture_output=True,
        text=True,
        check=True,
    )


def test_kedro_mlflow_commands_are_listed(project):
    assert (
        "mlflow  Use mlflow-specific commands inside kedro project."
        in _kedro(project, "--help").stdout
    )
    help_lines = _kedro(project, "mlflow", "--help").stdout.splitlines()
    commands = help_lines[help_lines.index("Commands:") + 1 :]
    assert [line.split()[0] for line in commands if line.strip()] == ["init", "modelify", "ui"]


def test_data_processing_is_not_tracked(project, processing_params):
    raw = project / "export.csv"
    make_raw(processing_params, [{"": 1}, {"": 2, "app_complete_flag": 0}]).to_csv(raw, index=False)
    params = {"raw_leads_path": str(raw), "data_processing": {"min_rows": 1}}  # 2 leads
    run_pipeline(project, "data_processing", params)
    assert (project / "data/05_model_input/model_input_leads.parquet").is_file()
    # disable_tracking (mlflow.yml): an untracked pipeline never opens MLflow's store.
    assert not (project / "mlflow.db").exists()


def test_a_tracked_run_after_an_untracked_one_in_the_same_process(project, processing_params):
    """One hook object serves every session of a process (tests, notebooks)."""
    raw = project / "export.csv"
    make_raw(processing_params, [{"": i, "app_complete_flag": i % 2} for i in range(40)]).to_csv(
        raw, index=False
    )
    # The 40 rows differ only by key: 2 leads are left after duplicates are dropped.
    params = {"raw_leads_path": str(raw), "data_processing": {"min_rows": 1}}
    run_pipeline(project, "data_processing", params)
    run_pipeline(project, "profiling", {"raw_leads_path": str(raw)})
    run_pipeline(project, "data_processing", params)
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("codepro_leads")
    runs = client.search_runs([experiment.experiment_id])
    assert [(run.info.run_name.split()[0], run.info.status) for run in runs] == [
        ("profiling", "FINISHED")
    ]


def test_a_session_gets_kedro_mlflows_config_with_this_projects_store(project):
    """``kedro mlflow ui`` and notebooks load a context without running a pipeline."""
    with KedroSession.create(project_path=project) as session:
        context = session.load_context()
    assert context.mlflow.tracking.disable_tracking.pipelines == ["demo_data", "data_processing"]
    assert context.mlflow.server.mlflow_tracking_uri == f"sqlite:///{project / 'mlflow.db'}"


def test_do_not_track_switches_mlflow_telemetry_off():
    """DO_NOT_TRACK=1 (as the Makefile sets it) reaches MLflow, which only reads "true"."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_DISABLE_TELEMETRY"}
    # The variable MLflow reads (mlflow.environment_variables.MLFLOW_DISABLE_TELEMETRY), as
    # settings leave it for MLflow to read later.
    code = "import os, codepro_leads.settings; print(os.environ.get('MLFLOW_DISABLE_TELEMETRY'))"
    out = {}
    for value in ("1", "0"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "DO_NOT_TRACK": value},
            capture_output=True,
            text=True,
            check=True,
        )
        out[value] = result.stdout.split()[-1]
    assert out == {"1": "true", "0": "None"}
