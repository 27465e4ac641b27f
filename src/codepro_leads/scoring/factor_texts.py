"""The factors of scored leads as text: the score table's JSON lists of model terms and the
reasons in a salesperson's words, built and kept in Arrow (no Python string per lead)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codepro_leads.scoring.wording import factor_in_words

FACTOR_TEXTS = ("up_factors", "down_factors", "raises_score", "lowers_score")


def factor_texts(scored: pd.DataFrame) -> pd.DataFrame:
    """Each row's factors as JSON lists and in the CRM's words (the columns ``FACTOR_TEXTS``)."""
    return pd.DataFrame(
        {
            "up_factors": _factors_json(scored, "up"),
            "down_factors": _factors_json(scored, "down"),
            "raises_score": factors_in_words(scored, "up"),
            "lowers_score": factors_in_words(scored, "down"),
        }
    )


def _factor_columns(scored: pd.DataFrame, direction: str) -> list[str]:
    """``<direction>_factor_1``, ``_2``, ... in rank order (labels, not the effects)."""
    pattern = re.compile(rf"{direction}_factor_(\d+)")
    ranked = [(int(m[1]), m[0]) for col in scored.columns if (m := pattern.fullmatch(col))]
    return [col for _, col in sorted(ranked)]


def _factors_json(scored: pd.DataFrame, direction: str) -> pd.Series:
    """Each row's factors as a JSON list, effects in their shortest exact form."""
    items = []
    for label in _factor_columns(scored, direction):
        distinct = scored[label].dropna().unique()  # each label encoded once
        names = scored[label].map(dict(zip(distinct, map(json.dumps, distinct), strict=True)))
        effects = pa.array(scored[f"{label}_effect"].to_numpy(), from_pandas=True)
        parts = ['{"factor": ', pa.array(names, pa.string(), from_pandas=True), ', "effect": ']
        items.append(pc.binary_join_element_wise(*parts, pc.cast(effects, pa.string()), "}", ""))
    lists = pc.binary_join_element_wise("[", _joined(items, ", ", len(scored)), "]", "")
    return pd.Series(pd.arrays.ArrowStringArray(lists), index=scored.index)


def _joined(columns: list[pa.Array], separator: str, length: int) -> pa.Array:
    """Row by row, the non-null texts of ``columns`` joined with ``separator`` ("" if none).
    Pairwise: Arrow 25's ``null_handling="skip"`` drops trailing all-null rows."""
    joined = pa.nulls(length, pa.string())
    for column in columns:
        both = pc.binary_join_element_wise(joined, column, separator)
        joined = pc.if_else(
            pc.is_null(joined), column, pc.if_else(pc.is_null(column), joined, both)
        )
    return pc.fill_null(joined, "")


def factors_in_words(scored: pd.DataFrame, direction: str) -> pd.Series:
    """Each row's ``<direction>_factor_<i>`` labels in words, joined with '; ' ("" if none)."""
    factors = scored[_factor_columns(scored, direction)]
    distinct = pd.unique(factors.to_numpy().ravel())  # each label worded once
    words = {label: factor_in_words(label) for label in distinct if isinstance(label, str)}
    labels = [
        pa.array(factors[col].map(words), pa.string(), from_pandas=True) for col in factors.columns
    ]
    joined = _joined(labels, "; ", len(factors))
    return pd.Series(pd.arrays.ArrowStringArray(joined), index=factors.index)
