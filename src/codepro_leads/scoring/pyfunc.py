"""The MLflow model: raw CodePro rows in, scores out, lead preparation included.

It runs the shared lead preparation (``codepro_leads.features``: the functions the
data_processing pipeline runs as nodes), then the fitted LeadScorer with the settings it
carries, so ``mlflow models serve`` answers with the batch scores. Plain requests of up to
``FAST_PATH_MAX_ROWS`` rows are prepared record by record instead (``scoring.records``: the
same rules without pandas' per-operation cost) and meet the same ``LeadScorer.score_matrix``.
Only MLflow, pandas, NumPy and the project's ``features`` and ``scoring`` code are imported:
no Kedro, no datasets.

In-process callers (the app) score exactly as over HTTP, model loaded once:
``mlflow.pyfunc.load_model("models:/codepro-lead-scorer@champion").predict(pd.DataFrame(records))``.

It is logged as MLflow "model from code" (``served_model.py``), not as a pickled Python
object: its fitted state travels as the artifact ``STATE_ARTIFACT``.
"""

from __future__ import annotations

import pickle
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST

from codepro_leads.errors import LeadDataError
from codepro_leads.features.processing import prepare_leads, without_label
from codepro_leads.scoring.records import PreparedRecords, prepare_records
from codepro_leads.scoring.scorer import LeadScorer

STATE_ARTIFACT = "lead_scoring_model_state"
# The state's entry holding the scorer's built contribution tables (models logged before it
# existed have none: their tables are built at load).
_TABLES = "contribution_tables"
# Requests up to this many rows are prepared record by record (``scoring.records``) when they
# are plain (measured: 0.4 ms for one lead, 130 ms for 1,000 on a busy machine, where the
# vectorised path takes 0.5 s whatever the size); larger ones, where pandas' per-operation
# cost is spread over many rows and a Python object per value would weigh, are not.
FAST_PATH_MAX_ROWS = 2000


class LeadScoringModel(mlflow.pyfunc.PythonModel):
    """One output row per input row, in input order: valid leads are scored, the others carry
    their ``rejected_reason`` and null scores. Every missing value is None (JSON null)."""

    def __init__(
        self,
        scorer: LeadScorer,
        processing_params: dict[str, Any],
        input_example: pd.DataFrame,
        training_data: dict[str, Any],
    ) -> None:
        self.scorer = scorer
        self.processing_params = processing_params
        self.input_example = input_example  # a few raw rows: logged, and the signature's source
        # Fingerprint and window of the training data: sha256, rows, label_rate,
        # first_created, last_created, fit_until.
        self.training_data = training_data

    @classmethod
    def to_load(cls) -> LeadScoringModel:
        """An empty model for the models-from-code entry point; ``load_context`` fills it."""
        return cls.__new__(cls)

    def state(self) -> dict[str, Any]:
        """What ``load_context`` restores: the scorer, the settings, the training data and the
        scorer's contribution tables (built now if they are not yet), so no load rebuilds them."""
        return {**vars(self), _TABLES: self.scorer.contribution_tables_state()}

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts[STATE_ARTIFACT], "rb") as handle:
            state = pickle.load(handle)
        tables = state.pop(_TABLES, None)
        vars(self).update(state)
        # Ready at load, not built by the first request (nor at all, when they were saved).
        self.scorer.restore_contribution_tables(tables)

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Scores of the raw rows ``model_input``: what the scoring server sends back as JSON.

        The scoring server parses a request's records with ``pd.DataFrame(records)``; in-process
        callers pass the same frame to ``mlflow.pyfunc.load_model(uri).predict``.
        """
        if len(model_input) == 0:
            raise MlflowException("no leads: send at least one record", error_code=BAD_REQUEST)
        if len(model_input) <= FAST_PATH_MAX_ROWS:
            prepared = prepare_records(model_input, self.processing_params, self.scorer.encoder)
            if prepared is not None:
                return self._answer_prepared(prepared, len(model_input))
        return self._answer_vectorised(model_input)

    def _answer_prepared(self, prepared: PreparedRecords, n_rows: int) -> pd.DataFrame:
        """The answer to a request the fast path prepared: the same frame as the vectorised
        path's (object columns, None for every missing value)."""
        # Equal rows get equal scores: each distinct one is explained once.
        distinct, row_of = np.unique(prepared.matrix, axis=0, return_inverse=True)
        scored = {
            name: values[row_of.reshape(-1)]
            for name, values in self.scorer.score_matrix(distinct).items()
        }
        names = ["lead_id", "created_date", *scored, "rejected_reason"]
        answer: dict[str, list[Any]] = {name: [None] * n_rows for name in names}
        valid = {
            "lead_id": prepared.keys,
            "created_date": prepared.dates,
            **{name: values.tolist() for name, values in scored.items()},
        }
        for name, values in valid.items():
            column = answer[name]
            for row, value in zip(prepared.valid_rows, values, strict=True):
                column[row] = None if value != value else value  # NaN -> None
        for row, (key, reason) in prepared.rejected.items():
            answer["lead_id"][row] = key
            answer["rejected_reason"][row] = reason
        return pd.DataFrame(answer, dtype=object)

    def _answer_vectorised(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """The answer through the data_processing functions and ``LeadScorer.score``."""
        key = self.processing_params["key_column"]
        # Scoring never uses the label; without it no lead is dropped as a duplicate, so every
        # input row is either scored or rejected.
        raw = without_label(model_input, self.processing_params)
        raw = raw.set_axis([str(col).strip() for col in raw.columns], axis=1)
        raw = raw.reset_index(drop=True)
        raw.attrs["source"] = "request"  # names the input in a missing-column message
        try:
            leads, rejected = prepare_leads(raw, self.processing_params)
        except LeadDataError as error:
            raise MlflowException(str(error), error_code=BAD_REQUEST) from None
        rejected_rows = raw.index.isin(rejected.index)  # rejected rows keep their input row
        scored = self.scorer.score(leads)
        answer = pd.DataFrame(
            None, index=raw.index, columns=[*scored.columns, "rejected_reason"], dtype=object
        )
        answer.loc[~rejected_rows, scored.columns] = scored.astype(object).to_numpy()
        answer.loc[rejected_rows, key] = rejected[key].to_numpy()
        answer.loc[rejected_rows, "rejected_reason"] = rejected["reason"].to_numpy()
        # The scoring server writes NaN and NaT as bare NaN (not JSON): send None instead.
        return answer.where(answer.notna(), None)
