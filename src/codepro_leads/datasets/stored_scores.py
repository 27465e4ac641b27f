"""The stored scores of given leads, looked up in the database (``lead_id IN (...)``) rather
than by loading the whole, growing table."""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from sqlalchemy import MetaData, Table, inspect, literal, select

from codepro_leads.store_urls import store_engine

# Columns an outcome join needs; ``role`` (champion / shadow) is read when the store has it.
_COLUMNS = ["lead_id", "model_version", "created_date", "probability", "grade", "is_junk"]


class StoredScores:
    """The stored scores of a table, looked up by lead."""

    def __init__(self, url: str, table_name: str, batch_size: int, busy_timeout_s: float) -> None:
        self._url = url
        self._table_name = table_name
        self._batch_size = batch_size
        self._busy_timeout_s = busy_timeout_s

    def for_leads(self, lead_ids: pd.Series) -> pd.DataFrame:
        """Every stored score (every model version and role) of these leads. A store without
        ``role`` gives role champion (scored before shadow scoring existed)."""
        keys = pd.Series(lead_ids, dtype=object).dropna().astype(str).drop_duplicates()
        frames = []
        # Waits for a run that is storing scores instead of failing with "database is locked".
        engine = store_engine(self._url, self._busy_timeout_s)
        try:
            with engine.connect() as conn:
                if inspect(conn).has_table(self._table_name):
                    scores = Table(self._table_name, MetaData(), autoload_with=conn)
                    role = scores.c.get("role", literal("champion").label("role"))
                    wanted = [*(scores.c[name] for name in _COLUMNS), role, scores.c.scored_at]
                    for start in range(0, len(keys), self._batch_size):
                        batch = keys.iloc[start : start + self._batch_size].tolist()
                        query = select(*wanted).where(scores.c.lead_id.in_(batch))
                        frames.append(pd.read_sql(query, conn))
        finally:
            engine.dispose()
        frames = [frame for frame in frames if len(frame)]
        columns = [*_COLUMNS, "role", "scored_at"]
        found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        for name in ("created_date", "scored_at"):
            found[name] = pd.to_datetime(found[name])
        return found.astype(
            {"lead_id": str, "model_version": str, "probability": float, "is_junk": bool}
        )


class StoredScoresDataset(AbstractDataset[None, StoredScores]):
    """``table_name`` in the store ``credentials: {con: ...}``; read-only. ``batch_size``: lead
    ids per query (SQLite binds at most 32,766 values)."""

    def __init__(
        self,
        table_name: str,
        credentials: dict[str, Any],
        batch_size: int = 10_000,
        busy_timeout_s: float = 600.0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not credentials or "con" not in credentials:
            raise DatasetError(f"{table_name}: credentials need a 'con' database URL")
        self._lookup = StoredScores(credentials["con"], table_name, batch_size, busy_timeout_s)
        self._table_name = table_name
        self.metadata = metadata

    def load(self) -> StoredScores:
        return self._lookup

    def save(self, data: None) -> None:
        raise DatasetError("StoredScoresDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"table_name": self._table_name}
