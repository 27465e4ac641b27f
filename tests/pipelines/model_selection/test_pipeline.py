"""demo_data -> data_processing -> model_selection (2 folds, 2 models) -> training through
KedroSession: the leaderboard and CV metrics in MLflow, and training using the tuned file."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import make_project, run_pipeline

pytestmark = pytest.mark.slow

TINY = {
    "model_selection": {
        "sample_rows": 600,
        "folds": 2,
        "n_iter": 2,
        "n_jobs": 1,
        "models": {"include": ["lr", "lightgbm"], "exclude": None},
    }
}


@pytest.fixture(scope="module")
def selected(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        project = make_project(tmp_path_factory.mktemp("selection"), monkeypatch)
        run_pipeline(project, "demo_data", {"demo_data": {"rows": 3000, "new_rows": 100}})
        run_pipeline(project, "data_processing")
        run_pipeline(project, "model_selection", TINY)
        yield project


def _run(name: str):
    experiment = mlflow.get_experiment_by_name("codepro_leads")
    runs = MlflowClient().search_runs(
        [experiment.experiment_id], f"tags.pipeline = '{name}'", max_results=1
    )
    return runs[0]


def test_leaderboard_cv_metrics_and_tuned_parameters_are_logged(selected):
    board = pd.read_csv(selected / "data/08_reporting/model_leaderboard.csv")
    assert list(board.columns[:4]) == ["id", "Model", "Accuracy", "AUC"]
    assert board["AUC"].between(0.5, 1.0).all()
    leaderboard = board[board["Evaluated on"] == "2-fold CV (stratifiedkfold)"]
    assert set(leaderboard["id"]) == {"lr", "lightgbm"}
    assert leaderboard["AUC"].is_monotonic_decreasing  # best first
    # Then weighted and unweighted training, judged out of time on the validation leads.
    recency = board.iloc[len(leaderboard) :]
    assert set(recency["id"]) == {
        "lightgbm_unweighted",
        *(f"lightgbm_half_life_{days}_days" for days in (15, 30, 60, 90)),
    }
    assert recency["Evaluated on"].str.startswith("validation leads (out of time)").all()
    assert recency["AUC"].is_monotonic_decreasing

    run = _run("model_selection")
    metrics = run.data.metrics
    for model_id, auc in zip(leaderboard["id"], leaderboard["AUC"], strict=True):
        assert metrics[f"cv_{model_id}_AUC"] == pytest.approx(auc)
    for model_id, auc in zip(recency["id"], recency["AUC"], strict=True):
        assert metrics[f"validation_auc_{model_id.removeprefix('lightgbm_')}"] == pytest.approx(auc)
    assert metrics["tuning_won"] in (0.0, 1.0)
    assert run.data.params["model_selection.folds"] == "2"
    artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "model_selection")}
    assert artifacts == {
        "model_selection/model_leaderboard.csv",
        "model_selection/model_leaderboard.html",
        "model_selection/model_selection_result.json",
    }
    tuned = yaml.safe_load((selected / "data/06_models/tuned_lightgbm_params.yml").read_text())
    assert tuned["tuning_won"] is bool(metrics["tuning_won"])
    assert tuned["rows"] == 600 and tuned["folds"] == 2
    assert metrics["recency_weighting_won"] == float(tuned["recency_half_life_days"] is not None)
    assert not list(selected.glob("**/logs.log"))


def _latest_classifier():
    """The LightGBM model of the newest registered version."""
    versions = MlflowClient().search_model_versions("name='codepro-lead-scorer'")
    newest = max(int(v.version) for v in versions)
    model = mlflow.pyfunc.load_model(f"models:/codepro-lead-scorer/{newest}")
    return model.unwrap_python_model().scorer.model


def test_training_uses_the_tuned_parameters_when_present_and_switched_on(selected):
    tuned = yaml.safe_load((selected / "data/06_models/tuned_lightgbm_params.yml").read_text())
    run_pipeline(selected, "training")
    params = _latest_classifier().get_params()
    for name, value in tuned["lightgbm"].items():
        assert params[name] == value, name
    assert params["random_state"] == 42  # untuned settings stay

    run_pipeline(selected, "training", {"training": {"use_tuned_params": False}})
    assert _latest_classifier().get_params()["num_leaves"] == 40  # CodePro's configuration
