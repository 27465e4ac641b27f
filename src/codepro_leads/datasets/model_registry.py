"""Datasets around the MLflow model registry, so no node calls MLflow itself.

- ``LeadScorerModelDataset``: kedro-mlflow's model dataset, plus the model's own raw input
  example and the signature inferred from it.
- ``RegisteredModelDataset``: a registered model by alias (champion) or version; optional.
- ``ModelAliasDataset``: saving a promotion decision points the alias at the version logged
  by the current run (kedro-mlflow cannot set aliases).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mlflow
from kedro.io import AbstractDataset, DatasetError
from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from codepro_leads.errors import ModelNotFoundError

logger = logging.getLogger(__name__)


class LeadScorerModelDataset(MlflowModelTrackingDataset):
    """Logs a pyfunc model whose ``input_example`` (raw lead rows) also gives its signature."""

    def _save(self, model: Any) -> None:
        # Counts as doubles: a missing count at serving time must not break an integer schema.
        example = model.input_example.astype(
            {col: float for col in model.input_example.select_dtypes("number") if col != "lead_id"}
        )
        self._save_args["input_example"] = example
        self._save_args["signature"] = infer_signature(example)
        super()._save(model)


@dataclass(frozen=True)
class RegisteredModel:
    """A loaded registry model and where it came from."""

    name: str
    version: str
    model: Any  # the unwrapped python model (LeadScoringModel)


class RegisteredModelDataset(AbstractDataset[None, "RegisteredModel | None"]):
    """Loads ``models:/<name>@<alias>``, or ``/<model_version>`` when one is given; read-only.

    With ``optional: true`` a missing model loads as None (the very first training run has no
    champion to beat); otherwise it stops the run with one clear line.
    """

    def __init__(
        self,
        model_name: str,
        alias: str = "champion",
        model_version: str | int | None = None,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model_name = model_name
        self._alias = alias
        self._version = None if model_version in (None, "") else str(model_version)
        self._optional = optional
        self.metadata = metadata

    def load(self) -> RegisteredModel | None:
        client = MlflowClient()
        try:
            if self._version is None:
                found = client.get_model_version_by_alias(self._model_name, self._alias)
            else:
                found = client.get_model_version(self._model_name, self._version)
        except MlflowException as error:
            if self._optional:
                return None
            wanted = (
                f"version {self._version} of model {self._model_name}"
                if self._version
                else f"{self._alias} model"
            )
            raise ModelNotFoundError(
                f"no {wanted} in {mlflow.get_tracking_uri()}: "
                "run `kedro run --pipeline training` first"
            ) from error
        uri = f"models:/{self._model_name}/{found.version}"
        logger.info("Loading %s (run %s)", uri, found.run_id)
        model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
        return RegisteredModel(name=self._model_name, version=str(found.version), model=model)

    def save(self, data: None) -> None:
        raise DatasetError("RegisteredModelDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "alias": self._alias, "version": self._version}


class ModelAliasDataset(AbstractDataset[dict[str, Any], None]):
    """Saving ``{"alias": ..., "reason": ...}`` sets that alias on the version of
    ``model_name`` that the active MLflow run registered, and records why."""

    def __init__(self, model_name: str, metadata: dict[str, Any] | None = None) -> None:
        self._model_name = model_name
        self.metadata = metadata

    def save(self, decision: dict[str, Any]) -> None:
        run = mlflow.active_run()
        if run is None:
            raise DatasetError("no active MLflow run: is kedro-mlflow tracking this pipeline?")
        client = MlflowClient()
        versions = client.search_model_versions(
            f"name='{self._model_name}' and run_id='{run.info.run_id}'"
        )
        if not versions:
            raise DatasetError(f"run {run.info.run_id} registered no {self._model_name!r} model")
        version = max(int(v.version) for v in versions)
        client.set_registered_model_alias(self._model_name, decision["alias"], version)
        client.set_model_version_tag(self._model_name, version, "promotion", decision["reason"])
        mlflow.set_tags(
            {
                "model_version": version,
                "promotion_alias": decision["alias"],
                "promotion_reason": decision["reason"],
            }
        )
        logger.info(
            "%s version %d -> @%s: %s",
            self._model_name,
            version,
            decision["alias"],
            decision["reason"],
        )

    def load(self) -> None:
        raise DatasetError("ModelAliasDataset is write-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._model_name}
