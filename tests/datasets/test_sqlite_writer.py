"""SQLite write transactions through ADBC: committed whole or rolled back, and queued behind
another process's writer for as long as the busy timeout allows."""

from __future__ import annotations

import subprocess
import sys
import time

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pytest

from codepro_leads.datasets.sqlite_writer import write_transaction

# Another process takes the write lock, says so, and holds it for the given seconds.
_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO t VALUES ('held', 0)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def _rows(path):
    with adbc_sqlite.connect(str(path)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT k, v FROM t ORDER BY k")
        return cursor.fetchall()


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "store.db"
    with write_transaction(str(path), 1000) as writer:
        writer.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
    return path


def test_rows_bound_from_arrow_are_committed_together(database):
    rows = pa.table({"k": ["a", "b", None], "v": [1, None, 3]})
    with write_transaction(str(database), 1000) as writer:
        writer.execute_for_rows("INSERT INTO t VALUES (?, ?)", rows.slice(0, 2))
        writer.execute_for_rows("INSERT INTO t VALUES (?, ?)", rows.slice(2))
        assert writer.rows("SELECT count(*) FROM t") == [(3,)]
    assert _rows(database) == [(None, 3), ("a", 1), ("b", None)]


def test_an_error_rolls_every_row_back(database):
    rows = pa.table({"k": ["a"], "v": [1]})
    with (
        pytest.raises(RuntimeError, match="failed midway"),
        write_transaction(str(database), 1000) as writer,
    ):
        writer.execute_for_rows("INSERT INTO t VALUES (?, ?)", rows)
        raise RuntimeError("failed midway")
    assert _rows(database) == []


def _hold_lock(database, seconds):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_writer_waits_for_another_process_writer_within_its_timeout(database):
    holder = _hold_lock(database, 1.0)
    start = time.monotonic()
    with write_transaction(str(database), 30_000) as writer:
        writer.execute("INSERT INTO t VALUES ('mine', 1)")
    assert time.monotonic() - start >= 0.5  # it queued behind the holder
    assert holder.wait(timeout=30) == 0
    assert _rows(database) == [("held", 0), ("mine", 1)]


def test_a_writer_gives_up_after_its_timeout(database):
    holder = _hold_lock(database, 5.0)
    try:
        with pytest.raises(Exception, match="locked"), write_transaction(str(database), 200):
            pass
    finally:
        holder.kill()
        holder.wait()
