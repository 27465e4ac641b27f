"""Inference nodes alone: drift status limits, CRM export, and a batch whose leads were all
rejected (it still gets a monitoring row instead of crashing the run)."""

from __future__ import annotations

import pandas as pd
import pytest

from codepro_leads.pipelines.inference import nodes
from tests.conftest import load_params


@pytest.fixture(scope="module")
def params():
    return load_params("inference")


@pytest.mark.parametrize(
    ("max_psi", "junk_shift", "status"),
    [
        (0.05, 0.01, "ok"),
        (0.10, 0.05, "ok"),  # limits are exclusive
        (0.11, 0.00, "warn"),
        (0.00, 0.06, "warn"),
        (0.26, 0.00, "alert"),
        (0.00, 0.11, "alert"),
    ],
)
def test_drift_status(params, max_psi, junk_shift, status):
    assert nodes.drift_status(max_psi, junk_shift, params) == status


def _scored(rows):
    columns = [
        "lead_id",
        "score",
        "grade",
        "is_junk",
        "probability",
        "up_factor_1",
        "up_factor_1_effect",
        "up_factor_2",
        "up_factor_2_effect",
        "down_factor_1",
        "down_factor_1_effect",
        "model_version",
        "scored_at",
    ]
    return pd.DataFrame(rows, columns=columns)


def test_crm_export_joins_the_reasons():
    scored = _scored(
        [
            [7, 81, "A", False, 0.812345, "a=1", 0.5, "b=2", 0.1, "c=3", -0.2, "1", "2022-03-01"],
            [8, 12, "D", True, 0.12, None, None, None, None, "c=3", -0.9, "1", "2022-03-01"],
        ]
    )
    crm = nodes.export_for_crm(scored)
    assert crm.to_dict("list") == {
        "lead_id": [7, 8],
        "lead_score": [81, 12],
        "lead_grade": ["A", "D"],
        "junk": ["no", "yes"],
        "completion_probability": [0.8123, 0.12],
        "raises_score": ["a=1; b=2", ""],
        "lowers_score": ["c=3", "c=3"],
        "model_version": ["1", "1"],
        "scored_at": ["2022-03-01", "2022-03-01"],
    }


def test_an_all_rejected_batch_exports_nothing():
    assert nodes.export_for_crm(_scored([])).empty
