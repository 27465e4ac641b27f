"""Train, then score new leads through KedroSession against a temporary MLflow store and score
database: outputs, reruns, unseen levels, drift status and small batches, writes that wait for
the store, the score store on a real PostgreSQL server, models with other factors or grades,
the missing-champion error, and the same model served over HTTP by `mlflow models serve`."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from codepro_leads.datasets.upsert_table_dataset import UpsertTableDataset
from codepro_leads.errors import LeadDataError, ModelNotFoundError
from tests.conftest import make_project, run_pipeline
from tests.services import free_port, stop_process_group

pytestmark = pytest.mark.slow

DEMO = {"demo_data": {"rows": 20000, "new_rows": 4000}}
LOW_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.6, "precision": 0.5, "recall": 0.5}}}
ORIGINAL_LEADS = "original_new_leads.csv"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Demo data, processed and trained once for the module (tests run in file order)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = make_project(tmp_path_factory.mktemp("inference"), monkeypatch)
        run_pipeline(root, "demo_data", DEMO)
        run_pipeline(root, "data_processing")
        run_pipeline(root, "training", LOW_FLOOR)
        # Some tests rewrite new_leads.csv (a garbage row, drifted leads); others start from
        # this copy, whatever ran before them.
        shutil.copy(root / "data/01_raw/new_leads.csv", root / ORIGINAL_LEADS)
        yield root


def _table(project, query):
    with sqlite3.connect(project / "data/lead_scores.db") as conn:
        return pd.read_sql(query, conn)


def _versions(project, path):
    """Every run's copy of a versioned file, oldest first (Kedro's versions sort by time)."""
    return sorted((project / path).glob(f"*/{Path(path).name}"))


def _latest(project, path):
    return _versions(project, path)[-1]


def _run_outputs(project):
    """How many versions of each per-run file, and rows of each table, there are."""
    return {
        "scored_leads": len(_versions(project, "data/07_model_output/scored_leads.parquet")),
        "crm": len(_versions(project, "data/07_model_output/scored_leads_crm.csv")),
        "rejected": len(_versions(project, "data/02_intermediate/rejected_new_leads.csv")),
        "report": len(_versions(project, "data/08_reporting/inference_report.json")),
        "stored": int(_table(project, "SELECT count(*) AS n FROM scored_leads")["n"][0]),
        "monitoring": int(_table(project, "SELECT count(*) AS n FROM monitoring_runs")["n"][0]),
    }


def _original_leads(project):
    return pd.read_csv(project / ORIGINAL_LEADS)


def _write_leads(project, raw, name):
    path = project / name
    raw.to_csv(path, index=False)
    return str(path)


def _cause(error, kind):
    while error is not None and not isinstance(error, kind):
        error = error.__cause__
    return error


def test_scores_every_valid_lead_once_even_when_rerun(project, caplog):
    raw = pd.read_csv(project / "data/01_raw/new_leads.csv", dtype={"total_leads_droppped": object})
    # A garbage row and leads with a city and UTM levels the model never saw.
    raw.loc[0, "total_leads_droppped"] = "many"
    raw.loc[1, ["city_mapped", "first_utm_medium_c", "first_platform_c"]] = [
        "atlantis",
        "Level999",
        "Level998",
    ]
    raw.to_csv(project / "data/01_raw/new_leads.csv", index=False)

    run_pipeline(project, "inference")
    with caplog.at_level(logging.INFO):
        run_pipeline(project, "inference")  # same input, same model: replaces, never duplicates

    scored = pd.read_parquet(_latest(project, "data/07_model_output/scored_leads.parquet"))
    assert len(scored) == 3999
    assert scored["lead_id"].tolist() == raw["Unnamed: 0"].iloc[1:].astype(str).tolist()
    assert set(scored["grade"]) <= {"A", "B", "C", "D"}
    assert scored["score"].between(0, 100).all()
    assert (scored["model_version"] == "1").all()
    assert scored["is_junk"].mean() == pytest.approx(0.33, abs=0.06)
    assert len([c for c in scored.columns if "factor" in c]) == 12

    # The unseen levels and city were scored as "others" and tier 3, not rejected.
    unseen = scored.iloc[0]
    labels = {
        label.split("=")[0]: label.split("=")[1]
        for label in unseen[[c for c in scored.columns if c.endswith(("_1", "_2", "_3"))]]
        if isinstance(label, str)
    }
    assert len(labels) >= 4
    expected = {"first_platform_c": "others", "first_utm_medium_c": "others", "city_tier": "3"}
    assert {k: v for k, v in labels.items() if k in expected} == {
        k: v for k, v in expected.items() if k in labels
    }

    rejected = pd.read_csv(_latest(project, "data/02_intermediate/rejected_new_leads.csv"))
    assert rejected["reason"].tolist() == ["total_leads_droppped: not a number ('many')"]
    report = json.loads(_latest(project, "data/08_reporting/inference_report.json").read_text())
    assert (report["rows_read"], report["rows_scored"], report["rows_rejected"]) == (4000, 3999, 1)
    assert report["rows_stored"] == 3999

    stored = _table(project, "SELECT * FROM scored_leads")
    assert len(stored) == 3999 and not stored[["lead_id", "model_version"]].duplicated().any()
    assert stored.columns.tolist() == [
        "lead_id",
        "model_version",
        "role",
        "created_date",
        "probability",
        "score",
        "grade",
        "is_junk",
        "up_factors",
        "down_factors",
        "scored_at",
    ]
    # The table holds what the scores file holds, the factors as JSON lists.
    first = stored.set_index("lead_id").loc[str(scored["lead_id"].iloc[0])]
    assert json.loads(first["up_factors"]) == [
        {
            "factor": scored[f"up_factor_{i}"].iloc[0],
            "effect": scored[f"up_factor_{i}_effect"].iloc[0],
        }
        for i in (1, 2, 3)
        if isinstance(scored[f"up_factor_{i}"].iloc[0], str)
    ]
    assert first["probability"] == scored["probability"].iloc[0]
    export = _latest(project, "data/07_model_output/scored_leads_crm.csv")
    crm = pd.read_csv(export)
    assert crm.columns.tolist()[:4] == ["lead_id", "lead_score", "lead_grade", "junk"]
    assert len(crm) == 3999
    # The CRM import job's stable path holds this run's export; reasons in the app's words.
    stable = project / "data/07_model_output/scored_leads_crm_latest.csv"
    assert stable.read_bytes() == export.read_bytes()
    # The run's summary, its last lines, says where the exports are.
    summary = caplog.records[-1].getMessage().splitlines()
    version = export.parent.name
    assert summary[:2] == [
        "Summary: inference scored the new leads with the champion v1.",
        "  4,000 rows read: 3,999 scored, 1 rejected, 0 duplicates dropped.",
    ]
    assert summary[2].startswith("  Input drift: ok (largest PSI ")
    assert summary[summary.index("Results:") + 1 : summary.index("Results:") + 3] == [
        "  CRM export, latest (the CRM import reads this): "
        "data/07_model_output/scored_leads_crm_latest.csv",
        "  CRM export of this run: "
        f"data/07_model_output/scored_leads_crm.csv/{version}/scored_leads_crm.csv",
    ]
    reasons = pd.concat([crm["raises_score"], crm["lowers_score"]]).dropna().str.split("; ")
    assert not any("=" in reason for reason in reasons.explode())
    assert crm["model_version"].dtype == "int64"


def test_drift_status_ok_on_the_same_mix_alert_when_drifted(project):
    run_pipeline(project, "inference")
    latest = _table(project, "SELECT status, max_psi FROM monitoring_runs").iloc[-1]
    assert latest["status"] == "ok"
    assert latest["max_psi"] < 0.1

    run_pipeline(project, "demo_data", {"demo_data": {**DEMO["demo_data"], "drift": 1.0}})
    run_pipeline(project, "inference")
    latest = _table(project, "SELECT status, max_psi FROM monitoring_runs").iloc[-1]
    assert latest["status"] == "alert"
    assert latest["max_psi"] > 0.25
    plots = sorted((project / "data/08_reporting/runs").glob("*/drift_history.png"))
    assert plots[-1].stat().st_size > 10_000


def test_pinned_version_that_does_not_exist_stops_with_one_clear_line(project):
    with pytest.raises(Exception) as error:
        run_pipeline(project, "inference", {"model_version": 7})
    message = str(_cause(error.value, ModelNotFoundError))
    assert message.startswith("no version 7 of model codepro-lead-scorer in sqlite:///")
    assert message.endswith(": run `kedro run --pipeline training` first")


def test_missing_champion_stops_with_one_clear_line(tmp_path, monkeypatch):
    empty = make_project(tmp_path, monkeypatch)
    run_pipeline(empty, "demo_data", {"demo_data": {"rows": 2000, "new_rows": 50}})
    with pytest.raises(Exception) as error:
        run_pipeline(empty, "inference")
    assert str(_cause(error.value, ModelNotFoundError)) == (
        f"no champion model in sqlite:///{tmp_path / 'mlflow.db'}: "
        "run `kedro run --pipeline training` first"
    )


def test_served_model_answers_with_the_batch_scores(project):
    run_pipeline(project, "inference")
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        # mlflow starts uvicorn by name: the venv's bin must be on PATH (as `make serve` does).
        "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}",
    }
    mlflow_cli = [sys.executable, "-m", "mlflow", "models", "serve"]
    server = subprocess.Popen(
        [
            *mlflow_cli,
            "-m",
            "models:/codepro-lead-scorer@champion",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # uvicorn runs in a child: stop the whole group
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("mlflow models serve did not come up")
                time.sleep(1)
        raw = pd.read_csv(project / "data/01_raw/new_leads.csv").iloc[5:15]
        raw = raw.rename(columns={"Unnamed: 0": "lead_id"})
        payload = json.loads(raw.to_json(orient="split", index=False))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"dataframe_split": payload}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            served = pd.DataFrame(json.loads(response.read())["predictions"])
    finally:
        stop_process_group(server)

    batch = pd.read_parquet(_latest(project, "data/07_model_output/scored_leads.parquet"))
    batch = batch.set_index("lead_id").loc[raw["lead_id"].astype(str)]
    assert served["lead_id"].tolist() == raw["lead_id"].astype(str).tolist()  # keys are text
    assert served["probability"].tolist() == batch["probability"].round(4).tolist()
    assert served["score"].tolist() == batch["score"].tolist()
    assert served["grade"].tolist() == batch["grade"].tolist()
    assert served["up_factor_1"].tolist() == batch["up_factor_1"].tolist()


def test_a_run_with_every_lead_rejected_fails_in_one_line_and_writes_nothing(project):
    raw = pd.read_csv(project / "data/01_raw/new_leads.csv").head(5)
    raw["created_date"] = "not a date"
    path = _write_leads(project, raw, "all_bad.csv")
    run_pipeline(project, "inference")  # a good run first: outputs to keep
    before = _run_outputs(project)

    with pytest.raises(Exception) as error:
        run_pipeline(project, "inference", {"new_leads_path": path})
    assert str(_cause(error.value, LeadDataError)) == (
        f"{path}: 0 usable new leads of 5 read, at least 1 needed; most rejected for: "
        "created_date: not an ISO 8601 date (5)"
    )
    assert _run_outputs(project) == before  # no file, no stored row, no monitoring row


def test_a_small_batch_is_insufficient_data_not_an_alert(project):
    path = _write_leads(project, _original_leads(project).iloc[100:130], "small_batch.csv")
    query = "SELECT leads, status, max_psi FROM monitoring_runs ORDER BY rowid"

    run_pipeline(project, "inference", {"new_leads_path": path})
    small = _table(project, query).iloc[-1]
    assert small[["leads", "status"]].tolist() == [30, "insufficient_data"]
    assert small["max_psi"] > 0.25  # still recorded: on 30 leads it would have been an alert

    smaller_floor = {"inference": {"monitoring": {"min_leads": 30}}}
    run_pipeline(project, "inference", {"new_leads_path": path, **smaller_floor})
    assert _table(project, query).iloc[-1]["status"] == "alert"


def test_a_failing_store_leaves_no_file_export_or_monitoring_row(project, monkeypatch):
    raw = _original_leads(project).iloc[200:300]
    raw["Unnamed: 0"] += 10_000_000  # leads never stored before
    path = _write_leads(project, raw, "store_fails.csv")
    upsert = UpsertTableDataset._upsert_sqlite

    def upsert_then_fail(self, conn, data):
        upsert(self, conn, data)  # the rows are in the open transaction...
        raise OSError("disk I/O error")  # ...when the database fails

    monkeypatch.setattr(UpsertTableDataset, "_upsert_sqlite", upsert_then_fail)
    before = _run_outputs(project)
    with pytest.raises(Exception, match="disk I/O error"):
        run_pipeline(project, "inference", {"new_leads_path": path})
    assert _run_outputs(project) == before


def test_models_with_other_factors_and_grades_store_in_the_same_tables(project):
    # A second model explaining with 5 factors and grading A-E; the quality floor keeps it
    # without an alias, so the champion of the other tests does not change.
    other_model = {
        "top_factors": 5,
        "grade_bands": {"A": 80, "B": 60, "C": 40, "D": 20, "E": 0},
        "quality_floor": {"roc_auc": 0.99},
    }
    run_pipeline(project, "training", {"training": other_model})
    path = _write_leads(project, _original_leads(project), "other_model.csv")
    # The old knob (inference.top_factors) must not change the tables either: it is ignored.
    run_pipeline(
        project,
        "inference",
        {"new_leads_path": path, "model_version": 2, "inference": {"top_factors": 5}},
    )

    scored = pd.read_parquet(_latest(project, "data/07_model_output/scored_leads.parquet"))
    stored = _table(project, "SELECT * FROM scored_leads WHERE model_version = '2'")
    assert len(stored) == len(scored)
    assert max(len(json.loads(factors)) for factors in stored["up_factors"]) == 5
    assert set(stored["grade"]) == {"A", "B", "C", "D", "E"}
    latest = _table(project, "SELECT grade_shares FROM monitoring_runs ORDER BY rowid").iloc[-1]
    shares = json.loads(latest["grade_shares"])
    assert list(shares) == ["A", "B", "C", "D", "E"]
    assert sum(shares.values()) == pytest.approx(1.0)


def _leads_with_trouble(project, name):
    """300 leads with bad values and keys repeated far apart (across any batch boundary)."""
    raw = _original_leads(project).iloc[:300].copy()
    raw = raw.astype({"total_leads_droppped": object})
    raw.loc[[3, 150], "total_leads_droppped"] = [-2, 2.5]
    raw.loc[[40, 299], "Unnamed: 0"] = raw.loc[[2, 41], "Unnamed: 0"].to_numpy()
    raw.loc[100, "created_date"] = "not a date"
    return _write_leads(project, raw, name)


def _run_snapshot(project, path, params):
    """Every output of one inference run on ``path``, without the run's time and id."""
    run_pipeline(project, "inference", {"new_leads_path": path, **params})

    def latest(name):
        return _latest(project, name)

    scored = pd.read_parquet(latest("data/07_model_output/scored_leads.parquet"))
    ids = "', '".join(scored["lead_id"].astype(str))
    stored = _table(
        project,
        f"SELECT * FROM scored_leads WHERE lead_id IN ('{ids}') ORDER BY lead_id, model_version",
    )
    monitoring = _table(project, "SELECT * FROM monitoring_runs ORDER BY rowid").iloc[[-1]]
    return {
        "scored": scored.drop(columns="scored_at"),
        "stored": stored.drop(columns="scored_at"),
        "crm": pd.read_csv(latest("data/07_model_output/scored_leads_crm.csv")).drop(
            columns="scored_at"
        ),
        "rejected": pd.read_csv(latest("data/02_intermediate/rejected_new_leads.csv")),
        "report": pd.DataFrame([json.loads(latest(REPORT).read_text())]),
        "monitoring": monitoring.drop(columns=["run_id", "scored_at"]).reset_index(drop=True),
    }


REPORT = "data/08_reporting/inference_report.json"


def test_the_batch_size_changes_no_output(project):
    path = _leads_with_trouble(project, "trouble.csv")
    tiny = _run_snapshot(project, path, {"inference": {"batch_size": 7}})
    whole = _run_snapshot(project, path, {"inference": {"batch_size": 100_000}})
    assert tiny["report"][["rows_read", "rows_scored", "rows_rejected"]].values.tolist() == [
        [300, 295, 5]
    ]
    assert sorted(tiny["rejected"]["reason"].str.split(" (", regex=False).str[0]) == [
        "created_date: not an ISO 8601 date",
        "lead_id: repeats an earlier row",
        "lead_id: repeats an earlier row",
        "total_leads_droppped: negative count",
        "total_leads_droppped: not a whole number",
    ]
    for name, frame in tiny.items():
        pd.testing.assert_frame_equal(frame, whole[name], check_exact=False, rtol=0, atol=1e-12)


def test_the_challenger_scores_in_the_shadow_never_in_the_crm_export(project):
    from mlflow.tracking import MlflowClient

    # A challenger: the champion's model registered once more (a new version, no training).
    client = MlflowClient()
    champion = client.get_model_version_by_alias("codepro-lead-scorer", "champion")
    challenger = client.create_model_version(
        "codepro-lead-scorer", champion.source, run_id=champion.run_id
    )
    client.set_registered_model_alias("codepro-lead-scorer", "challenger", challenger.version)
    champion_version, challenger_version = str(champion.version), str(challenger.version)
    path = _write_leads(project, _original_leads(project).iloc[:500], "shadowed.csv")

    run_pipeline(project, "inference", {"new_leads_path": path})

    scored = pd.read_parquet(_latest(project, "data/07_model_output/scored_leads.parquet"))
    ids = sorted(scored["lead_id"].astype(str))
    stored = _table(
        project,
        "SELECT lead_id, role, probability FROM scored_leads "
        f"WHERE model_version = '{challenger_version}' ORDER BY lead_id",
    )
    assert sorted(stored["lead_id"]) == ids
    assert set(stored["role"]) == {"shadow"}
    champion_rows = _table(
        project,
        "SELECT lead_id, role, probability FROM scored_leads "
        f"WHERE model_version = '{champion_version}' ORDER BY lead_id",
    ).set_index("lead_id")
    assert set(champion_rows.loc[ids, "role"]) == {"champion"}
    # The same model in both places: the same scores.
    assert stored.set_index("lead_id")["probability"].equals(champion_rows.loc[ids, "probability"])
    crm = pd.read_csv(_latest(project, "data/07_model_output/scored_leads_crm.csv"))
    assert crm["model_version"].astype(str).unique().tolist() == [champion_version]
    assert sorted(crm["lead_id"].astype(str)) == ids
    report = json.loads(_latest(project, REPORT).read_text())
    assert (report["shadow_model_version"], report["shadow_rows_stored"]) == (
        challenger_version,
        500,
    )
    latest = _table(project, "SELECT model_version, leads FROM monitoring_runs ORDER BY rowid")
    assert latest.iloc[-1].tolist() == [champion_version, 500]


def _pg_rows(url, query):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(query), conn)
    finally:
        engine.dispose()


def _last_scored_ids(project):
    scored = pd.read_parquet(_latest(project, "data/07_model_output/scored_leads.parquet"))
    return sorted(scored["lead_id"].astype(str))


def test_scores_and_monitoring_rows_go_to_postgresql_by_url(project, postgres_url, monkeypatch):
    monkeypatch.setenv("LEAD_SCORES_DB_URL", postgres_url)
    path = _write_leads(project, _original_leads(project).iloc[:1000], "pg_leads.csv")

    run_pipeline(project, "inference", {"new_leads_path": path})
    scored_ids = _last_scored_ids(project)
    champion_rows = "SELECT lead_id, scored_at FROM scored_leads WHERE role = 'champion'"
    first = _pg_rows(postgres_url, champion_rows)
    time.sleep(1.1)  # scored_at has whole seconds
    run_pipeline(project, "inference", {"new_leads_path": path})  # replaces the same rows

    stored = _pg_rows(postgres_url, champion_rows)
    assert sorted(stored["lead_id"]) == scored_ids == sorted(first["lead_id"])
    rerun = stored.set_index("lead_id").loc[first["lead_id"], "scored_at"]
    assert (rerun.to_numpy() > first["scored_at"].to_numpy()).all()
    runs = _pg_rows(postgres_url, "SELECT leads FROM monitoring_runs")
    assert runs["leads"].tolist() == [len(scored_ids)] * 2
    key = _pg_rows(
        postgres_url,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'scored_leads'::regclass "
        "AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
    )
    assert key["attname"].tolist() == ["lead_id", "model_version"]
