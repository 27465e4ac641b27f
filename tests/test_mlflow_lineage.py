"""What the MLflow UI shows of a training run: its name, its dataset inputs, the registered
model's and the version's descriptions (codepro_leads.mlflow_lineage), through a real
KedroSession on small demo data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput
from mlflow.exceptions import MlflowException
from sqlalchemy import event
from sqlalchemy.engine import Engine

from codepro_leads.mlflow_lineage import _log_input, frame_digest
from codepro_leads.model_description import version_description
from tests.conftest import make_project, train_small_demo

MODEL = "codepro-lead-scorer"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One training run (v1, champion) on small demo data, read back through MlflowClient."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = train_small_demo(make_project(tmp_path_factory.mktemp("lineage"), monkeypatch))
        client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
        experiment = client.get_experiment_by_name("codepro_leads")
        (run,) = client.search_runs([experiment.experiment_id])
        yield root, client, run


@pytest.mark.slow
def test_the_run_is_named_by_pipeline_start_and_training_data_digest(trained):
    _, _, run = trained
    train = next(i for i in run.inputs.dataset_inputs if i.dataset.name == "train_leads")
    assert re.fullmatch(
        rf"training \d{{4}}-\d\d-\d\d \d\d:\d\dZ data {train.dataset.digest}", run.info.run_name
    )
    assert run.data.tags["pipeline"] == "training"
    assert len(train.dataset.digest) == 12


@pytest.mark.slow
def test_the_splits_are_dataset_inputs_with_digest_rows_and_source(trained):
    root, _, run = trained
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert sorted(inputs) == ["test_leads", "train_leads", "validation_leads"]
    contexts = {
        name: {t.key: t.value for t in i.tags}["mlflow.data.context"] for name, i in inputs.items()
    }
    assert contexts == {
        "train_leads": "training",
        "validation_leads": "validation",
        "test_leads": "test",
    }
    model_input = pd.read_parquet(root / "data/05_model_input/model_input_leads.parquet")
    rows = {name: json.loads(i.dataset.profile)["num_rows"] for name, i in inputs.items()}
    # The out-of-time split: every processed lead is in exactly one split.
    assert sum(rows.values()) == len(model_input)
    assert rows["test_leads"] == round(len(model_input) * 0.2)
    for item in inputs.values():
        source = json.loads(item.dataset.source)
        assert source["uri"].endswith("data/05_model_input/model_input_leads.parquet")
        assert item.dataset.source_type == "local"
    # The digest is the content of the split itself: the latest 20% of leads by date.
    ordered = model_input.sort_values(["created_date", "lead_id"], kind="stable")
    test = ordered.tail(rows["test_leads"]).reset_index(drop=True)
    assert inputs["test_leads"].dataset.digest == frame_digest(test)


@pytest.mark.slow
def test_the_registered_model_and_its_version_describe_themselves(trained):
    _, client, run = trained
    model = client.get_registered_model(MODEL)
    assert model.description.startswith(f"# {MODEL}\n\nScores each lead CodePro buys")
    assert "quality floor (roc_auc >= 0.6, precision >= 0.5, recall >= 0.5)" in model.description
    for feature in ("first_platform_c", "city_tier", "total_leads_droppped"):
        assert f"`{feature}`" in model.description

    version = client.get_model_version(MODEL, "1")
    assert version.aliases == ["champion"]
    assert version.description.startswith(
        "**Promotion**: @champion: first model to pass the quality floor and the baseline "
        "(test AUC "
    )
    auc = run.data.metrics["test_roc_auc"]
    assert f"AUC {auc:.4f}" in version.description
    card_path = client.download_artifacts(run.info.run_id, "model_card.json")
    card = json.loads(Path(card_path).read_text())
    assert f"**Junk threshold** {card['threshold']:.4f}" in version.description
    assert card["training_data"]["sha256"][:12] in version.description


def test_the_version_description_of_a_failed_run_gives_the_reason_without_a_card():
    text = version_description({}, {}, None, "not promoted: the training run failed (KeyError)")
    assert text.splitlines()[0] == (
        "**Promotion**: not promoted: the training run failed (KeyError)"
    )
    assert "AUC n/a" in text


class _OverlappingStore:
    """A client whose first ``log_inputs`` fails with ``error``, as when an overlapping run
    inserts the same dataset between MLflow's look-up and its insert."""

    def __init__(self, error: MlflowException) -> None:
        self.error = error
        self.calls: list[tuple[str, list[str]]] = []

    def log_inputs(self, run_id: str, datasets: list[DatasetInput]) -> None:
        self.calls.append((run_id, [d.dataset.name for d in datasets]))
        if len(self.calls) == 1:
            raise self.error


_TRAIN = DatasetInput(Dataset("train_leads", "a79051d22f8a", "local", '{"uri": "x"}'), [])


@pytest.mark.parametrize(
    "message",
    [
        "(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, "
        "datasets.name, datasets.digest",
        '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "..."',
    ],
)
def test_a_dataset_an_overlapping_run_logged_meanwhile_is_linked_on_a_second_try(message):
    store = _OverlappingStore(MlflowException(message))
    _log_input(store, "run-2", _TRAIN)
    assert store.calls == [("run-2", ["train_leads"]), ("run-2", ["train_leads"])]


def test_two_runs_logging_the_same_leads_at_once_both_get_them(tmp_path):
    """The race on a real store: the other run logs the same dataset right after this run's
    look-up and before its insert (SQLite runs the look-up outside a write transaction)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("codepro_leads")
    this_run, other_run = (client.create_run(experiment).info.run_id for _ in range(2))
    raced: list[str] = []

    def other_run_logs_in_between(conn, cursor, statement, *args):
        if not raced and statement.lstrip().startswith("SELECT") and "FROM datasets" in statement:
            raced.append(statement)
            _log_input(MlflowClient(uri), other_run, _TRAIN)

    event.listen(Engine, "after_cursor_execute", other_run_logs_in_between)
    try:
        _log_input(client, this_run, _TRAIN)
    finally:
        event.remove(Engine, "after_cursor_execute", other_run_logs_in_between)
    assert raced
    for run_id in (this_run, other_run):
        inputs = client.get_run(run_id).inputs.dataset_inputs
        assert [(i.dataset.name, i.dataset.digest) for i in inputs] == [
            ("train_leads", "a79051d22f8a")
        ]


def test_any_other_failure_to_log_a_dataset_stops_the_run():
    store = _OverlappingStore(MlflowException("(sqlite3.OperationalError) database is locked"))
    with pytest.raises(MlflowException, match="database is locked"):
        _log_input(store, "run-2", _TRAIN)
    assert store.calls == [("run-2", ["train_leads"])]


@pytest.mark.slow
def test_the_run_describes_itself_with_rounded_metrics(trained):
    _, client, run = trained
    description = client.get_run(run.info.run_id).data.tags["mlflow.note.content"]
    lines = description.splitlines()
    assert lines[:4] == ["**training** run", "", "| metric | value |", "|---|---:|"]
    auc = run.data.metrics["test_roc_auc"]
    assert f"| test_roc_auc | {auc:.4f} |" in lines
    assert len(lines) == 4 + len(run.data.metrics)


@pytest.mark.slow
def test_the_registry_list_shows_the_champion_version(trained):
    _, client, _ = trained
    (model,) = client.search_registered_models()
    assert model.tags == {"champion": "version 1"}
    assert experiment_kind(client) == "custom_model_development"


def experiment_kind(client: MlflowClient) -> str:
    return client.get_experiment_by_name("codepro_leads").tags["mlflow.experimentKind"]


def test_run_description_rounds_values_and_keeps_counts_whole():
    from codepro_leads.model_description import run_description

    text = run_description("outcomes", {"auc": 0.8197310168120827, "leads": 47855.0})
    assert text == (
        "**outcomes** run\n\n| metric | value |\n|---|---:|\n| auc | 0.8197 |\n| leads | 47,855 |"
    )
    assert run_description("promote", {}) == "**promote** run\n\nNo metrics."
