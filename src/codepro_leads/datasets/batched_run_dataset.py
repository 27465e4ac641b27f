"""The outputs of a streamed run, saved batch by batch as one all-or-nothing unit.

Saving takes batches, each ``{output name: frame}`` plus an optional ``summary`` (the run's
totals so far), into the stores' transactions and each file's temporary; at the end the stores
commit, then the files are renamed into place; if anything raises, nothing is kept. Loading
gives the last ``summary``. Files are ``.parquet`` or ``.csv`` (spreadsheet-safe cells).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any, BinaryIO

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from kedro.io import AbstractDataset, DatasetError, Version
from kedro.io.core import generate_timestamp, get_protocol_and_path

from codepro_leads.datasets.atomic import atomic_target, remove_stale_temporaries
from codepro_leads.errors import UserFacingError
from codepro_leads.spreadsheet import safe_cells

SUMMARY = "summary"


class BatchSchemaError(UserFacingError, DatasetError):
    """A batch does not fit the file the earlier batches started."""


class _ParquetSink:
    """The first batch with rows fixes the schema, an empty one only if no other comes."""

    def __init__(self, stream: BinaryIO, final: str) -> None:
        self._stream = stream
        self._final = final
        self._writer: pq.ParquetWriter | None = None
        self._first_empty: pd.DataFrame | None = None

    def _open(self, frame: pd.DataFrame) -> None:
        schema = pa.Table.from_pandas(frame, preserve_index=False).schema
        # Text columns stay text even when the first batch holds none of their values.
        fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in schema]
        self._writer = pq.ParquetWriter(self._stream, pa.schema(fields, metadata=schema.metadata))

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            if self._first_empty is None:
                self._first_empty = frame
            return
        if self._writer is None:
            self._open(frame)
        try:
            table = pa.Table.from_pandas(frame, schema=self._writer.schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as error:
            raise BatchSchemaError(
                f"{self._final}: a batch does not fit the columns of the first: {error}"
            ) from None
        self._writer.write_table(table)

    def finish(self) -> None:
        if self._writer is None and self._first_empty is not None:
            self._open(self._first_empty)
            self._writer.write_table(self._writer.schema.empty_table())
        self.close()

    def close(self) -> None:
        # Once, before its file: left to the garbage collector, a writer would write its
        # footer to whatever file then has the descriptor.
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


class _CsvSink:
    def __init__(self, stream: BinaryIO, final: str) -> None:
        self._stream = stream
        self._final = final
        self._columns: list[str] | None = None

    def write(self, frame: pd.DataFrame) -> None:
        first = self._columns is None
        if first:
            self._columns = [str(col) for col in frame.columns]
        elif [str(col) for col in frame.columns] != self._columns:
            raise BatchSchemaError(
                f"{self._final}: a batch has columns {list(frame.columns)}, "
                f"the first had {self._columns}"
            )
        frame = safe_cells(frame)  # CSV files are for people: no live formulas
        # One chunk per column: Arrow 25's CSV writer writes a chunked text column whose first
        # chunk is empty (a pd.concat of string[pyarrow] frames) as kilobytes of NUL bytes.
        table = _whole_seconds(pa.Table.from_pandas(frame, preserve_index=False).combine_chunks())
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=first))
        self._stream.write(sink.getvalue().to_pybytes())

    def finish(self) -> None:
        """Nothing to close: each batch is one append."""

    close = finish


def _whole_seconds(table: pa.Table) -> pa.Table:
    """Whole-second timestamps as seconds: ``10:00:00`` as pandas writes it, not
    ``10:00:00.000000000``."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.unit != "s":
            seconds = pc.cast(table[i], pa.timestamp("s", field.type.tz), safe=False)
            if pc.all(pc.equal(pc.cast(seconds, field.type), table[i])).as_py() is not False:
                table = table.set_column(i, field.name, seconds)
    return table


_SINKS = {".parquet": _ParquetSink, ".csv": _CsvSink}


class BatchedRunDataset(AbstractDataset[Iterable[dict[str, Any]], Any]):
    """``stores``: ``{name: <an UpsertTableDataset's configuration>}``; ``files``: ``{name:
    {filepath: ...}}``; ``latest``: ``{name of a file: {filepath: ...}}``, a stable copy of
    that run's file, replaced atomically once the run's files are in place."""

    def __init__(  # noqa: PLR0913
        self,
        stores: dict[str, dict[str, Any]],
        files: dict[str, dict[str, Any]],
        latest: dict[str, dict[str, Any]] | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._stores = {
            name: AbstractDataset.from_config(name, dict(config)) for name, config in stores.items()
        }
        self._files = {name: config["filepath"] for name, config in files.items()}
        unknown = [p for p in self._files.values() if posixpath.splitext(p)[1] not in _SINKS]
        if unknown:
            raise DatasetError(f"files must be {' or '.join(_SINKS)}: {unknown}")
        self._latest = {name: config["filepath"] for name, config in (latest or {}).items()}
        if set(self._latest) - set(self._files):
            raise DatasetError(f"latest names no file of {sorted(self._files)}: {self._latest}")
        self._version = version
        self._summary: Any = None
        self.metadata = metadata

    def _targets(self) -> dict[str, tuple[fsspec.AbstractFileSystem, str]]:
        """Each file's filesystem and path (the versioned one: the same version for all)."""
        version = self._version and (self._version.save or generate_timestamp())
        targets = {}
        for name, filepath in self._files.items():
            protocol, path = get_protocol_and_path(filepath)
            fs = fsspec.filesystem(protocol)
            if version:
                # Killed runs' temporaries in older versions (the folders stay: Kedro's loads
                # skip a folder without the file); object storage has no temporaries.
                if "file" in fs.protocol and fs.isdir(path):
                    for folder in fs.ls(path, detail=False):
                        remove_stale_temporaries(fs, folder, posixpath.basename(path))
                path = posixpath.join(path, version, posixpath.basename(path))
            targets[name] = fs, path
        return targets

    def save(self, data: Iterable[dict[str, Any]]) -> None:
        expected = set(self._stores) | set(self._files)
        summary, saved = None, 0
        # Unwound in reverse: the writers close, the stores commit, then the files are renamed.
        with ExitStack() as stack:
            targets = self._targets()
            # First: a version another run holds fails here, before any store can commit.
            temporaries = {
                name: stack.enter_context(atomic_target(fs, path, overwrite=not self._version))
                for name, (fs, path) in targets.items()
            }
            appends = {
                name: stack.enter_context(store.transaction())
                for name, store in self._stores.items()
            }
            sinks = {}
            for name, (fs, path) in targets.items():
                stream = stack.enter_context(fs.open(temporaries[name], "wb"))
                sinks[name] = _SINKS[posixpath.splitext(path)[1]](stream, path)
                stack.callback(sinks[name].close)  # the writer before its file
            for batch in data:
                if set(batch) - {SUMMARY} != expected:
                    raise DatasetError(
                        f"a batch holds {sorted(batch)}, expected {sorted(expected)}"
                    )
                for name, append in appends.items():
                    append(batch[name])
                for name, sink in sinks.items():
                    sink.write(batch[name])
                summary, saved = batch.get(SUMMARY), saved + 1
            if not saved:
                raise DatasetError("no batch to save: a run has at least one")
            for sink in sinks.values():
                sink.finish()
        # After the run's own files: the stable copy never shows what the store did not commit.
        for name, filepath in self._latest.items():
            fs, path = targets[name]
            with atomic_target(fs, get_protocol_and_path(filepath)[1]) as target:
                fs.copy(path, target)
        self._summary = summary

    def load(self) -> Any:
        if self._summary is None:
            raise DatasetError("nothing saved yet: the summary is that of this process's save")
        return self._summary

    def _describe(self) -> dict[str, Any]:
        return {"stores": list(self._stores), "files": self._files, "latest": self._latest}
