"""airflow_dags/ holds exactly what `make dags` generates: never hand-edited, never stale."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

DAG_FILES = [
    "codepro_leads_data_processing_dag.py",
    "codepro_leads_inference_dag.py",
    "codepro_leads_training_dag.py",
]


def test_committed_dags_are_what_make_dags_generates(tmp_path):
    generated_dir = tmp_path / "dags"
    # kedro-mlflow opens its store when the session starts: keep it out of the repository.
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    subprocess.run(
        ["make", "--no-print-directory", "dags", f"DAGS_DIR={generated_dir}"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )

    committed = sorted((PROJECT_ROOT / "airflow_dags").iterdir())
    generated = sorted(generated_dir.iterdir())
    assert [p.name for p in committed] == DAG_FILES
    assert [p.name for p in generated] == DAG_FILES
    for new, old in zip(generated, committed, strict=True):
        assert new.read_bytes() == old.read_bytes(), f"{old.name} is stale: run `make dags`"
