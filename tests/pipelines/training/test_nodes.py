"""Training nodes alone: the split, the ceiling AUC and every branch of the promotion gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codepro_leads.pipelines.training import nodes
from tests.conftest import load_params


@pytest.fixture(scope="module")
def params():
    return load_params("training")


def _leads(n=100):
    return pd.DataFrame(
        {
            "lead_id": np.arange(n),
            "created_date": pd.date_range("2021-07-01", periods=n, freq="D")[::-1],
            "app_complete_flag": np.arange(n) % 2,
        }
    )


def test_out_of_time_split_puts_the_latest_leads_in_test(params):
    train, validation, test = nodes.split_leads(_leads(), params)
    # created_date falls as lead_id rises: the latest leads have the smallest ids.
    assert test["lead_id"].tolist() == list(range(19, -1, -1))
    assert validation["lead_id"].tolist() == list(range(31, 19, -1))
    assert len(train) == 68 and train["created_date"].max() < validation["created_date"].min()


def test_stratified_split_keeps_the_label_rate(params):
    stratified = {**params, "split": {**params["split"], "method": "stratified"}}
    train, validation, test = nodes.split_leads(_leads(), stratified)
    assert (len(train), len(validation), len(test)) == (68, 12, 20)
    assert test["app_complete_flag"].mean() == 0.5
    assert set(train["lead_id"]) | set(validation["lead_id"]) | set(test["lead_id"]) == set(
        range(100)
    )


def test_unknown_split_method_is_refused(params):
    with pytest.raises(ValueError, match="out_of_time or stratified, not 'latest'"):
        nodes.split_leads(_leads(), {**params, "split": {**params["split"], "method": "latest"}})


def test_best_achievable_auc_only_for_matching_leads():
    test = _leads(4).assign(app_complete_flag=[0, 1, 0, 1])
    propensity = test[["lead_id", "created_date"]].assign(propensity=[0.1, 0.9, 0.6, 0.4])
    assert nodes.best_achievable_auc(test, propensity) == {
        "test_best_achievable_auc": {"value": 0.75, "step": 0}
    }
    other_file = propensity.assign(created_date=pd.Timestamp("2020-01-01"))
    assert nodes.best_achievable_auc(test, other_file) == {}
    assert nodes.best_achievable_auc(test, None) == {}


def _metrics(auc=0.82, precision=0.7, recall=0.8):
    values = {"roc_auc": auc, "precision": precision, "recall": recall}
    return {f"test_{k}": {"value": v, "step": 0} for k, v in values.items()}


def _comparison(candidate, champion=None, champion_sha=None):
    return {
        "candidate_test_auc": candidate,
        "champion_version": None if champion is None else "3",
        "champion_test_auc": champion,
        "champion_data_sha256": champion_sha,
    }


CARD = {"training_data": {"sha256": "new-data"}}


@pytest.mark.parametrize(
    ("metrics", "comparison", "alias", "reason"),
    [
        (
            _metrics(),
            _comparison(0.82),
            "champion",
            "first model to pass the quality floor (test AUC 0.8200)",
        ),
        (
            _metrics(precision=0.6),
            _comparison(0.82),
            "challenger",
            "below the quality floor: precision 0.6000 < 0.65",
        ),
        (
            _metrics(),
            _comparison(0.817, 0.820, "old-data"),
            "champion",
            "test AUC 0.8170 vs champion v3 0.8200, tolerance 0.005",
        ),
        (
            _metrics(),
            _comparison(0.814, 0.820, "old-data"),
            "challenger",
            "test AUC 0.8140 vs champion v3 0.8200: worse by more than 0.005",
        ),
        (
            _metrics(),
            _comparison(0.820, 0.820, "new-data"),
            "challenger",
            "test AUC 0.8200 vs champion v3 0.8200: same training data, not better",
        ),
        (
            _metrics(),
            _comparison(0.821, 0.820, "new-data"),
            "champion",
            "test AUC 0.8210 vs champion v3 0.8200, tolerance 0.0",
        ),
    ],
)
def test_promotion_gate(params, metrics, comparison, alias, reason):
    decision = nodes.decide_promotion(metrics, comparison, CARD, params)
    assert (decision["alias"], decision["reason"]) == (alias, reason)


def test_promotion_reads_metrics_loaded_back_from_mlflow(params):
    history = {k: [{"value": v["value"], "step": 0}] for k, v in _metrics(recall=0.5).items()}
    decision = nodes.decide_promotion(history, _comparison(0.82), CARD, params)
    assert decision["reason"] == "below the quality floor: recall 0.5000 < 0.75"
