"""demo_data -> data_processing -> training through KedroSession, against a temporary SQLite
MLflow store: the registry, the promotion gate, and the logged model scoring raw rows."""

from __future__ import annotations

import json
import logging

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from codepro_leads.features.processing import prepare_leads
from tests.conftest import LOW_FLOOR, load_params, run_pipeline

MODEL = "codepro-lead-scorer"

pytestmark = pytest.mark.slow


def _aliases(version: str) -> list[str]:
    return MlflowClient().get_model_version(MODEL, version).aliases


def _run_file(project, name: str):
    """The one file ``name`` that the (single) training run wrote in its run folder."""
    (path,) = project.glob(f"data/08_reporting/runs/*/{name}")
    return path


def test_first_model_is_registered_as_champion_with_metrics_and_plots(trained_project):
    client = MlflowClient()
    version = client.get_model_version_by_alias(MODEL, "champion")
    assert str(version.version) == "1"
    run = client.get_run(version.run_id)
    metrics = run.data.metrics
    assert 0.7 < metrics["test_roc_auc"] < 0.9
    # The true propensity knows each lead's month (demo leads drift); the model cannot.
    assert abs(metrics["test_roc_auc"] - metrics["test_best_achievable_auc"]) < 0.04
    for name in ("test_pr_auc", "test_brier", "test_log_loss", "test_junk_share", "data_rows"):
        assert name in metrics
    # Weighted next to unweighted, and CodePro's recipe on the same test leads.
    assert metrics["recency_half_life_days"] == 15
    assert 0.6 < metrics["test_unweighted_roc_auc"] < 0.9
    assert metrics["test_roc_auc"] >= metrics["baseline_roc_auc"] - 0.005
    assert metrics["test_roc_auc_lift_over_baseline"] == pytest.approx(
        metrics["test_roc_auc"] - metrics["baseline_roc_auc"]
    )
    for name in ("precision", "recall", "accuracy", "f1"):
        assert 0 < metrics[f"baseline_{name}"] < 1
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
    card = json.loads(_run_file(trained_project, "model_card.json").read_text())
    assert card["recency"]["half_life_days"] == 15
    assert card["recency"]["test_auc"] == pytest.approx(metrics["test_roc_auc"])
    assert card["recency"]["test_auc_unweighted"] == pytest.approx(
        metrics["test_unweighted_roc_auc"]
    )
    assert card["baseline"]["test_auc"] == pytest.approx(metrics["baseline_roc_auc"])
    assert version.tags["promotion"].endswith(
        f"; lift over the baseline (CodePro's recipe, test AUC {metrics['baseline_roc_auc']:.4f}): "
        f"{metrics['test_roc_auc'] - metrics['baseline_roc_auc']:+.4f}"
    )
    # The card records the champion comparison: none for a first model.
    assert card["champion_comparison"]["champion_version"] is None
    assert card["champion_comparison"]["candidate_auc"] is None
    assert card["features"] == [
        "total_leads_droppped",
        "city_tier",
        "referred_lead",
        "first_platform_c",
        "first_utm_medium_c",
        "first_utm_source_c",
    ]


def test_logged_model_scores_raw_rows_like_the_shared_processing_and_scorer(trained_project):
    raw = pd.read_csv(trained_project / "data/01_raw/new_leads.csv").head(40)
    raw = raw.rename(columns={"Unnamed: 0": "lead_id"})
    loaded = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    served = pd.DataFrame(loaded.predict(raw))

    model = loaded.unwrap_python_model()
    expected = model.scorer.score(prepare_leads(raw, load_params("data_processing"))[0])
    assert served["lead_id"].tolist() == raw["lead_id"].astype(str).tolist()  # keys are text
    # The served answer rounds for clients; score and grade come from the full probability.
    assert served["probability"].tolist() == expected["probability"].round(4).tolist()
    assert served["score"].tolist() == expected["score"].tolist()
    assert served["grade"].tolist() == expected["grade"].tolist()
    assert served["rejected_reason"].isna().all()


def test_a_retrain_on_identical_data_and_parameters_registers_nothing(trained_project, caplog):
    with caplog.at_level(logging.INFO):
        run_pipeline(trained_project, "training", LOW_FLOOR)  # v1's data and parameters
    client = MlflowClient()
    assert [str(v.version) for v in client.search_model_versions(f"name='{MODEL}'")] == ["1"]
    assert _aliases("1") == ["champion"]
    reason = "data and parameters identical to v1 (@champion): nothing registered, no alias moved"
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Decision:")]
    assert said == [f"Decision: {MODEL}: {reason}"]
    lines = caplog.records[-1].getMessage().splitlines()
    assert lines[0] == (
        "Summary: training registered nothing: the data and parameters are identical to "
        "v1 (@champion)."
    )
    assert lines[-1] == (
        "Next: train on new leads or with changed parameters to register a new version"
    )
    (run,) = client.search_runs(
        [client.get_run(client.get_model_version(MODEL, "1").run_id).info.experiment_id],
        "tags.promotion_alias = 'none'",
    )
    assert run.data.tags["promotion_reason"] == reason

    # One parameter changed: a new version, judged by the gate.
    other_seed = {"training": {**LOW_FLOOR["training"], "lightgbm": {"random_state": 7}}}
    run_pipeline(trained_project, "training", other_seed)
    versions = {str(v.version): v for v in client.search_model_versions(f"name='{MODEL}'")}
    assert sorted(versions) == ["1", "2"]
    assert versions["2"].tags["training_key"] != versions["1"].tags["training_key"]
    assert versions["2"].tags["promotion"]


# A few thousand demo leads leave ~800 test leads: compare on them all.
COMPARE_ALL = {"min_comparison_leads": 100}


def test_promotion_gate(trained_project, caplog):
    # Same data and model settings (another comparison setting: a new version): no better, so
    # the alias stays on version 1.
    with caplog.at_level(logging.INFO):
        run_pipeline(
            trained_project,
            "training",
            {"training": {**LOW_FLOOR["training"], "registry": COMPARE_ALL}},
        )
    assert _aliases("1") == ["champion"]
    assert _aliases("2") == ["challenger"]
    reason = MlflowClient().get_model_version(MODEL, "2").tags["promotion"]
    assert "same training data, not better" in reason
    # The decision is said once, as applied, then the summary ends the run.
    said = [r.getMessage() for r in caplog.records if reason in r.getMessage()]
    assert said == [f"Decision: {MODEL} v2 -> @challenger: {reason}"]
    summary = caplog.records[-1]
    assert summary.name == "codepro_leads.run_summary"
    assert summary.getMessage().splitlines()[0] == (
        f"Summary: training registered {MODEL} v2: the challenger, the champion stays."
    )

    # New data and a deliberately worse model (no UTM features): not promoted either.
    run_pipeline(trained_project, "demo_data", {"demo_data": {"seed": 7, "rows": 4000}})
    run_pipeline(trained_project, "data_processing")
    no_floor = {"roc_auc": 0.5, "precision": 0.0, "recall": 0.0}
    worse = {
        "training": {
            "quality_floor": no_floor,
            "features": {"categorical": []},
            "registry": COMPARE_ALL,
        }
    }
    run_pipeline(trained_project, "training", worse)
    assert _aliases("1") == ["champion"]
    assert _aliases("2") == []  # the challenger alias moved on
    assert _aliases("3") == ["challenger"]
    assert (
        "worse by more than 0.005" in MlflowClient().get_model_version(MODEL, "3").tags["promotion"]
    )
