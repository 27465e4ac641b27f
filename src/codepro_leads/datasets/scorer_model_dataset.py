"""The lead scorer logged from code (``served_model.py``) as a self-contained pyfunc model
through kedro-mlflow: the package travels with it and its requirements pin the installed
versions, so a fresh virtualenv built from its ``requirements.txt`` serves it."""

from __future__ import annotations

import pickle
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow.pyfunc
from kedro.io import AbstractDataset, DatasetError
from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types.schema import AnyType, ColSpec, Schema

import codepro_leads
from codepro_leads.features.processing import raw_columns
from codepro_leads.pipelines.catalog_types import AlreadyRegistered
from codepro_leads.scoring.pyfunc import STATE_ARTIFACT, LeadScoringModel

PACKAGE_DIR = Path(codepro_leads.__file__).parent
# The models-from-code entry point: a path, never imported here (it sets MLflow's model).
SERVED_MODEL = PACKAGE_DIR / "scoring" / "served_model.py"

# What loading and running the model imports (MLflow adds itself).
MODEL_REQUIREMENTS = ("lightgbm", "numpy", "pandas", "pyarrow", "scikit-learn", "scipy")


class LeadScorerModelDataset(
    AbstractDataset[LeadScoringModel | AlreadyRegistered, mlflow.pyfunc.PyFuncModel]
):
    """Logs a LeadScoringModel with its input example, signature, package and requirements
    (``save_args`` go to ``mlflow.pyfunc.log_model``); ``AlreadyRegistered`` logs nothing.
    Loads the model it logged last."""

    def __init__(
        self, save_args: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._save_args = dict(save_args or {})
        self.metadata = metadata
        self.model_info: ModelInfo | None = None

    def save(self, data: LeadScoringModel | AlreadyRegistered) -> None:
        if isinstance(data, AlreadyRegistered):
            return
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / f"{STATE_ARTIFACT}.pkl"
            state.write_bytes(pickle.dumps(data.state()))
            logged = MlflowModelTrackingDataset(
                flavor="mlflow.pyfunc",
                pyfunc_workflow="python_model",
                save_args={
                    **self._save_args,
                    "artifacts": {STATE_ARTIFACT: str(state)},
                    "input_example": data.input_example,
                    "signature": scores_signature(data),
                    "code_paths": [str(PACKAGE_DIR)],
                    "pip_requirements": [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS],
                },
            )
            logged.save(str(SERVED_MODEL))
        self.model_info = logged.model_info

    def load(self) -> mlflow.pyfunc.PyFuncModel:
        if self.model_info is None:
            raise DatasetError("lead_scorer_model: no model logged yet in this session")
        return mlflow.pyfunc.load_model(self.model_info.model_uri)

    def _describe(self) -> dict[str, Any]:
        return {"save_args": self._save_args}


def scores_signature(model: LeadScoringModel) -> ModelSignature:
    """The raw columns a request carries, and the answer's. Inputs are of any type and optional:
    the model judges them itself (a bad value gets its record a reason, a missing column a 400
    naming it), where MLflow would refuse the whole request."""
    params = model.processing_params
    inputs = [params["key_column"], *raw_columns(params)]
    (answer, *_) = model.predict(None, model.input_example)  # one record's fields
    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), name=col, required=False) for col in inputs]),
        outputs=Schema([ColSpec(_answer_type(col), name=col, required=False) for col in answer]),
    )


def _answer_type(col: str) -> AnyType | str:
    """Factor effects are numbers; grades, labels and reasons text."""
    if col.endswith("_effect"):
        return "double"
    return {
        "lead_id": AnyType(),  # a whole number or text, as the lead's key was
        "created_date": "datetime",
        "probability": "double",
        "score": "long",
        "is_junk": "boolean",
    }.get(col, "string")
