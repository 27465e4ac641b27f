"""model_selection nodes on a small synthetic model input; pycaret itself runs in a fresh
process (tests/pipelines/model_selection/test_isolation.py) and through KedroSession."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codepro_leads.datasets.atomic import AtomicDataset
from codepro_leads.pipelines.model_selection.nodes import (
    leaderboard_html,
    plain,
    prepare_selection_data,
)
from codepro_leads.pipelines.training.nodes import split_leads
from codepro_leads.pipelines.training.tuning import apply_tuned_params
from tests.conftest import load_params

LABEL = "app_complete_flag"


def synthetic_leads(rows: int, seed: int = 0) -> pd.DataFrame:
    """model_input_leads-shaped frame with a learnable label."""
    rng = np.random.default_rng(seed)
    platform = rng.choice(["Level0", "Level3", "Level1", "Level9"], rows, p=[0.5, 0.3, 0.15, 0.05])
    medium = rng.choice(["Level0", "Level2", "Level4", "Level7"], rows, p=[0.5, 0.2, 0.2, 0.1])
    dropped = rng.integers(1, 5, rows)
    log_odds = 0.3 + 0.8 * (platform == "Level0") - 3.0 * (medium == "Level2") + 0.4 * dropped
    return pd.DataFrame(
        {
            "lead_id": np.arange(rows),
            "created_date": pd.Timestamp("2021-07-01") + pd.to_timedelta(np.arange(rows), "h"),
            "city_tier": rng.choice([1, 2, 3], rows).astype("int8"),
            "first_platform_c": pd.Series(platform, dtype="string"),
            "first_utm_medium_c": pd.Series(medium, dtype="string"),
            "first_utm_source_c": pd.Series(rng.choice(["Level2", "Level0"], rows), dtype="string"),
            "total_leads_droppped": dropped,
            "referred_lead": rng.integers(0, 2, rows),
            **{
                group: np.zeros(rows, dtype="int64")
                for group in ("assistance_interaction", "career_interaction",
                              "payment_interaction", "social_interaction", "syllabus_interaction")
            },
            LABEL: (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype("int8"),
        }
    )  # fmt: skip


@pytest.fixture(scope="module")
def training_params():
    return load_params("training")


@pytest.fixture(scope="module")
def selection_params():
    return load_params("model_selection")


def test_selection_data_is_trainings_encoded_split_sampled_in_time_order(
    training_params, selection_params
):
    leads = synthetic_leads(1000)
    params = {**selection_params, "sample_rows": 200}
    train, holdout = prepare_selection_data(leads, training_params, params)

    split_train, split_validation, _ = split_leads(leads, training_params)
    assert (len(train), len(holdout)) == (200, round(len(split_validation) * 200 / 680))
    assert len(split_train) == 680  # 1000 - 200 test - 120 validation: test leads never used
    features = [
        *training_params["features"]["numeric"],
        *training_params["features"]["categorical"],
    ]
    assert list(train.columns) == [*features, LABEL]
    assert isinstance(train["first_platform_c"].dtype, pd.CategoricalDtype)
    assert "others" in train["first_platform_c"].cat.categories  # training's level grouping
    assert train[LABEL].dtype == leads[LABEL].dtype
    # all rows when there are fewer than sample_rows
    everything, _ = prepare_selection_data(leads, training_params, {**params, "sample_rows": None})
    assert len(everything) == 680


def test_plain_turns_numpy_scalars_into_python_values():
    value = plain({"a": np.float64(0.5), "b": [np.int32(3)], "c": "x", "d": None})
    assert value == {"a": 0.5, "b": [3], "c": "x", "d": None}
    assert type(value["a"]) is float and type(value["b"][0]) is int


def test_apply_tuned_params_replaces_only_tuned_values_whatever_the_spelling():
    configured = {"num_leaves": 40, "subsample": 0.6, "random_state": 42, "n_jobs": 2}
    tuned = {"lightgbm": {"num_leaves": 20, "bagging_fraction": 0.8}, "tuning_won": True}
    assert apply_tuned_params(configured, tuned) == {
        "num_leaves": 20,
        "bagging_fraction": 0.8,
        "random_state": 42,
        "n_jobs": 2,
    }
    assert configured["num_leaves"] == 40  # not mutated
    assert apply_tuned_params(configured, None) == configured
    assert apply_tuned_params(configured, {}) == configured


def test_optional_yaml_dataset_is_none_when_absent_and_saves_atomically(tmp_path):
    dataset = AtomicDataset(  # as in catalog_model_selection.yml
        dataset="codepro_leads.datasets.OptionalYAMLDataset",
        filepath=str(tmp_path / "models" / "tuned.yml"),
    )
    assert dataset.load() is None and not dataset.exists()
    dataset.save({"lightgbm": {"num_leaves": 20}, "tuning_won": False})
    assert dataset.load() == {"lightgbm": {"num_leaves": 20}, "tuning_won": False}
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["tuned.yml"]  # no temp file


def test_leaderboard_html_is_a_table_of_every_model():
    board = pd.DataFrame(
        {"id": ["lr", "lightgbm"], "Model": ["Logistic", "LGBM"], "AUC": [0.8, 0.7]}
    )
    html = leaderboard_html(board)
    assert html.count("<td>") == 6 and "<td>0.8000</td>" in html and "<td>lightgbm</td>" in html
