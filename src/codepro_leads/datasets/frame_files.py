"""Local CSV and parquet files of a frame, read and written as ``pandas.CSVDataset`` and
``pandas.ParquetDataset`` of kedro-datasets do it (same calls, same default arguments).

Importing any dataset of ``kedro_datasets.pandas`` imports all fifteen of them, SQLAlchemy
included (0.2 s, a tenth of a small ``kedro run``): data_processing's outputs use these.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from kedro.io import AbstractDataset

if TYPE_CHECKING:  # kedro-viz reads the annotation's name to pick the preview type
    from kedro_datasets._typing import TablePreview


class _FrameFile(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    DEFAULT_SAVE_ARGS: dict[str, Any] = {}

    def __init__(
        self,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._load_args = dict(load_args or {})
        self._save_args = {**self.DEFAULT_SAVE_ARGS, **(save_args or {})}
        self.metadata = metadata

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "load_args": self._load_args,
            "save_args": self._save_args,
        }


class CSVFrameDataset(_FrameFile):
    """A CSV file: ``pd.read_csv`` / ``DataFrame.to_csv`` (without the index by default)."""

    DEFAULT_SAVE_ARGS = {"index": False}

    def load(self) -> pd.DataFrame:
        return pd.read_csv(self._filepath, **self._load_args)

    def save(self, data: pd.DataFrame) -> None:
        data.to_csv(self._filepath, **self._save_args)

    def preview(self, nrows: int = 5) -> TablePreview:
        """The first rows for kedro-viz, in pandas' ``split`` layout."""
        return pd.read_csv(self._filepath, **{**self._load_args, "nrows": nrows}).to_dict(
            orient="split"
        )


class ParquetFrameDataset(_FrameFile):
    """A parquet file: ``pd.read_parquet`` / ``DataFrame.to_parquet``."""

    def load(self) -> pd.DataFrame:
        return pd.read_parquet(self._filepath, **self._load_args)

    def save(self, data: pd.DataFrame) -> None:
        data.to_parquet(self._filepath, **self._save_args)

    def preview(self, nrows: int = 5) -> TablePreview:
        """The first rows for kedro-viz, in pandas' ``split`` layout."""
        import pyarrow.parquet as pq

        columns = self._load_args.get("columns")
        table = pq.read_table(self._filepath, columns=columns)[:nrows]
        return table.to_pandas().to_dict(orient="split")
