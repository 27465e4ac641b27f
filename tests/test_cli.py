"""``kedro run`` as a user runs it (a subprocess): problems end in one clear line, fast."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

KEDRO = str(Path(sys.executable).with_name("kedro"))

pytestmark = pytest.mark.slow


def _kedro_run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KEDRO, "run", *args],
        cwd=project,
        env={**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_missing_input_file_ends_in_one_line_without_a_traceback(project):
    missing = project / "exports" / "leads.csv"
    result = _kedro_run(
        project, "--pipelines", "data_processing", "--params", f"raw_leads_path={missing}"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: {missing}: file not found"
    assert "Traceback" not in result.stderr + result.stdout


def test_an_unreachable_tracking_server_fails_fast_in_one_line(project):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    result = _kedro_run(
        project, "--pipelines", "training", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot reach the MLflow tracking server at http://127.0.0.1:{port}"
    )
    assert "Traceback" not in result.stderr + result.stdout
    assert time.monotonic() - started < 60  # MLflow's own defaults retry for minutes


def test_stores_resolve_against_the_project_root_from_any_directory(trained_project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"}  # relative on purpose
    code = (
        "from pathlib import Path; from kedro.framework.session import KedroSession;"
        "from kedro.framework.startup import bootstrap_project;"
        f"p = Path({str(trained_project)!r}); bootstrap_project(p);"
        "s = KedroSession.create(project_path=p); c = s.load_context();"
        "print(c.catalog.load('champion_model').version);"
        "print(c.config_loader['catalog']['scored_leads_table']['credentials']['con'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    version, url = result.stdout.strip().splitlines()[-2:]
    assert version == "1"
    assert url == f"sqlite:///{trained_project / 'data' / 'lead_scores.db'}"
    assert list(elsewhere.iterdir()) == []  # no stray store created where the process ran


def test_champion_changes_by_hand_refused_in_one_line(trained_project):
    # v1 is the fixture's champion; a reason with a comma needs the project command.
    result = subprocess.run(
        [KEDRO, "promote", "1", "--reason", "better, on outcomes"],
        cwd=trained_project,
        env={**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "Error: promote: v1 is already the champion"
    result = _kedro_run(trained_project, "--pipelines", "promote", "--params", "model_version=1")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("Error: promote: a reason is required (--params reason=...)")
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_runtime_parameters_cannot_change_the_promotion_rules(trained_project):
    runs_before = len(list((trained_project / "mlruns").rglob("meta.yaml")))
    for params in (
        "model_version=1,reason=r,training.quality_floor.roc_auc=0.0",
        "training.registry.tolerance=1",
    ):
        result = _kedro_run(trained_project, "--pipelines", "promote", "--params", params)
        assert result.returncode == 1
        name = params.split(",")[-1].split("=")[0]
        assert result.stderr.strip().splitlines()[-1] == (
            f"Error: runtime parameter(s) {name} refused: the quality floor and the promotion "
            "gate come from conf/ only (parameters_training.yml)"
        )
        assert "Traceback" not in result.stderr + result.stdout
    # Refused before kedro-mlflow starts a run: no run left behind.
    assert len(list((trained_project / "mlruns").rglob("meta.yaml"))) == runs_before
