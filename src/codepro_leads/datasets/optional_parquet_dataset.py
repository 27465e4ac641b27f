"""A parquet file that may legitimately be absent (demo-only side data)."""

from __future__ import annotations

import pandas as pd
from kedro_datasets.pandas import ParquetDataset


class OptionalParquetDataset(ParquetDataset):
    """Like ``pandas.ParquetDataset``, but loads as None when the file does not exist."""

    def load(self) -> pd.DataFrame | None:
        return super().load() if self._exists() else None
