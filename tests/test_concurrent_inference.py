"""Inference as separate `kedro run` processes on one project, as a scheduler runs them: two
runs at once store both batches, and a run killed while its store transaction is open leaves
nothing anywhere."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_project, run_pipeline
from tests.services import wait_for_session

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).parent / "kedro")
FLOOR = {"roc_auc": 0.5, "precision": 0.4, "recall": 0.4}
BATCH = 3000


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A trained project and two files of 3,000 new leads with distinct keys."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = make_project(tmp_path_factory.mktemp("concurrent"), monkeypatch)
        run_pipeline(root, "demo_data", {"demo_data": {"rows": 6000, "new_rows": 2 * BATCH}})
        run_pipeline(root, "data_processing")
        run_pipeline(root, "training", {"training": {"quality_floor": FLOOR}})
        leads = pd.read_csv(root / "data/01_raw/new_leads.csv")
        leads.iloc[:BATCH].to_csv(root / "batch_a.csv", index=False)
        leads.iloc[BATCH:].to_csv(root / "batch_b.csv", index=False)
        yield root


def _inference(project: Path, leads: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "KEDRO_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
    }
    return subprocess.Popen(
        [KEDRO, "run", "--pipelines", "inference", "--params", f"new_leads_path={project / leads}"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _scores_db(project: Path) -> Path:
    return project / "data/lead_scores.db"


def _query(project: Path, sql: str) -> pd.DataFrame:
    with sqlite3.connect(_scores_db(project)) as conn:
        return pd.read_sql(sql, conn)


def _data_files(project: Path) -> dict[str, int]:
    """Every named file under data/ but the score database, with its modification time (a
    killed run may leave a hidden temporary, which no reader takes for an output)."""
    return {
        str(path.relative_to(project)): path.stat().st_mtime_ns
        for path in (project / "data").rglob("*")
        if path.is_file() and not path.name.startswith(("lead_scores.db", "."))
    }


def _versions(project: Path, path: str) -> list[Path]:
    return sorted((project / path).glob(f"*/{Path(path).name}"))


def test_two_runs_at_once_store_both_batches(project):
    first = _inference(project, "batch_a.csv")
    wait_for_session(first)
    second = _inference(project, "batch_b.csv")
    logs = [run.communicate(timeout=300)[0] for run in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], "\n".join(logs)[-4000:]

    stored = _query(project, "SELECT lead_id, model_version FROM scored_leads")
    leads = pd.read_csv(project / "data/01_raw/new_leads.csv")
    assert sorted(stored["lead_id"].astype(str)) == sorted(leads["Unnamed: 0"].astype(str))
    assert len(stored) == 2 * BATCH
    runs = _query(project, "SELECT run_id, leads FROM monitoring_runs")
    assert runs["leads"].tolist() == [BATCH, BATCH] and runs["run_id"].nunique() == 2
    # Each run kept its own files.
    crm = [pd.read_csv(v) for v in _versions(project, "data/07_model_output/scored_leads_crm.csv")]
    assert sorted(len(export) for export in crm) == [BATCH, BATCH]
    assert not set(crm[0]["lead_id"]) & set(crm[1]["lead_id"])
    reports = [
        json.loads(v.read_text())
        for v in _versions(project, "data/08_reporting/inference_report.json")
    ]
    assert [report["rows_stored"] for report in reports] == [BATCH, BATCH]


def _write_locked(database: Path) -> bool:
    """Whether another connection holds SQLite's write lock (a write transaction is open)."""
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        return True
    finally:
        probe.close()


def test_a_run_killed_inside_its_store_transaction_leaves_nothing(project):
    database = _scores_db(project)
    database.parent.mkdir(parents=True, exist_ok=True)
    # Training may have made the database (its alias history) before any inference ran.
    with sqlite3.connect(database) as conn:
        scored_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scored_leads'"
        ).fetchall()
    stored_before = (
        _query(project, "SELECT * FROM scored_leads") if scored_table else pd.DataFrame()
    )
    files_before = _data_files(project)
    leads = pd.read_csv(project / "batch_a.csv")
    leads["Unnamed: 0"] += 10_000_000  # leads no run stored before
    leads.to_csv(project / "batch_killed.csv", index=False)

    # A reader's open transaction lets the run write its rows but not commit them (SQLite
    # needs every reader gone to commit), so the run is certainly inside its transaction
    # when it is killed.
    reader = sqlite3.connect(database, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM sqlite_master").fetchall()
    run = _inference(project, "batch_killed.csv")
    try:
        deadline = time.monotonic() + 240
        while not _write_locked(database):
            assert run.poll() is None, run.communicate()[0][-4000:]
            assert time.monotonic() < deadline, "the run never began its store transaction"
            time.sleep(0.1)
        time.sleep(1)  # let it insert rows
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
    finally:
        reader.execute("ROLLBACK")
        reader.close()
        if run.poll() is None:
            run.kill()
    assert run.returncode == -signal.SIGKILL

    with sqlite3.connect(database) as conn:  # opening rolls a left-over journal back
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    assert tables <= {"scored_leads", "monitoring_runs", "alias_history"}  # no staging table
    stored_after = (
        _query(project, "SELECT * FROM scored_leads")
        if "scored_leads" in tables
        else pd.DataFrame()
    )
    pd.testing.assert_frame_equal(stored_after, stored_before)
    assert _data_files(project) == files_before

    # The database is intact: the same batch stores on the next run.
    run_pipeline(project, "inference", {"new_leads_path": str(project / "batch_killed.csv")})
    stored = set(_query(project, "SELECT lead_id FROM scored_leads")["lead_id"])
    assert set(leads["Unnamed: 0"].astype(str)) <= stored
    assert len(stored) == len(stored_before) + len(leads)
