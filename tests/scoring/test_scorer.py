"""The fitted scorer: exact contributions, calibration, grades and explanations."""

from __future__ import annotations

import dataclasses
import pickle

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from codepro_leads.scoring.calibration import PlattCalibrator
from codepro_leads.scoring.encoder import LeadEncoder
from codepro_leads.scoring.scorer import ExplainedRows, LeadScorer, distinct_rows


@pytest.fixture(scope="module")
def scorer() -> LeadScorer:
    rng = np.random.default_rng(0)
    n = 3000
    leads = pd.DataFrame(
        {
            "lead_id": np.arange(n),
            "created_date": pd.Timestamp("2022-01-01"),
            "total_leads_droppped": rng.integers(1, 6, n),
            "city_tier": rng.integers(1, 4, n),
            "first_platform_c": rng.choice(["L0", "L1", "L2"], n),
        }
    )
    log_odds = 0.8 * np.log(leads["total_leads_droppped"]) + np.where(
        leads["first_platform_c"] == "L0", 1.5, -1.0
    )
    label = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(int)
    encoder = LeadEncoder.fit(
        leads, ["total_leads_droppped", "city_tier"], ["first_platform_c"], 0.99
    )
    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(encoder.transform(leads), label)
    bands = {"A": 75, "B": 50, "C": 25, "D": 0}
    return LeadScorer(encoder, model, PlattCalibrator(0.9, 0.1), threshold=0.4, grade_bands=bands)


def _new_leads():
    return pd.DataFrame(
        {
            "lead_id": [10, 11, 12],
            "created_date": pd.Timestamp("2022-03-01"),
            "total_leads_droppped": [1, 5, 2],
            "city_tier": [3, 1, 2],
            "first_platform_c": ["L1", "L0", "new_level"],
        }
    )


def _contributions(scorer: LeadScorer, leads: pd.DataFrame) -> np.ndarray:
    """LightGBM's own per-feature contributions (last column: bias)."""
    return scorer.model.predict(scorer.encoder.transform(leads), pred_contrib=True)


def test_scores_come_from_contributions_that_add_up_to_the_raw_score(scorer):
    leads = _new_leads()
    contributions = _contributions(scorer, leads)
    assert contributions.shape == (3, 4)  # three features and the bias
    assert contributions.sum(axis=1) == pytest.approx(scorer.raw_score(leads), abs=1e-9)
    probability = scorer.calibrator(contributions.sum(axis=1))
    assert np.array_equal(scorer.score(leads)["probability"].to_numpy(), probability)


def test_score_columns_and_values(scorer):
    leads = _new_leads()
    scored = scorer.score(leads)
    probability = 1 / (1 + np.exp(-(0.9 * scorer.raw_score(leads) + 0.1)))
    assert scored["lead_id"].tolist() == [10, 11, 12]
    assert scored["probability"].to_numpy() == pytest.approx(probability)
    # From the model's raw score.
    assert scored["probability"].to_numpy() == pytest.approx(scorer.predict_proba(leads), abs=1e-15)
    assert scored["score"].tolist() == np.rint(100 * probability).astype(int).tolist()
    assert scored["is_junk"].tolist() == (probability < 0.4).tolist()
    expected_grades = [
        "A" if s >= 75 else "B" if s >= 50 else "C" if s >= 25 else "D" for s in scored["score"]
    ]
    assert scored["grade"].tolist() == expected_grades
    factor_columns = [c for c in scored.columns if "factor" in c]
    assert len(factor_columns) == 12


def test_top_factors_are_the_largest_contributions_with_the_leads_values(scorer):
    leads = _new_leads()
    scored = scorer.score(leads)
    contributions = _contributions(scorer, leads)[:, :-1]
    labels = [
        [f"total_leads_droppped={v}" for v in (1, 5, 2)],
        [f"city_tier={v}" for v in (3, 1, 2)],
        [f"first_platform_c={v}" for v in ("L1", "L0", "others")],
    ]
    for row in range(3):
        ups = sorted(
            (
                (contributions[row, j], labels[j][row])
                for j in range(3)
                if contributions[row, j] > 0
            ),
            reverse=True,
        )
        downs = sorted(
            (contributions[row, j], labels[j][row]) for j in range(3) if contributions[row, j] < 0
        )
        for i in range(3):
            up = ups[i] if i < len(ups) else (np.nan, None)
            down = downs[i] if i < len(downs) else (np.nan, None)
            assert scored.loc[row, f"up_factor_{i + 1}"] == up[1]
            assert scored.loc[row, f"down_factor_{i + 1}"] == down[1]
            assert scored.loc[row, f"up_factor_{i + 1}_effect"] == pytest.approx(up[0], nan_ok=True)
            assert scored.loc[row, f"down_factor_{i + 1}_effect"] == pytest.approx(
                down[0], nan_ok=True
            )


def test_platt_calibrator():
    raw = np.array([-2.0, 0.0, 3.0])
    assert PlattCalibrator()(raw) == pytest.approx(1 / (1 + np.exp(-raw)))
    rng = np.random.default_rng(1)
    scores = rng.normal(size=4000)
    # Labels drawn from sigmoid(2x - 1): the fit recovers slope 2 and intercept -1.
    labels = (rng.random(4000) < 1 / (1 + np.exp(-(2 * scores - 1)))).astype(int)
    fitted = PlattCalibrator.fit(scores, labels)
    assert fitted.slope == pytest.approx(2.0, abs=0.25)
    assert fitted.intercept == pytest.approx(-1.0, abs=0.15)


def test_score_explains_as_many_factors_as_the_scorer_is_set_to(scorer):
    one_factor = dataclasses.replace(scorer, top_factors=1)
    scored = one_factor.score(_new_leads())
    assert [c for c in scored.columns if "factor" in c] == [
        "up_factor_1",
        "up_factor_1_effect",
        "down_factor_1",
        "down_factor_1_effect",
    ]
    three = scorer.score(_new_leads())
    assert scored["up_factor_1"].tolist() == three["up_factor_1"].tolist()
    assert scored["down_factor_1_effect"].tolist() == three["down_factor_1_effect"].tolist()


def test_a_scorer_pickled_before_top_factors_existed_explains_three(scorer):
    old = pickle.loads(pickle.dumps(scorer))
    del vars(old)["top_factors"]  # as unpickled from a model logged before the field
    assert len([c for c in old.score(_new_leads()).columns if "factor" in c]) == 12


def test_score_matrix_explains_as_lightgbm_does(scorer):
    matrix = scorer.encoder.matrix(scorer.encoder.transform(_new_leads()))
    scored = scorer.score_matrix(matrix)
    contributions = scorer.model.booster_.predict(matrix, pred_contrib=True)[:, :-1]
    effects = [scored[f"{d}_factor_{i}_effect"] for d in ("up", "down") for i in (1, 2, 3)]
    for row in range(3):
        shown = sorted(e[row] for e in effects if not np.isnan(e[row]))
        assert shown == pytest.approx(
            sorted(contributions[row][contributions[row] != 0]), abs=1e-12
        )


def test_equal_feature_rows_get_equal_scores_and_a_pickled_scorer_scores_alike(scorer):
    leads = pd.concat([_new_leads(), _new_leads()], ignore_index=True)
    leads["lead_id"] = range(6)
    scored = scorer.score(leads)
    assert scored["lead_id"].tolist() == [0, 1, 2, 3, 4, 5]
    pd.testing.assert_frame_equal(
        scored.iloc[3:].drop(columns="lead_id").reset_index(drop=True),
        scored.iloc[:3].drop(columns="lead_id"),
    )
    restored = pickle.loads(pickle.dumps(scorer))
    pd.testing.assert_frame_equal(restored.score(leads), scored)


def test_distinct_rows_spread_back_to_every_row():
    matrix = np.array([[1.0, 2.0], [3.0, np.nan], [1.0, 2.0], [3.0, np.nan], [0.0, 2.0]])
    first, row_of = distinct_rows(matrix)
    assert sorted(first.tolist()) == [0, 1, 4]
    assert np.array_equal(matrix[first][row_of], matrix, equal_nan=True)
    assert row_of[0] == row_of[2] and row_of[1] == row_of[3]


def test_rows_explained_in_an_earlier_batch_are_looked_up_not_explained_again(scorer):
    leads = _new_leads()
    explained = ExplainedRows(max_rows=1_000)
    calls = []

    def counting(rows):
        calls.append(len(rows))
        return scorer.model.booster_.predict(rows, pred_contrib=True)

    matrix = scorer.encoder.matrix(scorer.encoder.transform(leads))
    first, _ = distinct_rows(matrix)
    distinct = matrix[first]
    once = explained.of(distinct[:2], counting)
    again = explained.of(distinct, counting)
    assert calls == [2, len(distinct) - 2]
    np.testing.assert_array_equal(again[:2], once)
    np.testing.assert_array_equal(again, scorer.model.booster_.predict(distinct, pred_contrib=True))
    pd.testing.assert_frame_equal(
        scorer.score(leads, explained=explained), scorer.score(leads), check_exact=True
    )


def test_explained_rows_keep_no_more_than_their_room(scorer):
    matrix = scorer.encoder.matrix(scorer.encoder.transform(_new_leads()))
    distinct = matrix[distinct_rows(matrix)[0]]
    explained = ExplainedRows(max_rows=1)
    calls = []

    def counting(rows):
        calls.append(len(rows))
        return scorer.model.booster_.predict(rows, pred_contrib=True)

    explained.of(distinct, counting)
    explained.of(distinct, counting)
    assert calls == [len(distinct), len(distinct) - 1]
