"""kedro-mlflow's model dataset for the lead scorer, logged as a self-contained pyfunc model.

The model needs nothing of the project's checkout: the package travels with it (MLflow puts
``code/`` on ``sys.path`` when loading) and its requirements pin, at the versions installed
from the lock, the libraries that loading and predicting import. A fresh virtualenv built from
the model's own ``requirements.txt`` serves it. It is logged from code (``served_model.py``),
its fitted state as an artifact.
"""

from __future__ import annotations

import pickle
import tempfile
from importlib.metadata import version
from pathlib import Path

from kedro_mlflow.io.models import MlflowModelTrackingDataset
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema

import codepro_leads
from codepro_leads.scoring.pyfunc import STATE_ARTIFACT, LeadScoringModel

PACKAGE_DIR = Path(codepro_leads.__file__).parent
# The models-from-code entry point: a path, never imported here (it sets MLflow's model).
SERVED_MODEL = PACKAGE_DIR / "scoring" / "served_model.py"

# What loading and running the model imports (MLflow adds itself): the scorer's model, its
# calibration and metrics code, and the lead preparation.
MODEL_REQUIREMENTS = (
    "lightgbm",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
)


class LeadScorerModelDataset(MlflowModelTrackingDataset):
    """Logs a LeadScoringModel with its raw input example, a signature that lets every record
    reach the model, the project package and pinned requirements."""

    def _save(self, model: LeadScoringModel) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / f"{STATE_ARTIFACT}.pkl"
            state.write_bytes(pickle.dumps(model.state()))
            self._save_args.update(
                artifacts={STATE_ARTIFACT: str(state)},
                input_example=model.input_example,
                signature=scores_signature(model),
                code_paths=[str(PACKAGE_DIR)],
                pip_requirements=[f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS],
            )
            super()._save(str(SERVED_MODEL))


def scores_signature(model: LeadScoringModel) -> ModelSignature:
    """The answer's columns, and no input schema: MLflow's schema checks fail a whole request
    and cost ~5 ms on every one, so each record is checked by the model itself (a bad one gets
    its reason alone) and the scoring server hands the parsed records straight to it."""
    answer = model.predict(None, model.input_example)
    return ModelSignature(
        outputs=Schema(
            [ColSpec(_answer_type(col), name=col, required=False) for col in answer.columns]
        )
    )


def _answer_type(col: str) -> AnyType | str:
    """Factor effects are numbers; grades, factor labels and reject reasons text."""
    if col.endswith("_effect"):
        return "double"
    return {
        "lead_id": AnyType(),  # a whole number or text, as the lead's key was
        "created_date": "datetime",
        "probability": "double",
        "score": "long",
        "is_junk": "boolean",
    }.get(col, "string")
