"""Raw CodePro lead exports (CSV) on any fsspec file system, read by ``read_raw_leads``."""

from __future__ import annotations

from typing import Any

import fsspec
import pandas as pd
from kedro.io import AbstractDataset
from kedro.io.core import get_protocol_and_path

from codepro_leads.datasets.atomic import atomic_target
from codepro_leads.errors import LeadDataError
from codepro_leads.features.raw_csv import read_raw_leads
from codepro_leads.features.validation import key_columns


class RawLeadsDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A raw lead export; ``key_column`` is read as text. Saving (the demo generator) writes the
    export layout, the key as the leading unnamed column, atomically."""

    def __init__(
        self,
        filepath: str,
        encoding: str = "utf-8",
        key_column: str = "lead_id",
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._protocol, self._path = get_protocol_and_path(filepath)
        self._fs = fsspec.filesystem(self._protocol, **(credentials or {}))
        self._filepath = filepath  # as given: how errors name the file
        self._encoding = encoding or "utf-8"
        self._text_columns = key_columns(key_column)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        if not self._fs.isfile(self._path):
            raise LeadDataError(f"{self._filepath}: file not found")
        if self._protocol == "file":  # as pandas.CSVDataset: read in place, no copy in memory
            return read_raw_leads(self._path, self._encoding, self._filepath, self._text_columns)
        with self._fs.open(self._path, "rb") as file:
            return read_raw_leads(file, self._encoding, self._filepath, self._text_columns)

    def save(self, data: pd.DataFrame) -> None:
        with atomic_target(self._fs, self._path) as target, self._fs.open(target, "wb") as file:
            data.to_csv(file, index=True, encoding=self._encoding)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "encoding": self._encoding}

    def _exists(self) -> bool:
        return self._fs.isfile(self._path)
