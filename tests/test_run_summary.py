"""The summary each run ends with, word for word, from what the run saved."""

from __future__ import annotations

import pandas as pd

from codepro_leads.run_summary import RunFacts, summary

UI = "http://127.0.0.1:5000"
RUN = f"{UI}/#/experiments/1/runs/abc"


def _counts(rows_out, **more):
    return {
        "rows_read": 240000,
        "rows_out": rows_out,
        "rows_rejected": 7,
        "duplicates_dropped": 720,
        **more,
    }


def test_data_processing():
    facts = RunFacts(
        "data_processing",
        saved={"data_processing_report": _counts(239273)},
        files={
            "model_input_leads": "data/05_model_input/model_input_leads.parquet",
            "rejected_leads": "data/02_intermediate/rejected_leads.csv",
            "data_processing_report": "data/08_reporting/data_processing_report.json",
        },
    )
    assert summary(facts) == (
        "Summary: data_processing prepared the leads for training.\n"
        "  240,000 rows read: 239,273 ready for training, 7 rejected, 720 duplicates dropped.\n"
        "Results:\n"
        "  Leads for training: data/05_model_input/model_input_leads.parquet\n"
        "  Rejected rows, each with its reason: data/02_intermediate/rejected_leads.csv\n"
        "  Report: data/08_reporting/data_processing_report.json\n"
        "Next: kedro run --pipelines training"
    )


def _training(alias):
    return RunFacts(
        "training",
        saved={
            "model_card": {
                "training_data": {"rows": 239273},
                "recency": {"test_auc": 0.80202169},
                "baseline": {"test_auc": 0.78332},
            },
        },
        files={"model_card": "data/08_reporting/runs/2026-12-06T17.11.31.928Z-5449/"},
        mlflow_run=RUN,
        model={
            "name": "codepro-lead-scorer",
            "version": "3",
            "alias": alias,
            "url": f"{UI}/#/models/codepro-lead-scorer/versions/3",
        },
    )


def test_training_a_new_champion():
    assert summary(_training("champion")) == (
        "Summary: training registered codepro-lead-scorer v3: it is the champion now.\n"
        "  Test AUC 0.8020; CodePro's recipe on the same test leads 0.7833 (lift +0.0187); "
        "trained on 239,273 leads.\n"
        "Results:\n"
        "  Plots, model card and test predictions: "
        "data/08_reporting/runs/2026-12-06T17.11.31.928Z-5449/\n"
        f"  MLflow run (`make mlflow-ui` first): {RUN}\n"
        f"  Model version: {UI}/#/models/codepro-lead-scorer/versions/3\n"
        "Next: kedro run --pipelines inference (scores new leads with it)"
    )


def test_training_a_challenger_or_no_alias_keeps_the_champion():
    assert summary(_training("challenger")).splitlines()[0] == (
        "Summary: training registered codepro-lead-scorer v3: the challenger, the champion stays."
    )
    no_alias = summary(_training(None)).splitlines()
    assert no_alias[0] == (
        "Summary: training registered codepro-lead-scorer v3 without an alias: the champion stays."
    )
    assert no_alias[-1] == "Next: see why in the MLflow run; the champion keeps scoring"


def test_training_on_identical_data_and_parameters_registers_nothing():
    trained = _training(None)
    decision = {"identical_to": "2", "identical_aliases": ["champion"], "alias": None}
    facts = RunFacts(
        "training",
        saved={**trained.saved, "promotion_decision": decision},
        files=trained.files,
        mlflow_run=RUN,
    )
    assert summary(facts) == (
        "Summary: training registered nothing: the data and parameters are identical to "
        "v2 (@champion).\n"
        "  Test AUC 0.8020; CodePro's recipe on the same test leads 0.7833 (lift +0.0187); "
        "trained on 239,273 leads.\n"
        "Results:\n"
        "  Plots, model card and test predictions: "
        "data/08_reporting/runs/2026-12-06T17.11.31.928Z-5449/\n"
        f"  MLflow run (`make mlflow-ui` first): {RUN}\n"
        "Next: train on new leads or with changed parameters to register a new version"
    )
    decision["identical_aliases"] = []
    assert summary(facts).splitlines()[0] == (
        "Summary: training registered nothing: the data and parameters are identical to "
        "v2 (no alias)."
    )


def test_inference():
    monitoring = pd.DataFrame(
        [
            {
                "model_version": "3",
                "status": "ok",
                "max_psi": 0.00312,
                "max_psi_feature": "first_utm_medium_c",
                "junk_share": 0.31372,
            }
        ]
    )
    report = _counts(239273, shadow_model_version="4", shadow_rows_stored=239273)
    facts = RunFacts(
        "inference",
        saved={"inference_report": report, "monitoring_runs": monitoring},
        files={
            "scored_leads_crm_latest": "data/07_model_output/scored_leads_crm_latest.csv",
            "scored_leads_crm": "data/07_model_output/scored_leads_crm.csv/V/scored_leads_crm.csv",
        },
        mlflow_run=RUN,
    )
    assert summary(facts) == (
        "Summary: inference scored the new leads with the champion v3.\n"
        "  240,000 rows read: 239,273 scored, 7 rejected, 720 duplicates dropped.\n"
        "  Challenger v4 scored 239,273 of them in the shadow (not exported).\n"
        "  Input drift: ok (largest PSI 0.003, first_utm_medium_c; leads flagged junk 31.4%).\n"
        "Results:\n"
        "  CRM export, latest (the CRM import reads this): "
        "data/07_model_output/scored_leads_crm_latest.csv\n"
        "  CRM export of this run: "
        "data/07_model_output/scored_leads_crm.csv/V/scored_leads_crm.csv\n"
        f"  MLflow run (`make mlflow-ui` first): {RUN}\n"
        "Next: import the latest CRM export; `make app` lists the leads to call; once their "
        "outcomes are known: kedro run --pipelines outcomes"
    )


def test_outcomes_words_the_grades():
    row = {
        "model_version": "1",
        "role": "champion",
        "week": "2026-11-30T00:00:00.000",
        "realized_auc": 0.7807759,
        "test_auc": 0.8020217,
        "completion_rate": 0.4896,
        "grade_completion_rate": {"A": 0.750617, "B": 0.602442, "C": 0.447008, "D": 0.098646},
        "status": "ok",
    }
    report = {"leads_matched": 25000, "leads_unmatched": 0, "rows_rejected": 2}
    facts = RunFacts(
        "outcomes",
        saved={"outcomes_report": {**report, "performance": [row]}},
        files={"outcomes_report": "data/08_reporting/outcomes_report.json/V/outcomes_report.json"},
    )
    assert summary(facts) == (
        "Summary: outcomes measured the scores against what the leads did.\n"
        "  25,000 outcomes matched to stored scores (0 without a score, 2 rejected).\n"
        "  v1 (champion), week of 2026-11-30: realized AUC 0.7808 (test 0.8020), 49.0% "
        "completed; by grade A 75.1%, B 60.2%, C 44.7%, D 9.9%: ok.\n"
        "Results:\n"
        "  Report: data/08_reporting/outcomes_report.json/V/outcomes_report.json\n"
        "Next: `make app` shows how the model is doing over the weeks"
    )
    degraded = {**row, "status": "degraded", "realized_auc": None}
    facts = RunFacts("outcomes", saved={"outcomes_report": {**report, "performance": [degraded]}})
    lines = summary(facts).splitlines()
    assert "realized AUC n/a (test 0.8020)" in lines[2]
    assert lines[-1] == (
        "Next: a model scores worse than on its test leads: "
        "retrain (kedro run --pipelines training)"
    )


def test_a_tracking_server_is_its_own_ui():
    server = "https://mlflow.example.com/#/experiments/1/runs/abc"
    facts = RunFacts("demo_data", mlflow_run=server, start_ui=None)
    assert f"  MLflow run: {server}" in summary(facts).splitlines()


def test_a_champion_change_by_hand():
    change = {"version": "2", "expected_champion": "3", "action": "rollback", "reason": "bad week"}
    assert summary(RunFacts("rollback", saved={"champion_change": change})) == (
        "Summary: rollback made v2 the champion (it was v3).\n"
        "  Reason: bad week\n"
        "Next: kedro run --pipelines inference scores with it"
    )


def test_part_of_a_pipeline_without_its_report_lists_its_files():
    """An Airflow task runs some nodes of a pipeline: no report, no figures, no error."""
    facts = RunFacts("training", files={"model_card": "data/08_reporting/runs/R/"})
    assert summary(facts) == (
        "Summary: training finished.\n"
        "Results:\n"
        "  Plots, model card and test predictions: data/08_reporting/runs/R/"
    )


def test_other_pipelines_list_their_files():
    facts = RunFacts("demo_data", files={"raw_leads": "data/01_raw/leadscoring.csv"})
    assert summary(facts) == (
        "Summary: demo_data finished.\n"
        "Results:\n"
        "  raw_leads: data/01_raw/leadscoring.csv\n"
        "Next: kedro run --pipelines data_processing"
    )
