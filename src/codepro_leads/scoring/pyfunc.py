"""The MLflow model: raw CodePro rows in, scores out, lead preparation included.

It runs the shared lead preparation (``codepro_leads.features``: the functions the
data_processing pipeline runs as nodes), then the fitted LeadScorer with the settings it
carries, so ``mlflow models serve`` answers with the batch scores. Plain requests of up to
``FAST_PATH_MAX_ROWS`` rows are prepared record by record instead (``scoring.records``: the
same rules without pandas' per-operation cost) and meet the same ``LeadScorer.score_matrix``.
Only MLflow, pandas, NumPy and the project's ``features`` and ``scoring`` code are imported:
no Kedro, no datasets.

``predict`` answers JSON-ready records, what the scoring server sends as they are; in-process
``mlflow.pyfunc.load_model("models:/codepro-lead-scorer@champion").predict(pd.DataFrame(records))``
gets the same records as HTTP. ``answer`` gives the same answer as a frame (the app's view).

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
    ) -> list[dict[str, Any]]:
        """Scores of the raw rows ``model_input`` as JSON-ready records (None for every missing
        value, dates in ISO 8601): the scoring server answers ``{"predictions": records}``.

        The scoring server parses a request's records with ``pd.DataFrame(records)``; in-process
        callers pass the same frame to ``mlflow.pyfunc.load_model(uri).predict``. Records
        rather than a frame: the server writes a frame through ``DataFrame.to_dict`` (~20 ms
        per 1,000 rows) and its JSON encoder converts each Timestamp on its own.
        """
        prepared = self._fast_path(model_input)
        if prepared is None:
            answer = self._answer_vectorised(model_input)
            return _records({col: answer[col].tolist() for col in answer.columns})
        return _records(self._answer_prepared(prepared, len(model_input)))

    def answer(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """``predict``'s answer as a frame, for Python callers (the app): object columns, None
        for every missing value, ``created_date`` as Timestamps."""
        prepared = self._fast_path(model_input)
        if prepared is None:
            return self._answer_vectorised(model_input)
        return _frame(self._answer_prepared(prepared, len(model_input)))

    def _fast_path(self, model_input: pd.DataFrame) -> PreparedRecords | None:
        """The record-by-record preparation of a small plain request, else None."""
        if len(model_input) == 0:
            raise MlflowException("no leads: send at least one record", error_code=BAD_REQUEST)
        if len(model_input) > FAST_PATH_MAX_ROWS:
            return None
        return prepare_records(model_input, self.processing_params, self.scorer.encoder)

    def _answer_prepared(self, prepared: PreparedRecords, n_rows: int) -> dict[str, list[Any]]:
        """The columns of the vectorised path's answer for a request the fast path prepared,
        as Python values (dates as ``datetime``)."""
        # Equal rows get equal scores: each distinct one is explained once. Rows are compared
        # as bytes (np.unique(axis=0) compares them field by field: ~8x slower).
        rows = np.ascontiguousarray(prepared.matrix)
        as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        _, first, row_of = np.unique(as_bytes, return_index=True, return_inverse=True)
        scored = self.scorer.score_matrix(rows[first])
        valid, keys, dates = prepared.valid_rows, prepared.keys, prepared.dates
        columns = {
            "lead_id": _spread(keys, valid, n_rows),
            "created_date": _spread(dates, valid, n_rows),
            **{
                name: _spread(_python_values(values[row_of]), valid, n_rows)
                for name, values in scored.items()
            },
            "rejected_reason": [None] * n_rows,
        }
        for row, (key, reason) in prepared.rejected.items():
            columns["lead_id"][row] = key
            columns["rejected_reason"][row] = reason
        return columns

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


def _records(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The answer's rows as JSON-ready records: dates in ISO 8601, as the scoring server's
    encoder writes a Timestamp."""
    dates = columns["created_date"]
    columns = {**columns, "created_date": [date and date.isoformat() for date in dates]}
    names = list(columns)
    # Columns of one length: zip's strict check would cost a third of the loop.
    return [dict(zip(names, row, strict=False)) for row in zip(*columns.values(), strict=False)]


def _frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The answer's columns as the vectorised path's frame: object columns, Timestamps."""
    dates = columns["created_date"]
    columns = {**columns, "created_date": [date and pd.Timestamp(date) for date in dates]}
    return pd.DataFrame(columns, dtype=object)


def _python_values(values: np.ndarray) -> list[Any]:
    """``values`` as Python values, None for NaN."""
    if values.dtype.kind != "f":
        return values.tolist()
    python = values.astype(object)
    python[np.isnan(values)] = None
    return python.tolist()


def _spread(values: list[Any], rows: list[int], n_rows: int) -> list[Any]:
    """A column of ``n_rows`` values: ``values`` at the positions ``rows``, None elsewhere."""
    if len(rows) == n_rows:
        return values
    column = [None] * n_rows
    for row, value in zip(rows, values, strict=True):
        column[row] = value
    return column
