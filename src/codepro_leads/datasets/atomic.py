"""Files that appear all at once: written beside their final name, then renamed over it.

Runs overlap (Airflow, two people), processes die: a reader must see the previous complete
file or the new complete file, never a half-written one. ``os.replace`` within one folder is
atomic on POSIX file systems.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """A temporary path beside ``final`` (same suffix) to write to; renamed over ``final`` when
    the block succeeds, removed when it fails."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}{final.suffix}")
    try:
        yield temporary
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


class AtomicDataset(AbstractDataset[Any, Any]):
    """Wraps a file dataset (``pandas.ParquetDataset``, ``json.JSONDataset``, ...) so that its
    saves are atomic; loads are the wrapped dataset's.

    Catalog: ``type: codepro_leads.datasets.AtomicDataset``, ``dataset: <type or config>``,
    ``filepath: ...``, like ``CachedDataset`` or ``PartitionedDataset``.
    """

    def __init__(
        self, dataset: str | dict[str, Any], filepath: str, metadata: dict[str, Any] | None = None
    ) -> None:
        self._config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        self._filepath = Path(filepath)
        self._reader = self._dataset(self._filepath)
        self.metadata = metadata

    def _dataset(self, filepath: Path) -> AbstractDataset:
        return AbstractDataset.from_config("atomic", {**self._config, "filepath": str(filepath)})

    def load(self) -> Any:
        return self._reader.load()

    def save(self, data: Any) -> None:
        with atomic_path(self._filepath) as temporary:
            self._dataset(temporary).save(data)

    def preview(self, **kwargs: Any) -> Any:
        """The wrapped dataset's kedro-viz preview, when it has one."""
        return self._reader.preview(**kwargs)

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "dataset": self._config.get("type")}
