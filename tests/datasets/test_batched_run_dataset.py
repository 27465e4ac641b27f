"""A streamed run's outputs saved as one unit: rows stored in one transaction, files that
appear only once the store has committed, nothing at all when a batch fails, and the last
batch's summary loaded back."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa
import pytest
from kedro.io import DatasetError, Version

from codepro_leads.datasets import BatchedRunDataset, batched_run_dataset

VERSION = "2026-03-01T10.00.00.000Z"


def _dataset(tmp_path, versioned=True):
    store = {
        "type": "codepro_leads.datasets.UpsertTableDataset",
        "table_name": "scores",
        "columns": {"lead_id": "text", "score": "integer"},
        "key_columns": ["lead_id"],
        "credentials": {"con": f"sqlite:///{tmp_path / 'scores.db'}"},
    }
    files = {
        "scores_file": {"filepath": str(tmp_path / "out" / "scores.parquet")},
        "export": {"filepath": str(tmp_path / "out" / "export.csv")},
    }
    version = Version(None, VERSION) if versioned else None
    return BatchedRunDataset(stores={"table": store}, files=files, version=version)


def _batch(ids, scores):
    frame = pd.DataFrame({"lead_id": ids, "score": scores})
    return {"table": frame, "scores_file": frame, "export": frame.assign(note="x")}


def _stored(tmp_path):
    """The committed rows, read as another process would."""
    if not (tmp_path / "scores.db").exists():
        return []
    with sqlite3.connect(tmp_path / "scores.db") as conn:
        if not conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            return []
        return conn.execute("SELECT lead_id, score FROM scores ORDER BY lead_id").fetchall()


def _folders(tmp_path):
    return sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "out").rglob("*") if p.is_dir())


def _files(tmp_path, hidden=False):
    return sorted(
        str(p.relative_to(tmp_path))
        for p in (tmp_path / "out").rglob("*")
        if p.is_file() and (hidden or not p.name.startswith("."))
    )


def test_every_batch_is_stored_and_written_at_the_versioned_paths(tmp_path):
    _dataset(tmp_path).save(iter([_batch([1, 2], [10, 20]), _batch([], []), _batch([3], [30])]))
    assert _stored(tmp_path) == [("1", 10), ("2", 20), ("3", 30)]
    assert _files(tmp_path) == [
        f"out/export.csv/{VERSION}/export.csv",
        f"out/scores.parquet/{VERSION}/scores.parquet",
    ]
    scores = pd.read_parquet(tmp_path / f"out/scores.parquet/{VERSION}/scores.parquet")
    assert scores.to_dict("list") == {"lead_id": [1, 2, 3], "score": [10, 20, 30]}
    export = (tmp_path / f"out/export.csv/{VERSION}/export.csv").read_text()
    assert export == '"lead_id","score","note"\n1,10,"x"\n2,20,"x"\n3,30,"x"\n'


def test_files_appear_only_after_the_store_committed(tmp_path, monkeypatch):
    seen = []

    def batches():
        yield _batch([1], [10])
        seen.append(("during", _files(tmp_path), _stored(tmp_path)))
        yield _batch([2], [20])

    atomic_target = batched_run_dataset.atomic_target

    @contextmanager
    def checked_atomic_target(fs, final, **options):
        with atomic_target(fs, final, **options) as temporary:
            yield temporary
            seen.append(("rename", _stored(tmp_path)))  # another connection sees the rows

    monkeypatch.setattr(batched_run_dataset, "atomic_target", checked_atomic_target)
    _dataset(tmp_path, versioned=False).save(batches())
    assert seen == [
        ("during", [], []),  # written, but neither named nor committed
        ("rename", [("1", 10), ("2", 20)]),
        ("rename", [("1", 10), ("2", 20)]),
    ]
    assert _files(tmp_path, hidden=True) == ["out/export.csv", "out/scores.parquet"]


def test_a_failing_batch_leaves_no_row_and_no_file(tmp_path):
    def batches():
        yield _batch([1, 2], [10, 20])
        raise RuntimeError("Row accounting failed")

    with pytest.raises(Exception, match="Row accounting failed"):
        _dataset(tmp_path).save(batches())
    assert _stored(tmp_path) == []
    assert _files(tmp_path, hidden=True) == []  # no temporary left behind either
    assert _folders(tmp_path) == ["out/export.csv", "out/scores.parquet"]  # no claimed version


def test_the_latest_copy_is_the_last_successful_runs_file(tmp_path):
    """A stable path beside the per-run versions: replaced by each run that saved, left as it
    was by a run that failed."""
    latest = tmp_path / "out" / "export_latest.csv"

    def dataset(version):
        return BatchedRunDataset(
            stores={},
            files={"export": {"filepath": str(tmp_path / "out" / "export.csv")}},
            latest={"export": {"filepath": str(latest)}},
            version=Version(None, version),
        )

    def batch(ids):
        return {"export": pd.DataFrame({"lead_id": ids})}

    dataset(VERSION).save(iter([batch([1, 2])]))
    assert latest.read_text() == '"lead_id"\n1\n2\n'
    later = "2026-03-02T10.00.00.000Z"
    dataset(later).save(iter([batch([3])]))
    assert latest.read_text() == '"lead_id"\n3\n'

    def failing():
        yield batch([4])
        raise RuntimeError("Row accounting failed")

    with pytest.raises(Exception, match="Row accounting failed"):
        dataset("2026-03-03T10.00.00.000Z").save(failing())
    assert latest.read_text() == '"lead_id"\n3\n'
    assert _files(tmp_path, hidden=True) == [
        f"out/export.csv/{VERSION}/export.csv",
        f"out/export.csv/{later}/export.csv",
        "out/export_latest.csv",
    ]
    with pytest.raises(DatasetError, match="latest names no file"):
        BatchedRunDataset(stores={}, files={}, latest={"export": {"filepath": str(latest)}})


def test_a_batch_that_does_not_fit_the_first_stops_the_run(tmp_path):
    odd = _batch(["x"], [1])
    with pytest.raises(Exception, match="does not fit the columns of the first"):
        _dataset(tmp_path).save(iter([_batch([1], [10]), odd]))
    assert _stored(tmp_path) == [] and _files(tmp_path, hidden=True) == []
    with pytest.raises(Exception, match=r"a batch holds \['table'\]"):
        _dataset(tmp_path).save(iter([{"table": _batch([1], [1])["table"]}]))


def test_text_in_several_arrow_chunks_is_written_as_text(tmp_path):
    # What pd.concat of string[pyarrow] frames gives: an empty chunk, then the value. Arrow 25
    # writes such a column as NUL bytes when the batch comes without the header.
    reason = pd.arrays.ArrowStringArray(pa.chunked_array([pa.array([], pa.string()), ["bad"]]))
    first, second = _batch([1], [10]), _batch([2], [20])
    second["export"] = second["export"].assign(note=reason)
    _dataset(tmp_path, versioned=False).save(iter([first, second]))
    export = (tmp_path / "out/export.csv").read_bytes()
    assert export == b'"lead_id","score","note"\n1,10,"x"\n2,20,"bad"\n'


def test_a_failing_write_stops_the_batches(tmp_path):
    made = []

    def batches():
        for i in range(1, 100):
            made.append(i)
            yield _batch([i], [10]) if i < 2 else _batch(["x"], [1])  # does not fit

    with pytest.raises(Exception, match="does not fit the columns of the first"):
        _dataset(tmp_path).save(batches())
    assert made == [1, 2]
    assert _stored(tmp_path) == [] and _files(tmp_path, hidden=True) == []


def test_loading_gives_the_summary_of_the_last_batch_saved(tmp_path):
    dataset = _dataset(tmp_path)
    with pytest.raises(DatasetError, match="nothing saved yet"):
        dataset.load()
    dataset.save(iter([{**_batch([1], [10]), "summary": 1}, {**_batch([2], [20]), "summary": 2}]))
    assert dataset.load() == 2


def test_csv_files_are_spreadsheet_safe_and_the_store_keeps_the_values(tmp_path):
    ids = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tA", "7"]
    frame = pd.DataFrame({"lead_id": ids, "score": range(6)})
    batch = {"table": frame, "scores_file": frame, "export": frame.assign(note=["-x", *"abcde"])}
    _dataset(tmp_path).save(iter([batch]))
    assert sorted(key for key, _ in _stored(tmp_path)) == sorted(ids)
    scores = pd.read_parquet(tmp_path / f"out/scores.parquet/{VERSION}/scores.parquet")
    assert scores["lead_id"].tolist() == ids
    export = pd.read_csv(tmp_path / f"out/export.csv/{VERSION}/export.csv", dtype=str)
    assert export["lead_id"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "+1",  # a plain number runs nothing
        "-2",
        "'@SUM(A1)",
        "'\tA",
        "7",
    ]
    assert export["note"].tolist() == ["'-x", *"abcde"]


def test_a_killed_runs_temporaries_are_removed_by_the_next_run(tmp_path):
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    old = tmp_path / "out" / "export.csv" / "2026-02-01T10.00.00.000Z"
    old.mkdir(parents=True)
    stale = old / f".export.tmp-{socket.gethostname()}-{killed.pid}-0123abcd.csv"
    stale.write_text('"lead_id"\n1\n')
    _dataset(tmp_path).save(iter([_batch([1], [10])]))
    assert not stale.exists()
    assert (tmp_path / f"out/export.csv/{VERSION}/export.csv").exists()


def test_a_second_run_with_the_same_version_fails_and_keeps_the_first_runs_files(tmp_path):
    """Kedro's save version is the session id, a timestamp to the millisecond: two runs that
    start together share it (kedro-org/kedro#1731)."""
    _dataset(tmp_path).save(iter([_batch([1], [10])]))
    export = f"out/export.csv/{VERSION}/export.csv"
    scores_file = f"out/scores.parquet/{VERSION}/scores.parquet"
    folders = _folders(tmp_path)
    with pytest.raises(DatasetError, match=re.escape(f"{tmp_path / scores_file}: already written")):
        _dataset(tmp_path).save(iter([_batch([2], [20])]))
    assert _stored(tmp_path) == [("1", 10)]  # failed before its rows were committed
    assert (tmp_path / export).read_text() == '"lead_id","score","note"\n1,10,"x"\n'
    scores = pd.read_parquet(tmp_path / scores_file)
    assert scores["lead_id"].tolist() == [1]
    assert _files(tmp_path, hidden=True) == [export, scores_file]
    assert _folders(tmp_path) == folders
