"""One SQLite write transaction through ADBC, for bulk writes.

Python's ``sqlite3`` binds every value of every row in Python and takes the GIL back after
each row, so a bulk insert crawls while another thread computes (measured: 300k rows took
0.9 s alone, 14 s beside a busy thread). ADBC's SQLite driver binds Arrow data in C without
the GIL: the same rows take 0.6 s, 1.0 s beside the busy thread.

The driver carries its own copy of SQLite. Two copies of SQLite in one process must not have
the same database file open at once (POSIX locks are per process: closing the file in one copy
drops the other's locks), so nothing in a process reads a store through Python's ``sqlite3``
while this writes to it: the datasets open their connections for one load or save at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pyarrow as pa

# Page cache of the writing connection (KiB): a bulk write updates the key index all over the
# file, and the default 2 MB cache spills to disk.
_WRITE_CACHE_KIB = 65_536


class SqliteWriter:
    """An open write transaction (``BEGIN IMMEDIATE``: the write lock is taken at once, so two
    writers queue rather than deadlock)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, parameters: tuple = ()) -> None:
        self._cursor.execute(sql, parameters)

    def rows(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        self._cursor.execute(sql, parameters)
        return self._cursor.fetchall()

    def execute_for_rows(self, sql: str, rows: pa.Table) -> None:
        """Run ``sql`` once per row, its ``?`` bound to the row's values in column order."""
        self._cursor.executemany(sql, rows)


@contextmanager
def write_transaction(path: str, busy_timeout_ms: int) -> Iterator[SqliteWriter]:
    """A write transaction on the database file ``path``, waiting up to ``busy_timeout_ms``
    for another writer; committed when the block ends, rolled back if it raises (a killed
    process leaves a journal that the next connection rolls back)."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite  # only writers load the driver

    connection = adbc_sqlite.connect(path, autocommit=True)  # transactions by hand, below
    cursor = connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA cache_size = -{_WRITE_CACHE_KIB}")
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield SqliteWriter(cursor)
        except BaseException:
            with suppress(Exception):  # SQLite may have rolled back already (disk full...)
                cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
    finally:
        cursor.close()
        connection.close()
