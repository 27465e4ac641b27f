"""The factors of scored leads as text: the score table's JSON lists (model terms,
``first_utm_medium_c=Level76``) and the reasons in a salesperson's words ("Marketing medium:
Level76") that the CRM export and the served model's answer carry, built column by column in
Arrow and kept there (``string[pyarrow]``): no Python string per lead.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codepro_leads.scoring.wording import factor_in_words

FACTOR_TEXTS = ("up_factors", "down_factors", "raises_score", "lowers_score")


def factor_texts(scored: pd.DataFrame) -> pd.DataFrame:
    """The factors of each row as text: the score table's JSON lists (``up_factors``,
    ``down_factors``) and the CRM's reasons in words (``raises_score``, ``lowers_score``)."""
    return pd.DataFrame(
        {
            "up_factors": _factors_json(scored, "up"),
            "down_factors": _factors_json(scored, "down"),
            "raises_score": factors_in_words(scored, "up"),
            "lowers_score": factors_in_words(scored, "down"),
        },
        index=scored.index,
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
        names = pa.array(_json_strings(scored[label]), pa.string(), from_pandas=True)
        effects = pa.array(scored[f"{label}_effect"].to_numpy(), from_pandas=True)
        items.append(
            pc.binary_join_element_wise(
                '{"factor": ', names, ', "effect": ', pc.cast(effects, pa.string()), "}", ""
            )
        )
    joined = pc.fill_null(_joined_texts(items, ", ", len(scored)), "")
    return _arrow_backed(pc.binary_join_element_wise("[", joined, "]", ""), scored.index)


def _arrow_backed(texts: pa.Array, index: pd.Index) -> pd.Series:
    """Text kept in Arrow (``string[pyarrow]``)."""
    return pd.Series(pd.arrays.ArrowStringArray(texts), index=index)


def _json_strings(labels: pd.Series) -> pd.Series:
    """Each label as a JSON string literal (missing stays missing), each distinct one encoded
    once."""
    distinct = labels.dropna().unique()
    return labels.map(dict(zip(distinct, map(json.dumps, distinct), strict=True)))


def _joined_texts(columns: list[pa.Array], separator: str, length: int) -> pa.Array:
    """Row by row, the non-null texts of ``columns`` joined with ``separator``; null where all
    are null. (Arrow 25's ``null_handling="skip"`` drops trailing all-null rows, so the join is
    built pairwise.)"""
    if not columns:
        return pa.nulls(length, pa.string())
    joined = columns[0]
    for column in columns[1:]:
        both = pc.binary_join_element_wise(joined, column, separator)
        joined = pc.if_else(
            pc.is_null(joined), column, pc.if_else(pc.is_null(column), joined, both)
        )
    return joined


def factors_in_words(scored: pd.DataFrame, direction: str) -> pd.Series:
    """Each row's ``<direction>_factor_<i>`` labels in words, in rank order, joined with '; '
    ("" when it has none); each distinct label is worded once."""
    factors = scored[_factor_columns(scored, direction)]
    distinct = pd.unique(factors.to_numpy().ravel())
    words = {label: factor_in_words(label) for label in distinct if isinstance(label, str)}
    labels = [
        pa.array(factors[col].map(words), pa.string(), from_pandas=True) for col in factors.columns
    ]
    return _arrow_backed(pc.fill_null(_joined_texts(labels, "; ", len(factors)), ""), factors.index)
