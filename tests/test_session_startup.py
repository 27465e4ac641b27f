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
heavy = ["mlflow", "kedro_mlflow", "sqlalchemy", "lightgbm", "sklearn", "matplotlib"]
others = [f"codepro_leads.pipelines.{name}" for name in ("inference", "training", "outcomes")]
print(json.dumps({
    "imported": [name for name in heavy if name in sys.modules],
    "other pipelines": [name for name in others if name in sys.modules],
}))
"""


# `kedro run` as a user types it (Kedro's CLI, plugin commands and all); prints at exit the
# heavy libraries the process imported.
_CLI = """
import atexit, json, runpy, sys
heavy = ["mlflow", "sqlalchemy", "lightgbm", "sklearn", "matplotlib"]
atexit.register(lambda: print(json.dumps([name for name in heavy if name in sys.modules])))
sys.argv[0] = "kedro"
runpy.run_module("kedro", run_name="__main__")
"""


def _cli(project, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def test_kedro_run_command_imports_no_mlflow(project, processing_params):
    """Kedro's CLI imports every plugin's commands first: kedro-mlflow's import MLflow."""
    raw = project / "export.csv"
    make_raw(processing_params, [{"": 1}]).to_csv(raw, index=False)
    out = _cli(
        project, "run", "--pipelines", "data_processing", "--params", f"raw_leads_path={raw}"
    )
    assert json.loads(out.stdout.splitlines()[-1]) == []
    assert (project / "data/05_model_input/model_input_leads.parquet").is_file()


def test_kedro_mlflow_commands_still_listed_and_loaded_on_demand(project):
    listing = _cli(project, "--help").stdout
    assert "mlflow  Use mlflow-specific commands inside kedro project." in listing
    assert json.loads(listing.splitlines()[-1]) == ["mlflow"]  # its help text is kedro-mlflow's
    help_lines = _cli(project, "mlflow", "--help").stdout.splitlines()
    commands = help_lines[help_lines.index("Commands:") + 1 : -1]
    assert [line.split()[0] for line in commands] == ["init", "modelify", "ui"]


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


def test_kedro_mlflow_names_its_metric_datasets_without_materialising_the_catalog():
    """kedro-mlflow's catalog hook sees the metric datasets alone: an entry whose class cannot
    even be imported stays untouched, and the metric dataset still gets its name as prefix."""
    from kedro.io import DataCatalog
    from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

    from codepro_leads.mlflow_tracking_hook import _MetricDatasets

    catalog = DataCatalog.from_config(
        {
            "model_metrics": {"type": "kedro_mlflow.io.metrics.MlflowMetricsHistoryDataset"},
            "unimportable": {"type": "no_such_package.NoSuchDataset"},
        }
    )
    catalog["params:training"] = {"min_class_leads": 100}
    view = _MetricDatasets(catalog)
    assert [name for name, _ in view.items()] == ["model_metrics"]
    MlflowHook().after_catalog_created(
        catalog=view,
        conf_catalog=None,
        conf_creds=None,
        parameters=None,
        save_version=None,
        load_versions=None,
    )
    assert catalog["model_metrics"]._prefix == "model_metrics"
    assert catalog.get_type("params:training") == "kedro.io.memory_dataset.MemoryDataset"


def test_tracked_runs_show_no_warning_about_kedro_mlflows_untyped_model():
    """Importing kedro-mlflow's hook makes MLflow warn, under its own "once" filter, that
    kedro-mlflow's KedroPipelineModel has no type hints: every tracked ``kedro run`` showed it."""
    code = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from codepro_leads.mlflow_tracking_hook import _batched_hook
    hook = _batched_hook()
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
print(isinstance(hook, MlflowHook), [str(w.message) for w in caught if "predict" in str(w.message)])
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "True []"


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
