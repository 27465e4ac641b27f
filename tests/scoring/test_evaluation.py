"""Evaluation functions on hand-made examples whose answers are worked out in the comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from codepro_leads.scoring.evaluation import (
    business_metrics,
    calibration_table,
    choose_threshold,
    classification_metrics,
    grade_from_score,
    grade_table,
    score_from_probability,
)

BANDS = {"A": 75, "B": 50, "C": 25, "D": 0}

# 10 leads, 5 completions (at 0.9, 0.8, 0.7, 0.6, 0.3); ties at 0.8 and 0.6 mix both classes.
# Completions kept (probability >= t) for each distinct t:
#   t:      0.9  0.8  0.7  0.6  0.5  0.3  0.2  0.1
#   kept:   1    2    3    4    4    5    5    5      -> recall = kept / 5
TIE_P = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.5, 0.3, 0.2, 0.1])
TIE_Y = np.array([1, 1, 0, 1, 0, 1, 0, 1, 0, 0])


@pytest.mark.parametrize(
    ("min_recall", "expected"),
    [
        (0.0, 0.9),  # nothing required: the highest probability
        (0.2, 0.9),
        (0.4, 0.8),  # exactly 2/5 at the tie 0.8
        (0.5, 0.7),
        (0.6, 0.7),  # exactly 3/5
        (0.8, 0.6),  # the completion tied at 0.6 counts; 0.5 keeps no more, so 0.6 is highest
        (0.81, 0.3),
        (1.0, 0.3),  # every completion kept: the lowest completion's probability
    ],
)
def test_choose_threshold_hand_example(min_recall, expected):
    assert choose_threshold(TIE_Y, TIE_P, min_recall) == expected


def test_choose_threshold_ignores_row_order_and_accepts_series():
    order = np.random.default_rng(3).permutation(len(TIE_P))
    y, p = pd.Series(TIE_Y[order]), pd.Series(TIE_P[order])
    assert choose_threshold(y, p, 0.8) == 0.6
    assert choose_threshold(y, p, 1.0) == 0.3


def test_choose_threshold_ties_stay_on_one_side():
    # Three leads share 0.8 (two completions): t = 0.8 keeps 2 of 3 completions, t = 0.4 all 3.
    y, p = [1, 0, 1, 1], [0.8, 0.8, 0.8, 0.4]
    assert choose_threshold(y, p, 2 / 3) == 0.8
    assert choose_threshold(y, p, 0.7) == 0.4


def test_choose_threshold_matches_brute_force_on_random_ties():
    rng = np.random.default_rng(7)
    p = np.round(rng.uniform(size=300), 2)  # rounding creates many ties
    y = (rng.uniform(size=300) < p).astype(int)
    for min_recall in (0.5, 0.9, 0.95, 1.0):
        candidates = [t for t in np.unique(p) if y[p >= t].sum() / y.sum() >= min_recall]
        assert choose_threshold(y, p, min_recall) == max(candidates)


def test_choose_threshold_without_completions_raises():
    with pytest.raises(ValueError, match="no completions"):
        choose_threshold([0, 0, 0], [0.1, 0.5, 0.9], 0.9)


@pytest.mark.parametrize("min_recall", [-0.1, 1.5])
def test_choose_threshold_rejects_recall_outside_unit_interval(min_recall):
    with pytest.raises(ValueError, match="min_completion_recall"):
        choose_threshold(TIE_Y, TIE_P, min_recall)


@pytest.fixture(scope="module")
def random_scores():
    rng = np.random.default_rng(42)
    p = rng.uniform(0.01, 0.99, size=400)
    y = (rng.uniform(size=400) < p).astype(int)
    return y, p


def test_classification_metrics_equal_sklearn_with_truth_first(random_scores):
    y, p = random_scores
    threshold = 0.6
    predicted = (p >= threshold).astype(int)
    result = classification_metrics(y, p, threshold)
    expected = {
        "roc_auc": metrics.roc_auc_score(y, p),
        "pr_auc": metrics.average_precision_score(y, p),
        "log_loss": metrics.log_loss(y, p),
        "brier": metrics.brier_score_loss(y, p),
        "accuracy": metrics.accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted),
        "recall": metrics.recall_score(y, predicted),
        "f1": metrics.f1_score(y, predicted),
    }
    for name, value in expected.items():
        assert result[name] == value, name
        assert type(result[name]) is float, name
    tn, fp, fn, tp = metrics.confusion_matrix(y, predicted).ravel()
    assert (result["tn"], result["fp"], result["fn"], result["tp"]) == (tn, fp, fn, tp)
    assert all(type(result[k]) is int for k in ("tn", "fp", "fn", "tp"))
    # The old bug (predictions passed as the truth) gives different numbers, so it would fail here.
    assert metrics.precision_score(predicted, y) != pytest.approx(result["precision"])
    assert metrics.roc_auc_score(predicted, p) != pytest.approx(result["roc_auc"])


def test_classification_metrics_tiny_hand_example():
    # threshold 0.5 (inclusive) predicts [0, 1, 1, 0, 1, 1] against truth [0, 0, 1, 1, 1, 0]
    y = [0, 0, 1, 1, 1, 0]
    p = [0.1, 0.6, 0.7, 0.4, 0.9, 0.5]
    result = classification_metrics(y, p, 0.5)
    assert (result["tn"], result["fp"], result["fn"], result["tp"]) == (1, 2, 1, 2)
    assert result["accuracy"] == pytest.approx(3 / 6)
    assert result["precision"] == pytest.approx(2 / 4)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(4 / 7)  # 2tp / (2tp + fp + fn)
    # Ranks: positives {0.7, 0.4, 0.9} beat negatives {0.1, 0.6, 0.5} in 7 of 9 pairs.
    assert result["roc_auc"] == pytest.approx(7 / 9)


def test_classification_metrics_threshold_above_everything_keeps_nothing():
    result = classification_metrics([0, 1, 1], [0.2, 0.4, 0.6], 0.99)
    assert (result["tp"], result["fp"], result["precision"], result["f1"]) == (0, 0, 0.0, 0.0)


def test_classification_metrics_needs_both_classes():
    with pytest.raises(ValueError, match="both"):
        classification_metrics([1, 1], [0.2, 0.9], 0.5)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="3 values but probability has 2"):
        business_metrics([0, 1, 1], [0.2, 0.4], 0.5)
    with pytest.raises(ValueError, match="only 0"):
        business_metrics([0, 2], [0.2, 0.4], 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        business_metrics([0, 1], [0.2, 1.4], 0.5)
    with pytest.raises(ValueError, match="empty"):
        business_metrics([], [], 0.5)


def test_business_metrics_hand_example():
    # Kept (p >= 0.35): leads 0, 1, 3, 6, 8 -> 5 of 10; completions 0, 3, 7 -> 2 of 3 kept.
    y = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    p = [0.9, 0.8, 0.2, 0.7, 0.1, 0.3, 0.6, 0.2, 0.4, 0.05]
    result = business_metrics(y, p, 0.35)
    assert result == pytest.approx(
        {
            "junk_share": 0.5,
            "completions_kept": 2 / 3,
            "l2ac_all": 0.3,
            "l2ac_kept": 0.4,
            "l2ac_lift": 4 / 3,
        }
    )
    assert all(type(value) is float for value in result.values())


def test_business_metrics_threshold_is_inclusive_and_nothing_kept_is_nan():
    assert business_metrics([1, 0], [0.5, 0.2], 0.5)["completions_kept"] == 1.0
    result = business_metrics([1, 0], [0.5, 0.2], 0.9)
    assert result["junk_share"] == 1.0
    assert result["completions_kept"] == 0.0
    assert np.isnan(result["l2ac_kept"]) and np.isnan(result["l2ac_lift"])


def test_score_from_probability_rounds_and_clips():
    score = score_from_probability([0.0, 0.004, 0.006, 0.249, 0.251, 0.999, 1.0, -0.01, 1.02])
    assert score.tolist() == [0, 0, 1, 25, 25, 100, 100, 0, 100]
    assert score.dtype == np.int64
    assert score_from_probability([]).tolist() == []
    with pytest.raises(ValueError, match="NaN"):
        score_from_probability([0.5, np.nan])


def test_grade_boundaries():
    scores = [0, 24, 25, 49, 50, 74, 75, 100]
    grades = grade_from_score(np.array(scores), BANDS)
    assert grades.tolist() == ["D", "D", "C", "C", "B", "B", "A", "A"]
    # Dict order does not matter: the minimums decide.
    shuffled = {"C": 25, "A": 75, "D": 0, "B": 50}
    assert grade_from_score(scores, shuffled).tolist() == grades.tolist()
    assert grade_from_score(np.array([], dtype=int), BANDS).tolist() == []


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ({"A": 75, "B": 50}, "minimum score 0"),
        ({"A": 50, "B": 50, "C": 0}, "distinct"),
        ({}, "empty"),
        ({"A": 120, "D": 0}, "0-100"),
    ],
)
def test_invalid_bands_raise(bands, message):
    with pytest.raises(ValueError, match=message):
        grade_from_score([10, 60], bands)
    with pytest.raises(ValueError, match=message):
        grade_table([0, 1], ["A", "A"], bands)


def test_grade_from_score_rejects_negative_scores():
    with pytest.raises(ValueError, match="at least 0"):
        grade_from_score([-1, 50], BANDS)


def test_grade_table_keeps_empty_grades_in_band_order():
    y = [1, 1, 0, 0, 1, 0]
    grades = ["A", "A", "C", "D", "C", "A"]
    table = grade_table(y, grades, {"D": 0, "C": 25, "B": 50, "A": 75})
    expected = pd.DataFrame(
        {
            "grade": ["A", "B", "C", "D"],
            "min_score": np.array([75, 50, 25, 0], dtype=np.int64),
            "leads": np.array([3, 0, 2, 1], dtype=np.int64),
            "lead_share": [3 / 6, 0.0, 2 / 6, 1 / 6],
            "completions": np.array([2, 0, 1, 0], dtype=np.int64),
            "completion_rate": [2 / 3, np.nan, 1 / 2, 0.0],
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def test_grade_table_rejects_unknown_grades():
    with pytest.raises(ValueError, match="not in bands"):
        grade_table([0, 1], ["A", "E"], BANDS)


def test_calibration_table_small_example():
    # 4 bins: [0, .25) holds 0.1, 0.2; [.25, .5) holds 0.3; [.5, .75) is empty and dropped;
    # [.75, 1] holds 0.75 (lower edge inclusive), 0.9 and 1.0 (last bin includes 1).
    y = [0, 1, 0, 1, 1, 0]
    p = [0.1, 0.2, 0.3, 0.9, 1.0, 0.75]
    table = calibration_table(y, p, bins=4)
    expected = pd.DataFrame(
        {
            "bin_lower": [0.0, 0.25, 0.75],
            "bin_upper": [0.25, 0.5, 1.0],
            "leads": np.array([2, 1, 3], dtype=np.int64),
            "mean_predicted": [0.15, 0.3, (0.9 + 1.0 + 0.75) / 3],
            "observed_rate": [0.5, 0.0, 2 / 3],
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def test_calibration_table_edges_are_exact_decimals():
    # 0.3 belongs to [0.3, 0.4), not to the bin below it through float noise in the edges.
    table = calibration_table([1, 0], [0.3, 0.7])
    assert table["bin_lower"].tolist() == [0.3, 0.7]
    assert table["bin_upper"].tolist() == [0.4, 0.8]
    with pytest.raises(ValueError, match="bins"):
        calibration_table([1, 0], [0.3, 0.7], bins=0)
