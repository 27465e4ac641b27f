"""The `prod` environment against real servers: a PostgreSQL server holding the MLflow
backend store and the score store, and an MLflow tracking server in front of it, each started
here on loopback in its own process group. Training, then two overlapping inference runs, all
as `kedro run --env prod` processes: everything lands on the servers, nothing is lost, and no
SQLite file or local MLflow folder appears in the project."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import create_engine

from tests.conftest import make_project, set_promotion_rules
from tests.services import free_port, stop_process_group, wait_for_session

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
BATCH = 1500
FLOOR = {"quality_floor": {"roc_auc": 0.6, "precision": 0.5, "recall": 0.5}}


def _database(port: int, name: str) -> str:
    with psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"


@pytest.fixture
def mlflow_server(postgres_server, tmp_path) -> Iterator[str]:
    """An MLflow tracking server on a PostgreSQL backend store, artifacts in a shared folder."""
    port = free_port()
    log = (tmp_path / "mlflow-server.log").open("w")
    server = subprocess.Popen(
        [BIN / "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        + ["--backend-store-uri", _database(postgres_server, "mlflow")]
        + ["--artifacts-destination", str(tmp_path / "shared-artifacts")],
        # As make mlflow-ui and the stack: no job consumers (GenAI jobs) on a 2-core machine.
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
        | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not start:\n{log.name}")
                time.sleep(0.5)
        yield url
    finally:
        stop_process_group(server)
        log.close()


def _kedro(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [BIN / "kedro", "run", "--env", "prod", *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(*runs: subprocess.Popen) -> None:
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), "\n".join(
        o[-4000:] for o in outputs
    )


def test_prod_runs_land_on_the_servers_and_touch_no_local_store(
    tmp_path, monkeypatch, postgres_server, mlflow_server
):
    project = make_project(tmp_path / "project", monkeypatch)
    scores_url = _database(postgres_server, "lead_scores")
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_server,
        "LEAD_SCORES_DB_URL": scores_url,
        # Files on a disk every machine shares, here the project's data/ (object storage:
        # tests/test_cluster.py).
        "CODEPRO_DATA_ROOT": str(project / "data"),
        "TMPDIR": str(tmp_path),  # where prod stages the files kedro-mlflow logs
        "DO_NOT_TRACK": "1",
        "KEDRO_DISABLE_TELEMETRY": "1",
    }
    demo = f"demo_data.rows=4000,demo_data.new_rows={2 * BATCH}"
    _finish(_kedro(project, env, "--pipelines", "demo_data", "--params", demo))
    _finish(_kedro(project, env, "--pipelines", "data_processing"))
    set_promotion_rules(project, FLOOR, env="prod")  # runtime parameters may not change them
    _finish(_kedro(project, env, "--pipelines", "training"))
    leads = pd.read_csv(project / "data/01_raw/new_leads.csv")
    a, b = project / "batch_a.csv", project / "batch_b.csv"
    leads.iloc[:BATCH].to_csv(a, index=False)
    leads.iloc[BATCH:].to_csv(b, index=False)

    first = _kedro(project, env, "--pipelines", "inference", "--params", f"new_leads_path={a}")
    wait_for_session(first)
    second = _kedro(project, env, "--pipelines", "inference", "--params", f"new_leads_path={b}")
    _finish(first, second)

    client = MlflowClient(mlflow_server)
    champion = client.get_model_version_by_alias("codepro-lead-scorer", "champion")
    assert str(champion.version) == "1"
    runs = client.search_runs(
        [client.get_experiment_by_name("codepro_leads").experiment_id],
        order_by=["attributes.start_time"],
    )
    # One MLflow run per pipeline run (demo_data and data_processing are not tracked).
    assert [r.data.tags["pipeline"] for r in runs] == ["training", "inference", "inference"]
    assert all(r.info.artifact_uri.startswith("mlflow-artifacts:") for r in runs)

    engine = create_engine(scores_url)
    try:
        stored = pd.read_sql("SELECT lead_id, model_version FROM scored_leads", engine)
        monitoring = pd.read_sql("SELECT leads, status FROM monitoring_runs", engine)
    finally:
        engine.dispose()
    assert len(stored) == 2 * BATCH
    assert sorted(stored["lead_id"].astype(int)) == sorted(leads["Unnamed: 0"])
    assert set(stored["model_version"]) == {"1"}
    assert monitoring["leads"].tolist() == [BATCH, BATCH]

    local_stores = [
        p.relative_to(project)
        for p in project.rglob("*")
        if p.suffix == ".db" or p.name in {"mlruns", "mlartifacts"}
    ]
    assert local_stores == []
