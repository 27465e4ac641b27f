"""Closing the loop through KedroSession on a small trained project: inference stores scores,
the outcomes pipeline measures them against the demo's later labeled export (table, report,
MLflow metrics and plot), and the champion is promoted and rolled back by hand with an audit
trail."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from codepro_leads.cli import _one_line, cli
from tests.conftest import LOW_FLOOR, run_pipeline

pytestmark = pytest.mark.slow

MODEL = "codepro-lead-scorer"
OUTCOMES = {"outcomes": {"min_matched_leads": 100}}


def _table(project, query):
    with sqlite3.connect(project / "data/lead_scores.db") as conn:
        return pd.read_sql(query, conn)


def _latest_report(project):
    return json.loads(
        sorted(project.glob("data/08_reporting/outcomes_report.json/*/*"))[-1].read_text()
    )


def test_outcomes_of_stored_scores(trained_project):
    project = trained_project
    run_pipeline(project, "inference")
    # The demo's later export, plus two leads that were never scored and one bad row.
    export = pd.read_csv(project / "data/01_raw/new_leads_outcomes.csv", dtype=str)
    extra = export.iloc[:3].copy()
    extra.iloc[:, 0] = ["900001", "900002", "900003"]
    extra.iloc[2, extra.columns.get_loc("app_complete_flag")] = "maybe"
    pd.concat([export, extra]).to_csv(project / "later.csv", index=False)

    run_pipeline(project, "outcomes", OUTCOMES)
    run_pipeline(project, "outcomes", {**OUTCOMES, "outcomes_path": "later.csv"})

    rows = _table(project, "SELECT * FROM model_performance ORDER BY evaluated_at")
    assert len(rows) == 2  # one row per export: one version, one role, one scoring week
    first = rows.iloc[0]
    assert (first["model_version"], first["role"], first["leads"]) == ("1", "champion", 1000)
    # Recomputed independently from the stored scores and the export.
    scores = _table(project, "SELECT lead_id, probability, is_junk FROM scored_leads")
    labels = export.rename(columns={export.columns[0]: "lead_id"})[["lead_id", "app_complete_flag"]]
    joined = scores.merge(labels, on="lead_id")
    y = joined["app_complete_flag"].astype(int)
    assert len(joined) == 1000
    assert first["realized_auc"] == pytest.approx(roc_auc_score(y, joined["probability"]))
    assert first["completion_rate"] == pytest.approx(y.mean())
    assert first["junk_share"] == pytest.approx(joined["is_junk"].mean())
    assert first["completions_kept"] == pytest.approx(y[joined["is_junk"] == 0].sum() / y.sum())
    client = MlflowClient()
    run_id = client.get_model_version(MODEL, "1").run_id
    test_auc = client.get_run(run_id).data.metrics["test_roc_auc"]
    assert first["test_auc"] == pytest.approx(test_auc)
    expected = "degraded" if first["realized_auc"] < test_auc - 0.03 else "ok"
    assert first["status"] == expected
    # The second export: same leads, two never scored, one rejected; the same figures.
    report = _latest_report(project)
    assert {k: report[k] for k in ("rows_read", "leads_matched", "leads_unmatched")} == {
        "rows_read": 1003,
        "leads_matched": 1000,
        "leads_unmatched": 2,
    }
    assert report["rows_rejected"] == 1
    assert report["reject_reasons"] == {"app_complete_flag: not a number": 1}
    assert rows.iloc[1]["realized_auc"] == pytest.approx(first["realized_auc"])
    assert rows.iloc[1]["export_sha256"] != first["export_sha256"]

    # MLflow: the realized AUC as a metric of the outcomes run, and the plot.
    experiment = client.get_experiment_by_name("codepro_leads").experiment_id
    runs = client.search_runs(
        [experiment], "tags.pipeline = 'outcomes'", order_by=["attributes.start_time DESC"]
    )
    assert len(runs) == 2
    latest = runs[0]
    assert latest.data.metrics["outcomes_v1_champion_realized_auc"] == pytest.approx(
        first["realized_auc"]
    )
    assert latest.data.metrics["outcomes_leads_unmatched"] == 2.0
    artifacts = [a.path for a in client.list_artifacts(latest.info.run_id, "plots")]
    assert artifacts == ["plots/realized_performance.png"]


def test_promote_and_rollback_by_hand_with_an_audit_trail(trained_project, monkeypatch):
    project = trained_project
    client = MlflowClient()
    v1 = client.get_model_version(MODEL, "1")
    # A second version of the same run (same test metrics), not champion.
    client.create_model_version(MODEL, v1.source, run_id=v1.run_id)
    monkeypatch.setenv("CODEPRO_USER", "ana")

    with pytest.raises(Exception) as refused:
        high_floor = {"training": {"quality_floor": {"roc_auc": 0.99}}}
        run_pipeline(project, "promote", {**high_floor, "model_version": 2, "reason": "test"})
    assert _one_line(refused.value).startswith("promote: v2 is below the quality floor: roc_auc")
    assert client.get_model_version_by_alias(MODEL, "champion").version == 1

    run_pipeline(project, "promote", {**LOW_FLOOR, "model_version": 2, "reason": "better"})
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.version == 2
    assert {k: champion.tags[k] for k in ("promotion", "promoted_by", "previous_champion")} == {
        "promotion": "better",
        "promoted_by": "ana",
        "previous_champion": "1",
    }

    run_pipeline(project, "rollback", {"reason": "v2 misses the new campaigns"})
    assert client.get_model_version_by_alias(MODEL, "champion").version == 1

    history = _table(project, "SELECT * FROM alias_history ORDER BY changed_at")
    moves = ["alias", "model_version", "previous_version", "action"]
    assert history[moves].values.tolist() == [
        ["champion", "1", None, "training"],  # the fixture's training run made v1 champion
        ["champion", "2", "1", "promote"],
        ["champion", "1", "2", "rollback"],
    ]
    assert history["changed_by"].tolist()[1:] == ["ana", "ana"]
    assert history["reason"].tolist()[1:] == ["better", "v2 misses the new campaigns"]
    assert history["run_id"].iloc[0] == v1.run_id

    printed = CliRunner().invoke(cli, ["alias-history"])
    assert printed.exit_code == 0, printed.output
    lines = printed.output.splitlines()
    assert len(lines) == 4 and "rollback" in lines[-1] and "ana" in lines[-1]
