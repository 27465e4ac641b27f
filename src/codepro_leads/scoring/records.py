"""The served model's fast path: a few raw records checked and encoded value by value.

It applies the rules of ``features.processing.prepare_leads`` and ``LeadEncoder.transform``
in plain Python: a pandas operation costs tens of microseconds and the vectorised path runs
hundreds of them per request, whatever its size. Only plain requests take it: the expected
columns, numbers, missing values, dates written ``YYYY-MM-DD[ HH:MM:SS]`` and printable ASCII
text. For anything else ``prepare_records`` returns None and the request takes the vectorised
path, so rare inputs are judged by the one full implementation (a property test checks that
both paths answer alike).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import compress, repeat
from operator import is_not
from typing import Any

import numpy as np
import pandas as pd

from codepro_leads.features.processing import (
    _CITY_STRIP,
    interaction_columns,
    raw_columns,
)
from codepro_leads.features.validation import (
    _DECIMAL,
    MISSING_VALUE_TEXTS,
    PARSE_ERROR_COLUMN,
    _show,
)
from codepro_leads.scoring.encoder import LeadEncoder

logger = logging.getLogger(__name__)

_NUMBER = re.compile(_DECIMAL)
# Dates pandas and datetime.fromisoformat read alike (other layouts take the vectorised path).
_PLAIN_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}([ T]\d{2}:\d{2}:\d{2})?$", re.ASCII)
_UNNAMED_INDEX_NAMES = ("", "Unnamed: 0")
# Keys the fast path takes: numbers, text and missing values.
_PLAIN_KEY_TYPES = {int, float, str, type(None), type(pd.NA)}


class _NotPlain(Exception):
    """A value the fast path leaves to the vectorised path."""


@dataclass(frozen=True)
class PreparedRecords:
    """Valid rows as the scorer reads them, and the rejected rows with their reasons."""

    valid_rows: list[int]  # positions in the request
    keys: list[Any]  # tidied keys of the valid rows
    dates: list[datetime]
    matrix: np.ndarray  # encoder.matrix rows of the valid rows
    rejected: dict[int, tuple[Any, str]]  # position -> (raw key, reason)


def prepare_records(
    frame: pd.DataFrame, params: dict[str, Any], encoder: LeadEncoder
) -> PreparedRecords | None:
    """The lead preparation and encoding of ``frame`` (raw rows, as the scoring server parses
    a request), or None when a column or value is not plain."""
    if not all(isinstance(col, str) for col in frame.columns):
        return None
    columns = list(frame.columns)
    key_col = _key_column(columns, params)
    label = params["label_column"]
    required = raw_columns(params)
    if (
        key_col is None
        or len(set(columns)) != len(columns)
        or any(col != col.strip() for col in columns)
        or PARSE_ERROR_COLUMN in columns
        or not set(required) <= set(columns)
    ):
        return None
    extra = [col for col in columns if col not in {*required, key_col, label}]
    try:
        values = _columns(frame, [key_col, *required])
        prepared = _prepare(values, key_col, params, encoder, len(frame))
    except _NotPlain:
        return None
    if extra:
        logger.warning("Dropping %d unexpected column(s): %s", len(extra), ", ".join(extra))
    return prepared


def _key_column(columns: list[str], params: dict[str, Any]) -> str | None:
    if params["key_column"] in columns:
        return params["key_column"]
    if columns and columns[0] in _UNNAMED_INDEX_NAMES:
        return columns[0]
    return None


@dataclass(frozen=True)
class _Column:
    values: list[Any]
    numeric: bool  # a bool, integer or float column (else object: values are judged one by one)


def _columns(frame: pd.DataFrame, names: list[str]) -> dict[str, _Column]:
    """The values of the columns ``names``, read in one pass over the frame (a Series per
    column costs ~10 us: with 45 columns, more than the rest of a one-lead request)."""
    dtype_of = dict(zip(frame.columns, frame.dtypes.tolist(), strict=True))
    if any(
        not isinstance(dtype_of[col], np.dtype) or dtype_of[col].kind not in "biufO"
        for col in names
    ):
        raise _NotPlain  # extension types (nullable, Arrow, categories): the vectorised path
    position = {col: i for i, col in enumerate(frame.columns)}
    table = frame.to_numpy(dtype=object)  # numbers as Python numbers, as ``Series.tolist``
    return {
        col: _Column(table[:, position[col]].tolist(), numeric=dtype_of[col].kind != "O")
        for col in names
    }


def _prepare(
    values: dict[str, _Column],
    key_col: str,
    params: dict[str, Any],
    encoder: LeadEncoder,
    n_rows: int,
) -> PreparedRecords:
    key_name, date_col = params["key_column"], params["date_column"]
    city_col, max_count = params["city_column"], params["max_count"]
    reasons: list[list[str]] = [[] for _ in range(n_rows)]
    text_cols = [city_col, *params["categorical_columns"]]
    counts = [*params["count_columns"], *interaction_columns(params)]
    flags = params["flag_columns"]

    keys = values[key_col]
    key_types = set(map(type, keys.values))
    if not key_types <= _PLAIN_KEY_TYPES:
        raise _NotPlain  # e.g. True, which equals 1 in pandas' duplicate check
    if not (key_types <= {int, str} and len(set(keys.values)) == n_rows):
        _judge_keys(keys.values, key_name, reasons)  # a key is missing (NaN is a float) or repeated

    dates = [
        _date(value, row, date_col, reasons) for row, value in enumerate(values[date_col].values)
    ]
    text = {col: _texts(values[col].values) for col in text_cols}
    count = partial(_count, max_count=max_count)
    numbers = {
        col: _checked_numbers(values[col], col, reasons, count, _counts_pass(max_count))
        for col in counts
    }
    for col in flags:
        numbers[col] = _checked_numbers(values[col], col, reasons, _flag, _flags_pass)

    valid_rows = [row for row in range(n_rows) if not reasons[row]]
    model_input = _model_input(valid_rows, text, numbers, params)
    codes = encoder.level_codes()
    matrix = np.empty((len(valid_rows), len(encoder.feature_names)))
    for j, col in enumerate(encoder.feature_names):
        column = model_input.get(col)
        if column is None:
            raise _NotPlain  # a feature this path does not build
        if col in codes:
            if col not in text:
                raise _NotPlain  # levels of a number column: left to the encoder itself
            others = len(codes[col])
            matrix[:, j] = [codes[col].get(level, others) for level in column]
        else:
            matrix[:, j] = column
    return PreparedRecords(
        valid_rows=valid_rows,
        keys=_tidy_keys([keys.values[row] for row in valid_rows]),
        dates=[dates[row] for row in valid_rows],
        matrix=matrix,
        rejected={
            row: (None if _missing(keys.values[row]) else keys.values[row], "; ".join(found))
            for row, found in enumerate(reasons)
            if found
        },
    )


def _judge_keys(keys: list[Any], key_name: str, reasons: list[list[str]]) -> None:
    """Reasons for missing keys and for keys an earlier row has."""
    seen: set[Any] = set()
    for row, key in enumerate(keys):
        if _missing(key):
            reasons[row].append(f"{key_name}: missing")
        elif key in seen:
            reasons[row].append(f"{key_name}: repeats an earlier row ({_show(key)})")
        else:
            seen.add(key)


def _model_input(
    rows: list[int],
    text: dict[str, list[str | None]],
    numbers: dict[str, np.ndarray],
    params: dict[str, Any],
) -> dict[str, Any]:
    """``select_model_input``'s columns of the valid rows: interaction sums, city tier, filled
    counts, raw levels."""
    at = np.asarray(rows, dtype=np.intp)
    columns: dict[str, Any] = {
        col: [text[col][row] for row in rows] for col in params["categorical_columns"]
    }
    for group, cols in params["interaction_groups"].items():
        # Valid counts are whole numbers far below 2**53: the sum is exact in any order.
        total = np.zeros(len(rows))
        for col in cols:
            counted = numbers[col][at]
            total += np.where(np.isnan(counted), 0.0, counted)
        columns[group] = total
    fill = set(params["fill_missing_with_zero"])
    for col in [*params["count_columns"], *params["flag_columns"]]:
        column = numbers[col][at] + 0.0  # -0.0 as 0.0, as the vectorised path reads it
        columns[col] = np.where(np.isnan(column), 0.0, column) if col in fill else column
    tier_of = {
        city: int(tier_name.removeprefix("tier_"))
        for tier_name, cities in params["city_tiers"].items()
        for city in cities
    }
    aliases = params.get("city_aliases") or {}
    default = float(params["default_city_tier"])
    tier_of_text = {None: default}  # each distinct city once
    for city in set(text[params["city_column"]]) - {None}:
        name = city.lower().strip(_CITY_STRIP)
        tier_of_text[city] = float(tier_of.get(aliases.get(name, name), default))
    columns["city_tier"] = [tier_of_text[text[params["city_column"]][row]] for row in rows]
    return columns


def _checked_numbers(
    column: _Column,
    col: str,
    reasons: list[list[str]],
    check: Callable[[Any, bool, int, str, list[list[str]]], float],
    passes: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """The numbers of a count or flag column, bad values' reasons added to ``reasons``. A
    number column is judged vectorised (the few values that fail get ``check`` for their
    reason); in an object column each present value is judged alone. ``passes`` says which
    present numbers ``check`` passes."""
    values = column.values
    if column.numeric:
        numbers = np.array(values, dtype=float)
        for row in np.flatnonzero(~np.isnan(numbers) & ~passes(numbers)).tolist():
            check(values[row], True, row, col, reasons)
        return numbers
    numbers = np.full(len(values), np.nan)
    for row in compress(range(len(values)), map(is_not, values, repeat(None))):
        numbers[row] = check(values[row], False, row, col, reasons)
    return numbers


def _texts(values: list[Any]) -> list[str | None]:
    """``_plain_text`` of each value, each distinct one judged once when all are text or
    None (1, 1.0 and True are equal keys but not equal texts)."""
    if set(map(type, values)) <= {str, type(None)}:
        known = {value: _plain_text(value) for value in set(values)}
        return list(map(known.__getitem__, values))
    return [_plain_text(value) for value in values]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain_text(value: Any) -> str | None:
    """``as_text``: trimmed text, None when missing or blank."""
    if _missing(value):
        return None
    if isinstance(value, str):
        if not (value.isascii() and value.isprintable()):
            raise _NotPlain  # Arrow and Python trim and lower-case other characters differently
        text = value.strip()
    elif type(value) in (int, float):
        text = str(value)
    else:
        raise _NotPlain
    return text or None


def _number(value: Any, numeric: bool) -> tuple[float, bool]:
    """``to_number``: (the number or NaN, whether a present value is not a number)."""
    if numeric:
        number = float(value)
        return number, math.isinf(number)
    text = _plain_text(value)
    if text is None or text in MISSING_VALUE_TEXTS:
        return math.nan, False
    if not _NUMBER.fullmatch(text):
        return math.nan, True
    number = float(text)
    if math.isinf(number):
        raise _NotPlain  # beyond a float: Arrow refuses to parse it
    return number, False


def _count(
    value: Any, numeric: bool, row: int, col: str, reasons: list[list[str]], max_count: float
) -> float:
    number, not_number = _number(value, numeric)
    if not_number:
        reasons[row].append(f"{col}: not a number ({_show(value)})")
    elif not math.isnan(number):
        if number < 0:
            reasons[row].append(f"{col}: negative count ({_show(value)})")
        elif number % 1 != 0:
            reasons[row].append(f"{col}: not a whole number ({_show(value)})")
        elif number > max_count:
            reasons[row].append(f"{col}: above {max_count:g} ({_show(value)})")
    return number


def _flag(value: Any, numeric: bool, row: int, col: str, reasons: list[list[str]]) -> float:
    number, not_number = _number(value, numeric)
    if not_number:
        reasons[row].append(f"{col}: not a number ({_show(value)})")
    elif not math.isnan(number) and number not in (0.0, 1.0):
        reasons[row].append(f"{col}: not 0 or 1 ({_show(value)})")
    return number


def _counts_pass(max_count: float) -> Callable[[np.ndarray], np.ndarray]:
    """Which present numbers ``_count`` passes, vectorised."""
    return lambda x: np.isfinite(x) & (x >= 0) & (x <= max_count) & (x == np.floor(x))


def _flags_pass(numbers: np.ndarray) -> np.ndarray:
    """Which present numbers ``_flag`` passes, vectorised."""
    return (numbers == 0) | (numbers == 1)


def _date(value: Any, row: int, col: str, reasons: list[list[str]]) -> datetime | None:
    # Most dates are already trimmed plain text: read straight away.
    match = _PLAIN_DATE.fullmatch(value) if type(value) is str else None
    text = value
    if match is None:
        if _missing(value):
            reasons[row].append(f"{col}: missing")
            return None
        if not isinstance(value, str):
            raise _NotPlain
        text = _plain_text(value)
        if text is None:
            reasons[row].append(f"{col}: missing")
            return None
        match = _PLAIN_DATE.fullmatch(text)
    if not match or not 1678 <= int(match.group(1)) <= 2261:
        raise _NotPlain
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _NotPlain from None


def _tidy_keys(keys: list[Any]) -> list[Any]:
    """``tidy_key`` for plain keys: whole numbers as int, text as trimmed text."""
    if all(
        isinstance(key, int) or (isinstance(key, float) and key.is_integer() and abs(key) < 2**53)
        for key in keys
    ):
        if any(isinstance(key, int) and not -(2**63) <= key < 2**63 for key in keys):
            raise _NotPlain
        return [int(key) for key in keys]
    if any(not isinstance(key, str) for key in keys):
        raise _NotPlain  # numbers mixed with text: tidy_key's rules, not copied here
    stripped = [key.strip() for key in keys]
    if any(_NUMBER.fullmatch(key) or not key.isascii() for key in stripped):
        raise _NotPlain  # numeric-looking text becomes a number there
    return stripped
