"""Shared fixtures: the project's real parameters and a builder of raw CodePro rows."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from kedro.framework.startup import bootstrap_project

from codepro_leads.config_loader import ProjectConfigLoader
from codepro_leads.settings import CONFIG_LOADER_ARGS

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Servers and tools the tests start themselves (PostgreSQL, Chromium).
pytest_plugins = ["tests.services", "tests.browser"]

# As the Makefile does: no telemetry prompt or upload from in-process sessions and subprocesses.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")


def load_params(pipeline: str) -> dict[str, Any]:
    """The ``<pipeline>`` block of the project's base parameters, resolved as Kedro does
    (interpolations between parameter files included)."""
    loader = ProjectConfigLoader(str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)
    return loader["parameters"][pipeline]


# Small demo data: enough leads for a model that passes LOW_FLOOR, fast to train.
SMALL_DEMO = {"demo_data": {"rows": 4000, "new_rows": 1000}}
# The gate's mechanics, not the model's quality, are under test on a few thousand leads.
LOW_FLOOR = {"training": {"quality_floor": {"roc_auc": 0.6, "precision": 0.5, "recall": 0.5}}}


def use_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in project ``root``: its directory, its own SQLite MLflow store."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # An earlier in-process session set MLflow's process-wide tracking URI, which wins over
    # the variable: point it here too, and let the registry follow whatever tracking URI a
    # client is given (both restored after the test).
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", uri)
    monkeypatch.setattr("mlflow.tracking._model_registry.utils._registry_uri", None)
    bootstrap_project(root)
    return root


def make_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away copy of the project (conf + pyproject) as working directory, with its own
    SQLite MLflow store, so runs never touch the repository's data/ or mlflow.db."""
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()  # the package itself is installed
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return use_project(root, monkeypatch)


def set_promotion_rules(project: Path, training: dict[str, Any] | None, env: str = "local") -> None:
    """Write ``training.quality_floor`` / ``training.registry`` of ``training`` to the
    project's conf/<env> (runtime parameters may not change them), or remove them."""
    path = project / "conf" / env / "parameters_promotion_rules.yml"
    rules = {k: v for k, v in (training or {}).items() if k in ("quality_floor", "registry")}
    if rules:
        path.write_text(yaml.safe_dump({"training": rules}))
    else:
        path.unlink(missing_ok=True)


def run_pipeline(project: Path, pipeline: str, params: dict[str, Any] | None = None) -> None:
    """``kedro run --pipelines <pipeline> --params ...`` in-process; the promotion rules among
    ``params`` go to the project's conf (``set_promotion_rules``) for this run."""
    import mlflow
    from kedro.framework.session import KedroSession

    params = dict(params or {})
    training = params.pop("training", {})
    set_promotion_rules(project, training)
    rest = {k: v for k, v in training.items() if k not in ("quality_floor", "registry")}
    if rest:
        params["training"] = rest
    try:
        with KedroSession.create(project_path=project, runtime_params=params) as session:
            session.run(pipeline_names=[pipeline])
    finally:
        while mlflow.active_run():
            mlflow.end_run()


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    return make_project(tmp_path, monkeypatch)


def train_small_demo(root: Path) -> Path:
    """Small demo data, processed and trained (v1 is champion) in the project at ``root``."""
    run_pipeline(root, "demo_data", SMALL_DEMO)
    run_pipeline(root, "data_processing")
    run_pipeline(root, "training", LOW_FLOOR)
    return root


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory) -> Path:
    """Small demo data, processed and trained (v1 is champion) once per test process.

    Never used directly (tests would see each other's runs): ``trained_project`` copies it.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        return train_small_demo(make_project(tmp_path_factory.mktemp("trained"), monkeypatch))


@pytest.fixture
def trained_project(trained_template, tmp_path, monkeypatch) -> Path:
    """A private copy of the trained project (data, score store and MLflow store) to work in.

    The copy's MLflow store still points at the template's artifact folder for the runs made
    there: read-only for them, and new runs get new folders.
    """
    root = tmp_path / "project"
    shutil.copytree(trained_template, root)
    return use_project(root, monkeypatch)


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
