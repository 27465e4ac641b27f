"""The MLflow model: raw CodePro rows in, scores out, data_processing included.

It runs the very nodes of the data_processing pipeline (not a copy of their logic), then the
fitted LeadScorer, so ``mlflow models serve`` answers with the batch pipeline's scores.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd
from kedro.pipeline import Pipeline

from codepro_leads.pipelines.data_processing import create_pipeline as processing_pipeline
from codepro_leads.scoring.scorer import LeadScorer


def run_nodes(pipeline: Pipeline, data: dict[str, Any]) -> dict[str, Any]:
    """Run a pipeline's nodes in order on in-memory data; returns every dataset."""
    data = dict(data)
    for node in pipeline.nodes:  # topologically sorted
        data.update(node.run({name: data[name] for name in node.inputs}))
    return data


class LeadScoringModel(mlflow.pyfunc.PythonModel):
    """One output row per input row: valid leads are scored, the others carry their reason."""

    def __init__(
        self,
        scorer: LeadScorer,
        processing_params: dict[str, Any],
        input_example: pd.DataFrame,
        data_sha256: str,
    ) -> None:
        self.scorer = scorer
        self.processing_params = processing_params
        self.input_example = input_example  # a few raw rows: logged, and the signature's source
        self.data_sha256 = data_sha256  # fingerprint of the training data

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        # Scoring never uses the label; without it no row is dropped as a duplicate.
        raw = model_input.drop(columns=self.processing_params["label_column"], errors="ignore")
        data = run_nodes(
            processing_pipeline(),
            {"raw_leads": raw, "params:data_processing": self.processing_params},
        )
        scored = self.scorer.score(data["model_input_leads"])
        rejected = data["rejected_leads"][["lead_id", "reason"]].rename(
            columns={"reason": "rejected_reason"}
        )
        return pd.concat([scored, rejected], ignore_index=True)
