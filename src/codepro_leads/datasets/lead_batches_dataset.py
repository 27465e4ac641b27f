"""Raw lead exports (CSV) streamed in batches of rows with pyarrow's incremental reader, each
batch as ``read_raw_leads`` would give those rows. A number column holding text is read on as
text; anything else the stream cannot take (ragged lines, invalid bytes, a date column
changing type) is read by ``read_raw_leads`` from where it stopped.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import get_protocol_and_path
from pyarrow import compute as pc
from pyarrow import csv as pa_csv

from codepro_leads.errors import LeadDataError
from codepro_leads.features.raw_csv import MAX_FIELD_CHARS, check_header, read_raw_leads

logger = logging.getLogger(__name__)

# Bytes pyarrow parses at a time (memory grows with this); the first block also fixes the
# undeclared column types.
_BLOCK_BYTES = 1 << 20
_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): CSV conversion error")


class _NotStreamable(Exception):
    """The rest of the file must be read whole."""


class _TextInNumberColumn(Exception):
    def __init__(self, column: str) -> None:
        super().__init__(f"column {column!r} holds a value that is not a number")
        self.column = column


class LeadBatches:
    """A raw lead export to read in batches; each call of ``batches`` reads it afresh."""

    def __init__(self, filepath: str, encoding: str) -> None:
        protocol, self._path = get_protocol_and_path(filepath)
        self._fs = fsspec.filesystem(protocol)
        self.encoding = encoding
        self.name = filepath

    def exists(self) -> bool:
        return self._fs.isfile(self._path)

    def batches(
        self,
        rows: int,
        text_columns: list[str] | tuple[str, ...] = (),
        number_columns: list[str] | tuple[str, ...] = (),
    ) -> Iterator[pd.DataFrame]:
        """Raw frames of at most ``rows`` rows, each indexed from 0, with ``text_columns`` read
        as text and ``number_columns`` as floats."""
        if rows < 1:
            raise DatasetError(f"batch size must be at least 1 row, not {rows}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise LeadDataError(f"{self.name}: unknown encoding {self.encoding!r}") from None
        if not self.exists():
            raise LeadDataError(f"{self.name}: file not found")
        types = {col: pa.string() for col in text_columns}
        types |= {col: pa.float64() for col in number_columns}
        done = 0
        stream = self._stream(rows, types, skip=0)
        while True:
            try:
                frame = next(stream)
            except StopIteration:
                break
            except _TextInNumberColumn as found:
                logger.info("%s: %s: reading on with it as text", self.name, found)
                types[found.column] = pa.string()
                stream = self._stream(rows, types, skip=done)
                continue
            except (_NotStreamable, pa.ArrowInvalid, UnicodeError) as reason:
                logger.info("%s: reading the rest at once (%s)", self.name, str(reason)[:200])
                yield from self._read_whole(rows, done, text_columns)
                return
            done += len(frame)
            yield frame
        if done == 0:
            yield from self._read_whole(rows, 0, text_columns)  # header only: its one-line error

    def _read_options(self) -> pa_csv.ReadOptions:
        utf8 = codecs.lookup(self.encoding).name == "utf-8"
        return pa_csv.ReadOptions(
            encoding="utf8" if utf8 else self.encoding, block_size=_BLOCK_BYTES
        )

    def _stream(
        self, rows: int, types: dict[str, pa.DataType], skip: int
    ) -> Iterator[pd.DataFrame]:
        """Frames of ``rows`` rows after the first ``skip`` rows (given by an earlier stream)."""
        pending: list[pa.RecordBatch] = []
        for batch in self._record_batches(types):
            pending.append(batch.slice(skip))  # empty while skipping
            skip = max(skip - batch.num_rows, 0)
            table = pa.Table.from_batches(pending)
            while table.num_rows >= rows:
                yield self._frame(table.slice(0, rows))
                table = table.slice(rows)
            pending = table.to_batches()
        if any(batch.num_rows for batch in pending):
            yield self._frame(pa.Table.from_batches(pending))

    def _record_batches(self, types: dict[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
        """The file's blocks with the declared column types."""
        try:
            with self._fs.open(self._path, "rb") as file:
                reader = pa_csv.open_csv(
                    file,
                    read_options=self._read_options(),
                    convert_options=pa_csv.ConvertOptions(column_types=types),
                )
                check_header(reader.schema.names, self.name)
                if any(pa.types.is_binary(field.type) for field in reader.schema):
                    raise _NotStreamable("bytes that are not valid text")
                yield from reader
        except pa.ArrowInvalid as error:
            match = _CONVERSION_ERROR.search(str(error))
            if match is None:
                raise
            column = self._column_names()[int(match.group(1))]
            if types.get(column) != pa.float64():  # a key or date: the whole read decides
                raise
            raise _TextInNumberColumn(column) from None

    def _column_names(self) -> list[str]:
        with self._fs.open(self._path, "rb") as file:
            return pa_csv.open_csv(file, read_options=self._read_options()).schema.names

    def _frame(self, table: pa.Table) -> pd.DataFrame:
        for field, column in zip(table.schema, table.columns, strict=True):
            longest = pa.types.is_string(field.type) and pc.max(pc.utf8_length(column)).as_py()
            if (longest or 0) > MAX_FIELD_CHARS:
                raise _NotStreamable(f"a field over {MAX_FIELD_CHARS:,} characters")
        # Text as string[pyarrow], as read_raw_leads gives it.
        frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
        frame.attrs = {"source": self.name, "undecodable_values": {}}
        return frame

    def _read_whole(
        self, rows: int, start: int, text_columns: list[str] | tuple[str, ...]
    ) -> Iterator[pd.DataFrame]:
        with self._fs.open(self._path, "rb") as file:
            whole = read_raw_leads(file, self.encoding, self.name, text_columns)
        undecodable = whole.attrs.get("undecodable_values", {})
        for first in range(start, len(whole), rows):
            frame = whole.iloc[first : first + rows].reset_index(drop=True)
            frame.attrs = {
                "source": self.name,
                "undecodable_values": undecodable if first == start else {},
            }
            yield frame


class LeadBatchesDataset(AbstractDataset[None, LeadBatches]):
    """A raw lead export, loaded as a ``LeadBatches`` handle to stream it; read-only."""

    def __init__(
        self, filepath: str, encoding: str = "utf-8", metadata: dict[str, Any] | None = None
    ) -> None:
        self._batches = LeadBatches(filepath, encoding or "utf-8")
        self.metadata = metadata

    def load(self) -> LeadBatches:
        return self._batches

    def save(self, data: None) -> None:
        raise DatasetError("LeadBatchesDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._batches.name, "encoding": self._batches.encoding}

    def _exists(self) -> bool:
        return self._batches.exists()
