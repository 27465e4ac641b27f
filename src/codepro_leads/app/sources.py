"""The registry and score store the pipelines use, from the project's configuration. The
champion and the store connection are loaded once per process; the alias is looked up again
every minute, so a newly promoted champion is picked up without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import sqlalchemy as sa
import streamlit as st
from kedro.utils import find_kedro_project
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from codepro_leads import store_urls
from codepro_leads.config_loader import ProjectConfigLoader
from codepro_leads.datasets.model_registry import (
    RegisteredModel,
    RegisteredModelDataset,
    version_by_alias,
)
from codepro_leads.settings import CONFIG_LOADER_ARGS

NO_CHAMPION_HINT = "Train one with `make run` (or `kedro run --pipelines training`)."
NO_SCORES_HINT = "Score the new leads with `make run` (or `kedro run --pipelines inference`)."


@dataclass(frozen=True)
class Sources:
    """The project's registry and score store."""

    tracking_uri: str
    model_name: str
    scores_url: str


@st.cache_resource(show_spinner=False)
def project_sources(start: str) -> Sources:
    """The registry and score store of the Kedro project holding ``start``, as ``kedro run``
    resolves them."""
    project = find_kedro_project(Path(start))
    if project is None:
        raise FileNotFoundError(f"{start} is not inside a Kedro project: run the app from one")
    loader = ProjectConfigLoader(str(project / "conf"), **CONFIG_LOADER_ARGS)
    globals_ = loader["globals"]
    return Sources(
        tracking_uri=loader["mlflow"]["server"]["mlflow_tracking_uri"],
        model_name=globals_["registered_model_name"],
        scores_url=globals_["lead_scores_db_url"],
    )


def _client(sources: Sources) -> MlflowClient:
    return MlflowClient(tracking_uri=sources.tracking_uri, registry_uri=sources.tracking_uri)


@st.cache_data(ttl=60, show_spinner=False)
def alias_version(sources: Sources, alias: str) -> ModelVersion | None:
    """The version of the registered model holding ``alias``; None when there is none."""
    return version_by_alias(_client(sources), sources.model_name, alias)


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def load_version(sources: Sources, version: str) -> RegisteredModel:
    """One registered version, loaded once per process as the pipelines load it."""
    # MLflow resolves models:/ URIs with its process-wide URIs: point them at this project.
    mlflow.set_tracking_uri(sources.tracking_uri)
    mlflow.set_registry_uri(sources.tracking_uri)
    return RegisteredModelDataset(sources.model_name, model_version=version).load()


@st.cache_data(ttl=300, show_spinner=False)
def run_metrics(sources: Sources, run_id: str) -> dict[str, float]:
    """The latest value of every metric the training run logged."""
    return dict(_client(sources).get_run(run_id).data.metrics)


@st.cache_data(ttl=300, show_spinner=False)
def run_csv_artifact(sources: Sources, run_id: str, path: str) -> pd.DataFrame | None:
    """A CSV the run logged (e.g. ``grade_table.csv``); None when it has none."""
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, tracking_uri=sources.tracking_uri
        )
    except (MlflowException, OSError):
        return None
    return pd.read_csv(local)


@st.cache_resource(show_spinner=False)
def store_engine(url: str) -> sa.Engine:
    """One connection pool to the score store per process."""
    return store_urls.store_engine(url, pool_pre_ping=True)
