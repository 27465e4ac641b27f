"""A SQL table (SQLite or PostgreSQL) with a declared schema whose key is the primary key. A
save, of one frame or of batches, is one transaction of upserts (``INSERT ... ON CONFLICT DO
UPDATE``, batch by batch); saves of one table from overlapping runs wait for each other."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from kedro.io import AbstractDataset, DatasetError
from sqlalchemy.dialects import postgresql, sqlite

from codepro_leads.errors import UserFacingError
from codepro_leads.store_urls import store_engine

TYPES = {
    "text": sa.Text,
    "integer": sa.Integer,
    "float": sa.Float,
    "boolean": sa.Boolean,
    "timestamp": sa.DateTime,
}
_COPY_BATCH_ROWS = 100_000


class TableSchemaError(UserFacingError, DatasetError):
    """A stored table, or the rows to store, do not have the declared columns."""


class UpsertTableDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """``columns: {name: type}`` (a key of ``TYPES``), ``key_columns``, ``credentials: {con:
    <database URL>}``. Text columns store any value as its text (keys 7 and "7" are one lead).
    ``added_columns``: columns an older table may lack, with their rows' value (``{role:
    champion}``), added on the first save."""

    def __init__(
        self,
        table_name: str,
        columns: dict[str, str],
        key_columns: list[str],
        credentials: dict[str, Any],
        lock_timeout_s: float = 600.0,
        added_columns: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not credentials or "con" not in credentials:
            raise DatasetError(f"{table_name}: credentials need a 'con' database URL")
        unknown = {name: kind for name, kind in columns.items() if kind not in TYPES}
        if unknown:
            raise DatasetError(f"{table_name}: unknown column types {unknown}; use {list(TYPES)}")
        missing_keys = [key for key in key_columns if key not in columns]
        if missing_keys:
            raise DatasetError(f"{table_name}: key columns {missing_keys} are not in columns")
        self._types = dict(columns)
        self._added = dict(added_columns or {})
        not_declared = [col for col in self._added if col not in columns or col in key_columns]
        if not_declared:
            raise DatasetError(
                f"{table_name}: added columns {not_declared} must be declared value columns"
            )
        self._keys = list(key_columns)
        self._url = credentials["con"]
        self._lock_timeout_s = lock_timeout_s
        self._table = sa.Table(
            table_name,
            sa.MetaData(),
            *(sa.Column(name, TYPES[kind]()) for name, kind in columns.items()),
            sa.PrimaryKeyConstraint(*key_columns, name=f"{table_name}_key"),
        )
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        with self._engine() as engine, engine.connect() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table(self._table.name):
                return pd.DataFrame({name: [] for name in self._types})
            # An older table's rows have the added columns' values, as its next save sets them.
            stored = {col["name"] for col in inspector.get_columns(self._table.name)}
            if set(self._types) - stored - set(self._added):
                key = inspector.get_pk_constraint(self._table.name)["constrained_columns"]
                raise self._schema_error(conn, stored, key)
            query = sa.select(*(col for col in self._table.columns if col.name in stored))
            rows = pd.read_sql(query, conn)
        added = {name: v for name, v in self._added.items() if name not in stored}
        return rows.assign(**added)[list(self._types)]

    def save(self, data: pd.DataFrame | Iterable[pd.DataFrame]) -> None:
        batches = [data] if isinstance(data, pd.DataFrame) else data
        with self.transaction() as append:
            for batch in batches:
                append(batch)

    @contextmanager
    def transaction(self) -> Iterator[Callable[[pd.DataFrame], None]]:
        """One write transaction; the block appends batches with the function it is given."""
        with self._engine() as engine, engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # see store_urls.store_engine
                upsert = self._upsert_sqlite
            elif conn.dialect.name == "postgresql":
                # Serializes saves of this table (CREATE TABLE and overlapping keys would race).
                lock = sa.func.pg_advisory_xact_lock(zlib.crc32(self._table.name.encode()))
                conn.execute(sa.select(lock))
                upsert = self._upsert_postgresql
            else:
                raise DatasetError(f"{self._table.name}: no upsert for {conn.dialect.name}")
            self._create_or_check(conn)
            yield lambda batch: upsert(conn, self._checked(batch))

    def _checked(self, batch: pd.DataFrame) -> pd.DataFrame:
        """The batch's rows in the stored types, checked for the columns and unique keys."""
        if set(batch.columns) != set(self._types):
            raise TableSchemaError(
                f"rows for table {self._table.name} have columns {sorted(batch.columns)}, "
                f"the table has {sorted(self._types)}"
            )
        data = pd.DataFrame({col.name: self._typed(batch[col.name]) for col in self._table.columns})
        if data.duplicated(self._keys).any():
            raise DatasetError(f"rows for table {self._table.name} repeat a key {self._keys}")
        return data

    def _create_or_check(self, conn: sa.Connection) -> None:
        """Create the table, or check the stored one and add the ``added_columns`` it lacks."""
        inspector = sa.inspect(conn)
        if not inspector.has_table(self._table.name):
            self._table.create(conn)
            return
        stored = {col["name"] for col in inspector.get_columns(self._table.name)}
        key = inspector.get_pk_constraint(self._table.name)["constrained_columns"]
        missing = set(self._types) - stored
        if stored - set(self._types) or missing - set(self._added) or set(key) != set(self._keys):
            raise self._schema_error(conn, stored, key)
        for name in sorted(missing):
            kind = self._table.columns[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE "{self._table.name}" ADD COLUMN "{name}" {kind}'))
            conn.execute(self._table.update().values({name: self._added[name]}))

    def _schema_error(
        self, conn: sa.Connection, stored: set[str], key: list[str]
    ) -> TableSchemaError:
        where = conn.engine.url.render_as_string(hide_password=True)
        return TableSchemaError(
            f"table {self._table.name} of {where} has columns {sorted(stored)} "
            f"and key {key}, expected {sorted(self._types)} and key {self._keys} "
            "(written by an older version?): rename or drop it and run again"
        )

    def _upsert_sqlite(self, conn: sa.Connection, data: pd.DataFrame) -> None:
        """The upsert of every row, its values converted column by column (in Arrow)."""
        if data.empty:
            return
        statement = self._on_conflict_update(sqlite.insert(self._table))
        # Positional parameters, in the table's column order (the order of ``data``).
        columns = [self._sqlite_values(data[name]).to_pylist() for name in data.columns]
        sql = str(statement.compile(dialect=conn.dialect))
        conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))

    def _upsert_postgresql(self, conn: sa.Connection, data: pd.DataFrame) -> None:
        """COPY into a temporary table (dropped at commit), then upsert from it and empty it."""
        if data.empty:
            return
        incoming = sa.Table(
            f"{self._table.name}_incoming",
            sa.MetaData(),
            *(sa.Column(col.name, col.type) for col in self._table.columns),
            prefixes=["TEMPORARY"],
            postgresql_on_commit="DROP",
        )
        made = conn.info.setdefault("incoming_tables", set())
        if incoming.name not in made:
            incoming.create(conn)
            made.add(incoming.name)
        names = [col.name for col in self._table.columns]
        columns = ", ".join(f'"{name}"' for name in names)
        cursor = conn.connection.driver_connection.cursor()
        # Headerless CSV, a chunk at a time: unquoted empty fields are NULL, text is quoted.
        # ``data`` is in the table's column order already (``_checked``): no column selection.
        with cursor.copy(f'COPY "{incoming.name}" ({columns}) FROM STDIN (FORMAT csv)') as copy:
            for start in range(0, len(data), _COPY_BATCH_ROWS):
                chunk = data.iloc[start : start + _COPY_BATCH_ROWS]
                sink = io.BytesIO()
                pa_csv.write_csv(
                    pa.Table.from_pandas(chunk, preserve_index=False),
                    sink,
                    pa_csv.WriteOptions(include_header=False),
                )
                copy.write(sink.getvalue())
        statement = postgresql.insert(self._table).from_select(names, sa.select(incoming))
        conn.execute(self._on_conflict_update(statement))
        conn.exec_driver_sql(f'TRUNCATE "{incoming.name}"')

    def _on_conflict_update(self, insert: Any) -> Any:
        """The upsert: a row whose key is stored replaces its other columns."""
        excluded = insert.excluded
        values = {c.name: excluded[c.name] for c in self._table.columns if c.name not in self._keys}
        return insert.on_conflict_do_update(index_elements=self._keys, set_=values)

    def _typed(self, column: pd.Series) -> pd.Series:
        """A column in the dtype of its declared type."""
        kind = self._types[column.name]
        if kind == "timestamp":
            if pd.api.types.is_datetime64_any_dtype(column.dtype):
                return column  # to_datetime would still look at every value (to cache them)
            return pd.to_datetime(column)
        if kind == "text":
            if pd.api.types.is_integer_dtype(column.dtype):  # lead ids: "7", as str(7) says
                text = pc.cast(pa.array(column, from_pandas=True), pa.string())
                return pd.Series(pd.arrays.ArrowStringArray(text), index=column.index)
            if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
                return column
            return column.astype(str).where(column.notna(), None)
        return column.astype({"integer": "Int64", "float": "float64", "boolean": "boolean"}[kind])

    def _sqlite_values(self, column: pd.Series) -> pa.Array:
        """A typed column as SQLAlchemy stores it in SQLite: booleans as 0/1, timestamps as text."""
        kind = self._types[column.name]
        if kind == "timestamp":  # Arrow's text of a timestamp[us]: 2022-03-01 10:00:00.000000
            return pc.cast(pa.array(column.to_numpy("datetime64[us]")), pa.string())
        if kind == "boolean":
            return pc.cast(pa.array(column, pa.bool_(), from_pandas=True), pa.int64())
        arrow_type = {"text": pa.string(), "integer": pa.int64(), "float": pa.float64()}[kind]
        return pa.array(column, arrow_type, from_pandas=True)

    @contextmanager
    def _engine(self) -> Iterator[sa.Engine]:
        engine = store_engine(self._url, self._lock_timeout_s)
        try:
            yield engine
        finally:
            engine.dispose()

    def _exists(self) -> bool:
        with self._engine() as engine:
            return sa.inspect(engine).has_table(self._table.name)

    def _describe(self) -> dict[str, Any]:
        return {"table_name": self._table.name, "key_columns": self._keys}
