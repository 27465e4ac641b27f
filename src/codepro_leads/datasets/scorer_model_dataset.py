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
                signature=raw_rows_signature(model.input_example.columns),
                code_paths=[str(PACKAGE_DIR)],
                pip_requirements=[f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS],
            )
            super()._save(str(SERVED_MODEL))


def raw_rows_signature(columns: list[str]) -> ModelSignature:
    """Every raw column optional and of any type: MLflow's schema checks fail a whole request,
    so each record is checked by the model itself and a bad one gets its reason alone."""
    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), name=str(col), required=False) for col in columns])
    )
