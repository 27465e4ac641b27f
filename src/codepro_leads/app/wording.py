"""Score factors in plain words for the pages."""

from __future__ import annotations

import json

import pandas as pd

from codepro_leads.scoring.wording import factor_in_words, feature_words

__all__ = ["factor_in_words", "factors_of_row", "feature_words", "joined_column", "strength"]


def strength(effect: float) -> str:
    """How much a factor moves the odds, in words (effects are log-odds)."""
    size = abs(effect)
    if size >= 1.0:
        return "strongly"
    if size >= 0.3:
        return "clearly"
    return "slightly"


def factors_of_row(row: pd.Series, direction: str) -> list[tuple[str, float]]:
    """(label, effect) of a scored row's ``<direction>_factor_<i>`` columns, in rank order."""
    labels = row.filter(regex=rf"^{direction}_factor_\d+$")
    return [
        (label, float(row[f"{name}_effect"]))
        for name, label in labels.items()
        if isinstance(label, str)
    ]


def joined_column(stored: pd.Series) -> pd.Series:
    """Each stored JSON factor list as one line; each distinct list is read once."""
    lines = {
        text: "; ".join(factor_in_words(item["factor"]) for item in json.loads(text))
        for text in stored.dropna().unique()
        if text
    }
    return stored.map(lines).fillna("")
