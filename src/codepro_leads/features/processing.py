"""Raw CodePro rows -> ``model_input_leads``: the data_processing nodes (the label optional)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from codepro_leads.features.validation import (
    PARSE_ERROR_COLUMN,
    Reasons,
    check_columns,
    not_text,
    split_key,
    text_values,
    to_date,
    to_number,
)

logger = logging.getLogger(__name__)

# Quotes a mis-encoded or hand-edited export leaves around city names.
_CITY_STRIP = " \"'\u201c\u201d\u2018\u2019"


def interaction_columns(params: dict[str, Any]) -> list[str]:
    """The raw interaction counts, group by group."""
    return [col for cols in params["interaction_groups"].values() for col in cols]


def raw_columns(params: dict[str, Any]) -> list[str]:
    """Required raw columns, in CodePro's order (without the key and the label)."""
    return _in_order(params, params["city_column"], interaction_columns(params))


def _in_order(params: dict[str, Any], city: str, interactions: list[str]) -> list[str]:
    """The columns of a lead in CodePro's order, with these city and interaction columns."""
    return [
        params["date_column"],
        city,
        *params["categorical_columns"],
        *params["count_columns"],
        *params["flag_columns"],
        *sorted(interactions),
    ]


def without_label(raw_leads: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """New leads without a label (with it, blank labels are rejected and repeats dropped)."""
    label = params["label_column"]
    return raw_leads.drop(columns=label) if label in raw_leads.columns else raw_leads


def validate_raw_leads(
    raw_leads: pd.DataFrame, params: dict[str, Any], missing_key: str = "row_number"
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Check the raw export against CodePro's schema and type every column: a missing column
    stops the run, extra ones are dropped. Returns valid typed leads, rejected raw rows with a
    ``reason`` (indexed by their row), intake counts and the first valid raw rows (the example)."""
    key_name, label = params["key_column"], params["label_column"]
    # set_axis/split_key share the raw columns: no copy of a 240k x 45 frame.
    raw = raw_leads.set_axis([str(col).strip() for col in raw_leads.columns], axis=1, copy=False)
    key, key_col = split_key(raw, key_name, missing_key)
    required = raw_columns(params)
    extra = check_columns(raw, required, optional=[label, key_col])
    if extra:
        logger.warning("Dropping %d unexpected column(s): %s", len(extra), ", ".join(extra))

    parse_error = raw.get(PARSE_ERROR_COLUMN, pd.Series(None, raw.index, object)).notna()
    reasons = Reasons(raw.index, skip=parse_error)
    columns = {key_name: key}
    key_raw = raw[key_col] if key_col is not None else key
    key_not_text = not_text(key_raw)
    reasons.add(key_not_text, key_name, "not text", key_raw)
    reasons.add(key.isna() & ~key_not_text, key_name, "missing")
    reasons.add(key.notna() & key.duplicated(), key_name, "repeats an earlier row", key)

    date_col = params["date_column"]
    columns[date_col], no_date, bad_date, out_of_range = to_date(raw[date_col])
    reasons.add(no_date, date_col, "missing")
    reasons.add(bad_date, date_col, "not an ISO 8601 date", raw[date_col])
    reasons.add(out_of_range, date_col, "out of range (years 1678 to 2261)", raw[date_col])

    max_count = params["max_count"]
    for col in [params["city_column"], *params["categorical_columns"]]:
        reasons.add(not_text(raw[col]), col, "not text", raw[col])
        columns[col] = text_values(raw[col])
    for col in params["count_columns"]:
        columns[col] = _checked_number(raw[col], col, reasons, max_count=max_count)
    for col in interaction_columns(params):
        # float32 holds every valid count exactly, in half the memory of float64.
        columns[col] = _checked_number(raw[col], col, reasons, max_count=max_count, dtype="float32")
    for col in params["flag_columns"]:
        columns[col] = _checked_number(raw[col], col, reasons)
    if label in raw.columns:
        columns[label] = _checked_number(raw[label], label, reasons, required=True)

    if parse_error.any():
        reasons.text[parse_error] = raw.loc[parse_error, PARSE_ERROR_COLUMN]
        reasons.counts["malformed line"] = int(parse_error.sum())
    bad = reasons.bad
    rejected = pd.concat(
        [
            key[bad].to_frame(),
            reasons.text[bad].rename("reason"),
            raw.loc[bad].drop(columns=[key_col, PARSE_ERROR_COLUMN], errors="ignore"),
        ],
        axis=1,
    )
    if bad.any():
        # A column at a time, each freed once filtered: never two copies of the valid leads.
        keep = ~bad.to_numpy()
        columns = {name: _take(columns.pop(name), keep) for name in list(columns)}
    valid = pd.DataFrame(columns, copy=False)
    if label in valid.columns:
        valid[label] = valid[label].astype("int8")
    intake = {
        "rows_read": len(raw),
        "rows_rejected": int(bad.sum()),
        "reject_reasons": dict(sorted(reasons.counts.items())),
        "extra_columns_dropped": extra,
        "key": key_col if key_col is not None else "row number",
        "undecodable_values": raw.attrs.get("undecodable_values", {}),
    }
    if n_bad := intake["rows_rejected"]:
        logger.warning("Rejected %d of %d rows: %s", n_bad, len(raw), intake["reject_reasons"])
    first_valid = np.flatnonzero(~bad.to_numpy())[: params["raw_example_rows"]]
    example_columns = [*required, label] if label in raw else required
    example = pd.concat([key.iloc[first_valid], raw.iloc[first_valid][example_columns]], axis=1)
    return valid, rejected, intake, example.reset_index(drop=True)


def _checked_number(
    values: pd.Series,
    col: str,
    reasons: Reasons,
    max_count: float | None = None,
    dtype: str = "float64",
    required: bool = False,
) -> np.ndarray:
    """A count column (whole, 0 to ``max_count``) or, without ``max_count``, a 0/1 flag; a
    missing value is a reason too if ``required``."""
    x, not_number = to_number(values)
    reasons.add(not_number, col, "not a number", values)
    usable = ~np.isnan(x) & ~not_number
    if usable.any():
        with np.errstate(invalid="ignore"):  # inf % 1 is NaN: not whole
            if max_count is None:
                reasons.add(usable & ~np.isin(x, [0.0, 1.0]), col, "not 0 or 1", values)
            else:
                reasons.add(usable & (x < 0), col, "negative count", values)
                whole = x % 1 == 0
                reasons.add(usable & (x >= 0) & ~whole, col, "not a whole number", values)
                reasons.add(usable & whole & (x > max_count), col, f"above {max_count:g}", values)
    if required:
        reasons.add(np.isnan(x) & ~not_number, col, "missing")
    return x.astype(dtype, copy=False)


def _take(
    values: pd.Series | np.ndarray, keep: np.ndarray
) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """The ``keep`` rows of a column, as an array (no index to copy)."""
    if isinstance(values, np.ndarray):
        return values[keep]
    return values.to_numpy()[keep] if isinstance(values.dtype, np.dtype) else values.array[keep]


def drop_duplicate_leads(
    leads: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop and count exact repeats (but for the key) of labeled leads; new leads are all kept."""
    if params["label_column"] not in leads.columns:
        return leads, {"duplicates_dropped": 0}
    columns = [col for col in leads.columns if col != params["key_column"]]
    # Only rows with equal hashes are compared in full: a plain duplicated() on all columns
    # factorises every column (~150 MB on 240k rows). Text is hashed through its codes.
    hashes = np.zeros(len(leads), dtype=np.uint64)
    for values in (leads[col] for col in columns):
        keys = values.to_numpy() if isinstance(values.dtype, np.dtype) else values.factorize()[0]
        hashes = hashes * np.uint64(1_000_003) ^ pd.util.hash_array(keys)
    candidates = pd.Series(hashes).duplicated(keep=False).to_numpy()
    repeated = np.zeros(len(leads), dtype=bool)
    if candidates.any():
        repeated[candidates] = _rows(leads, candidates).duplicated(subset=columns).to_numpy()
    n_dropped = int(repeated.sum())
    if n_dropped:
        logger.info("Dropped %d duplicate lead(s) (equal but for the key)", n_dropped)
    unique = _rows(leads, ~repeated) if n_dropped else leads
    return unique, {"duplicates_dropped": n_dropped}


def _rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``frame.loc[keep].reset_index(drop=True)`` a column at a time: ``loc`` would stack
    same-typed columns into blocks and ``reset_index`` copy again (3x the frame at peak)."""
    columns = {col: _take(values, keep) for col, values in frame.items()}
    rows = pd.DataFrame(columns, copy=False)  # no columns=: pandas would copy every array
    rows.attrs = dict(frame.attrs)
    return rows


def sum_interactions(leads: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Replace the 37 raw interaction counts by one sum per group (missing counts as 0)."""
    sums = {}
    for group, cols in sorted(params["interaction_groups"].items()):
        total = np.zeros(len(leads))
        for col in cols:  # a column at a time: no 240k x 37 temporary
            total += np.nan_to_num(leads[col].to_numpy(dtype=float))
        sums[group] = total.astype("int64")
    return leads.drop(columns=interaction_columns(params)).assign(**sums)


def add_city_tier(leads: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Map the city to CodePro's tier (1, 2, 3); unknown or missing cities are tier 3."""
    city_col = params["city_column"]
    tier_of = {
        city: int(tier_name.removeprefix("tier_"))
        for tier_name, cities in params["city_tiers"].items()
        for city in cities
    }
    aliases = params.get("city_aliases") or {}
    default = params["default_city_tier"]
    codes, names = pd.factorize(leads[city_col])  # each distinct name mapped once
    cities = [name.lower().strip(_CITY_STRIP) for name in names]
    tiers = [tier_of.get(aliases.get(city, city), default) for city in cities]
    # The default last: a missing city's code (-1) picks it.
    tier = pd.Series(np.array([*tiers, default], dtype="int8")[codes], index=leads.index)
    return leads.drop(columns=city_col).assign(city_tier=tier)


def fill_missing_counts(leads: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Fill missing ``total_leads_droppped`` and ``referred_lead`` with 0, as whole numbers."""
    filled = {col: leads[col].fillna(0).astype("int64") for col in params["fill_missing_with_zero"]}
    return leads.assign(**filled)


def select_model_input(leads: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """The model input columns in a fixed order (raw levels: training fits their grouping)."""
    columns = [params["key_column"], *_in_order(params, "city_tier", params["interaction_groups"])]
    if params["label_column"] in leads.columns:
        columns.append(params["label_column"])
    return leads[columns]


def prepare_leads(
    raw_leads: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data_processing nodes in order, for the served model: (model input, rejected rows)."""
    valid, rejected, _, _ = validate_raw_leads(raw_leads, params, missing_key="stop")
    unique, _ = drop_duplicate_leads(valid, params)
    leads = fill_missing_counts(add_city_tier(sum_interactions(unique, params), params), params)
    return select_model_input(leads, params), rejected
