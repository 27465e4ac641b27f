"""Train, then score new leads through KedroSession against a temporary MLflow store and score
database: outputs, reruns, unseen levels, drift status, the missing-champion error, and the
same model served over HTTP by `mlflow models serve`."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

from codepro_leads.errors import ModelNotFoundError
from tests.conftest import make_project, run_pipeline

pytestmark = pytest.mark.slow

DEMO = {"demo_data": {"rows": 20000, "new_rows": 4000}}
LOW_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.6, "precision": 0.5, "recall": 0.5}}}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Demo data, processed and trained once for the module (tests run in file order)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = make_project(tmp_path_factory.mktemp("inference"), monkeypatch)
        run_pipeline(root, "demo_data", DEMO)
        run_pipeline(root, "data_processing")
        run_pipeline(root, "training", LOW_FLOOR)
        yield root


def _table(project, query):
    with sqlite3.connect(project / "data/lead_scores.db") as conn:
        return pd.read_sql(query, conn)


def _cause(error, kind):
    while error is not None and not isinstance(error, kind):
        error = error.__cause__
    return error


def test_scores_every_valid_lead_once_even_when_rerun(project):
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
    run_pipeline(project, "inference")  # same input, same model: replaces, never duplicates

    scored = pd.read_parquet(project / "data/07_model_output/scored_leads.parquet")
    assert len(scored) == 3999
    assert scored["lead_id"].tolist() == raw["Unnamed: 0"].iloc[1:].tolist()
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

    rejected = pd.read_csv(project / "data/02_intermediate/rejected_new_leads.csv")
    assert rejected["reason"].tolist() == ["total_leads_droppped: not a number ('many')"]
    report = json.loads((project / "data/08_reporting/inference_report.json").read_text())
    assert (report["rows_read"], report["rows_scored"], report["rows_rejected"]) == (4000, 3999, 1)

    stored = _table(project, "SELECT lead_id, model_version FROM scored_leads")
    assert len(stored) == 3999 and not stored.duplicated().any()
    crm = pd.read_csv(project / "data/07_model_output/scored_leads_crm.csv")
    assert crm.columns.tolist()[:4] == ["lead_id", "lead_score", "lead_grade", "junk"]
    assert len(crm) == 3999


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
    assert (project / "data/08_reporting/drift_history.png").stat().st_size > 10_000


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_served_model_answers_with_the_batch_scores(project):
    run_pipeline(project, "inference")
    port = _free_port()
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
        server.terminate()
        server.wait(timeout=30)

    batch = pd.read_parquet(project / "data/07_model_output/scored_leads.parquet")
    batch = batch.set_index("lead_id").loc[raw["lead_id"]]
    assert served["lead_id"].tolist() == raw["lead_id"].tolist()
    assert np.allclose(served["probability"], batch["probability"], rtol=0, atol=1e-12)
    assert served["grade"].tolist() == batch["grade"].tolist()
    assert served["up_factor_1"].tolist() == batch["up_factor_1"].tolist()


def test_a_batch_with_every_lead_rejected_is_accounted_and_monitored(project):
    raw = pd.read_csv(project / "data/01_raw/new_leads.csv").head(5)
    raw["created_date"] = "not a date"
    path = project / "all_bad.csv"
    raw.to_csv(path, index=False)
    before = len(_table(project, "SELECT * FROM monitoring_runs"))

    run_pipeline(project, "inference", {"new_leads_path": str(path)})

    report = json.loads((project / "data/08_reporting/inference_report.json").read_text())
    assert (report["rows_read"], report["rows_scored"], report["rows_rejected"]) == (5, 0, 5)
    runs = _table(project, "SELECT leads, status FROM monitoring_runs")
    assert len(runs) == before + 1
    assert runs.iloc[-1].tolist() == [0, "alert"]
