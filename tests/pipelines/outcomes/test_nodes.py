"""outcomes nodes on small hand-made sets: realized metrics computed by hand, the join against a
real SQLite score store (with and without the role column), row accounting, status."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from codepro_leads.datasets.stored_scores import StoredScoresDataset
from codepro_leads.datasets.upsert_table_dataset import UpsertTableDataset
from codepro_leads.errors import ConfigError, LeadDataError
from codepro_leads.pipelines.outcomes import create_pipeline
from codepro_leads.pipelines.outcomes.nodes import (
    grades_in_words,
    join_stored_scores,
    measure_realized_performance,
    performance_status,
    plot_realized_performance,
    realized_metrics,
    report_realized_performance,
    validate_outcomes,
)
from tests.conftest import load_params, make_raw

PARAMS = {"missing_key": "stop", "week_of": "scored_at", "max_auc_drop": 0.03}

# Six leads: completions score 0.9, 0.7, 0.2; the others 0.8, 0.3, 0.1. Of the 9 (completion,
# other) pairs the completion ranks higher in 6: AUC 6/9. The last three are junk.
COMPLETED = [1, 0, 1, 0, 1, 0]
PROBABILITY = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]
JUNK = [False, False, False, True, True, True]
GRADES = ["A", "A", "B", "C", "D", "D"]


def _scores(version="1", role="champion", scored_at="2022-02-16 09:00", ids=range(6)):
    return pd.DataFrame(
        {
            "lead_id": [str(i) for i in ids],
            "model_version": version,
            "role": role,
            "created_date": pd.Timestamp("2022-02-15"),
            "probability": PROBABILITY[: len(ids)],
            "grade": GRADES[: len(ids)],
            "is_junk": JUNK[: len(ids)],
            "scored_at": pd.Timestamp(scored_at),
        }
    )


def test_realized_metrics_by_hand():
    metrics = realized_metrics(pd.Series(COMPLETED), pd.Series(PROBABILITY), pd.Series(JUNK))
    assert metrics == {
        "leads": 6,
        "completions": 3,
        "completion_rate": 0.5,
        "realized_auc": pytest.approx(6 / 9),
        "mean_probability": pytest.approx(0.5),
        "calibration_gap": pytest.approx(0.0),
        "junk_share": 0.5,
        # Kept: the first three, two of which complete.
        "completions_kept": pytest.approx(2 / 3),
        "l2ac_kept": pytest.approx(2 / 3),
        "l2ac_lift": pytest.approx(4 / 3),
    }


def test_a_single_class_or_nothing_kept_gives_nan_not_an_error():
    metrics = realized_metrics(pd.Series([0, 0]), pd.Series([0.2, 0.1]), pd.Series([True, True]))
    assert np.isnan(metrics["realized_auc"])
    assert np.isnan(metrics["l2ac_kept"]) and np.isnan(metrics["completions_kept"])
    assert metrics["junk_share"] == 1.0


@pytest.mark.parametrize(
    ("leads", "realized", "test", "status"),
    [
        (500, 0.80, 0.82, "ok"),
        (500, 0.79, 0.82, "ok"),  # exactly max_auc_drop below: not degraded
        (500, 0.7899, 0.82, "degraded"),
        (499, 0.50, 0.82, "insufficient_data"),
        (500, float("nan"), 0.82, "insufficient_data"),
        (500, 0.80, float("nan"), "insufficient_data"),
    ],
)
def test_status(leads, realized, test, status):
    params = {**PARAMS, "min_matched_leads": 500}
    assert performance_status(leads, realized, test, params) == status


def test_rows_per_version_role_and_week():
    joined = pd.concat(
        [
            _scores("1", "champion", "2022-02-16 09:00"),
            # Same leads scored by a challenger in shadow, and v1's scores of the next week.
            _scores("2", "shadow", "2022-02-16 09:00"),
            _scores("1", "champion", "2022-02-21 00:00", ids=range(4)),
        ],
        ignore_index=True,
    ).assign(completed=COMPLETED * 2 + COMPLETED[:4])
    versions = pd.DataFrame(
        {"version": ["1", "2"], "test_roc_auc": [0.69, 0.75], "aliases": ["champion", ""]}
    )
    rows = measure_realized_performance(
        joined, versions, {"export_sha256": "abc"}, {**PARAMS, "min_matched_leads": 5}
    )
    assert rows[["model_version", "role", "week", "leads", "status"]].to_dict("records") == [
        {"model_version": "1", "role": "champion", "week": pd.Timestamp("2022-02-14"),
         "leads": 6, "status": "ok"},
        # 4 leads: fewer than min_matched_leads.
        {"model_version": "1", "role": "champion", "week": pd.Timestamp("2022-02-21"),
         "leads": 4, "status": "insufficient_data"},
        # 6/9 is 0.083 below v2's test AUC of 0.75: more than max_auc_drop.
        {"model_version": "2", "role": "shadow", "week": pd.Timestamp("2022-02-14"),
         "leads": 6, "status": "degraded"},
    ]  # fmt: skip
    first = rows.iloc[0]
    assert first["realized_auc"] == pytest.approx(6 / 9)
    assert first["test_auc"] == 0.69
    assert first["auc_drop"] == pytest.approx(0.69 - 6 / 9)
    assert json.loads(first["grade_leads"]) == {"A": 2, "B": 1, "C": 1, "D": 2}
    assert json.loads(first["grade_completion_rate"]) == {"A": 0.5, "B": 1.0, "C": 0.0, "D": 0.5}
    assert first["export_sha256"] == "abc"
    # Weeks 2022-02-21: leads 0-3 -> AUC: completions 0.9, 0.7 vs 0.8, 0.3 -> 3 of 4 pairs.
    assert rows.iloc[1]["realized_auc"] == pytest.approx(0.75)
    assert rows.iloc[2]["auc_drop"] == pytest.approx(0.75 - 6 / 9)


SCORE_COLUMNS = {
    "lead_id": "text",
    "model_version": "text",
    "created_date": "timestamp",
    "probability": "float",
    "score": "integer",
    "grade": "text",
    "is_junk": "boolean",
    "up_factors": "text",
    "down_factors": "text",
    "scored_at": "timestamp",
}


def _store(url: str, with_role: bool) -> str:
    """A score store as inference writes it (without the role column, as before shadow
    scoring, or with it), holding v1's scores of leads 0-5 and, with roles, v2's shadow
    scores of leads 0-2."""
    rows = _scores().drop(columns="role").assign(score=1, up_factors="[]", down_factors="[]")
    UpsertTableDataset(
        "scored_leads", SCORE_COLUMNS, ["lead_id", "model_version"], {"con": url}
    ).save(rows)
    if with_role:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE scored_leads ADD COLUMN role TEXT")
            conn.exec_driver_sql("UPDATE scored_leads SET role = 'champion'")
            shadow = _scores("2", "shadow", ids=range(3)).assign(
                score=1, up_factors="[]", down_factors="[]"
            )
            shadow.to_sql("scored_leads", conn, if_exists="append", index=False)
        engine.dispose()
    return url


@pytest.mark.parametrize("with_role", [False, True])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_join_reads_only_the_exports_leads_and_counts_the_unmatched(
    tmp_path, request, backend, with_role
):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'scores.db'}"
    else:
        url = request.getfixturevalue("postgres_url")  # a new database on the test server
    url = _store(url, with_role)
    # batch_size 2: the lookup runs in several queries.
    lookup = StoredScoresDataset("scored_leads", {"con": url}, batch_size=2).load()
    outcomes = pd.DataFrame(
        {
            "lead_id": ["1", "2", "5", "77", "78"],  # 77 and 78 were never scored
            "created_date": pd.Timestamp("2022-02-15"),
            "completed": [0, 1, 0, 1, 1],
        }
    )
    counts = {"rows_read": 6, "rows_rejected": 1, "export_sha256": "x"}
    joined, report = join_stored_scores(outcomes, lookup, counts)
    assert report == {
        **counts,
        "leads": 5,
        "leads_matched": 3,
        "leads_unmatched": 2,
        "scores_joined": 5 if with_role else 3,
    }
    got = joined.sort_values(["model_version", "lead_id"])
    assert got[["lead_id", "model_version", "role", "completed"]].values.tolist() == [
        ["1", "1", "champion", 0],
        ["2", "1", "champion", 1],
        ["5", "1", "champion", 0],
        *([["1", "2", "shadow", 0], ["2", "2", "shadow", 1]] if with_role else []),
    ]
    assert got["probability"].tolist() == [0.8, 0.7, 0.1, *([0.8, 0.7] if with_role else [])]
    assert got["is_junk"].tolist() == [False, False, True, *([False, False] if with_role else [])]


def test_accounting_mismatch_stops_the_run(tmp_path):
    url = _store(f"sqlite:///{tmp_path / 'scores.db'}", with_role=False)
    lookup = StoredScoresDataset("scored_leads", {"con": url}).load()
    outcomes = pd.DataFrame({"lead_id": ["1"], "created_date": pd.NaT, "completed": [1]})
    with pytest.raises(RuntimeError, match="Row accounting failed: read 3 outcomes"):
        join_stored_scores(outcomes, lookup, {"rows_read": 3, "rows_rejected": 1})


def test_a_store_without_scores_matches_nothing(tmp_path):
    lookup = StoredScoresDataset("scored_leads", {"con": f"sqlite:///{tmp_path / 'x.db'}"}).load()
    outcomes = pd.DataFrame({"lead_id": ["1", "2"], "created_date": pd.NaT, "completed": [1, 0]})
    joined, report = join_stored_scores(outcomes, lookup, {"rows_read": 2, "rows_rejected": 0})
    assert (len(joined), report["leads_matched"], report["leads_unmatched"]) == (0, 0, 2)
    rows = measure_realized_performance(joined, pd.DataFrame(), {"export_sha256": "x"}, PARAMS)
    assert rows.empty
    report, metrics = report_realized_performance(rows, report | {"export_sha256": "x"}, {})
    assert report["performance"] == []
    assert metrics["outcomes_leads_unmatched"] == {"value": 2.0, "step": 0}


def test_validation_rejects_bad_rows_with_reasons_and_needs_the_label():
    processing = load_params("data_processing")
    raw = make_raw(
        processing,
        [{"": 10, "app_complete_flag": 0}, {"": 11, "app_complete_flag": 2}, {"": 12}],
    )
    outcomes, rejected, counts = validate_outcomes(raw, processing, PARAMS)
    assert outcomes.to_dict("list") == {
        "lead_id": ["10", "12"],
        "created_date": [pd.Timestamp("2021-08-01 10:00:00")] * 2,
        "completed": [0, 1],
    }
    assert rejected["reason"].tolist() == ["app_complete_flag: not 0 or 1 (2)"]
    assert (counts["rows_read"], counts["rows_rejected"]) == (3, 1)
    # The digest is of the content: the same outcomes give the same digest.
    assert validate_outcomes(raw, processing, PARAMS)[2]["export_sha256"] == counts["export_sha256"]
    unlabeled = make_raw(processing, [{"": 1}], labeled=False)
    unlabeled.attrs["source"] = "later.csv"
    with pytest.raises(LeadDataError, match=r"^later.csv: missing required column\(s\): app_"):
        validate_outcomes(unlabeled, processing, PARAMS)


def test_grades_in_words():
    assert grades_in_words({"A": 0.750617, "B": 0.6, "D": 0.098646}) == "A 0.751, B 0.600, D 0.099"


def test_report_metrics_are_series_per_version_and_role_by_week():
    joined = _scores().assign(completed=COMPLETED)
    versions = pd.DataFrame({"version": ["1"], "test_roc_auc": [0.7]})
    rows = measure_realized_performance(
        joined, versions, {"export_sha256": "x"}, {**PARAMS, "min_matched_leads": 1}
    )
    counts = {"leads_matched": 6, "leads_unmatched": 0, "rows_rejected": 0, "export_sha256": "x"}
    report, metrics = report_realized_performance(rows, counts, {"performance_rows_stored": 1})
    assert metrics["outcomes_v1_champion_realized_auc"] == [
        {"value": pytest.approx(6 / 9), "step": 202207}
    ]
    assert metrics["outcomes_v1_champion_test_auc"] == [{"value": 0.7, "step": 202207}]
    assert report["performance"][0]["week"].startswith("2022-02-14")
    # Objects in the report's JSON, not JSON text inside it.
    assert report["performance"][0]["grade_completion_rate"] == json.loads(
        rows["grade_completion_rate"].iloc[0]
    )
    assert isinstance(report["performance"][0]["grade_leads"], dict)
    assert report["performance_rows_stored"] == 1
    figure = plot_realized_performance(rows)
    assert [ax.get_title() for ax in figure.axes] == [
        "Realized AUC on later outcomes vs test AUC",
        "Completion rate by grade",
    ]


def test_pipeline_nodes_and_hand_offs():
    nodes = {node.name: node for node in create_pipeline().nodes}
    assert nodes["validate_outcomes"].inputs[0] == "lead_outcomes"
    assert nodes["join_stored_scores"].inputs[1] == "scored_leads_lookup"
    # The report and metrics wait for the table's receipt.
    assert "stored_performance" in nodes["report_realized_performance"].inputs
    assert nodes["store_realized_performance"].outputs[0] == "model_performance"


def test_weeks_of_creation_instead_of_scoring_and_an_unknown_choice():
    # Scored on one day, created over two weeks: grouped by creation week on request.
    joined = _scores().assign(
        completed=COMPLETED,
        created_date=pd.to_datetime(["2022-02-13"] * 3 + ["2022-02-14"] * 3),
    )
    params = {**PARAMS, "min_matched_leads": 1, "week_of": "created_date"}
    rows = measure_realized_performance(joined, pd.DataFrame(), {"export_sha256": "x"}, params)
    assert rows["week"].tolist() == [pd.Timestamp("2022-02-07"), pd.Timestamp("2022-02-14")]
    assert rows["leads"].tolist() == [3, 3]
    with pytest.raises(ConfigError, match="outcomes.week_of must be scored_at or created_date"):
        measure_realized_performance(
            joined, pd.DataFrame(), {"export_sha256": "x"}, {**params, "week_of": "week"}
        )
