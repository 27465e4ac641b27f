"""promote / rollback checks on hand-made registry listings and alias histories."""

from __future__ import annotations

import pandas as pd
import pytest

from codepro_leads.pipelines.promote.nodes import (
    ChampionChangeRefused,
    plan_promotion,
    plan_rollback,
)

FLOOR = {"roc_auc": 0.75, "precision": 0.65}
VERSIONS = pd.DataFrame(
    {
        "version": ["1", "2", "3", "4", "5", "6"],
        "run_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        # r5: a training killed after registering (its run never ended); r6: deleted.
        "run_status": ["FINISHED", "FINISHED", "FINISHED", "FAILED", "RUNNING", None],
        "aliases": ["", "champion", "challenger", "", "", ""],
        "tags": [{}, {}, {}, {"run_status": "failed"}, {}, {}],
        "test_roc_auc": [0.80, 0.81, 0.74, 0.90, 0.90, 0.90],
        "test_precision": [0.70, 0.70, 0.90, 0.90, 0.90, 0.90],
    }
)


def _history(*events: tuple[str, str | None, str]) -> pd.DataFrame:
    """(version, previous, action) per champion change, oldest first."""
    return pd.DataFrame(
        [
            {"alias": "champion", "model_version": v, "previous_version": p, "action": a}
            for v, p, a in events
        ],
        columns=["alias", "model_version", "previous_version", "action"],
    )


def test_promotes_a_version_that_passes_the_floor():
    change = plan_promotion(VERSIONS, {"model_version": 1, "reason": " back to v1 "}, FLOOR)
    assert change == {
        "version": "1",
        "expected_champion": "2",
        "action": "promote",
        "reason": "back to v1",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model_version": 3, "reason": "r"}, "promote: v3 is below the quality floor: roc_auc "
         "0.7400 < 0.75"),
        ({"model_version": 2, "reason": "r"}, "promote: v2 is already the champion"),
        ({"model_version": 4, "reason": "r"}, "promote: v4 comes from a failed run"),
        ({"model_version": 5, "reason": "r"}, "promote: v5 comes from a training run that did "
         "not finish (MLflow run r5: RUNNING)"),
        ({"model_version": 6, "reason": "r"}, "promote: v6 comes from a training run that did "
         "not finish (MLflow run r6: deleted)"),
        ({"model_version": 9, "reason": "r"}, "no version 9 in the registry (versions: 1, 2, 3,"),
        ({"model_version": 1, "reason": None}, "promote: a reason is required"),
        ({"model_version": 1, "reason": "  "}, "promote: a reason is required"),
        ({"model_version": None, "reason": "r"}, "promote: which version?"),
    ],
)  # fmt: skip
def test_refusals_are_one_line(params, message):
    with pytest.raises(ChampionChangeRefused) as refused:
        plan_promotion(VERSIONS, params, FLOOR)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_a_version_without_test_metrics_is_refused():
    versions = VERSIONS.assign(test_precision=[float("nan")] * 6)
    with pytest.raises(ChampionChangeRefused, match="v1 is below the quality floor: no test prec"):
        plan_promotion(versions, {"model_version": 1, "reason": "r"}, FLOOR)


def test_rollback_goes_back_to_the_champion_before_and_walks_further_back():
    history = _history(("1", None, "training"), ("3", "1", "training"), ("2", "3", "promote"))
    change = plan_rollback(VERSIONS, history, {"reason": "v2 misses campaigns"})
    assert change == {
        "version": "3",
        "expected_champion": "2",
        "action": "rollback",
        "reason": "v2 misses campaigns",
    }
    # After that rollback v3 is champion; rolling back again goes to v1, not to v2.
    after = VERSIONS.assign(aliases=["", "", "champion", "", "", ""])
    history = pd.concat([history, _history(("3", "2", "rollback"))], ignore_index=True)
    assert plan_rollback(after, history, {"reason": "again"})["version"] == "1"


def test_rollback_without_a_recorded_previous_champion_is_refused():
    with pytest.raises(ChampionChangeRefused, match="records no champion before v2"):
        plan_rollback(VERSIONS, _history(("2", None, "training")), {"reason": "r"})
    with pytest.raises(ChampionChangeRefused, match="records no champion before v2"):
        plan_rollback(VERSIONS, _history(), {"reason": "r"})
    with pytest.raises(ChampionChangeRefused, match="no champion to roll back"):
        plan_rollback(VERSIONS.assign(aliases=""), _history(), {"reason": "r"})
    with pytest.raises(ChampionChangeRefused, match="rollback: a reason is required"):
        plan_rollback(VERSIONS, _history(("2", "1", "promote")), {"reason": None})
