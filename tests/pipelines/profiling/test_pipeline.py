"""demo_data -> data_processing -> profiling through KedroSession: reports and summaries in
data/08_reporting/ and in the MLflow run."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from codepro_leads.datasets import RawLeadsDataset
from codepro_leads.pipelines.profiling.nodes import summarize_leads
from tests.conftest import load_params, make_project, run_pipeline

pytestmark = pytest.mark.slow


def test_profiling_writes_reports_and_exact_summaries_locally_and_to_mlflow(tmp_path, monkeypatch):
    project = make_project(tmp_path, monkeypatch)
    run_pipeline(project, "demo_data", {"demo_data": {"rows": 2000, "new_rows": 100}})
    run_pipeline(project, "data_processing")
    run_pipeline(project, "profiling")

    reporting = project / "data/08_reporting"
    processing = load_params("data_processing")
    raw = RawLeadsDataset(str(project / "data/01_raw/leadscoring.csv")).load()
    leads = pd.read_parquet(project / "data/05_model_input/model_input_leads.parquet")
    for name, frame in [("raw_leads", raw), ("model_input_leads", leads)]:
        summary = json.loads((reporting / f"{name}_summary.json").read_text())
        assert summary == json.loads(json.dumps(summarize_leads(frame, processing)))
        html = (reporting / f"{name}_profile.html").read_text()
        assert "Correlations" in html  # present on the raw export too (auto is off there)
    assert (
        json.loads((reporting / "raw_leads_summary.json").read_text())["rows"] == len(raw) == 2000
    )

    experiment = mlflow.get_experiment_by_name("codepro_leads")
    run = MlflowClient().search_runs([experiment.experiment_id], max_results=1)[0]
    assert run.data.tags["pipeline"] == "profiling"
    artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "profiling")}
    assert artifacts == {
        f"profiling/{name}_{kind}"
        for name in ("raw_leads", "model_input_leads")
        for kind in ("profile.html", "summary.json")
    }
