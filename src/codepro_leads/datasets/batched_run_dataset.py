"""The outputs of a streamed run, saved batch by batch as one all-or-nothing unit.

Saving takes an iterable of batches, each a dict ``{output name: frame}``. Every batch goes
into the stores' open transactions (``UpsertTableDataset.transaction``) and is appended to the
files, each written to a hidden temporary name unique to the run beside its final name. When
the iterable is exhausted the files are completed and closed, the stores commit, and only then
is every file renamed to its name (``os.replace``, atomic within a folder). If the batches raise
(a failed row accounting, say) or a store fails, the stores roll back and the temporaries are
removed; a process that dies leaves at most a hidden temporary: a reader sees all of the run
or none. While a batch is written, the next one is computed on a worker thread.

Files: ``.parquet`` is written with Arrow's ``ParquetWriter`` (the first batch fixes the
schema), ``.csv`` with Arrow's CSV writer (one header). With ``versioned: true`` each file
goes to Kedro's versioned path ``<filepath>/<save version>/<file name>``, like a versioned
``pandas.ParquetDataset``, which therefore loads it by name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from kedro.io import AbstractDataset, DatasetError, Version
from kedro.io.core import generate_timestamp

from codepro_leads.errors import UserFacingError

T = TypeVar("T")


class BatchSchemaError(UserFacingError, DatasetError):
    """A batch does not fit the file the earlier batches started."""


def _temporary_path(final: Path) -> Path:
    """A hidden name beside ``final``, unique to this run (like ``atomic.atomic_path``)."""
    return final.with_name(f".{final.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}{final.suffix}")


class _ParquetSink:
    def __init__(self, stream: BinaryIO, final: Path) -> None:
        self._stream = stream
        self._final = final
        self._writer: pq.ParquetWriter | None = None
        self._first_empty: pd.DataFrame | None = None

    def _open(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        # Text columns stay text even when the first batch holds none of their values.
        schema = pa.schema(
            [
                pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                for f in table.schema
            ],
            metadata=table.schema.metadata,
        )
        self._writer = pq.ParquetWriter(self._stream, schema)

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            # No rows, no types to go by (a key column without values is text): the first
            # batch with rows fixes the schema, an empty one only if no other comes.
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
        """Write the footer (an empty file with the columns if no batch had rows)."""
        if self._writer is None and self._first_empty is not None:
            self._open(self._first_empty)
            self._writer.write_table(self._writer.schema.empty_table())
        self.close()

    def close(self) -> None:
        """Close the writer once, before its file (a writer left to the garbage collector
        would write its footer to whatever file then has the descriptor)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()


class _CsvSink:
    def __init__(self, stream: BinaryIO, final: Path) -> None:
        self._stream = stream
        self._final = final
        self._columns: list[str] | None = None
        self._written = False

    def write(self, frame: pd.DataFrame) -> None:
        if self._columns is None:
            self._columns = [str(col) for col in frame.columns]
        elif [str(col) for col in frame.columns] != self._columns:
            raise BatchSchemaError(
                f"{self._final}: a batch has columns {list(frame.columns)}, "
                f"the first had {self._columns}"
            )
        # One chunk per column: Arrow 25's CSV writer writes a chunked text column whose first
        # chunk is empty (a pd.concat of string[pyarrow] frames) as kilobytes of NUL bytes.
        table = _whole_seconds(pa.Table.from_pandas(frame, preserve_index=False).combine_chunks())
        # Arrow writes the batch to memory, the file takes it as one append; one header.
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=not self._written))
        self._stream.write(sink.getvalue().to_pybytes())
        self._written = True

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


def _whole_seconds(table: pa.Table) -> pa.Table:
    """Timestamps that are whole seconds as seconds, so the CSV says ``2026-03-01 10:00:00``
    as pandas writes it, not ``...10:00:00.000000000``."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.unit != "s":
            seconds = pc.cast(table[i], pa.timestamp("s", field.type.tz), safe=False)
            if pc.all(pc.equal(pc.cast(seconds, field.type), table[i])).as_py() is not False:
                table = table.set_column(i, field.name, seconds)
    return table


_SINKS = {".parquet": _ParquetSink, ".csv": _CsvSink}


def _release_arrow_memory() -> None:
    """Hand the pages Arrow's allocator (mimalloc) keeps from freed buffers back to the OS.

    mimalloc's heaps are per thread, and a thread's pages freed by another thread (a batch
    computed on the worker, dropped by the writer) return only when their own thread collects:
    each thread calls this after its part of a batch. On 5M leads the run's peak went from
    985 MB to 915 MB, in the same time."""
    pa.default_memory_pool().release_unused()


def _next_batch(source: Iterator[T], end: object) -> T | object:
    batch = next(source, end)
    _release_arrow_memory()  # what computing it freed, on the worker's own heap
    return batch


def _computed_ahead(batches: Iterable[T]) -> Iterator[T]:
    """The batches of a lazy iterable, each computed on a worker thread while the caller
    writes the one before (the stores and the writers release the GIL as they write): at most
    two batches are held at once. An error computing a batch is raised here, in order; a
    caller that stops early waits for the batch in progress, and the iterable is closed."""
    source = iter(batches)
    end = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="next-batch") as worker:
        try:
            upcoming = worker.submit(_next_batch, source, end)
            while (batch := upcoming.result()) is not end:
                upcoming = worker.submit(_next_batch, source, end)
                yield batch
                _release_arrow_memory()  # what writing it freed, on the caller's heap
        finally:
            upcoming.cancel()
            wait([upcoming])
            close = getattr(source, "close", None)
            if close is not None:
                close()


class BatchedRunDataset(AbstractDataset[Iterable[dict[str, pd.DataFrame]], None]):
    """Catalog::

        inference_outputs:
          type: codepro_leads.datasets.BatchedRunDataset
          stores: {scored_leads_table: <an UpsertTableDataset's configuration>}
          files: {scored_leads: {filepath: data/07_model_output/scored_leads.parquet}, ...}
          versioned: true

    Every batch must hold a frame for every store and file. Write-only: each file is loaded
    by its own catalog entry.
    """

    def __init__(
        self,
        stores: dict[str, dict[str, Any]],
        files: dict[str, dict[str, Any]],
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._stores = {
            name: AbstractDataset.from_config(name, dict(config)) for name, config in stores.items()
        }
        self._files = {name: Path(config["filepath"]) for name, config in files.items()}
        unknown = {name: path for name, path in self._files.items() if path.suffix not in _SINKS}
        if unknown:
            raise DatasetError(f"files must be {' or '.join(_SINKS)}: {unknown}")
        self._version = version
        self.metadata = metadata

    def _paths(self) -> dict[str, Path]:
        if self._version is None:
            return dict(self._files)
        version = self._version.save or generate_timestamp()  # one version for every file
        return {name: path / version / path.name for name, path in self._files.items()}

    def save(self, data: Iterable[dict[str, pd.DataFrame]]) -> None:
        expected = set(self._stores) | set(self._files)
        temporaries: dict[Path, Path] = {}
        try:
            with ExitStack() as transactions:
                appends = {
                    name: transactions.enter_context(store.transaction())
                    for name, store in self._stores.items()
                }
                with ExitStack() as open_files:  # every writer, then its file, closed here
                    files = {}
                    for name, final in self._paths().items():
                        final.parent.mkdir(parents=True, exist_ok=True)
                        temporary = _temporary_path(final)
                        temporaries[temporary] = final
                        stream = open_files.enter_context(open(temporary, "xb"))
                        sink = _SINKS[final.suffix](stream, final)
                        open_files.callback(sink.close)
                        files[name] = (stream, sink)
                    batches = 0
                    for batch in _computed_ahead(data):
                        if set(batch) != expected:
                            raise DatasetError(
                                f"a batch holds {sorted(batch)}, expected {sorted(expected)}"
                            )
                        for name, append in appends.items():
                            append(batch[name])
                        for name, (_, sink) in files.items():
                            sink.write(batch[name])
                        batches += 1
                    if not batches:
                        raise DatasetError("no batch to save: a run has at least one")
                    for stream, sink in files.values():
                        sink.finish()
                        stream.flush()
                        os.fsync(stream.fileno())
                # The files are complete on disk; the stores commit as this block ends.
            # The stores have committed: now, and only now, the files get their names.
            for temporary, final in temporaries.items():
                os.replace(temporary, final)
        finally:  # a failed run leaves no temporary behind (a killed one, a hidden one)
            for temporary in temporaries:
                temporary.unlink(missing_ok=True)

    def load(self) -> None:
        raise DatasetError("BatchedRunDataset is write-only: load each file by its own entry")

    def _describe(self) -> dict[str, Any]:
        return {"stores": list(self._stores), "files": {k: str(v) for k, v in self._files.items()}}
