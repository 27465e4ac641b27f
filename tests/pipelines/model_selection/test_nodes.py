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


def test_recency_rows_join_the_leaderboard_and_the_choice_goes_to_training(
    training_params, selection_params
):
    """On leads with a known drift, weighted training wins on the validation leads: the
    leaderboard shows every candidate after pycaret's rows and training gets the half-life."""
    from codepro_leads.pipelines.model_selection.nodes import compare_recency
    from tests.pipelines.training.test_drift_and_baseline import _leads

    pycaret_board = pd.DataFrame(
        {"id": ["lr"], "Model": ["Logistic Regression"], "Accuracy": [0.7], "AUC": [0.8],
         "Recall": [0.8], "Prec.": [0.7], "F1": [0.75], "Kappa": [0.4], "MCC": [0.4],
         "TT (Sec)": [1.0]}
    )  # fmt: skip
    tuned = {"lightgbm": {"num_leaves": 20}, "tuning_won": True}
    params = {
        **selection_params,
        "recency": {"half_life_candidates": [None, 15], "min_gain": 0.002},
    }
    board, tuned_out, metrics = compare_recency(
        _leads(drift=True), pycaret_board, tuned, training_params, params
    )
    assert board["id"].tolist() == ["lr", "lightgbm_half_life_15_days", "lightgbm_unweighted"]
    assert board["Model"].tolist()[1:] == [
        "LightGBM (training's), recency half-life 15 days",
        "LightGBM (training's), unweighted",
    ]
    assert board["Evaluated on"].tolist() == [
        "5-fold CV (stratifiedkfold)",
        "validation leads (out of time): 1440, fitted on 8160",
        "validation leads (out of time): 1440, fitted on 8160",
    ]
    assert list(board.columns) == [*pycaret_board.columns, "Evaluated on"]
    weighted, unweighted = board["AUC"].iloc[1], board["AUC"].iloc[2]
    assert weighted > unweighted + 0.02
    assert tuned_out == {
        **tuned,
        "recency_half_life_days": 15.0,
        "recency_validation_auc": {"half_life_15_days": weighted, "unweighted": unweighted},
    }
    assert metrics == {
        "validation_auc_unweighted": {"value": unweighted, "step": 0},
        "validation_auc_half_life_15_days": {"value": weighted, "step": 0},
        "recency_weighting_won": {"value": 1.0, "step": 0},
        "recency_half_life_days": {"value": 15.0, "step": 0},
    }
