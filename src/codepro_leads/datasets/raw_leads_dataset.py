"""Raw CodePro lead exports (CSV) in the catalog.

Loading is ``features.raw_csv.read_raw_leads``: one clear line for a file that cannot be used,
parse-error rows for ragged lines. Saving (the demo generator only) writes the export layout,
key as the leading unnamed column, atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset

from codepro_leads.datasets.atomic import atomic_path
from codepro_leads.features.raw_csv import read_raw_leads


class RawLeadsDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A raw lead export: a CSV file with a header line, in the declared text encoding."""

    def __init__(
        self, filepath: str, encoding: str = "utf-8", metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = Path(filepath)
        self._encoding = encoding or "utf-8"
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_raw_leads(self._filepath, self._encoding)

    def save(self, data: pd.DataFrame) -> None:
        with atomic_path(self._filepath) as path:
            data.to_csv(path, index=True, encoding=self._encoding)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "encoding": self._encoding}

    def _exists(self) -> bool:
        return self._filepath.is_file()
