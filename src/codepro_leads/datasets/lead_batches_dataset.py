"""Raw lead exports (CSV) read in batches of rows, so memory does not grow with the file.

Loading gives a ``LeadBatches`` handle and reads nothing; ``batches(rows)`` streams the file
with pyarrow's incremental reader. Each batch is a raw frame exactly as
``features.raw_csv.read_raw_leads`` would return those rows, so the same validation runs on
it. Columns whose kind the caller knows are read as that type (a sparse count column may be
empty for the first thousands of rows, and its type cannot be guessed from them); the others
take the type of the first block.

A file the incremental reader cannot take as it goes (a value of another type further down,
ragged lines, bytes invalid in its encoding, an unclosed quote) is read whole by
``read_raw_leads`` from where the stream stopped: the same rows, the same one-line errors,
at the memory cost of that file.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from kedro.io import AbstractDataset, DatasetError
from pyarrow import compute as pc
from pyarrow import csv as pa_csv

from codepro_leads.errors import LeadDataError
from codepro_leads.features.raw_csv import MAX_FIELD_CHARS, _check_header, read_raw_leads

logger = logging.getLogger(__name__)

# Bytes pyarrow parses at a time; the first block also fixes the undeclared column types
# (the key and the date). Measured on 1M leads: 1 MB blocks read in 3.5 s holding 48 MB of
# Arrow memory, 4 MB blocks in 4.6 s holding 144 MB (the reader parses blocks ahead).
_BLOCK_BYTES = 1 << 20


class _NotStreamable(Exception):
    """The rest of the file must be read whole (see the module docstring)."""


class LeadBatches:
    """A raw lead export to read in batches; each call of ``batches`` reads it afresh."""

    def __init__(self, filepath: Path, encoding: str) -> None:
        self.filepath = filepath
        self.encoding = encoding
        self.name = str(filepath)

    def batches(
        self,
        rows: int,
        text_columns: list[str] | tuple[str, ...] = (),
        number_columns: list[str] | tuple[str, ...] = (),
    ) -> Iterator[pd.DataFrame]:
        """Raw frames of at most ``rows`` rows, in file order, each indexed from 0.

        ``text_columns`` are read as text, ``number_columns`` as floats (as a whole-file read
        types a number column with a missing value); a value that is not one is no error
        here: the file is then read whole from there, so validation rejects that row.
        """
        if rows < 1:
            raise DatasetError(f"batch size must be at least 1 row, not {rows}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise LeadDataError(f"{self.name}: unknown encoding {self.encoding!r}") from None
        if not self.filepath.is_file() or self.filepath.stat().st_size == 0:
            yield from self._read_whole(rows, start=0)  # its one-line error
            return
        types = {col: pa.string() for col in text_columns}
        types |= {col: pa.float64() for col in number_columns}
        done = 0
        stream = self._stream(rows, types)
        while True:
            try:
                frame = next(stream)
            except StopIteration:
                break
            except (_NotStreamable, pa.ArrowInvalid, UnicodeDecodeError) as reason:
                logger.info("%s: reading the rest at once (%s)", self.name, str(reason)[:200])
                yield from self._read_whole(rows, start=done)
                return
            done += len(frame)
            yield frame
        if done == 0:
            yield from self._read_whole(rows, start=0)  # header only: its one-line error

    def _stream(self, rows: int, types: dict[str, pa.DataType]) -> Iterator[pd.DataFrame]:
        utf8 = codecs.lookup(self.encoding).name == "utf-8"
        reader = pa_csv.open_csv(
            self.filepath,
            read_options=pa_csv.ReadOptions(
                encoding="utf8" if utf8 else self.encoding, block_size=_BLOCK_BYTES
            ),
            convert_options=pa_csv.ConvertOptions(column_types=types),
        )
        _check_header(reader.schema.names, self.name)
        if any(pa.types.is_binary(field.type) for field in reader.schema):
            raise _NotStreamable("bytes that are not valid text")
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= rows:
                table = pa.Table.from_batches(pending)
                yield self._frame(table.slice(0, rows))
                rest = table.slice(rows)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            yield self._frame(pa.Table.from_batches(pending))

    def _frame(self, table: pa.Table) -> pd.DataFrame:
        for field, column in zip(table.schema, table.columns, strict=True):
            if pa.types.is_string(field.type) and len(column):
                longest = pc.max(pc.utf8_length(column)).as_py()
                if longest is not None and longest > MAX_FIELD_CHARS:
                    raise _NotStreamable(f"a field over {MAX_FIELD_CHARS:,} characters")
        # Text as string[pyarrow], as read_raw_leads gives it.
        frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
        frame.attrs = {"source": self.name, "undecodable_values": {}}
        return frame

    def _read_whole(self, rows: int, start: int) -> Iterator[pd.DataFrame]:
        whole = read_raw_leads(self.filepath, self.encoding)
        undecodable = whole.attrs.get("undecodable_values", {})
        for first in range(start, len(whole), rows):
            frame = whole.iloc[first : first + rows].reset_index(drop=True)
            # Counted once for the file: on the first batch read from it.
            frame.attrs = {
                "source": self.name,
                "undecodable_values": undecodable if first == start else {},
            }
            yield frame


class LeadBatchesDataset(AbstractDataset[None, LeadBatches]):
    """A raw lead export (CSV with a header line, in the declared encoding), loaded as a
    ``LeadBatches`` handle to stream it; read-only."""

    def __init__(
        self, filepath: str, encoding: str = "utf-8", metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = Path(filepath)
        self._encoding = encoding or "utf-8"
        self.metadata = metadata

    def load(self) -> LeadBatches:
        return LeadBatches(self._filepath, self._encoding)

    def save(self, data: None) -> None:
        raise DatasetError("LeadBatchesDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "encoding": self._encoding}

    def _exists(self) -> bool:
        return self._filepath.is_file()
