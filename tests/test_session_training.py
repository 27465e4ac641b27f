"""demo_data -> data_processing -> training through KedroSession, against a temporary SQLite
MLflow store: the registry, the promotion gate, and the logged model scoring raw rows."""

from __future__ import annotations

import json
import pickle

import mlflow
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from mlflow.tracking import MlflowClient

from tests.conftest import make_project, run_pipeline

MODEL = "codepro-lead-scorer"
SMALL = {"demo_data": {"rows": 6000, "new_rows": 300}}
# The gate's mechanics, not the model's quality, are under test on 6k leads.
LOW_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.6, "precision": 0.5, "recall": 0.5}}}

pytestmark = pytest.mark.slow


def _run(project, pipeline, params=None):
    run_pipeline(project, pipeline, {**SMALL, **(params or {})})


def _aliases(version: str) -> list[str]:
    return MlflowClient().get_model_version(MODEL, version).aliases


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One project trained once for the whole module (tests run in file order)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        project = make_project(tmp_path_factory.mktemp("trained"), monkeypatch)
        for pipeline in ("demo_data", "data_processing"):
            _run(project, pipeline)
        _run(project, "training", LOW_FLOOR)
        yield project


def test_first_model_is_registered_as_champion_with_metrics_and_plots(trained):
    client = MlflowClient()
    version = client.get_model_version_by_alias(MODEL, "champion")
    assert str(version.version) == "1"
    run = client.get_run(version.run_id)
    metrics = run.data.metrics
    assert 0.7 < metrics["test_roc_auc"] < 0.9
    assert abs(metrics["test_roc_auc"] - metrics["test_best_achievable_auc"]) < 0.03
    for name in ("test_pr_auc", "test_brier", "test_log_loss", "test_junk_share", "data_rows"):
        assert name in metrics
    assert run.data.params["training.lightgbm.num_leaves"] == "40"
    assert run.data.tags["promotion_alias"] == "champion"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {
        f"plots/{name}.png"
        for name in (
            "roc",
            "precision_recall",
            "calibration",
            "feature_importance",
            "score_distribution",
            "grade_completion",
        )
    }
    card = json.loads((trained / "data/08_reporting/model_card.json").read_text())
    assert card["features"] == [
        "total_leads_droppped",
        "city_tier",
        "referred_lead",
        "first_platform_c",
        "first_utm_medium_c",
        "first_utm_source_c",
    ]


def test_logged_model_scores_raw_rows_like_the_scorer(trained):
    raw = pd.read_csv(trained / "data/01_raw/new_leads.csv").head(40)
    raw = raw.rename(columns={"Unnamed: 0": "lead_id"})
    served = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion").predict(raw)

    with open(trained / "data/06_models/lead_scorer.pkl", "rb") as handle:
        scorer = pickle.load(handle)
    with KedroSession.create(project_path=trained) as session:
        processing = session.load_context().params["data_processing"]
    from codepro_leads.pipelines.data_processing import create_pipeline
    from codepro_leads.scoring.pyfunc import run_nodes

    processed = run_nodes(
        create_pipeline(), {"raw_leads": raw, "params:data_processing": processing}
    )["model_input_leads"]
    expected = scorer.score(processed)
    assert served["lead_id"].tolist() == raw["lead_id"].tolist()
    assert served["probability"].to_numpy() == pytest.approx(expected["probability"].to_numpy())
    assert served["grade"].tolist() == expected["grade"].tolist()
    assert served["rejected_reason"].isna().all()


def test_promotion_gate(trained):
    # Same data, same settings: no better, so the alias stays on version 1.
    _run(trained, "training", LOW_FLOOR)
    assert _aliases("1") == ["champion"]
    assert _aliases("2") == ["challenger"]
    reason = MlflowClient().get_model_version(MODEL, "2").tags["promotion"]
    assert "same training data, not better" in reason

    # New data and a deliberately worse model (no UTM features): not promoted either.
    _run(trained, "demo_data", {"demo_data": {"seed": 7, "rows": 6000, "new_rows": 300}})
    _run(trained, "data_processing")
    no_floor = {"roc_auc": 0.5, "precision": 0.0, "recall": 0.0}
    worse = {"training": {"quality_floor": no_floor, "features": {"categorical": []}}}
    _run(trained, "training", worse)
    assert _aliases("1") == ["champion"]
    assert _aliases("2") == []  # the challenger alias moved on
    assert _aliases("3") == ["challenger"]
    assert (
        "worse by more than 0.005" in MlflowClient().get_model_version(MODEL, "3").tags["promotion"]
    )
