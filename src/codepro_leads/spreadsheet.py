"""Files people open in a spreadsheet (the CRM export, rejected rows, the app's downloads): a
text cell a spreadsheet would run as a formula is made inert, as OWASP's CSV injection rule
says: a leading ``'`` before a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return. A plain number (``-3``, ``+1.5``) runs nothing and is left as it is. Only
the copies written for people change: the score store and the parquet files keep the values
as they came.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_STARTS_A_FORMULA = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def safe_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Arrow text with every cell that would start a formula prefixed with ``'``."""
    risky = pc.and_(
        pc.match_substring_regex(values, _STARTS_A_FORMULA),
        pc.invert(pc.match_substring_regex(values, _PLAIN_NUMBER)),
    )
    if not pc.any(risky).as_py():
        return values
    return pc.if_else(risky, pc.binary_join_element_wise("'", values, ""), values)


def safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` to write for people: text cells made inert (see the module)."""
    columns = {}
    for name, values in frame.items():
        if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
            text = safe_text(pa.array(values.astype("string[pyarrow]")))
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
        and not re.match(_PLAIN_NUMBER, value)
    ):
        return "'" + value
    return value
