"""Reading a raw CodePro export (CSV): fast with pyarrow, line by line when lines are ragged (a
ragged line becomes a row whose ``PARSE_ERROR_COLUMN`` says why). Bytes invalid in the declared
encoding are replaced (U+FFFD), counted per column and logged."""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections import Counter
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from codepro_leads.errors import LeadDataError
from codepro_leads.features.validation import PARSE_ERROR_COLUMN

logger = logging.getLogger(__name__)

# A longer field is an unclosed quote swallowing lines.
MAX_FIELD_CHARS = 100_000

_TEXT = pd.StringDtype("pyarrow")


def read_raw_leads(
    source: str | Path | IO[bytes],
    encoding: str = "utf-8",
    name: str | None = None,
    text_columns: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """A raw export (a path or an upload) as a frame; ``text_columns`` (the key) read as text."""
    name = name or str(source)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise LeadDataError(f"{name}: unknown encoding {encoding!r}") from None
    source = _checked_source(source, name)
    try:
        frame = _read_fast(source, encoding, name, text_columns)
    except (pa.ArrowInvalid, UnicodeError) as error:
        if isinstance(error, UnicodeError) and not isinstance(error, UnicodeDecodeError):
            # Not bytes to replace but a stream the codec refuses (UTF-16 without a BOM).
            raise LeadDataError(
                f"{name}: cannot be read as {encoding} ({error}): declare the file's encoding"
            ) from None
        # Ragged lines or bytes invalid in a non-UTF-8 encoding: the slow path keeps every line.
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
        frame = _read_line_by_line(data, encoding, name)
    if frame.empty:
        raise LeadDataError(f"{name}: has a header but no lead rows")
    frame.attrs["source"] = name
    return frame


def _checked_source(source: str | Path | IO[bytes], name: str) -> str | IO[bytes]:
    """A path (pyarrow reads it without a copy in Python) or an in-memory upload."""
    if hasattr(source, "read"):
        source = io.BytesIO(source.read())
        empty = not source.getbuffer().nbytes
    else:
        path = Path(source)
        if not path.is_file():
            raise LeadDataError(f"{name}: file not found")
        source, empty = str(path), path.stat().st_size == 0
    if empty:
        raise LeadDataError(f"{name}: file is empty (expected a CSV header and lead rows)")
    return source


def check_header(columns: list[str], name: str) -> None:
    repeated = sorted(col for col, n in Counter(columns).items() if n > 1)
    if repeated:
        raise LeadDataError(f"{name}: repeated column name(s) in the header: {', '.join(repeated)}")


def _read_fast(
    source: str | IO[bytes], encoding: str, name: str, text_columns: list[str] | tuple[str, ...]
) -> pd.DataFrame:
    """Multi-threaded pyarrow read with type inference (a column holding any text is text)."""
    utf8 = codecs.lookup(encoding).name == "utf-8"
    table = pa_csv.read_csv(
        source,
        read_options=pa_csv.ReadOptions(encoding="utf8" if utf8 else encoding),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(text_columns, pa.string())
        ),
    )
    check_header(table.column_names, name)
    schema = table.schema
    for field in schema:
        if pa.types.is_string(field.type) and table.num_rows:
            _check_field_lengths(table[field.name], name, field.name)
    # Text stays in Arrow (no Python object per value); self_destruct lowers peak memory.
    frame = table.to_pandas(
        split_blocks=True, self_destruct=True, types_mapper={pa.string(): _TEXT}.get
    )
    del table
    binary = [field.name for field in schema if pa.types.is_binary(field.type)]  # not UTF-8
    for col in binary:
        frame[col] = frame[col].map(lambda v: v.decode("utf-8", "replace"), na_action="ignore")
    _count_undecodable(frame, binary, encoding, name)
    return frame


def _check_field_lengths(values: pa.ChunkedArray, name: str, column: str) -> None:
    lengths = pc.utf8_length(values)
    longest = pc.max(lengths).as_py()
    if longest is not None and longest > MAX_FIELD_CHARS:
        row = pc.index(lengths, longest).as_py()
        raise LeadDataError(
            f"{name}: column {column!r}, data row {row + 1}: a field over "
            f"{MAX_FIELD_CHARS:,} characters (an unclosed quote?)"
        )


def _count_undecodable(frame: pd.DataFrame, columns: list[str], encoding: str, name: str) -> None:
    """Log and record (``attrs``) how many values of each column hold replaced bytes."""
    counts = {
        col: int(frame[col].str.contains("\ufffd", regex=False).fillna(False).sum())
        for col in columns
    }
    counts = {col: n for col, n in counts.items() if n}
    frame.attrs["undecodable_values"] = counts
    if counts:
        logger.warning(
            "%s: values with bytes that are not valid %s, replaced with U+FFFD: %s "
            "(if the export uses another encoding, e.g. cp1252, declare it)",
            name,
            encoding,
            ", ".join(f"{col} {n}" for col, n in sorted(counts.items())),
        )


def _read_line_by_line(data: bytes, encoding: str, name: str) -> pd.DataFrame:
    """Parse with the csv module; lines with the wrong field count become parse-error rows."""
    utf8 = codecs.lookup(encoding).name == "utf-8"
    text = data.decode("utf-8-sig" if utf8 else encoding, errors="replace")  # -sig: drop a BOM
    reader = csv.reader(io.StringIO(text, newline=""))
    previous_limit = csv.field_size_limit(MAX_FIELD_CHARS)  # process-wide: restored below
    start = 1  # first line of the record being read, for the error message
    try:
        header = next(reader, None)
        if not header:
            raise LeadDataError(f"{name}: first line is empty (expected a CSV header)")
        check_header(header, name)
        width = len(header)
        rows, errors = [], []
        start = reader.line_num + 1
        for row in reader:
            if len(row) == width:
                rows.append(row)
                errors.append(None)
            elif row:  # a blank line is not a lead
                rows.append([None] * width)
                errors.append(f"malformed line {start}: {len(row)} fields, header has {width}")
            start = reader.line_num + 1
    except csv.Error:  # the only one csv raises here: a field over the size limit
        raise LeadDataError(
            f"{name}: line {start}: a field over {MAX_FIELD_CHARS:,} characters "
            "(an unclosed quote?)"
        ) from None
    finally:
        csv.field_size_limit(previous_limit)
    frame = pd.DataFrame(rows, columns=header, dtype=object).replace({"": None})
    _count_undecodable(frame, header, encoding, name)
    frame[PARSE_ERROR_COLUMN] = errors
    return frame
