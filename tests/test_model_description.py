"""The registry texts of the model card: recency weighting, baseline and the gate's policy."""

from __future__ import annotations

from codepro_leads.model_description import registered_model_description, version_description
from tests.conftest import load_params

CARD = {
    "features": ["city_tier"],
    "threshold": 0.4,
    "grade_bands": {"A": 75, "D": 0},
    "recency": {
        "half_life_days": 15,
        "from": "model_selection",
        "test_auc": 0.802,
        "test_auc_unweighted": 0.7846,
    },
    "baseline": {"test_auc": 0.78, "test_precision": 0.7, "test_recall": 0.81, "lift": 0.022},
}


def test_the_version_shows_weighted_next_to_unweighted_and_the_baseline():
    text = version_description(CARD, {"test_roc_auc": 0.802}, "champion", "why")
    assert (
        "**Recency weighting** half-life 15 days (from model_selection): test AUC 0.8020, "
        "unweighted 0.7846." in text
    )
    assert (
        "**Baseline** (CodePro's recipe, same split): test AUC 0.7800, precision 0.7000, "
        "recall 0.8100; lift +0.0220." in text
    )
    unweighted = {**CARD, "recency": {**CARD["recency"], "half_life_days": None}}
    assert "**Recency weighting** unweighted (from model_selection)" in version_description(
        unweighted, {}, None, None
    )
    assert "Recency" not in version_description({}, {}, None, None)


def test_the_registered_model_states_the_promotion_policy():
    text = registered_model_description("m", ["city_tier"], load_params("training"))
    assert (
        "pass the quality floor (roc_auc >= 0.7, precision >= 0.55, recall >= 0.7), its test "
        "AUC is not worse than the baseline's on the same test leads by more than 0.005, and "
        "it is not worse than the current champion's by more than 0.005" in text
    )
    assert "CodePro's recipe (its significant levels one-hot, its tuned LightGBM)" in text
