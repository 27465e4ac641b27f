"""Shared fixtures: the project's real parameters and a builder of raw CodePro rows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def load_params(pipeline: str) -> dict[str, Any]:
    """The ``<pipeline>`` block of conf/base/parameters_<pipeline>.yml."""
    path = PROJECT_ROOT / "conf" / "base" / f"parameters_{pipeline}.yml"
    return yaml.safe_load(path.read_text())[pipeline]


def make_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away copy of the project (conf + pyproject) as working directory, with its own
    SQLite MLflow store, so runs never touch the repository's data/ or mlflow.db."""
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()  # the package itself is installed
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    bootstrap_project(root)
    return root


def run_pipeline(project: Path, pipeline: str, params: dict[str, Any] | None = None) -> None:
    """``kedro run --pipelines <pipeline> --params ...`` in-process."""
    import mlflow
    from kedro.framework.session import KedroSession
    from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook

    # kedro-mlflow's hook is one object per process and remembers the last tracked run: a
    # later untracked pipeline (demo_data) reopens it, even in another project's store.
    # `kedro run` is a process per run, so only in-process sessions like these need a reset.
    mlflow_hook.run_id = None
    try:
        with KedroSession.create(project_path=project, runtime_params=params or {}) as session:
            session.run(pipeline_names=[pipeline])
    finally:
        while mlflow.active_run():
            mlflow.end_run()


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    return make_project(tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def processing_params() -> dict[str, Any]:
    return load_params("data_processing")


def raw_columns(params: dict[str, Any]) -> list[str]:
    """CodePro's raw columns in export order, without the label."""
    interactions = sorted(c for cols in params["interaction_groups"].values() for c in cols)
    return [
        params["date_column"],
        params["city_column"],
        *params["categorical_columns"],
        *params["count_columns"],
        *params["flag_columns"],
        *interactions,
    ]


def make_raw(
    params: dict[str, Any], rows: list[dict[str, Any]], labeled: bool = True
) -> pd.DataFrame:
    """Raw rows as the CSV reader returns them: unnamed key column first, unset values missing."""
    base = {
        "created_date": "2021-08-01 10:00:00",
        "city_mapped": "mumbai",
        "first_platform_c": "Level0",
        "first_utm_medium_c": "Level0",
        "first_utm_source_c": "Level2",
        "total_leads_droppped": 1,
        "referred_lead": 0,
    }
    columns = raw_columns(params) + ([params["label_column"]] if labeled else [])
    records = []
    for i, row in enumerate(rows):
        record = {col: None for col in columns}
        record.update(base)
        if labeled:
            record[params["label_column"]] = 1
        record.update(row)
        record.setdefault("", i)
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    return frame[[""] + columns]
