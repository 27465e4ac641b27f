"""Files people open in a spreadsheet (CRM export, rejected rows, the app's downloads): a text
cell a spreadsheet would run as a formula gets a leading ``'`` (OWASP's CSV injection rule);
plain numbers such as ``-3`` stay. The score store and parquet files keep values as they came.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_STARTS_A_FORMULA = r"^[=+\-@\t\r]"
# ASCII digits, to the very end: as Arrow's RE2 reads it, so both paths below agree.
_PLAIN_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


def safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` to write for people: text cells made inert."""
    columns = {}
    for name, values in frame.items():
        if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
            text = pa.array(values.astype("string[pyarrow]"))
            risky = pc.and_(
                pc.match_substring_regex(text, _STARTS_A_FORMULA),
                pc.invert(pc.match_substring_regex(text, f"^{_PLAIN_NUMBER}$")),
            )
            if pc.any(risky).as_py():
                text = pc.if_else(risky, pc.binary_join_element_wise("'", text, ""), text)
            values = pd.Series(pd.arrays.ArrowStringArray(text), index=frame.index)
        elif pd.api.types.is_object_dtype(values):  # mixed raw values: only the text changes
            values = values.map(_safe_value)
        columns[name] = values
    safe = pd.DataFrame(columns, index=frame.index)
    safe.attrs = dict(frame.attrs)
    return safe


def _safe_value(value: object) -> object:
    if (
        isinstance(value, str)
        and re.match(_STARTS_A_FORMULA, value)
        and not re.fullmatch(_PLAIN_NUMBER, value, re.ASCII)
    ):
        return "'" + value
    return value
