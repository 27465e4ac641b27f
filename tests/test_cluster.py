"""The production-like stack of `make stack` (deploy/stack.py), for real: PostgreSQL, Redis,
SeaweedFS's S3, the MLflow server (artifacts in the bucket), Airflow 3 with the CeleryExecutor
and two Celery workers, each in a folder of its own built from the wheel and the conf archive.

The DAGs run as in production (`KEDRO_ENV=prod`): every file crosses tasks and workers
through the bucket, models and run artifacts go through the MLflow server into the bucket,
scores and monitoring rows into PostgreSQL. The fault: the machine running training dies
mid-task (its worker and the task's processes are killed); Airflow's retry finishes the task
on the other worker, and the champion moves once, after the successful try."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import fsspec
import pandas as pd
import psutil
import pytest
from mlflow import MlflowClient
from sqlalchemy import create_engine

from tests.conftest import PROJECT_ROOT, make_project

pytestmark = pytest.mark.cluster

BIN = Path(sys.executable).parent
STACK = [sys.executable, str(PROJECT_ROOT / "deploy" / "stack.py")]
RUN_TIMEOUT = 300  # seconds for one DAG run, the failover included
DEMO = "demo_data.rows=20000,demo_data.new_rows=4000"


class Cluster:
    """A running stack: its state (deploy/stack.py's stack.json), REST API and folders."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = json.loads((root / "stack.json").read_text())
        self.env = dict(
            line.split("=", 1) for line in (root / "stack.env").read_text().splitlines()
        )
        self.api = f"http://127.0.0.1:{self.state['ports']['airflow']}"
        self.token = self.request(
            "POST",
            "/auth/token",
            {"username": "admin", "password": self.state["airflow_password"]},
        )["access_token"]

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.request(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}
        )
        return f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run['dag_run_id'], safe='')}"

    def wait(self, run_path: str, until=None) -> dict:
        """Poll the run until it ends (or ``until(run, tasks)`` holds); fail with the logs."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            run = self.request("GET", run_path)
            tasks = self.request("GET", run_path + "/taskInstances")["task_instances"]
            if until is not None and until(run, tasks):
                return run
            if run["state"] == "failed" or any(t["state"] == "failed" for t in tasks):
                pytest.fail(f"{run_path}: {run['state']} {tasks}\n{self.logs()}")
            if until is None and run["state"] == "success":
                run["task_instances"] = tasks
                return run
            time.sleep(2)
        pytest.fail(f"{run_path}: still {run['state']} after {RUN_TIMEOUT} s\n{self.logs()}")

    def worker_logs(self, dag_id: str, attempt: int) -> dict[str, list[Path]]:
        """Each worker's task logs of ``dag_id``'s try ``attempt``."""
        return {
            name: sorted(
                (self.root / f"worker-{name}" / "logs").glob(
                    f"dag_id={dag_id}/**/attempt={attempt}.log"
                )
            )
            for name in ("a", "b")
        }

    def kill_worker(self, name: str) -> None:
        """The worker's machine dies: SIGKILL to the worker and every process under it (the
        task runs in a process group of its own)."""
        leader = psutil.Process(self.state["processes"][f"worker-{name}"])
        victims = [leader, *leader.children(recursive=True)]
        for victim in victims:
            with contextlib.suppress(psutil.NoSuchProcess):  # a short-lived child ended
                victim.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=30)

    def worker_env(self, name: str) -> dict[str, str]:
        """The environment the running worker ``name`` was given."""
        self.state = json.loads((self.root / "stack.json").read_text())  # restarted: new pid
        return psutil.Process(self.state["processes"][f"worker-{name}"]).environ()

    def logs(self, tail: int = 40) -> str:
        parts = []
        for file in sorted(self.root.glob("logs/*.log")) + sorted(
            self.root.glob("worker-*/logs/dag_id=*/**/*.log")
        ):
            lines = file.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"==> {file.relative_to(self.root)}\n" + "\n".join(lines))
        return "\n".join(parts)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() or p.is_symlink()
    }


@pytest.fixture
def cluster():
    if shutil.which("redis-server") is None:  # .ci/run installs it
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is required in CI (apt-get install redis-server)")
        pytest.skip("redis-server not found (apt-get install redis-server)")
    # Not under pytest's tmp_path: its parents are private to root, and PostgreSQL runs as the
    # postgres user.
    root = Path(tempfile.mkdtemp(prefix="codepro-stack-"))
    root.chmod(0o755)
    started = time.monotonic()
    up = subprocess.run(
        [*STACK, "up", "--root", str(root), "--no-schedules"]
        # Seconds, not Airflow's 5 minutes: the failover within the test's budget.
        + ["--retry-delay", "5", "--heartbeat-timeout", "20"],
        capture_output=True,
        text=True,
    )
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-5000:]
        print(f"\nstack up in {time.monotonic() - started:.1f} s")
        yield Cluster(root)
    finally:
        down = subprocess.run([*STACK, "down", "--root", str(root)], capture_output=True, text=True)
        assert down.returncode == 0, down.stderr[-3000:]
        assert not root.exists()


def test_the_dags_run_across_two_workers_and_survive_a_dead_worker(cluster, tmp_path, monkeypatch):
    env = cluster.env
    project = make_project(tmp_path / "client", monkeypatch)
    demo = subprocess.run(
        [BIN / "kedro", "run", "--env", "prod", "--pipelines", "demo_data", "--params", DEMO],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert demo.returncode == 0, demo.stdout[-3000:]
    workers = {name: _files(cluster.root / f"worker-{name}") for name in ("a", "b")}

    deadline = time.monotonic() + 120
    while cluster.request("GET", "/api/v2/dags?dag_id_pattern=codepro-leads")["total_entries"] < 6:
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(2)

    durations = {}
    run = cluster.wait(cluster.trigger("codepro-leads-data-processing"))
    durations["data_processing"] = run["duration"]
    # Worker a's queue (default): b takes only training.
    logs = cluster.worker_logs("codepro-leads-data-processing", 1)
    assert (len(logs["a"]), len(logs["b"])) == (1, 0)

    # Training on the training queue; its worker dies once the MLflow run has started.
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    training = cluster.trigger("codepro-leads-training")

    def started(run, tasks) -> bool:
        if (
            not tasks
            or tasks[0]["state"] != "running"
            or not any(cluster.worker_logs("codepro-leads-training", 1).values())
        ):
            return False
        experiment = client.get_experiment_by_name("codepro_leads")
        return experiment is not None and any(
            r.data.tags.get("pipeline") == "training"
            for r in client.search_runs([experiment.experiment_id])
        )

    cluster.wait(training, started)
    [dead] = [n for n, logs in cluster.worker_logs("codepro-leads-training", 1).items() if logs]
    [alive] = {"a", "b"} - {dead}
    cluster.kill_worker(dead)
    run = cluster.wait(training)
    durations["training (try 1 killed, try 2)"] = run["duration"]
    [task] = run["task_instances"]
    assert task["try_number"] == 2
    retried = cluster.worker_logs("codepro-leads-training", 2)
    assert (len(retried[alive]), len(retried[dead])) == (1, 0)
    # The dead worker's machine comes back (inference and outcomes need worker a's queue).
    subprocess.run(
        [*STACK, "start-worker", "--root", str(cluster.root), "--worker", dead], check=True
    )

    run = cluster.wait(cluster.trigger("codepro-leads-inference"))
    durations["inference"] = run["duration"]
    run = cluster.wait(
        cluster.trigger("codepro-leads-outcomes", {"outcomes": {"min_matched_leads": 100}})
    )
    durations["outcomes"] = run["duration"]
    print("DAG runs on the stack (start to end):")
    for name, seconds in durations.items():
        print(f"  {name}: {seconds:.1f} s")

    # The champion: in the server's registry, its model in the bucket, from the second try.
    experiment = client.get_experiment_by_name("codepro_leads")
    runs = client.search_runs([experiment.experiment_id])
    finished = [
        r for r in runs if r.data.tags["pipeline"] == "training" and r.info.status == "FINISHED"
    ]
    champion = client.get_model_version_by_alias("codepro-lead-scorer", "champion")
    assert [champion.run_id] == [r.info.run_id for r in finished]
    bucket = fsspec.filesystem(
        "s3",
        key=env["AWS_ACCESS_KEY_ID"],
        secret=env["AWS_SECRET_ACCESS_KEY"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
    )
    # The server proxies mlflow-artifacts:/ to s3://codepro/mlflow/ (--artifacts-destination).
    model_uri = client.get_model_version_download_uri("codepro-lead-scorer", champion.version)
    assert model_uri.startswith("mlflow-artifacts:/"), model_uri
    model_key = "codepro/mlflow/" + model_uri.removeprefix("mlflow-artifacts:/").strip("/")
    assert bucket.isfile(f"{model_key}/MLmodel"), (model_uri, bucket.find("codepro/mlflow"))
    assert all(r.info.artifact_uri.startswith("mlflow-artifacts:") for r in runs)

    # Scores, monitoring rows and the alias history in PostgreSQL: the champion moved once.
    engine = create_engine(env["LEAD_SCORES_DB_URL"])
    try:
        scores = pd.read_sql("SELECT lead_id, model_version FROM scored_leads", engine)
        monitoring = pd.read_sql("SELECT model_version, leads, status FROM monitoring_runs", engine)
        moves = pd.read_sql(
            "SELECT model_version, previous_version, state FROM alias_history"
            " WHERE alias = 'champion'",
            engine,
        )
    finally:
        engine.dispose()
    assert (len(scores), scores["lead_id"].nunique()) == (4000, 4000)
    assert set(scores["model_version"]) == {str(champion.version)}
    assert monitoring.to_dict("records") == [
        {"model_version": str(champion.version), "leads": 4000, "status": "ok"}
    ]
    assert moves.to_dict("records") == [
        {"model_version": str(champion.version), "previous_version": None, "state": "done"}
    ]

    # The hand-offs and reports are objects in the bucket (a versioned file: a folder of them).
    objects = {
        "/".join(p.removeprefix("codepro/leads/").split("/")[:2])
        for p in bucket.find("codepro/leads")
    }
    assert {
        "05_model_input/model_input_leads.parquet",
        "05_model_input/raw_leads_example.csv",
        "02_intermediate/rejected_leads.csv",
        "07_model_output/scored_leads_crm.csv",
        "07_model_output/scored_leads_crm_latest.csv",
        "08_reporting/data_processing_report.json",
        "08_reporting/inference_report.json",
        "08_reporting/outcomes_report.json",
    } <= objects, objects

    # Each worker's code is its wheel, its conf the archive's, not the checkout's.
    assert finished[0].data.tags["project_path"] == str(
        cluster.root / f"worker-{alive}" / "project"
    )
    for name in ("a", "b"):
        folder = cluster.root / f"worker-{name}"
        where = subprocess.run(
            [
                folder / "venv" / "bin" / "python",
                "-c",
                "import codepro_leads; print(codepro_leads.__file__)",
            ],
            env=cluster.worker_env(name),
            capture_output=True,
            text=True,
        )
        assert where.stdout.startswith(str(folder / "venv")), where.stdout + where.stderr

    # Nothing but logs written in either worker's folder.
    for name, before in workers.items():
        after = _files(cluster.root / f"worker-{name}")
        written = {p for p in after if after[p] != before.get(p)}
        assert {p for p in written if not p.startswith("logs/")} == set(), name
