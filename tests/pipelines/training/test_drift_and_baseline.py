"""Recency weighting chosen on known drift (and not on stationary leads), and the baseline
(CodePro's recipe) with its metrics exact on a hand-made set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from codepro_leads.pipelines.training import nodes
from codepro_leads.pipelines.training.baseline import OneHotLevels, fit_baseline
from codepro_leads.pipelines.training.recency import (
    choose_half_life,
    compare_half_lives,
    fit_lightgbm,
)
from tests.conftest import load_params

LABEL = "app_complete_flag"
CANDIDATES = [None, 7, 15, 30, 60]


@pytest.fixture(scope="module")
def params():
    return load_params("training")


def _leads(drift: bool, n: int = 12_000, seed: int = 0) -> pd.DataFrame:
    """Leads over 240 days, one per 30 minutes. Platform L1's effect moves linearly from +2
    to -2 log-odds over the period when ``drift``, and stays at +0.5 when not; medium L2 is
    always junk."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2021-07-01") + pd.to_timedelta(np.arange(n) * 30, unit="min")
    time = np.arange(n) / (n - 1)
    platform = rng.choice(["L0", "L1", "L2"], n)
    medium = rng.choice(["M0", "M1", "M2"], n)
    effect = (2.0 - 4.0 * time) if drift else np.full(n, 0.5)
    log_odds = 0.3 + np.where(platform == "L1", effect, 0.0) - 2.0 * (medium == "M2")
    return pd.DataFrame(
        {
            "lead_id": np.arange(n),
            "created_date": created,
            "city_tier": rng.integers(1, 4, n),
            "first_platform_c": platform,
            "first_utm_medium_c": medium,
            "first_utm_source_c": rng.choice(["S0", "S1"], n),
            "total_leads_droppped": rng.integers(1, 4, n),
            "referred_lead": rng.integers(0, 2, n),
            LABEL: (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(int),
        }
    )


def _choose_and_test(leads: pd.DataFrame, params: dict) -> tuple[float | None, dict]:
    train, validation, test = nodes.split_leads(leads, params)
    encoder = nodes.fit_encoder(train, params)
    board = compare_half_lives(
        train, validation, encoder, params["lightgbm"], params["columns"], CANDIDATES
    )
    assert board["half_life_days"].tolist()[1:] == CANDIDATES[1:]
    assert board["half_life_days"].isna().tolist() == [True, False, False, False, False]
    chosen = choose_half_life(board, min_gain=0.002)
    test_auc = {}
    for half_life in {None, chosen}:
        model = fit_lightgbm(train, encoder, params["lightgbm"], params["columns"], half_life)
        test_auc[half_life] = roc_auc_score(
            test[LABEL], model.predict_proba(encoder.transform(test))[:, 1]
        )
    return chosen, test_auc


def test_on_known_drift_a_half_life_is_chosen_and_beats_unweighted(params):
    chosen, test_auc = _choose_and_test(_leads(drift=True), params)
    assert chosen in {7.0, 15.0, 30.0}
    assert test_auc[chosen] > test_auc[None] + 0.02


def test_on_stationary_leads_no_weighting_is_chosen(params):
    chosen, test_auc = _choose_and_test(_leads(drift=False), params)
    assert chosen is None
    assert set(test_auc) == {None}


def test_choose_half_life_needs_more_than_min_gain_over_unweighted():
    board = pd.DataFrame(
        {"half_life_days": [None, 15.0, 30.0], "validation_auc": [0.800, 0.803, 0.8015]}
    )
    assert choose_half_life(board, min_gain=0.002) == 15.0
    assert choose_half_life(board, min_gain=0.003) is None  # 0.803 is not above 0.803
    only_unweighted = board.iloc[:1]
    assert choose_half_life(only_unweighted, min_gain=0.0) is None


def test_one_hot_levels_one_column_per_listed_level_and_one_for_the_others():
    encoding = OneHotLevels(("n",), {"c": ("A", "B"), "d": ()})
    leads = pd.DataFrame(
        {"n": [1, 2, 3, 4], "c": pd.array(["A", "B", "Z", None], dtype="string"), "d": list("xyxy")}
    )
    assert encoding.feature_names == ["n", "c=A", "c=B", "c=others", "d=others"]
    np.testing.assert_array_equal(
        encoding.transform(leads),
        [[1, 1, 0, 0, 1], [2, 0, 1, 0, 1], [3, 0, 0, 1, 1], [4, 0, 0, 1, 1]],
    )


def _hand_made(params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training: platform Level0 always completes, Level3 never (200 leads each). Test: 4
    Level0 leads (3 complete) and 3 Level3 leads (1 completes)."""

    def frame(platforms, labels):
        n = len(platforms)
        return pd.DataFrame(
            {
                "lead_id": np.arange(n),
                "created_date": pd.date_range("2022-01-01", periods=n, freq="h"),
                "city_tier": np.full(n, 3),
                "first_platform_c": platforms,
                "first_utm_medium_c": ["Level0"] * n,
                "first_utm_source_c": ["Level2"] * n,
                "total_leads_droppped": np.ones(n, dtype=int),
                "referred_lead": np.zeros(n, dtype=int),
                LABEL: labels,
            }
        )

    train = frame(["Level0", "Level3"] * 200, [1, 0] * 200)
    test = frame(["Level0"] * 4 + ["Level3"] * 3, [1, 1, 1, 0, 0, 0, 1])
    return train, test


def test_baseline_metrics_are_exact_on_a_hand_made_set(params):
    train, test = _hand_made(params)
    baseline = fit_baseline(train, params)
    assert baseline.encoding.levels == {
        col: tuple(levels) for col, levels in params["baseline"]["levels"].items()
    }
    probability = baseline.predict_proba(test)
    assert (probability[:4] > 0.5).all() and (probability[4:] < 0.5).all()
    # The scorer's classifier, unweighted here: it is its own unweighted twin.
    unweighted_params = {**params, "recency": {"half_life_days": None}}
    encoder = nodes.fit_encoder(train, unweighted_params)
    classifier = nodes.train_classifier(train, train, encoder, unweighted_params)
    metrics, record = nodes.evaluate_comparisons(
        nodes.score_leads(classifier, encoder, test),
        classifier,
        baseline,
        encoder,
        test,
        unweighted_params,
    )
    # Pairs (completed, not): Level0 vs Level3 6 won; ties count half: Level0 vs Level0 3,
    # Level3 vs Level3 2; Level3 vs Level0 1 lost -> (6 + 1.5 + 1) / 12.
    expected = {
        "baseline_roc_auc": 8.5 / 12,
        "baseline_precision": 3 / 4,
        "baseline_recall": 3 / 4,
        "baseline_accuracy": 5 / 7,
        "baseline_f1": 3 / 4,
        "baseline_tp": 3,
        "baseline_fp": 1,
        "baseline_fn": 1,
        "baseline_tn": 2,
        # The classifier ranks the test leads as the baseline does: Level0 above Level3.
        "test_unweighted_roc_auc": 8.5 / 12,
        "test_roc_auc_lift_over_baseline": 0.0,
    }
    for name, value in expected.items():
        assert metrics[name] == {"value": pytest.approx(value, abs=1e-12), "step": 0}, name
    assert "recency_half_life_days" not in metrics
    assert record["recency"] == {
        "half_life_days": None,
        "from": "parameters",
        "test_auc": pytest.approx(8.5 / 12, abs=1e-12),
        "test_auc_unweighted": pytest.approx(8.5 / 12, abs=1e-12),
    }
    assert record["baseline"]["test_auc"] == pytest.approx(8.5 / 12, abs=1e-12)
    assert record["baseline"]["lift"] == pytest.approx(0.0, abs=1e-12)
    assert (record["baseline"]["test_precision"], record["baseline"]["test_recall"]) == (0.75, 0.75)


def _same(a, b) -> bool:
    return a.booster_.model_to_string() == b.booster_.model_to_string()


def test_the_unweighted_model_is_fitted_only_when_the_scorer_is_weighted(params):
    leads = _leads(drift=True, n=3000)
    train, validation, test = nodes.split_leads(leads, params)
    encoder = nodes.fit_encoder(train, params)
    weighted = nodes.train_classifier(train, validation, encoder, params)
    unweighted, baseline = nodes.fit_comparisons(train, encoder, weighted, params)
    plain = fit_lightgbm(train, encoder, params["lightgbm"], params["columns"], None)
    assert _same(unweighted, plain) and not _same(weighted, plain)
    alone = fit_baseline(train, params)
    assert baseline.encoding == alone.encoding and _same(baseline.model, alone.model)
    assert baseline.encoding.feature_names[:3] == params["features"]["numeric"]
    off = {**params, "recency": {"half_life_days": None}}
    same, _ = nodes.fit_comparisons(train, encoder, plain, off)
    assert same is plain
    # The unweighted AUC logged next to the scorer's: the unweighted fit's own on test.
    metrics, record = nodes.evaluate_comparisons(
        nodes.score_leads(weighted, encoder, test), unweighted, baseline, encoder, test, params
    )

    def auc(model):
        return roc_auc_score(test[LABEL], model.predict_proba(encoder.transform(test))[:, 1])

    assert metrics["test_unweighted_roc_auc"]["value"] == pytest.approx(auc(plain), abs=1e-12)
    assert record["recency"]["test_auc"] == pytest.approx(auc(weighted), abs=1e-12)
    assert record["recency"]["test_auc"] > record["recency"]["test_auc_unweighted"]
    assert metrics["recency_half_life_days"] == {"value": 15.0, "step": 0}
    assert record["recency"]["half_life_days"] == 15
