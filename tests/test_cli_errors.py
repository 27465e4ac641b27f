"""Faults of the machine and its stores end a command in one line (``cli._one_line``)."""

from __future__ import annotations

import errno

import mlflow
import pandas as pd
import pytest
from kedro.io import DatasetError
from mlflow.exceptions import MlflowException

from codepro_leads.cli import _one_line
from codepro_leads.datasets.alias_history import AliasHistoryDataset, history_row


def _raised(error: BaseException, wrapper: str = "Failed while saving data") -> DatasetError:
    """``error`` as Kedro hands it on: behind a DatasetError."""
    try:
        try:
            raise error
        except BaseException as inner:
            raise DatasetError(wrapper) from inner
    except DatasetError as outer:
        return outer


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"this is not a database" * 100, "database error: file is not a database"),
    ],
)
def test_a_corrupt_store_is_one_line(tmp_path, content, line):
    path = tmp_path / "lead_scores.db"
    path.write_bytes(content)
    store = AliasHistoryDataset({"con": f"sqlite:///{path}"})
    with pytest.raises(DatasetError) as error:
        store.load()
    assert _one_line(error.value) == line


def test_a_read_only_store_is_one_line(tmp_path):
    path = tmp_path / "lead_scores.db"
    row = pd.DataFrame([history_row("m", "champion", "1", None, "training", "r")])
    AliasHistoryDataset({"con": f"sqlite:///{path}"}).save(row)
    read_only = AliasHistoryDataset({"con": f"sqlite:///file:{path}?mode=ro&uri=true"})
    with pytest.raises(DatasetError) as error:
        read_only.save(row)
    assert _one_line(error.value) == "database error: attempt to write a readonly database"


def test_a_full_or_read_only_disk_is_one_line():
    full = OSError(errno.ENOSPC, "No space left on device", "data/07_model_output/x.parquet")
    assert _one_line(_raised(full)) == "No space left on device: data/07_model_output/x.parquet"
    read_only = OSError(errno.EROFS, "Read-only file system")
    assert _one_line(_raised(read_only)) == "Read-only file system"


def test_a_failing_mlflow_store_is_one_line():
    locked = MlflowException("(sqlite3.OperationalError) database is locked\n[SQL: UPDATE ...]")
    assert _one_line(_raised(locked)) == (
        f"MLflow store {mlflow.get_tracking_uri()}: (sqlite3.OperationalError) database is locked"
    )


def test_a_bug_keeps_its_traceback():
    assert _one_line(_raised(KeyError("x"))) is None
