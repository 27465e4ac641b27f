"""The outputs of a streamed run, saved batch by batch as one all-or-nothing unit.

Saving takes an iterable of batches, each a dict ``{output name: frame}``. Every batch goes
into the stores' open transactions (``UpsertTableDataset.transaction``) and is appended to the
files, which are written without a name (Linux ``O_TMPFILE``; elsewhere a hidden temporary
name). When the iterable is exhausted the stores commit first, then every file gets its name
at once. If the batches raise (a failed row accounting, say), a store fails or the process
dies, the stores roll back and no file ever appears: a reader sees all of the run or none.

Files: ``.parquet`` is written with Arrow's ``ParquetWriter`` (the first batch fixes the
schema), ``.csv`` with Arrow's CSV writer (one header). With ``versioned: true`` each file
goes to Kedro's versioned path ``<filepath>/<save version>/<file name>``, like a versioned
``pandas.ParquetDataset``, which therefore loads it by name.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from kedro.io import AbstractDataset, DatasetError, Version
from kedro.io.core import generate_timestamp

from codepro_leads.errors import UserFacingError


class BatchSchemaError(UserFacingError, DatasetError):
    """A batch does not fit the file the earlier batches started."""


class _UnnamedFile:
    """A file being written in ``final``'s folder that has no name until ``publish``."""

    def __init__(self, final: Path) -> None:
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        self._named: Path | None = None
        try:
            # Unnamed: vanishes with the process if the run dies before publishing it.
            self._fd = os.open(final.parent, os.O_TMPFILE | os.O_WRONLY, 0o666)
        except (AttributeError, OSError) as error:
            if isinstance(error, OSError) and error.errno not in (
                errno.EOPNOTSUPP,
                errno.EISDIR,
                errno.EINVAL,
            ):
                raise
            self._named = final.with_name(f".{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
            self._fd = os.open(self._named, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        self.stream: BinaryIO = os.fdopen(self._fd, "wb", buffering=1 << 20)

    def publish(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        if self._named is None:
            self._named = self.final.with_name(
                f".{self.final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
            )
            folder = os.open(self.final.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:  # a dir fd makes Python call linkat(AT_SYMLINK_FOLLOW), which names the file
                os.link(
                    f"/proc/self/fd/{self._fd}",
                    self._named.name,
                    src_dir_fd=folder,
                    dst_dir_fd=folder,
                    follow_symlinks=True,
                )
            finally:
                os.close(folder)
        os.replace(self._named, self.final)  # atomic within the folder
        self._named = None

    def discard(self) -> None:
        self.stream.close()
        if self._named is not None:
            self._named.unlink(missing_ok=True)


class _ParquetSink:
    def __init__(self, file: _UnnamedFile) -> None:
        self._file = file
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
        self._writer = pq.ParquetWriter(self._file.stream, schema)

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
                f"{self._file.final}: a batch does not fit the columns of the first: {error}"
            ) from None
        self._writer.write_table(table)

    def abandon(self) -> None:
        """Close the writer of a file that will never be published (so it does not write its
        footer to a closed file when garbage-collected)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        if self._writer is None and self._first_empty is not None:
            self._open(self._first_empty)
            self._writer.write_table(self._writer.schema.empty_table())
        if self._writer is not None:
            self._writer.close()


class _CsvSink:
    def __init__(self, file: _UnnamedFile) -> None:
        self._file = file
        self._columns: list[str] | None = None
        self._written = False

    def write(self, frame: pd.DataFrame) -> None:
        if self._columns is None:
            self._columns = [str(col) for col in frame.columns]
        elif [str(col) for col in frame.columns] != self._columns:
            raise BatchSchemaError(
                f"{self._file.final}: a batch has columns {list(frame.columns)}, "
                f"the first had {self._columns}"
            )
        table = _whole_seconds(pa.Table.from_pandas(frame, preserve_index=False))
        # Arrow writes the batch to memory, the file takes it as one append (handing Arrow the
        # file object itself interleaves badly with its buffer on small batches).
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=not self._written))
        self._file.stream.write(sink.getvalue().to_pybytes())
        self._written = True

    def abandon(self) -> None:
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
        with ExitStack() as unpublished:
            files = {}
            for name, path in self._paths().items():
                file = _UnnamedFile(path)
                unpublished.callback(file.discard)
                sink = _SINKS[file.final.suffix](file)
                unpublished.callback(sink.abandon)  # runs before the discard above
                files[name] = (file, sink)
            batches = 0
            with ExitStack() as transactions:
                appends = {
                    name: transactions.enter_context(store.transaction())
                    for name, store in self._stores.items()
                }
                for batch in data:
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
            # The stores have committed: now, and only now, the files appear.
            for file, sink in files.values():
                sink.close()
                file.publish()

    def load(self) -> None:
        raise DatasetError("BatchedRunDataset is write-only: load each file by its own entry")

    def _describe(self) -> dict[str, Any]:
        return {"stores": list(self._stores), "files": {k: str(v) for k, v in self._files.items()}}
