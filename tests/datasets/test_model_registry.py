"""Registry datasets against a real SQLite MLflow store, with a tiny pyfunc model: what counts
as "no champion", one-line registry failures, and the promotion gate's life cycle (decide,
then commit or fail: no alias moves before the run has succeeded)."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.io import DataCatalog, DatasetError
from kedro.pipeline import Node, Pipeline
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from codepro_leads.datasets.alias_history import AliasHistoryDataset, history_row
from codepro_leads.datasets.model_registry import (
    AliasHistoryError,
    ChampionChangeDataset,
    ModelAliasDataset,
    ModelRegistryError,
    RegisteredModelDataset,
    RegisteredVersionsDataset,
)
from codepro_leads.errors import ModelNotFoundError
from codepro_leads.hooks import PromotionHook


class TinyModel(mlflow.pyfunc.PythonModel):
    def __init__(self, label: str) -> None:
        self.label = label

    def predict(self, context, model_input, params=None):
        return model_input


class Registry:
    """One registered model name in a store, and the moves a training run makes on it."""

    def __init__(self, uri: str, name: str) -> None:
        self.uri, self.name, self.client = uri, name, MlflowClient()

    def train(self, label: str) -> str:
        """A finished run that registered a new version; returns its run id."""
        with mlflow.start_run() as run:
            self.log(label)
        return run.info.run_id

    def log(self, label: str, requirements: tuple[str, ...] = ()) -> None:
        mlflow.pyfunc.log_model(
            name="model",
            python_model=TinyModel(label),
            registered_model_name=self.name,
            # Given, they are not inferred in a subprocess (seconds).
            pip_requirements=["mlflow", *requirements],
        )

    def gate(self, run_id: str) -> ModelAliasDataset:
        gate = ModelAliasDataset(model_name=self.name)
        gate.begin(run_id, self.uri, self.uri)
        return gate

    def version(self, version: int) -> ModelVersion:
        return self.client.get_model_version(self.name, str(version))

    def promote(self, version: int) -> None:
        self.client.set_registered_model_alias(self.name, "champion", version)


def _use_store(monkeypatch: pytest.MonkeyPatch, root: Path) -> str:
    uri = f"sqlite:///{root / 'mlflow.db'}"
    monkeypatch.chdir(root)  # the default artifact root is ./mlruns
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", uri)
    monkeypatch.setattr("mlflow.tracking._model_registry.utils._registry_uri", uri)
    # An earlier in-process Kedro run leaves its experiment active: not in this store.
    mlflow.set_experiment("Default")
    return uri


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> str:
    """One SQLite store for the module (creating one takes seconds); each test registers its
    own model name, so no test sees another's versions."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _use_store(monkeypatch, tmp_path_factory.mktemp("registry"))


@pytest.fixture
def registry(shared_store, request) -> Registry:
    yield Registry(shared_store, request.node.name.replace("_", "-"))
    while mlflow.active_run():
        mlflow.end_run()


def _decision(alias: str, champion_version: str | None = None) -> dict:
    return {
        "alias": alias,
        "reason": "test reason",
        "champion_version": champion_version,
        "comparison_rows": 1200,
        "comparison_first_created": "2022-01-20 00:00:00",
        "comparison_last_created": "2022-02-14 00:00:00",
    }


def _load_error(dataset: RegisteredModelDataset) -> BaseException:
    """The error behind Kedro's DatasetError wrapper."""
    with pytest.raises(DatasetError) as error:
        dataset.load()
    return error.value.__cause__


def test_absent_model_or_alias_loads_as_none_only_when_optional(registry):
    optional = RegisteredModelDataset(model_name=registry.name, optional=True)
    assert optional.load() is None  # no registered model of that name
    registry.train("a")
    assert optional.load() is None  # the model has no champion
    error = _load_error(RegisteredModelDataset(model_name=registry.name))
    assert isinstance(error, ModelNotFoundError)
    assert str(error) == (
        f"no champion model in {registry.uri}: run `kedro run --pipeline training` first"
    )


def test_loads_the_champion_or_a_pinned_version(registry):
    registry.train("a")
    registry.train("b")
    registry.promote(1)
    champion = RegisteredModelDataset(model_name=registry.name, optional=True).load()
    assert (champion.version, champion.model.label) == ("1", "a")
    pinned = RegisteredModelDataset(model_name=registry.name, model_version=2).load()
    assert (pinned.version, pinned.model.label) == ("2", "b")
    error = _load_error(RegisteredModelDataset(model_name=registry.name, model_version=3))
    assert str(error) == (
        f"no version 3 of model {registry.name} in {registry.uri}: "
        "run `kedro run --pipeline training` first"
    )


def test_requirements_the_installed_packages_miss_are_logged(registry, caplog):
    with mlflow.start_run():
        registry.log("a", requirements=("lightgbm==0.0.1", "no-such-package==1.0", "numpy"))
    registry.promote(1)
    ours = "codepro_leads.datasets.model_registry"
    with caplog.at_level("WARNING", logger=ours):
        RegisteredModelDataset(model_name=registry.name).load()
    assert [r.getMessage() for r in caplog.records if r.name == ours] == [
        f"models:/{registry.name}/1 was logged with other packages: lightgbm==0.0.1 "
        f"(installed: {version('lightgbm')}), no-such-package==1.0 (installed: none)"
    ]
    caplog.clear()
    quiet = RegisteredModelDataset(model_name=registry.name, load_args={"suppress_warnings": True})
    with caplog.at_level("WARNING", logger=ours):
        assert quiet.load().model.label == "a"
    assert [r for r in caplog.records if r.name == ours] == []


def test_registry_failure_is_not_taken_for_no_champion(tmp_path, monkeypatch):
    uri = _use_store(monkeypatch, tmp_path)  # a store of its own: this test breaks it
    Registry(uri, "scorer").train("a")
    # A missing table fails like a locked database (SQLAlchemy's OperationalError, which
    # MLflow raises as TEMPORARILY_UNAVAILABLE): a failure, even for an optional model.
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        db.execute("DROP TABLE registered_model_aliases")
    error = _load_error(RegisteredModelDataset(model_name="scorer", optional=True))
    assert isinstance(error, ModelRegistryError)
    assert str(error) == (
        f"model registry {uri}: looking up scorer@champion failed: "
        "(sqlite3.OperationalError) no such table: registered_model_aliases"
    )


def test_champion_whose_files_are_gone_stops_with_one_line(registry):
    registry.train("a")
    registry.promote(1)
    model_id = registry.version(1).source.removeprefix("models:/")  # the logged model
    shutil.rmtree(Path(mlflow.get_logged_model(model_id).artifact_location).parent)
    error = _load_error(RegisteredModelDataset(model_name=registry.name, optional=True))
    assert isinstance(error, ModelRegistryError)
    assert str(error) == (
        f"model registry {registry.uri}: loading models:/{registry.name}/1 failed: "
        "No such artifact: ''"
    )


def test_decision_moves_no_alias_until_commit(registry):
    run_id = registry.train("a")
    gate = registry.gate(run_id)
    gate.save(_decision("champion"))
    assert registry.version(1).aliases == []
    assert gate.commit() == _decision("champion")
    version = registry.version(1)
    assert version.aliases == ["champion"]
    assert version.tags == {
        "promotion": "test reason",
        "comparison_rows": "1200",
        "comparison_first_created": "2022-01-20 00:00:00",
        "comparison_last_created": "2022-02-14 00:00:00",
    }
    tags = registry.client.get_run(run_id).data.tags
    assert (tags["model_version"], tags["promotion_alias"], tags["comparison_rows"]) == (
        "1",
        "champion",
        "1200",
    )
    recorded = registry.client.download_artifacts(run_id, "promotion.json")
    assert json.loads(Path(recorded).read_text()) == {"model_version": 1, **_decision("champion")}
    assert gate.commit() is None  # applied once


def test_failed_run_gets_no_alias_and_is_tagged_failed(registry):
    first = registry.gate(registry.train("a"))
    first.save(_decision("champion"))
    first.commit()
    run_id = registry.train("b")
    gate = registry.gate(run_id)
    gate.save(_decision("champion", champion_version="1"))
    gate.fail(OSError("disk full"))
    assert gate.commit() is None  # the decision is gone
    assert registry.version(1).aliases == ["champion"]
    failed = registry.version(2)
    assert failed.aliases == []
    assert failed.tags == {
        "run_status": "failed",
        "promotion": "not promoted: the training run failed (OSError)",
    }
    assert registry.client.get_run(run_id).data.tags["promotion_reason"] == (
        "not promoted: the training run failed (OSError)"
    )


def test_only_a_committed_version_is_tagged_with_its_training_key(registry):
    gate = registry.gate(registry.train("a"))
    gate.save({**_decision("champion"), "training_key": "k1"})
    assert "training_key" not in registry.version(1).tags  # not before the run succeeded
    gate.commit()
    assert registry.version(1).tags["training_key"] == "k1"
    failed = registry.gate(registry.train("b"))
    failed.save({**_decision("challenger"), "training_key": "k2"})
    failed.fail(OSError("disk full"))
    assert "training_key" not in registry.version(2).tags


def test_a_decision_identical_to_a_version_registers_and_moves_nothing(registry, caplog):
    registry.train("a")
    registry.promote(1)
    with mlflow.start_run() as run:
        pass  # registers no model
    gate = registry.gate(run.info.run_id)
    reason = "data and parameters identical to v1 (@champion): nothing registered, no alias moved"
    decision = {
        "alias": None,
        "reason": reason,
        "identical_to": "1",
        "identical_aliases": ["champion"],
        "training_key": "k1",
    }
    gate.save(decision)
    with caplog.at_level(logging.INFO, logger="codepro_leads.datasets.model_registry"):
        assert gate.commit() == decision
    said = [r.getMessage() for r in caplog.records if r.name.startswith("codepro_leads")]
    assert said == [f"Decision: {registry.name}: {reason}"]
    versions = registry.client.search_model_versions(f"name='{registry.name}'")
    assert [str(v.version) for v in versions] == ["1"]
    assert registry.version(1).aliases == ["champion"]
    tags = registry.client.get_run(run.info.run_id).data.tags
    assert (tags["promotion_alias"], tags["promotion_reason"]) == ("none", reason)
    recorded = registry.client.download_artifacts(run.info.run_id, "promotion.json")
    assert json.loads(Path(recorded).read_text()) == decision


def test_champion_moved_by_another_run_meanwhile_makes_a_challenger(registry):
    registry.train("a")
    registry.promote(1)
    candidate = registry.gate(registry.train("b"))  # v2, compared with v1
    candidate.save(_decision("champion", champion_version="1"))
    registry.train("c")  # v3: another training that promoted itself while v2's run went on
    registry.promote(3)
    applied = candidate.commit()
    assert applied["alias"] == "challenger"
    assert applied["reason"] == "champion changed during the run (v1 -> v3): not compared"
    assert registry.version(3).aliases == ["champion"]
    assert registry.version(2).aliases == ["challenger"]
    assert registry.version(2).tags["promotion"] == applied["reason"]


def test_two_first_models_at_once_keep_the_first_committed(registry):
    first, second = registry.gate(registry.train("a")), registry.gate(registry.train("b"))
    first.save(_decision("champion"))
    second.save(_decision("champion"))  # both found no champion
    first.commit()
    assert second.commit()["reason"] == (
        "champion changed during the run (no champion -> v1): not compared"
    )
    assert (registry.version(1).aliases, registry.version(2).aliases) == (
        ["champion"],
        ["challenger"],
    )


def test_decision_without_a_tracked_run_or_a_registered_model_fails(registry):
    with pytest.raises(DatasetError, match=f"no MLflow run to promote {registry.name} from"):
        ModelAliasDataset(model_name=registry.name).save(_decision("champion"))
    with mlflow.start_run() as run:
        pass  # logs no model
    registry.train("a")  # another run's version
    with pytest.raises(
        DatasetError, match=f"run {run.info.run_id} registered no '{registry.name}'"
    ):
        registry.gate(run.info.run_id).save(_decision("champion"))


def test_hook_commits_only_its_own_sessions_decision(registry):
    """The hook object lives as long as the process; each session's decision stays in that
    session's catalog."""
    hook = PromotionHook()
    pipeline = Pipeline([Node(func=lambda: _decision("champion"), inputs=None, outputs="decision")])

    failed = DataCatalog({"decision": ModelAliasDataset(model_name=registry.name)})
    with mlflow.start_run():
        hook.before_pipeline_run(pipeline=pipeline, catalog=failed)
        registry.log("a")
        failed.save("decision", _decision("champion"))
        hook.on_pipeline_error(error=ValueError(), pipeline=pipeline, catalog=failed)

    succeeded = DataCatalog({"decision": ModelAliasDataset(model_name=registry.name)})
    with mlflow.start_run():
        hook.before_pipeline_run(pipeline=pipeline, catalog=succeeded)
        registry.log("b")
        succeeded.save("decision", _decision("champion"))
    # kedro-mlflow ends the MLflow run before this hook commits: no active run is needed.
    hook.after_pipeline_run(pipeline=pipeline, catalog=succeeded)
    assert registry.version(1).aliases == []
    assert registry.version(1).tags["run_status"] == "failed"
    assert registry.version(2).aliases == ["champion"]


def test_training_promotions_are_recorded_in_the_alias_history(registry, tmp_path):
    credentials = {"con": f"sqlite:///{tmp_path / 'scores.db'}"}
    for label, alias, champion in (("a", "champion", None), ("b", "challenger", "1")):
        run_id = registry.train(label)
        gate = ModelAliasDataset(model_name=registry.name, history_credentials=credentials)
        gate.begin(run_id, registry.uri, registry.uri)
        gate.save(_decision(alias, champion))
        gate.commit()
    history = AliasHistoryDataset(credentials).load()
    assert history[["alias", "model_version", "previous_version", "action"]].values.tolist() == [
        ["champion", "1", None, "training"],
        ["challenger", "2", None, "training"],
    ]
    assert history["run_id"].tolist() == [registry.version(1).run_id, run_id]
    assert history["reason"].tolist() == ["test reason", "test reason"]


def test_champion_change_moves_tags_and_records_or_refuses_a_stale_plan(
    registry, tmp_path, monkeypatch
):
    credentials = {"con": f"sqlite:///{tmp_path / 'scores.db'}"}
    registry.train("a")
    registry.train("b")
    registry.promote(1)
    monkeypatch.setenv("CODEPRO_USER", "ana")
    change = ChampionChangeDataset(registry.name, history_credentials=credentials)
    change.save({"version": "2", "expected_champion": "1", "action": "promote", "reason": "r"})
    version = registry.version(2)
    assert version.aliases == ["champion"]
    assert {k: version.tags[k] for k in ("promotion", "promoted_by", "previous_champion")} == {
        "promotion": "r",
        "promoted_by": "ana",
        "previous_champion": "1",
    }
    # Planned while v1 was champion, saved after v2 became champion: nothing moves.
    with pytest.raises(DatasetError) as stale:
        change.save({"version": "1", "expected_champion": "1", "action": "rollback", "reason": "x"})
    assert isinstance(stale.value.__cause__, ModelRegistryError)
    assert "the champion changed while checking (v1 -> v2)" in str(stale.value.__cause__)
    assert registry.version(2).aliases == ["champion"]
    history = AliasHistoryDataset(credentials).load()
    assert history[
        ["model_version", "previous_version", "action", "changed_by"]
    ].values.tolist() == [["2", "1", "promote", "ana"]]


def test_registered_versions_list_aliases_and_test_metrics(registry):
    with mlflow.start_run() as run:
        mlflow.log_metric("test_roc_auc", 0.81)
        mlflow.log_metric("train_roc_auc", 0.9)
        registry.log("a")
    registry.train("b")
    registry.promote(2)
    versions = RegisteredVersionsDataset(registry.name).load()
    assert versions[["version", "run_id", "aliases"]].values.tolist() == [
        ["1", run.info.run_id, ""],
        ["2", registry.version(2).run_id, "champion"],
    ]
    assert versions["test_roc_auc"].iloc[0] == 0.81
    assert pd.isna(versions["test_roc_auc"].iloc[1])
    assert "train_roc_auc" not in versions.columns
    assert RegisteredVersionsDataset("no-such-model").load().empty


def test_a_version_below_the_floor_gets_no_alias_and_no_history_row(registry, tmp_path):
    credentials = {"con": f"sqlite:///{tmp_path / 'scores.db'}"}
    run_id = registry.train("a")
    gate = ModelAliasDataset(model_name=registry.name, history_credentials=credentials)
    gate.begin(run_id, registry.uri, registry.uri)
    gate.save(_decision(None))
    assert gate.commit() == _decision(None)
    assert registry.client.get_registered_model(registry.name).aliases == {}
    assert registry.version(1).tags["promotion"] == "test reason"
    assert registry.client.get_run(run_id).data.tags["promotion_alias"] == "none"
    assert AliasHistoryDataset(credentials).load().empty


def test_registered_versions_say_whether_the_run_finished(registry):
    registry.train("a")
    with mlflow.start_run() as killed:  # as a training killed before its run ended
        registry.log("b")
        versions = RegisteredVersionsDataset(registry.name).load()
    assert versions[["version", "run_status"]].values.tolist() == [
        ["1", "FINISHED"],
        ["2", "RUNNING"],
    ]
    assert versions["run_id"].iloc[1] == killed.info.run_id


def _read_only(path: Path) -> dict:
    """Credentials of the score store at ``path``, opened read-only (as a store whose disk or
    permissions forbid writing)."""
    return {"con": f"sqlite:///file:{path}?mode=ro&uri=true"}


def test_a_promote_whose_history_cannot_be_written_moves_nothing(registry, tmp_path):
    path = tmp_path / "scores.db"
    registry.train("a")
    registry.train("b")
    registry.promote(1)
    record = history_row(registry.name, "champion", "1", None, "training", "r")
    AliasHistoryDataset({"con": f"sqlite:///{path}"}).save(
        pd.DataFrame([record]).assign(state="done")
    )
    change = ChampionChangeDataset(registry.name, history_credentials=_read_only(path))
    with pytest.raises(DatasetError) as error:
        change.save({"version": "2", "expected_champion": "1", "action": "promote", "reason": "r"})
    assert str(error.value.__cause__) == (
        f"alias history: cannot record {registry.name} @champion -> v2 "
        "(attempt to write a readonly database): nothing changed"
    )
    assert registry.version(1).aliases == ["champion"]
    assert registry.version(2).aliases == []


def test_a_training_whose_history_cannot_be_written_gets_no_alias(registry, tmp_path):
    path = tmp_path / "scores.db"
    AliasHistoryDataset({"con": f"sqlite:///{path}"}).save(
        pd.DataFrame([history_row("other-model", "champion", "1", None, "training", "r")])
    )
    run_id = registry.train("a")
    gate = ModelAliasDataset(model_name=registry.name, history_credentials=_read_only(path))
    gate.begin(run_id, registry.uri, registry.uri)
    gate.save(_decision("champion"))
    with pytest.raises(AliasHistoryError, match="cannot record .* @champion -> v1"):
        gate.commit()
    assert registry.client.get_registered_model(registry.name).aliases == {}


def test_a_failed_move_is_recorded_undone(registry, tmp_path, monkeypatch):
    credentials = {"con": f"sqlite:///{tmp_path / 'scores.db'}"}
    registry.train("a")
    registry.train("b")
    registry.promote(1)

    def refuse(*args):
        raise MlflowException("database is locked")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", refuse)
    change = ChampionChangeDataset(registry.name, history_credentials=credentials)
    with pytest.raises(DatasetError, match="moving champion to v2 failed: database is locked"):
        change.save({"version": "2", "expected_champion": "1", "action": "promote", "reason": "r"})
    history = AliasHistoryDataset(credentials).load()
    assert history[["model_version", "state"]].values.tolist() == [["2", "undone"]]
    assert registry.version(1).aliases == ["champion"]


@pytest.mark.parametrize(("moved", "state"), [(True, "done"), (False, "undone")])
def test_a_move_a_crash_left_pending_is_settled_by_the_next_and_reported(
    registry, tmp_path, caplog, moved, state
):
    credentials = {"con": f"sqlite:///{tmp_path / 'scores.db'}"}
    registry.train("a")
    registry.train("b")
    registry.train("c")
    registry.promote(1)
    # A promote of v2 killed after recording its intent, before (or after) moving the alias.
    crashed = history_row(registry.name, "champion", "2", "1", "promote", "crashed")
    AliasHistoryDataset(credentials).save(pd.DataFrame([crashed]))
    if moved:
        registry.promote(2)
    champion = "2" if moved else "1"
    change = ChampionChangeDataset(registry.name, history_credentials=credentials)
    change.save({"version": "3", "expected_champion": champion, "action": "promote", "reason": "r"})
    history = AliasHistoryDataset(credentials).load()
    assert history[["model_version", "previous_version", "state"]].values.tolist() == [
        ["2", "1", state],
        ["3", champion, "done"],
    ]
    assert f"is now recorded {state}: the alias had {'' if moved else 'not '}moved" in caplog.text
