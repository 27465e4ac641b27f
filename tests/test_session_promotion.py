"""The promotion gate through KedroSession, on a private copy of a trained project (v1 is the
champion) with its own SQLite MLflow store: the alias moves only after the whole training run
has succeeded, a registry failure is never taken for "no champion", and a champion promoted by
another training meanwhile is not overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kedro_datasets.json import JSONDataset
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE
from mlflow.tracking import MlflowClient

from codepro_leads.datasets.model_registry import ModelAliasDataset
from codepro_leads.errors import UserFacingError
from tests.conftest import LOW_FLOOR, run_pipeline

MODEL = "codepro-lead-scorer"

pytestmark = pytest.mark.slow


def _train(project: Path, registry: dict | None = None, **training) -> None:
    params = {"training": {**LOW_FLOOR["training"], "registry": registry or {}, **training}}
    run_pipeline(project, "training", params)


def _client(project: Path) -> MlflowClient:
    # Explicitly: MlflowClient() follows the URI the previous session set, maybe another store.
    return MlflowClient(f"sqlite:///{project / 'mlflow.db'}")


def _champion(project: Path) -> str:
    return str(_client(project).get_model_version_by_alias(MODEL, "champion").version)


def _cause(error: BaseException, kind: type) -> BaseException:
    while error is not None and not isinstance(error, kind):
        error = error.__cause__ or error.__context__
    return error


def test_first_model_becomes_champion_with_its_decision_recorded(trained_project):
    client = _client(trained_project)
    first = client.get_model_version(MODEL, "1")
    assert first.aliases == ["champion"]
    assert first.tags["promotion"].startswith(
        "first model to pass the quality floor and the baseline (test AUC "
    )
    assert client.get_run(first.run_id).data.tags["promotion_alias"] == "champion"
    recorded = Path(client.download_artifacts(first.run_id, "promotion.json"))
    decision = json.loads(recorded.read_text())
    assert (decision["model_version"], decision["alias"], decision["comparison_rows"]) == (
        1,
        "champion",
        0,
    )


def test_retraining_on_the_same_data_compares_on_unseen_leads_and_stays_challenger(
    trained_project,
):
    _train(trained_project, {"min_comparison_leads": 100})
    version = _client(trained_project).get_model_version(MODEL, "2")
    assert version.aliases == ["challenger"]
    assert _champion(trained_project) == "1"
    assert ": same training data, not better; lift over the baseline" in version.tags["promotion"]
    # Same data, same split: v1 was fitted up to where the test leads begin, so every test
    # lead is one that neither model trained on.
    run = _client(trained_project).get_run(version.run_id)
    assert int(version.tags["comparison_rows"]) == run.data.metrics["test_leads"]
    assert run.data.tags["comparison_last_created"] == version.tags["comparison_last_created"]
    # v2's model card records the comparison its promotion rests on.
    card_path = _client(trained_project).download_artifacts(version.run_id, "model_card.json")
    comparison = json.loads(Path(card_path).read_text())["champion_comparison"]
    assert comparison["champion_version"] == "1"
    assert comparison["comparison_rows"] == int(version.tags["comparison_rows"])
    assert comparison["candidate_auc"] == run.data.metrics["test_roc_auc"]


def test_retraining_without_enough_unseen_leads_says_so_and_stays_challenger(trained_project):
    _train(trained_project, {"min_comparison_leads": 1_000_000})
    version = _client(trained_project).get_model_version(MODEL, "2")
    assert version.aliases == ["challenger"]
    assert version.tags["promotion"].startswith("not compared with champion v1 (only ")
    assert (
        "fewer than 1000000): same training data, no reason to replace it; lift over the "
        "baseline (CodePro's recipe, test AUC "
    ) in version.tags["promotion"]
    assert version.tags["comparison_rows"] == "0"


def test_failure_after_registration_promotes_nothing_and_tags_the_version(
    trained_project, monkeypatch
):
    client = _client(trained_project)

    write = JSONDataset.save.__wrapped__  # what kedro-mlflow's artifact datasets call

    def disk_full(self, data):
        if Path(self._filepath).name == "model_card.json":
            raise OSError(28, "No space left on device", str(self._filepath))
        write(self, data)

    # Without a champion the run would promote its model ("first model"); then its card, saved
    # just after the model is registered, cannot be written. Another seed: v1's data and
    # parameters would register nothing.
    client.delete_registered_model_alias(MODEL, "champion")
    monkeypatch.setattr(JSONDataset.save, "__wrapped__", disk_full)
    with pytest.raises(Exception, match="No space left on device"):
        _train(trained_project, lightgbm={"random_state": 7})
    failed = client.get_model_version(MODEL, "2")  # it was registered
    assert failed.aliases == []
    assert failed.tags == {
        "run_status": "failed",
        "promotion": "not promoted: the training run failed (DatasetError)",
    }
    assert client.get_registered_model(MODEL).aliases == {}


def test_registry_failure_on_champion_lookup_stops_the_run_with_one_line(
    trained_project, monkeypatch
):
    def locked(self, name, alias):
        # What MLflow's SQLAlchemy store raises on a locked SQLite file.
        raise MlflowException(
            "(sqlite3.OperationalError) database is locked\n[SQL: SELECT ...]",
            error_code=TEMPORARILY_UNAVAILABLE,
        )

    with monkeypatch.context() as patch:
        patch.setattr(MlflowClient, "get_model_version_by_alias", locked)
        with pytest.raises(Exception) as error:
            _train(trained_project)
    assert str(_cause(error.value, UserFacingError)) == (
        f"model registry sqlite:///{trained_project / 'mlflow.db'}: "
        f"looking up {MODEL}@champion failed: (sqlite3.OperationalError) database is locked"
    )
    assert _client(trained_project).get_registered_model(MODEL).aliases == {"champion": 1}


def test_champion_promoted_by_another_training_meanwhile_is_kept(trained_project, monkeypatch):
    client = _client(trained_project)
    # Two first trainings at once: neither finds a champion, and the other one (v2) commits
    # between this run's decision and its commit.
    client.copy_model_version(f"models:/{MODEL}/1", MODEL)
    client.delete_registered_model_alias(MODEL, "champion")
    decide = ModelAliasDataset.save

    def decide_then_other_commits(self, decision):
        decide(self, decision)
        client.set_registered_model_alias(MODEL, "champion", 2)

    monkeypatch.setattr(ModelAliasDataset, "save", decide_then_other_commits)
    _train(trained_project, lightgbm={"random_state": 7})  # not v1's parameters: a new version
    version = client.get_model_version(MODEL, "3")
    assert version.aliases == ["challenger"]
    assert version.tags["promotion"] == (
        "champion changed during the run (no champion -> v2): not compared"
    )
    assert _champion(trained_project) == "2"
