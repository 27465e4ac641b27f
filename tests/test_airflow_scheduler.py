"""The committed DAGs in airflow_dags/ on a real Airflow 3 scheduler: LocalExecutor, its own
metadata database, the tasks running in the executor's processes, started from a directory
that is not the project. `airflow dags test` would run every task in one process and hide
what only a real executor shows (e.g. one MLflow run per task).

Airflow 3 needs three processes: the dag-processor parses the DAG files, the scheduler runs
the tasks with LocalExecutor, and the api-server serves the REST API and the execution API the
tasks report to. All listen on 127.0.0.1 only, each in its own process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import PROJECT_ROOT, make_project, run_pipeline, set_promotion_rules
from tests.services import free_port

pytestmark = pytest.mark.airflow

AIRFLOW = Path(sys.executable).with_name("airflow")
DEMO = {"demo_data": {"rows": 20000, "new_rows": 4000}}
# A floor the small demo passes, in the project's conf/local.
LOW_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.6, "precision": 0.5, "recall": 0.5}}}
DAGS = {  # dag_id: (schedule, tasks)
    "codepro-leads-data-processing": ("0 2 * * 1", ["data_processing"]),
    "codepro-leads-training": ("0 4 * * 1", ["training"]),
    "codepro-leads-inference": ("0 0 * * *", ["inference"]),  # @daily
    "codepro-leads-outcomes": ("0 6 * * 1", ["outcomes"]),
    "codepro-leads-profiling": (None, ["profiling"]),  # on demand
    "codepro-leads-model-selection": (None, ["model_selection"]),
}
RUN_TIMEOUT = 240  # seconds for one DAG run; ~20-50 s each on 2 idle cores


def _airflow_env(home: Path, project: Path, api_port: int) -> dict[str, str]:
    # Nothing inherited that the DAGs should work out themselves (make exports the log config).
    inherited = ("AIRFLOW", "MLFLOW", "KEDRO_LOGGING_CONFIG", "CODEPRO", "LEAD_SCORES")
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "airflow_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="2",  # 2 cores; the default is 32 workers
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{api_port}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        # Never on all interfaces, even if something starts a log server anyway.
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",  # loopback only, throw-away
        # Only the runs this test triggers: no scheduled run when a DAG is unpaused.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        CODEPRO_PROJECT_PATH=str(project),
        # Throw-away stores, absolute so they cannot depend on any working directory.
        MLFLOW_TRACKING_URI=f"sqlite:///{project / 'mlflow.db'}",
        LEAD_SCORES_DB_URL=f"sqlite:///{project / 'data' / 'lead_scores.db'}",
    )
    return env


class Airflow:
    """A throw-away Airflow: its processes, its REST API, its logs."""

    def __init__(self, home: Path, project: Path) -> None:
        self.home, self.project = home, project
        self.api_port = free_port()
        self.env = _airflow_env(home, project, self.api_port)
        self.api = f"http://127.0.0.1:{self.api_port}/api/v2"
        self.processes: dict[str, subprocess.Popen] = {}

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(AIRFLOW), *args], env=self.env, cwd=self.home, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self, name: str, *args: str) -> None:
        with open(self.home / f"{name}.log", "w") as log:
            self.processes[name] = subprocess.Popen(
                [str(AIRFLOW), name, *args],
                env=self.env,
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with its children
            )

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is left (the api-server and the
        executor's workers do not always exit on SIGTERM)."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            _signal_group(process, signal.SIGKILL)
            process.wait()

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait_for(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except OSError:  # not listening yet
                pass
            time.sleep(2)
        pytest.fail(f"timed out waiting for {what}\n{self.logs()}")

    def run_dag(self, dag_id: str, conf: dict | None = None) -> dict:
        """Unpause, trigger and wait for the run to end; fail with the logs unless it succeeds."""
        self.request("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        run = self.request("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        path = f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run['dag_run_id'], safe='')}"
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            run = self.request("GET", path)
            tasks = self.request("GET", path + "/taskInstances")["task_instances"]
            # A retry would come 5 minutes later: the first failed try already fails the test.
            failed = [t["task_id"] for t in tasks if t["state"] in ("failed", "up_for_retry")]
            if run["state"] == "failed" or failed:
                pytest.fail(f"{dag_id}: run {run['state']}, failed tasks {failed}\n{self.logs()}")
            if run["state"] == "success":
                run["task_instances"] = tasks
                return run
            time.sleep(3)
        pytest.fail(f"{dag_id}: still {run['state']} after {RUN_TIMEOUT} s\n{self.logs()}")

    def logs(self, tail: int = 60) -> str:
        """The last lines of each task log and process log, for CI to show why."""
        files = sorted((self.home / "logs").glob("dag_id=*/**/*.log"))
        files += sorted(self.home.glob("*.log"))
        parts = []
        for file in files:
            lines = file.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"==> {file.relative_to(self.home)}\n" + "\n".join(lines))
        return "\n".join(parts)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has already exited
        os.killpg(process.pid, sig)


@pytest.fixture
def airflow(tmp_path, monkeypatch):
    """Demo data in a throw-away project, and an Airflow started elsewhere."""
    project = make_project(tmp_path / "project", monkeypatch)
    run_pipeline(project, "demo_data", DEMO)
    set_promotion_rules(project, LOW_FLOOR["training"])  # dag_run.conf may not change them
    home = tmp_path / "airflow"  # the working directory of every Airflow process
    home.mkdir()
    monkeypatch.chdir(home)
    instance = Airflow(home, project)
    instance.cli("db", "migrate")
    try:
        instance.start("api-server", "--host", "127.0.0.1", "--port", str(instance.api_port))
        instance.start("dag-processor")
        # LocalExecutor's log server would listen on all interfaces; the api-server reads
        # the task logs from AIRFLOW_HOME/logs on this machine anyway.
        instance.start("scheduler", "--skip-serve-logs")
        yield instance
    finally:
        instance.stop()


def test_dags_run_on_a_real_scheduler(airflow):
    airflow.wait_for(
        "every DAG to be parsed",
        lambda: (
            airflow.request("GET", "/dags?dag_id_pattern=codepro-leads")["total_entries"]
            == len(DAGS)
        ),
        timeout=120,
    )
    # The CLI prints a graphviz warning on stdout before the JSON.
    import_errors = airflow.cli("dags", "list-import-errors", "--output", "json")
    assert json.loads(import_errors.splitlines()[-1]) == []
    for dag_id, (schedule, task_ids) in DAGS.items():
        details = airflow.request("GET", f"/dags/{dag_id}/details")
        assert (details["timetable_summary"], details["max_active_runs"]) == (schedule, 1)
        assert details["catchup"] is False
        tasks = airflow.request("GET", f"/dags/{dag_id}/tasks")["tasks"]
        assert [t["task_id"] for t in tasks] == task_ids
        assert [(t["retries"], t["retry_delay"]["seconds"]) for t in tasks] == [(1, 300)]
        # The Celery queue of conf/base/airflow.yml (LocalExecutor ignores it).
        queue = "training" if dag_id.endswith(("training", "model-selection")) else "default"
        assert [t["queue"] for t in tasks] == [queue]

    runs = {
        "data_processing": airflow.run_dag("codepro-leads-data-processing"),
        "training": airflow.run_dag("codepro-leads-training"),  # LOW_FLOOR: in its conf
        "inference": airflow.run_dag("codepro-leads-inference"),
        # The demo's later labeled export of the 4,000 new leads.
        "outcomes": airflow.run_dag(
            "codepro-leads-outcomes", {"outcomes": {"min_matched_leads": 100}}
        ),
    }
    print("\nDAG runs on the real scheduler (start to end):")
    for name, run in runs.items():
        print(f"  {name}: {run['duration']:.1f} s")
        assert [t["try_number"] for t in run["task_instances"]] == [1]

    project = airflow.project
    [log] = (airflow.home / "logs").glob("dag_id=codepro-leads-training/**/attempt=1.log")
    assert f"Using '{project / 'conf' / 'logging.yml'}' as logging configuration" in log.read_text()

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("codepro_leads")
    mlflow_runs = client.search_runs([experiment.experiment_id])
    # One MLflow run per DAG run, not per task; data_processing logs nothing by design.
    assert sorted(r.data.tags["pipeline"] for r in mlflow_runs) == [
        "inference",
        "outcomes",
        "training",
    ]
    assert {r.info.status for r in mlflow_runs} == {"FINISHED"}
    training = next(r for r in mlflow_runs if r.data.tags["pipeline"] == "training")
    assert training.data.params["training.quality_floor.roc_auc"] == "0.6"  # from the conf
    assert training.data.tags["project_path"] == str(project)

    model = client.get_registered_model("codepro-lead-scorer")
    assert model.aliases == {"champion": 1}
    [version] = client.search_model_versions("name='codepro-lead-scorer'")
    assert (version.version, version.run_id) == (1, training.info.run_id)

    with sqlite3.connect(project / "data" / "lead_scores.db") as db:
        scores = pd.read_sql("SELECT lead_id, model_version FROM scored_leads", db)
        monitoring = pd.read_sql("SELECT model_version, leads, status FROM monitoring_runs", db)
        performance = pd.read_sql("SELECT model_version, role, leads FROM model_performance", db)
    assert (len(scores), scores["lead_id"].nunique()) == (4000, 4000)
    assert set(scores["model_version"]) == {"1"}
    assert monitoring.to_dict("records") == [{"model_version": "1", "leads": 4000, "status": "ok"}]
    assert performance.to_dict("records") == [
        {"model_version": "1", "role": "champion", "leads": 4000}
    ]

    # Nothing resolved against the working directory of the Airflow processes.
    assert not {"data", "mlflow.db", "mlruns", "conf"} & {p.name for p in airflow.home.iterdir()}
