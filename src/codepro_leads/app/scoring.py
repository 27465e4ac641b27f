"""Scoring in the app with the champion's own ``predict``: a form's lead or an uploaded export."""

from __future__ import annotations

import codecs
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException

from codepro_leads.errors import LeadDataError
from codepro_leads.features.processing import raw_columns
from codepro_leads.features.raw_csv import read_raw_leads
from codepro_leads.features.validation import key_columns
from codepro_leads.scoring.pyfunc import LeadScoringModel
from codepro_leads.spreadsheet import safe_cells


def known_levels(model: LeadScoringModel) -> dict[str, list[str]]:
    """Levels the form offers per categorical column: the model's, and the cities with a tier."""
    params = model.processing_params
    levels = {col: list(lv) for col, lv in model.scorer.encoder.categorical_levels.items()}
    tiers = params["city_tiers"]
    levels[params["city_column"]] = sorted({city for cities in tiers.values() for city in cities})
    return levels


def form_record(model: LeadScoringModel, values: dict[str, Any]) -> pd.DataFrame:
    """One raw CodePro row from the form's values; columns it left out are missing."""
    params = model.processing_params
    columns = [params["key_column"], *raw_columns(params)]
    return pd.DataFrame([{col: values.get(col) for col in columns}])


@dataclass(frozen=True)
class Scored:
    """The model's answer (a row per input row) and how long ``predict`` took."""

    answer: pd.DataFrame
    seconds: float

    @property
    def rejected(self) -> pd.DataFrame:
        return self.answer[self.answer["rejected_reason"].notna()]

    @property
    def scored(self) -> pd.DataFrame:
        return self.answer[self.answer["rejected_reason"].isna()]


class UnusableInput(ValueError):
    """Input the model cannot score at all (a missing column, an unreadable file)."""


def predict(model: LeadScoringModel, raw: pd.DataFrame) -> Scored:
    """The champion's answer to raw CodePro rows."""
    started = time.perf_counter()
    try:
        answer = model.answer(raw)
    except MlflowException as error:  # the model's message for input it cannot use
        raise UnusableInput(error.message) from None
    return Scored(answer=answer, seconds=time.perf_counter() - started)


def score_upload(
    model: LeadScoringModel,
    content: bytes,
    name: str,
    step: Callable[[float, str], None] = lambda done, text: None,
) -> Scored:
    """Read an uploaded export as the pipelines do and score it; ``step`` reports progress."""
    step(0.0, f"Reading {name}...")
    try:
        key = key_columns(model.processing_params["key_column"])
        # Spreadsheets save "Unicode text" as UTF-16 with a byte order mark: read it as such.
        utf16 = content[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        encoding = "utf-16" if utf16 else "utf-8"
        raw = read_raw_leads(io.BytesIO(content), encoding, name, text_columns=key)
    except LeadDataError as error:
        raise UnusableInput(str(error)) from None
    step(0.3, f"Checking and scoring {len(raw):,} rows...")
    try:
        scored = predict(model, raw)
    except UnusableInput as error:
        # The model names its input "request" (it serves HTTP too): name the file instead.
        raise UnusableInput(f"{name}: {str(error).removeprefix('request: ')}") from None
    step(1.0, f"Scored {len(scored.scored):,} leads, rejected {len(scored.rejected):,}.")
    return scored


def grade_counts(scored: pd.DataFrame, grades: list[str]) -> pd.DataFrame:
    """Leads per grade, every grade in the model's order."""
    counts = scored["grade"].value_counts().reindex(grades, fill_value=0)
    return pd.DataFrame({"grade": grades, "leads": counts.to_numpy()})


def as_csv(frame: pd.DataFrame) -> bytes:
    """A download for people: spreadsheet-safe cells (no live formulas)."""
    return safe_cells(frame).to_csv(index=False).encode()
