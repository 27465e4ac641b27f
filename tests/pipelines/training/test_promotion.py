"""The promotion gate's nodes alone: the comparison on leads neither model trained on, and
every branch of the decision."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from codepro_leads.datasets.model_registry import RegisteredModel
from codepro_leads.pipelines.training.promotion import (
    compare_with_champion,
    decide_promotion,
    find_identical_version,
)
from tests.conftest import load_params


@pytest.fixture(scope="module")
def params():
    training = load_params("training")
    return {**training, "registry": {**training["registry"], "min_comparison_leads": 4}}


class ColumnScorer:
    """Stands in for the champion's LeadScorer: its probability is a column of the leads."""

    def __init__(self, column: str) -> None:
        self.column = column

    def predict_proba(self, leads: pd.DataFrame):
        return leads[self.column].to_numpy()


def _candidate(leads: pd.DataFrame) -> tuple:
    """The candidate's calibrator and raw scores of the test leads: its probability is the
    leads' candidate column."""
    return (lambda raw: raw), leads["candidate"].to_numpy()


def _test_leads() -> pd.DataFrame:
    # The first four leads are older than the champion's fit_until: the champion may have
    # trained on them, and it ranks them perfectly while the candidate gets them all wrong.
    return pd.DataFrame(
        {
            "lead_id": range(8),
            "created_date": pd.date_range("2022-01-01", periods=8, freq="D"),
            "app_complete_flag": [1, 0, 1, 0, 1, 0, 1, 0],
            "candidate": [0.1, 0.9, 0.2, 0.8, 0.9, 0.1, 0.8, 0.2],
            "champion": [0.9, 0.1, 0.8, 0.2, 0.4, 0.6, 0.7, 0.3],
        }
    )


def _champion(training_data: dict | None) -> RegisteredModel:
    model = SimpleNamespace(scorer=ColumnScorer("champion"))
    if training_data is not None:
        model.training_data = training_data
    return RegisteredModel(name="codepro-lead-scorer", version="3", model=model)


FITTED = {"sha256": "old-data", "fit_until": "2022-01-04 00:00:00"}


def test_no_champion_nothing_to_compare(params):
    comparison = compare_with_champion(None, *_candidate(_test_leads()), _test_leads(), params)
    assert comparison == {
        "champion_version": None,
        "champion_data_sha256": None,
        "not_compared": None,
        "comparison_rows": 0,
        "comparison_first_created": None,
        "comparison_last_created": None,
        "candidate_auc": None,
        "champion_auc": None,
    }


def test_compares_on_test_leads_created_after_the_champion_was_fitted(params):
    leads = _test_leads()
    comparison = compare_with_champion(_champion(FITTED), *_candidate(leads), leads, params)
    assert comparison == {
        "champion_version": "3",
        "champion_data_sha256": "old-data",
        "not_compared": None,
        "comparison_rows": 4,
        "comparison_first_created": "2022-01-05 00:00:00",
        "comparison_last_created": "2022-01-08 00:00:00",
        "candidate_auc": 1.0,
        "champion_auc": 0.75,
    }


@pytest.mark.parametrize(
    ("training_data", "leads", "why"),
    [
        (
            {**FITTED, "fit_until": "2022-01-05 00:00:00"},
            _test_leads(),
            "only 3 test leads created after champion v3 was fitted (after 2022-01-05 00:00:00), "
            "fewer than 4",
        ),
        (
            FITTED,
            _test_leads().assign(app_complete_flag=[1, 0, 1, 0, 1, 1, 1, 1]),
            "the 4 test leads created after champion v3 was fitted (after 2022-01-04 00:00:00) "
            "all have app_complete_flag=1",
        ),
        (None, _test_leads(), "champion v3 does not record which leads it was fitted on"),
        ({"sha256": "old-data"}, _test_leads(), "champion v3 does not record which leads it was"),
    ],
)
def test_says_why_when_no_comparison_is_possible(params, training_data, leads, why):
    comparison = compare_with_champion(_champion(training_data), *_candidate(leads), leads, params)
    assert comparison["not_compared"].startswith(why)
    assert (comparison["comparison_rows"], comparison["candidate_auc"]) == (0, None)


def _metrics(auc=0.82, precision=0.7, recall=0.8):
    values = {"roc_auc": auc, "precision": precision, "recall": recall}
    return {f"test_{k}": {"value": v, "step": 0} for k, v in values.items()}


def _comparison(candidate=None, champion=None, sha=None, not_compared=None, version="3"):
    compared = candidate is not None
    return {
        "champion_version": version,
        "champion_data_sha256": sha,
        "not_compared": not_compared,
        "comparison_rows": 1200 if compared else 0,
        "comparison_first_created": "2022-01-20 00:00:00" if compared else None,
        "comparison_last_created": "2022-02-14 00:00:00" if compared else None,
        "candidate_auc": candidate,
        "champion_auc": champion,
    }


CARD = {
    "training_data": {"sha256": "new-data"},
    "baseline": {"test_auc": 0.79},
    "training_key": "k1",
}
LIFT = "; lift over the baseline (CodePro's recipe, test AUC 0.7900): +0.0300"
ON = "on 1200 test leads created 2022-01-20 00:00:00 to 2022-02-14 00:00:00"
TOO_FEW = "only 12 test leads created after champion v3 was fitted (after x), fewer than 1000"


@pytest.mark.parametrize(
    ("metrics", "comparison", "alias", "reason"),
    [
        (
            _metrics(),
            _comparison(version=None),
            "champion",
            f"first model to pass the quality floor and the baseline (test AUC 0.8200){LIFT}",
        ),
        (
            _metrics(precision=0.5),
            _comparison(0.9, 0.8, "old-data"),
            None,  # no alias at all: a challenger would be shadow-scored
            f"below the quality floor: precision 0.5000 < 0.55{LIFT}",
        ),
        (
            _metrics(),
            _comparison(0.817, 0.820, "old-data"),
            "champion",
            f"test AUC 0.8170 vs champion v3 0.8200 {ON}, tolerance 0.005{LIFT}",
        ),
        (
            _metrics(),
            _comparison(0.814, 0.820, "old-data"),
            "challenger",
            f"test AUC 0.8140 vs champion v3 0.8200 {ON}: worse by more than 0.005{LIFT}",
        ),
        (
            _metrics(),
            _comparison(0.820, 0.820, "new-data"),
            "challenger",
            f"test AUC 0.8200 vs champion v3 0.8200 {ON}: same training data, not better{LIFT}",
        ),
        (
            _metrics(),
            _comparison(0.821, 0.820, "new-data"),
            "champion",
            f"test AUC 0.8210 vs champion v3 0.8200 {ON}, tolerance 0.0{LIFT}",
        ),
        (
            _metrics(),
            _comparison(sha="old-data", not_compared=TOO_FEW),
            "champion",
            f"not compared with champion v3 ({TOO_FEW}): "
            f"promoted on the quality floor and the baseline alone (test AUC 0.8200){LIFT}",
        ),
        (
            _metrics(),
            _comparison(sha="new-data", not_compared=TOO_FEW),
            "challenger",
            f"not compared with champion v3 ({TOO_FEW}): "
            f"same training data, no reason to replace it{LIFT}",
        ),
        # Judged against CodePro's recipe on the same test leads: at least as good within the
        # baseline tolerance (0.005), whatever the champion.
        (
            _metrics(auc=0.784),
            _comparison(version=None),
            "challenger",
            "below the baseline: test AUC 0.7840, worse by more than 0.005; lift over the "
            "baseline (CodePro's recipe, test AUC 0.7900): -0.0060",
        ),
        (
            _metrics(auc=0.786),
            _comparison(version=None),
            "champion",
            "first model to pass the quality floor and the baseline (test AUC 0.7860); lift "
            "over the baseline (CodePro's recipe, test AUC 0.7900): -0.0040",
        ),
        (
            _metrics(auc=0.784),
            _comparison(0.9, 0.8, "old-data"),
            "challenger",
            "below the baseline: test AUC 0.7840, worse by more than 0.005; lift over the "
            "baseline (CodePro's recipe, test AUC 0.7900): -0.0060",
        ),
        # The real first run (24,977 leads): recency-weighted 0.757 vs CodePro's recipe 0.731
        # passes the floor and the baseline; the old floor (AUC 0.75, precision 0.65) refused
        # even that.
        (
            _metrics(auc=0.757, precision=0.62, recall=0.78),
            _comparison(version=None),
            "champion",
            "first model to pass the quality floor and the baseline (test AUC 0.7570); lift "
            "over the baseline (CodePro's recipe, test AUC 0.7310): +0.0260",
        ),
    ],
)
def test_promotion_gate(params, metrics, comparison, alias, reason):
    card = CARD
    if metrics["test_roc_auc"]["value"] == 0.757:
        card = {**CARD, "baseline": {"test_auc": 0.731}}
    decision = decide_promotion(metrics, comparison, card, params, {})
    # The decision carries the comparison it rests on (rows used and their dates included) and
    # the training key the version is tagged with.
    assert decision == {"alias": alias, "reason": reason, **comparison, "training_key": "k1"}


def test_promotion_reads_metrics_loaded_back_from_mlflow(params):
    history = {k: [{"value": v["value"], "step": 0}] for k, v in _metrics(recall=0.5).items()}
    decision = decide_promotion(history, _comparison(version=None), CARD, params, {})
    assert decision["reason"] == f"below the quality floor: recall 0.5000 < 0.7{LIFT}"


def test_without_a_baseline_nothing_is_promoted(params):
    card = {"training_data": {"sha256": "new-data"}, "training_key": "k1"}
    decision = decide_promotion(_metrics(), _comparison(version=None), card, params, {})
    assert (decision["alias"], decision["reason"]) == (
        "challenger",
        "no baseline measured on the test leads to judge it against",
    )


def _versions(*rows):
    columns = ["version", "run_id", "run_status", "aliases", "tags"]
    return pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows], columns=columns)


def test_the_identical_version_is_the_latest_finished_one_with_the_same_key():
    versions = _versions(
        ("1", "r1", "FINISHED", "", {"training_key": "k1"}),
        ("2", "r2", "FINISHED", "champion", {"training_key": "k1"}),
        ("3", "r3", "FINISHED", "challenger", {"training_key": "k2"}),
        ("4", "r4", "KILLED", "", {"training_key": "k1"}),  # its run never finished
        ("5", "r5", "RUNNING", "", {"training_key": "k1"}),
        ("6", "r6", None, "", {"training_key": "k1"}),  # its run was deleted
        ("7", "r7", "FINISHED", "", {}),  # registered before training keys
    )
    assert find_identical_version("k1", versions) == {"version": "2", "aliases": ["champion"]}
    assert find_identical_version("k2", versions) == {"version": "3", "aliases": ["challenger"]}
    assert find_identical_version("k3", versions) == {}
    assert find_identical_version("k1", _versions()) == {}


def test_an_identical_version_decides_that_nothing_moves(params):
    identical = {"version": "2", "aliases": ["challenger", "champion"]}
    decision = decide_promotion(_metrics(), _comparison(version=None), CARD, params, identical)
    assert decision == {
        "alias": None,
        "reason": "data and parameters identical to v2 (@challenger, @champion): "
        "nothing registered, no alias moved",
        "identical_to": "2",
        "identical_aliases": ["challenger", "champion"],
        "training_key": "k1",
    }
    no_alias = {"version": "4", "aliases": []}
    decision = decide_promotion(_metrics(), _comparison(version=None), CARD, params, no_alias)
    assert decision["reason"] == (
        "data and parameters identical to v4 (no alias): nothing registered, no alias moved"
    )
