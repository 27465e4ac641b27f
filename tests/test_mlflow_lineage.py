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

from codepro_leads.mlflow_lineage import frame_digest
from codepro_leads.model_description import version_description
from tests.conftest import LOW_FLOOR, SMALL_DEMO, make_project, run_pipeline

MODEL = "codepro-lead-scorer"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One training run (v1, champion) on small demo data, read back through MlflowClient."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = make_project(tmp_path_factory.mktemp("lineage"), monkeypatch)
        run_pipeline(root, "demo_data", SMALL_DEMO)
        run_pipeline(root, "data_processing")
        run_pipeline(root, "training", LOW_FLOOR)
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
        "**Promotion**: @champion: first model to pass the quality floor (test AUC "
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
