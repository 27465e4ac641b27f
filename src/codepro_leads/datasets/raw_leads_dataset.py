"""Read-only dataset for raw CodePro lead exports (CSV).

File-level problems (missing, empty, header only, unreadable) raise ``LeadDataError`` with one
line naming the file. Row-level problems never stop the load: a line with the wrong number of
fields comes back as a row whose ``PARSE_ERROR_COLUMN`` says what was wrong, so the validation
node can reject it with that reason and every line stays accounted for.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from kedro.io import AbstractDataset, DatasetError
from pyarrow import csv as pa_csv

from codepro_leads.errors import LeadDataError

PARSE_ERROR_COLUMN = "__parse_error__"


class RawLeadsDataset(AbstractDataset[None, pd.DataFrame]):
    """A raw lead export: a CSV file with a header line, read with pyarrow for speed."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        path = self._filepath
        if not path.is_file():
            raise LeadDataError(f"{path}: file not found")
        if path.stat().st_size == 0:
            raise LeadDataError(f"{path}: file is empty (expected a CSV header and lead rows)")
        try:
            frame = _read_fast(path)
        except pa.ArrowInvalid:
            # Ragged lines: slow path that keeps every line.
            frame = _read_line_by_line(path)
        if frame.empty:
            raise LeadDataError(f"{path}: has a header but no lead rows")
        frame.attrs["source"] = str(path)
        return frame

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._filepath}: raw lead exports are read-only")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return self._filepath.is_file()


def _read_fast(path: Path) -> pd.DataFrame:
    """Multi-threaded pyarrow read with type inference (a column holding any text, say one
    'abc' among counts, comes back as text; the validation node rejects the bad rows)."""
    table = pa_csv.read_csv(path)
    schema = table.schema
    # self_destruct frees each Arrow column once converted: lower peak memory.
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()  # hand Arrow's freed buffers back to the OS
    for field in schema:
        if pa.types.is_binary(field.type):  # not valid UTF-8
            frame[field.name] = frame[field.name].map(
                lambda v: v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v
            )
    return frame


def _read_line_by_line(path: Path) -> pd.DataFrame:
    """Parse with the csv module; lines with the wrong field count become parse-error rows."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise LeadDataError(f"{path}: first line is empty (expected a CSV header)")
        width = len(header)
        rows, errors = [], []
        for row in reader:
            if not row:
                continue  # blank line: not a lead
            if len(row) == width:
                rows.append(row)
                errors.append(None)
            else:
                rows.append([None] * width)
                errors.append(
                    f"malformed line {reader.line_num}: {len(row)} fields, header has {width}"
                )
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame = frame.replace({"": None})
    frame[PARSE_ERROR_COLUMN] = errors
    return frame
