"""Inference nodes alone and the order of the pipeline's writes: drift status limits, small
batches, row accounting, the score table's fixed shape, the CRM export, and every output
waiting for the score store."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from codepro_leads.datasets.model_registry import RegisteredModel
from codepro_leads.pipelines.inference import create_pipeline, nodes
from tests.conftest import load_params, make_raw


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


def _scored(rows, factors=("up_1", "up_2", "down_1")):
    columns = ["lead_id", "score", "grade", "is_junk", "probability"]
    for factor in factors:
        direction, rank = factor.split("_")
        columns += [f"{direction}_factor_{rank}", f"{direction}_factor_{rank}_effect"]
    return pd.DataFrame(rows, columns=[*columns, "model_version", "scored_at"])


def _two_leads():
    return _scored(
        [
            [7, 81, "A", False, 0.812345, "a=1", 0.5, "b=2", 0.1, "c=3", -0.2, "1", "2022-03-01"],
            [8, 12, "D", True, 0.12, None, None, None, None, "c=3", -0.9, "1", "2022-03-01"],
        ]
    )


def test_crm_export_joins_the_reasons():
    crm = nodes.export_for_crm(_two_leads(), {"rows_stored": 2})
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
    assert nodes.export_for_crm(_scored([]), {"rows_stored": 0}).empty


def test_stored_scores_have_one_shape_whatever_the_number_of_factors():
    three = _two_leads().assign(created_date=pd.Timestamp("2022-02-01"))
    factors = ["a=1", 0.4, "b=2", 0.3, "c=3", 0.2, "d=4", 0.1, "e=5", 0.05]
    five = _scored(
        [[9, 50, "B", False, 0.5, *factors, "1", "2022-03-01"]],
        factors=("up_1", "up_2", "up_3", "up_4", "up_5"),
    ).assign(created_date=pd.Timestamp("2022-02-01"))

    rows, receipt = nodes.store_scores(three)
    assert receipt == {"rows_stored": 2}
    assert rows.columns.tolist() == nodes.store_scores(five)[0].columns.tolist()
    assert rows.columns.tolist() == [
        "lead_id",
        "model_version",
        "created_date",
        "probability",
        "score",
        "grade",
        "is_junk",
        "up_factors",
        "down_factors",
        "scored_at",
    ]
    assert [json.loads(text) for text in rows["up_factors"]] == [
        [{"factor": "a=1", "effect": 0.5}, {"factor": "b=2", "effect": 0.1}],
        [],
    ]
    assert [json.loads(text) for text in rows["down_factors"]] == [
        [{"factor": "c=3", "effect": -0.2}],
        [{"factor": "c=3", "effect": -0.9}],
    ]
    up_five = json.loads(nodes.store_scores(five)[0]["up_factors"].iloc[0])
    assert [factor["factor"] for factor in up_five] == ["a=1", "b=2", "c=3", "d=4", "e=5"]


def test_row_accounting_stops_before_anything_is_written():
    scored = _two_leads()
    counts = {"rows_read": 3, "rows_rejected": 1, "duplicates_dropped": 0}
    passed, report = nodes.account_for_scored_rows(counts, scored)
    assert passed is scored
    assert report == {**counts, "rows_scored": 2}
    with pytest.raises(
        RuntimeError,
        match="read 4 new leads but scored 2, rejected 1 and dropped 0 as duplicates",
    ):
        nodes.account_for_scored_rows({**counts, "rows_read": 4}, scored)


def test_a_label_column_in_new_leads_is_dropped_as_the_served_model_does(processing_params):
    raw = make_raw(processing_params, [{"app_complete_flag": None}, {}])
    unlabeled = nodes.drop_label(raw, processing_params)
    assert "app_complete_flag" not in unlabeled.columns
    assert unlabeled.columns.tolist() == [c for c in raw.columns if c != "app_complete_flag"]
    plain = raw.drop(columns="app_complete_flag")
    assert nodes.drop_label(plain, processing_params) is plain


class _Reference:
    """Drift reference stand-in: every batch looks drifted (PSI 0.9)."""

    junk_share = 0.3

    def psi(self, encoder, leads):
        return {"city_tier": 0.9, "total_leads_droppped": 0.05}

    def unseen_share(self, leads):
        return {"first_platform_c": 0.0}


def _champion():
    scorer = SimpleNamespace(
        reference=_Reference(), encoder=None, grade_bands={"A": 75, "B": 50, "C": 25, "D": 0}
    )
    return RegisteredModel("codepro-lead-scorer", "3", SimpleNamespace(scorer=scorer))


def _monitor(scored, params, min_leads):
    limits = {**params, "monitoring": {**params["monitoring"], "min_leads": min_leads}}
    row, metrics = nodes.monitor_scores(None, scored, _champion(), limits, {"rows_stored": 2})
    return row.iloc[0], metrics


def test_fewer_leads_than_min_leads_are_insufficient_data_with_psi_recorded(params):
    row, metrics = _monitor(_two_leads(), params, min_leads=3)
    assert row["status"] == "insufficient_data"
    assert row["max_psi"] == 0.9
    assert json.loads(row["psi"]) == {"city_tier": 0.9, "total_leads_droppped": 0.05}
    assert metrics["monitoring_max_psi"] == {"value": 0.9, "step": 0}

    assert _monitor(_two_leads(), params, min_leads=2)[0]["status"] == "alert"


def test_the_monitoring_row_has_one_shape_whatever_the_grades(params):
    row, _ = _monitor(_two_leads(), params, min_leads=1)
    assert row.index.tolist() == [
        "run_id",
        "scored_at",
        "model_version",
        "leads",
        "mean_probability",
        "junk_share",
        "junk_share_training",
        "grade_shares",
        "max_psi",
        "max_psi_feature",
        "psi",
        "unseen_level_share",
        "status",
    ]
    assert json.loads(row["grade_shares"]) == {"A": 0.5, "B": 0.0, "C": 0.0, "D": 0.5}
    assert len(row["run_id"]) == 32
    assert row["run_id"] != _monitor(_two_leads(), params, min_leads=1)[0]["run_id"]


def test_every_output_is_written_only_after_the_scores_are_stored():
    pipeline = create_pipeline()
    store = next(node for node in pipeline.nodes if node.name == "store_scores")
    assert store.outputs == ["scored_leads_table", "stored_scores"]
    # The store takes the rows only once they are accounted for...
    accounting = next(node for node in pipeline.nodes if node.name == "account_for_scored_rows")
    assert set(store.inputs) <= set(accounting.outputs)
    # ...and every other persisted output waits for its receipt (directly or through a node
    # that does). In-memory hand-offs are the only outputs of the nodes before it.
    persisted = {
        "scored_leads",
        "rejected_new_leads",
        "inference_report",
        "scored_leads_crm",
        "monitoring_runs",
        "monitoring_metrics",
        "drift_history_plot",
    }
    after_store = pipeline.from_inputs("stored_scores")
    assert persisted <= after_store.all_outputs()
    before_store = pipeline.only_nodes(
        *(node.name for node in pipeline.nodes if node not in after_store.nodes)
    )
    assert not before_store.all_outputs() & persisted


def test_score_new_leads_uses_the_models_own_factors():
    calls = []

    def score(leads, chunk_size):
        calls.append(chunk_size)
        return pd.DataFrame({"lead_id": leads["lead_id"], "probability": np.full(len(leads), 0.5)})

    champion = RegisteredModel(
        "codepro-lead-scorer", "3", SimpleNamespace(scorer=SimpleNamespace(score=score))
    )
    scored = nodes.score_new_leads(pd.DataFrame({"lead_id": [1, 2]}), champion, {"chunk_size": 7})
    assert calls == [7]
    assert scored["model_version"].tolist() == ["3", "3"]
    assert scored["scored_at"].nunique() == 1
