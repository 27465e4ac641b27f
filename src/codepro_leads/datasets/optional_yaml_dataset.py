"""A YAML file that may legitimately be absent (tuned parameters a later run may not have)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from kedro.io import AbstractDataset


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
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(data, sort_keys=False)
        fd, temporary = tempfile.mkstemp(
            dir=self._filepath.parent, prefix=f".{self._filepath.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w") as file:
                file.write(text)
            os.replace(temporary, self._filepath)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
