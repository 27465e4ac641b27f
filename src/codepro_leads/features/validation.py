"""Vectorised row checks of a raw export: masks of bad rows, reasons formatted for those only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike
from pyarrow import csv as pa_csv

from codepro_leads.errors import ConfigError, LeadDataError

# Added by the raw reader: why a line could not be parsed (None when it could).
PARSE_ERROR_COLUMN = "__parse_error__"

_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"

# pyarrow's CSV null values ("NA", "null", ...) are missing in a column read as text too: a row
# gets the same verdict however its column was read (a whole file, or a streamed batch).
MISSING_VALUE_TEXTS = frozenset(pa_csv.ConvertOptions().null_values)
_MISSING_VALUE_ARRAY = pa.array(sorted(MISSING_VALUE_TEXTS), pa.string())
_TRUE_TEXTS = pa.array(pa_csv.ConvertOptions().true_values, pa.string())
_FALSE_TEXTS = pa.array(pa_csv.ConvertOptions().false_values, pa.string())

# pandas' and pyarrow's names for CodePro's leading unnamed index column.
_UNNAMED_INDEX_NAMES = ("", "Unnamed: 0")

# The whole seconds pandas' nanosecond timestamps can hold.
_FIRST_DATE = np.datetime64(pd.Timestamp.min.ceil("s"), "s")
_LAST_DATE = np.datetime64(pd.Timestamp.max.floor("s"), "s")


class Reasons:
    """Collects reject reasons per row; a row may fail several checks."""

    def __init__(self, index: pd.Index, skip: pd.Series) -> None:
        self.text = pd.Series("", index=index, dtype=object)
        self.counts: dict[str, int] = {}
        self._keep = ~np.asarray(skip, dtype=bool)  # rows rejected whole (malformed)

    def add(self, mask: ArrayLike, column: str, problem: str, values: pd.Series | None = None):
        """Record ``column: problem (value)`` for the rows in ``mask``."""
        mask = np.asarray(mask, dtype=bool) & self._keep
        n_bad = int(mask.sum())
        if n_bad == 0:
            return
        message = f"{column}: {problem}"
        self.counts[message] = self.counts.get(message, 0) + n_bad
        detail = (
            message if values is None else values[mask].map(lambda v: f"{message} ({_show(v)})")
        )
        current = self.text[mask]
        self.text[mask] = np.where(current == "", detail, current + "; " + detail)

    @property
    def bad(self) -> pd.Series:
        return self.text != ""


def _show(value: object) -> str:
    """A raw value in a reason; whole floats without the '.0' a NaN column adds."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(int(value))
    if isinstance(value, pd.Timestamp):
        return repr(str(value))
    return repr(value)


def key_columns(key_column: str) -> list[str]:
    """Columns that may hold the lead key: read as text (``00042`` stays ``00042``)."""
    return [key_column, *_UNNAMED_INDEX_NAMES]


def split_key(
    raw: pd.DataFrame, key_column: str, missing_key: str = "row_number"
) -> tuple[pd.Series, str | None]:
    """The lead key as trimmed text, and its raw column: ``key_column``, else a leading unnamed
    index column. Without either, rows are numbered from 0 (``missing_key="row_number"``) or
    refused (``"stop"``: row numbers collide across batches). Blank keys and values that are
    not text (``not_text``) are missing."""
    if missing_key not in ("row_number", "stop"):
        raise ConfigError(f"missing_key must be row_number or stop, not {missing_key!r}")
    col = key_column if key_column in raw.columns else raw.columns[0]
    if col in key_columns(key_column):
        return text_values(raw[col]).rename(key_column), col
    if missing_key == "row_number":
        numbers = pd.Series(np.arange(len(raw)), index=raw.index, name=key_column)
        return numbers.astype("string[pyarrow]"), None
    source = raw.attrs.get("source", "raw leads")
    raise LeadDataError(
        f"{source}: no lead key: add a {key_column!r} column (or a leading unnamed index "
        "column) so that scores can be joined back to the CRM"
    )


def check_columns(raw: pd.DataFrame, required: list[str], optional: list[str]) -> list[str]:
    """Stop on missing required columns; return the unexpected extra columns."""
    source = raw.attrs.get("source", "raw leads")
    missing = [col for col in required if col not in raw.columns]
    if missing:
        hint = ""
        if len(raw.columns) == 1:
            hint = (
                f" (the header has a single column {raw.columns[0][:60]!r}: is the delimiter ','?)"
            )
        raise LeadDataError(f"{source}: missing required column(s): {', '.join(missing)}{hint}")
    known = set(required) | set(optional) | {PARSE_ERROR_COLUMN}
    return [col for col in raw.columns if col not in known]


def not_text(values: pd.Series) -> np.ndarray:
    """Mask of values a text column cannot take: booleans, lists, objects, fractions."""
    if pd.api.types.is_bool_dtype(values):
        return values.notna().to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(values):
        x = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return ~np.isnan(x) & ((x % 1 != 0) | (np.abs(x) >= 2**53))
    kind = pd.api.types.infer_dtype(values) if pd.api.types.is_object_dtype(values) else None
    if kind in (None, "string", "empty", "integer"):
        return np.zeros(len(values), dtype=bool)
    return values.map(_is_not_text).to_numpy(dtype=bool)


def _is_not_text(value: object) -> bool:
    if value is None or isinstance(value, str) or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, float):
        return not value.is_integer() or abs(value) >= 2**53
    return isinstance(value, bool) or not isinstance(value, (int, np.integer))


def text_values(values: pd.Series) -> pd.Series:
    """``as_text`` of a text column: ``not_text`` missing, whole numbers as digits (not 42.0)."""
    if pd.api.types.is_float_dtype(values):
        values = values.mask(not_text(values)).astype("Int64")
    elif pd.api.types.is_object_dtype(values) and pd.api.types.infer_dtype(values) != "string":
        values = values.map(_text_or_none)
    return as_text(values)


def _text_or_none(value: object) -> str | None:
    if _is_not_text(value) or value is None or value != value:  # NaN != NaN
        return None
    return str(int(value)) if isinstance(value, float) else str(value)


def as_text(values: pd.Series) -> pd.Series:
    """Trimmed strings (in Arrow, without pandas' per-operation cost); blank values are NA."""
    text = pc.utf8_trim_whitespace(pa.array(values.astype("string[pyarrow]")))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return pd.Series(pd.arrays.ArrowStringArray(text), index=values.index)


def as_value_text(values: pd.Series) -> pd.Series:
    """``as_text`` of a number or date column: the CSV reader's missing-value texts are NA."""
    text = as_text(values)
    missing = pc.is_in(pa.array(text), value_set=_MISSING_VALUE_ARRAY)
    return text.mask(missing.to_numpy(zero_copy_only=False))


def to_number(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Coerce to float; return (numbers, mask of present values that are not numbers)."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
        numbers = values.to_numpy(dtype=float)  # NumPy numbers: NaN is their only missing value
        return numbers, np.isinf(numbers)
    kind = pd.api.types.infer_dtype(values) if values.dtype == object else None
    if kind == "empty":  # only missing values (a request's nulls)
        return np.full(len(values), np.nan), np.zeros(len(values), dtype=bool)
    if (
        kind in ("integer", "floating", "mixed-integer-float")
        or pd.api.types.is_bool_dtype(values)
        or pd.api.types.is_numeric_dtype(values)
    ):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        return numbers, np.isinf(numbers)
    # Text: parsed in Arrow (pd.to_numeric would make Python objects); true/false are 1/0.
    text = pa.array(as_value_text(values))
    text = pc.if_else(pc.is_in(text, value_set=_TRUE_TEXTS), "1", text)
    text = pc.if_else(pc.is_in(text, value_set=_FALSE_TEXTS), "0", text)
    is_number = pc.fill_null(pc.match_substring_regex(text, _DECIMAL), False)
    parsed = pc.cast(pc.if_else(is_number, text, None), pa.float64())
    bad = pc.and_(pc.is_valid(text), pc.invert(is_number))
    return parsed.to_numpy(zero_copy_only=False), bad.to_numpy(zero_copy_only=False)


def to_date(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    """Parse ISO 8601 dates (naive; UTC when the text had an offset); masks of missing values,
    of values that are not dates and of dates pandas cannot hold (1678 to 2261)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        # Typed by the reader, possibly at a coarser unit than pandas' nanoseconds.
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        stamps = values.to_numpy().astype("datetime64[s]")
        out_of_range = (stamps < _FIRST_DATE) | (stamps > _LAST_DATE)
        dates = pd.Series(np.where(out_of_range, np.datetime64("NaT"), stamps), index=values.index)
        not_date = np.zeros(len(values), dtype=bool)
        return dates.astype("datetime64[ns]"), values.isna().to_numpy(), not_date, out_of_range
    text = as_value_text(values)
    dates = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)
    failed = (text.notna() & dates.isna()).to_numpy()
    out_of_range = np.zeros(len(text), dtype=bool)
    if failed.any():  # too early or too late for pandas, or no date
        found = text[failed].str.extract(r"^(\d{4,})-", expand=False)
        year = pd.to_numeric(found, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        out_of_range[failed] = (year < _FIRST_DATE.astype(object).year) | (year > 2261)
    return dates, text.isna().to_numpy(), failed & ~out_of_range, out_of_range
