"""A YAML file that may legitimately be absent (tuned parameters a later run may not have)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kedro.io import AbstractDataset

from codepro_leads.datasets.atomic import atomic_path


class OptionalYAMLDataset(AbstractDataset[dict[str, Any], dict[str, Any] | None]):
    """A local YAML mapping. Loads as None when the file does not exist; saves atomically
    (a temporary file in the same folder, then ``os.replace``), so a reader never sees half a
    file."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Any] | None:
        if not self._filepath.is_file():
            return None
        return yaml.safe_load(self._filepath.read_text()) or {}

    def save(self, data: dict[str, Any]) -> None:
        with atomic_path(self._filepath) as temporary:
            temporary.write_text(yaml.safe_dump(data, sort_keys=False))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
