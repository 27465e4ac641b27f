"""The MLflow model: raw CodePro rows in, the batch scores out (``prepare_leads``, then the
LeadScorer; no Kedro). Logged as a model from code (``served_model.py``), its fitted state in
the artifact ``STATE_ARTIFACT``."""

from __future__ import annotations

import pickle
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST

from codepro_leads.errors import LeadDataError
from codepro_leads.features.processing import interaction_columns, prepare_leads, without_label
from codepro_leads.scoring.factor_texts import factors_in_words
from codepro_leads.scoring.scorer import LeadScorer

STATE_ARTIFACT = "lead_scoring_model_state"
ANSWER_DECIMALS = 4


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
        self.training_data = training_data  # sha256, rows, label_rate, dates, fit_until

    @classmethod
    def to_load(cls) -> LeadScoringModel:
        """An empty model for ``served_model.py``; ``load_context`` fills it."""
        return cls.__new__(cls)

    def state(self) -> dict[str, Any]:
        """What ``load_context`` restores."""
        return dict(vars(self))

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts[STATE_ARTIFACT], "rb") as handle:
            state = pickle.load(handle)
        state.pop("contribution_tables", None)  # saved by older logged models
        vars(self).update(state)

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """``answer`` as JSON-ready records (a frame would be written Timestamp by Timestamp)."""
        return answer_records(self.answer(model_input))

    def answer(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """The scores of raw rows as a frame at full precision (the app's view)."""
        if len(model_input) == 0:
            raise MlflowException("no leads: send at least one record", error_code=BAD_REQUEST)
        key = self.processing_params["key_column"]
        # Without the label no lead is dropped as a duplicate: each row is scored or rejected.
        raw = without_label(model_input, self.processing_params).reset_index(drop=True)
        # A client leaves out the interaction counts a lead has none of: as null, they count 0.
        sent = {str(col).strip() for col in raw.columns}
        absent = [col for col in interaction_columns(self.processing_params) if col not in sent]
        raw = raw.assign(**dict.fromkeys(absent)) if absent else raw
        raw.attrs["source"] = "request"  # names the input in a missing-column message
        try:
            leads, rejected = prepare_leads(raw, self.processing_params)
        except LeadDataError as error:
            raise MlflowException(str(error), error_code=BAD_REQUEST) from None
        scored = self.scorer.score(leads)
        scored.index = raw.index[~raw.index.isin(rejected.index)]
        answer = scored.astype(object).reindex(raw.index).assign(rejected_reason=None)
        if len(rejected):
            answer.loc[rejected.index, key] = rejected[key].to_numpy()
            answer.loc[rejected.index, "rejected_reason"] = rejected["reason"].to_numpy()
        # The scoring server writes NaN and NaT as bare NaN (not JSON): send None instead.
        return answer.where(answer.notna(), None)


def answer_records(answer: pd.DataFrame) -> list[dict[str, Any]]:
    """``answer``'s frame as JSON-ready records: ISO dates, ``ANSWER_DECIMALS`` decimals, and the
    factors in the CRM export's words (``raises_score``, ``lowers_score``; null if rejected)."""
    columns = {}
    for col, values in answer.drop(columns="rejected_reason").items():
        number = col == "probability" or str(col).endswith("_effect")
        values = values.to_numpy(dtype=float).round(ANSWER_DECIMALS) if number else values
        columns[col] = [None if value != value else value for value in values.tolist()]  # NaN
    scored = answer["rejected_reason"].isna()
    for name, direction in (("raises_score", "up"), ("lowers_score", "down")):
        words = factors_in_words(answer, direction).astype(object)
        columns[name] = words.where(scored, None).tolist()
    columns["rejected_reason"] = answer["rejected_reason"].tolist()
    columns["created_date"] = [date and date.isoformat() for date in columns["created_date"]]
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
