"""What a tracked run shows in the MLflow UI beyond its params, metrics and artifacts: its name
``<pipeline> <UTC start>`` (``... data <digest>`` once its training leads are known), a
``pipeline`` tag, the datasets whose catalog metadata has ``mlflow_input: {context: ...}`` as
dataset inputs, and the descriptions of the run and of what it registered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings
from datetime import UTC, datetime
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.exceptions import MlflowException

from codepro_leads.model_description import (
    registered_model_description,
    run_description,
    version_description,
)

logger = logging.getLogger(__name__)


def frame_digest(frame: Any) -> str:
    """A content hash of a DataFrame (values and column names, not the index)."""
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    names = "\0".join(map(str, frame.columns)).encode()
    return hashlib.sha256(names + hashed).hexdigest()[:12]


class MlflowLineageHook:
    """Run names, dataset inputs and registry descriptions (see the module docstring)."""

    def __init__(self) -> None:
        self._run: dict[str, str] | None = None
        self._catalog: CatalogProtocol | None = None
        self._training_params: dict[str, Any] | None = None
        self._client: mlflow.MlflowClient | None = None
        self._card: dict[str, Any] = {}

    # trylast: after kedro-mlflow's before_pipeline_run, which starts the MLflow run.
    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], catalog: CatalogProtocol) -> None:
        self._run, self._catalog, self._card = None, catalog, {}
        active = mlflow.active_run()
        if active is None:  # an untracked pipeline
            return
        pipeline = "+".join(run_params.get("pipeline_names") or ["__default__"])
        started = datetime.fromtimestamp(active.info.start_time / 1000, UTC)
        self._run = {
            "id": active.info.run_id,
            "name": f"{pipeline} {started:%Y-%m-%d %H:%M}Z",
            "pipeline": pipeline,
        }
        # The run's stores, kept: the hooks after the run must not follow a changed default.
        self._client = mlflow.MlflowClient(mlflow.get_tracking_uri(), mlflow.get_registry_uri())
        self._training_params = (
            catalog.load("params:training") if catalog.exists("params:training") else None
        )
        self._client.update_run(active.info.run_id, name=self._run["name"])
        self._client.set_tag(active.info.run_id, "pipeline", pipeline)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if self._run is None:
            return
        if dataset_name == "model_card":  # kept for the version's description
            self._card = data
        metadata = getattr(self._catalog.get(dataset_name), "metadata", None) or {}
        config = metadata.get("mlflow_input")
        if not config:
            return
        digest = frame_digest(data)
        with warnings.catch_warnings():
            # MLflow's hints about sources and integer columns concern model signatures.
            warnings.simplefilter("ignore", UserWarning)
            # The schema from a sample: MLflow infers it value by value over the whole frame
            # (mlflow/mlflow#13085); digest and rows are the whole frame's.
            sample = mlflow.data.from_pandas(
                data.head(1000),
                source=config.get("source", ""),
                targets=config.get("targets"),
                name=dataset_name,
                digest=digest,
            )
        profile = {"num_rows": len(data), "num_elements": int(data.size)}
        entity = Dataset(**{**sample.to_dict(), "profile": json.dumps(profile)})
        tags = [InputTag("mlflow.data.context", config["context"])]
        _log_input(self._client, self._run["id"], DatasetInput(entity, tags))
        if config["context"] == "training":
            self._client.update_run(self._run["id"], name=f"{self._run['name']} data {digest}")

    # trylast: after PromotionHook has moved the alias and tagged the version.
    @hook_impl(trylast=True)
    def after_pipeline_run(self) -> None:
        """Describes the run and what it registered, and tags each registered model with its
        champion version (the registry list shows tags, not aliases); failures are logged."""
        run, self._run = self._run, None
        if run is None:
            return
        client = self._client
        try:
            metrics = client.get_run(run["id"]).data.metrics
            client.set_tag(
                run["id"], "mlflow.note.content", run_description(run["pipeline"], metrics)
            )
            for model in client.search_registered_models():
                if "champion" in model.aliases:
                    client.set_registered_model_tag(
                        model.name, "champion", f"version {model.aliases['champion']}"
                    )
        except MlflowException as error:
            logger.warning("Could not describe run %s: %s", run["id"], error)
        if self._training_params is None:
            return
        # The card as the run saved it (empty if the run failed first): downloading it back
        # would print MLflow's progress bar after the run's summary.
        card, params = self._card, self._training_params
        try:
            versions = client.search_model_versions(f"run_id='{run['id']}'")
            metrics = client.get_run(run["id"]).data.metrics if versions else {}
            for version in versions:
                aliases = client.get_model_version(version.name, version.version).aliases
                alias = aliases[0] if aliases else None
                text = version_description(card, metrics, alias, version.tags.get("promotion"))
                client.update_registered_model(
                    version.name,
                    registered_model_description(version.name, card.get("features", []), params),
                )
                client.update_model_version(version.name, version.version, text)
        except (MlflowException, OSError) as error:
            logger.warning(
                "Could not describe the registered model of run %s: %s", run["id"], error
            )

    on_pipeline_error = after_pipeline_run


# MLflow's datasets table's unique key (experiment, name, digest) broken, as SQLite and
# PostgreSQL word it.
_DATASET_KEY_TAKEN = re.compile(r"UNIQUE constraint failed: datasets\.|duplicate key value", re.I)


def _log_input(client: Any, run_id: str, dataset_input: DatasetInput) -> None:
    """Log a dataset input of the run; once more if an overlapping run inserted the same
    dataset between MLflow's look-up and insert (the second time it is found and linked)."""
    try:
        client.log_inputs(run_id, [dataset_input])
    except MlflowException as error:
        if not _DATASET_KEY_TAKEN.search(str(error)):
            raise
        logger.info(
            "Dataset %s was logged by an overlapping run meanwhile: linking it to run %s",
            dataset_input.dataset.name,
            run_id,
        )
        client.log_inputs(run_id, [dataset_input])
