"""A SQL table where saving the same keys again replaces those rows instead of duplicating them.

Rows are written to a staging table, rows with the same keys are deleted from the target, then
the staging rows are inserted, all in one transaction: a rerun of the same input and model
replaces its scores. Plain SQL through SQLAlchemy: SQLite by default, Postgres by URL.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from sqlalchemy import create_engine, inspect, text


class UpsertTableDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    def __init__(
        self,
        table_name: str,
        key_columns: list[str],
        credentials: dict[str, Any],
        chunksize: int = 50_000,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not credentials or "con" not in credentials:
            raise DatasetError(f"{table_name}: credentials need a 'con' database URL")
        self._table = table_name
        self._keys = list(key_columns)
        self._url = credentials["con"]
        self._chunksize = chunksize
        self.metadata = metadata

    def save(self, data: pd.DataFrame) -> None:
        table, staging = self._table, f"{self._table}_staging"
        columns = ", ".join(f'"{col}"' for col in data.columns)
        same_keys = " AND ".join(f'{staging}."{key}" = {table}."{key}"' for key in self._keys)
        engine = create_engine(self._url)
        with engine.begin() as conn:
            if not inspect(conn).has_table(table):
                data.head(0).to_sql(table, conn, index=False)
                keys = ", ".join(f'"{key}"' for key in self._keys)
                conn.execute(text(f"CREATE INDEX {table}_keys ON {table} ({keys})"))
            data.to_sql(staging, conn, if_exists="replace", index=False, chunksize=self._chunksize)
            conn.execute(
                text(
                    f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {staging} WHERE {same_keys})"
                )
            )
            conn.execute(text(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging}"))
            conn.execute(text(f"DROP TABLE {staging}"))
        engine.dispose()

    def load(self) -> pd.DataFrame:
        engine = create_engine(self._url)
        try:
            return pd.read_sql_table(self._table, engine)
        finally:
            engine.dispose()

    def _exists(self) -> bool:
        engine = create_engine(self._url)
        try:
            return inspect(engine).has_table(self._table)
        finally:
            engine.dispose()

    def _describe(self) -> dict[str, Any]:
        return {"table_name": self._table, "key_columns": self._keys}
