"""Start-up: a run imports what its pipelines need, and kedro-mlflow works for tracked runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession

from tests.conftest import make_raw

pytestmark = pytest.mark.slow

# A data_processing run as an Airflow task runs it, in a fresh interpreter; prints the heavy
# libraries and the other pipelines' modules it imported.
_RUN = """
import json, sys
from pathlib import Path
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

project = Path(sys.argv[1])
bootstrap_project(project)
with KedroSession.create(project_path=project, runtime_params=json.loads(sys.argv[2])) as s:
    s.run(pipeline_names=["data_processing"])
heavy = ["mlflow", "kedro_mlflow", "lightgbm", "sklearn", "matplotlib"]
others = [f"codepro_leads.pipelines.{name}" for name in ("inference", "training", "outcomes")]
print(json.dumps({
    "imported": [name for name in heavy if name in sys.modules],
    "other pipelines": [name for name in others if name in sys.modules],
}))
"""


def test_data_processing_imports_no_mlflow_or_model_libraries(project, processing_params):
    raw = project / "export.csv"
    make_raw(processing_params, [{"": 1}, {"": 2, "app_complete_flag": 0}]).to_csv(raw, index=False)
    env = {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _RUN, str(project), json.dumps({"raw_leads_path": str(raw)})],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout.splitlines()[-1]) == {
        "imported": [],
        "other pipelines": [],
    }
    assert (project / "data/05_model_input/model_input_leads.parquet").is_file()
    assert not (project / "mlflow.db").exists()  # no tracking store touched


@pytest.mark.parametrize(
    ("requested", "configured"),
    [(["data_processing"], False), (["demo_data", "data_processing"], False), (["training"], True)],
)
def test_kedro_mlflow_set_up_only_for_tracked_runs(project, requested, configured):
    pipelines.set_requested(requested)  # what session.run() does before creating the context
    try:
        with KedroSession.create(project_path=project) as session:
            context = session.load_context()
    finally:
        pipelines.set_requested(None)
    assert hasattr(context, "mlflow") is configured
    if configured:  # kedro-mlflow's own set-up: its config, with this project's store
        assert context.mlflow.server.mlflow_tracking_uri == f"sqlite:///{project / 'mlflow.db'}"


def test_session_without_a_run_gets_kedro_mlflow_config(project):
    """``kedro mlflow ui`` and notebooks load a context without running a pipeline."""
    with KedroSession.create(project_path=project) as session:
        context = session.load_context()
    assert context.mlflow.tracking.disable_tracking.pipelines == ["demo_data", "data_processing"]
