"""Stock kedro-datasets files that may legitimately be absent: they load as None then."""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro_datasets.pandas import ParquetDataset
from kedro_datasets.yaml import YAMLDataset


class OptionalParquetDataset(ParquetDataset):
    """``pandas.ParquetDataset`` that loads as None without its file (demo-only side data)."""

    def load(self) -> pd.DataFrame | None:
        return super().load() if self.exists() else None


class OptionalYAMLDataset(YAMLDataset):
    """``yaml.YAMLDataset`` that loads as None without its file (tuned parameters)."""

    def load(self) -> dict[str, Any] | None:
        return super().load() if self.exists() else None
