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
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import mlflow.pyfunc
import mlflow.utils.environment
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
            with _no_requirements_check():
                super()._save(str(SERVED_MODEL))


@contextmanager
def _no_requirements_check() -> Iterator[None]:
    """Without MLflow's check of the model's requirements against the installed packages,
    when logging the model and when loading it back to validate its input example.

    The pins are the installed versions themselves, so the check cannot warn; it would still
    map every installed distribution to its modules (~1 s)."""
    name = "warn_dependency_requirement_mismatches"
    modules = (mlflow.utils.environment, mlflow.pyfunc)
    checks = [getattr(module, name) for module in modules]
    for module in modules:
        setattr(module, name, lambda requirements: None)
    try:
        yield
    finally:
        for module, check in zip(modules, checks, strict=True):
            setattr(module, name, check)


def scores_signature(model: LeadScoringModel) -> ModelSignature:
    """The answer's columns, and no input schema: MLflow's schema checks fail a whole request
    and cost ~5 ms on every one, so each record is checked by the model itself (a bad one gets
    its reason alone) and the scoring server hands the parsed records straight to it."""
    answer = model.answer(model.input_example)
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
