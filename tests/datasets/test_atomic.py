"""Atomic saves: a reader sees the old complete file or the new one, never a temporary."""

from __future__ import annotations

import fsspec
import pandas as pd
import pytest
from kedro.io import DatasetError

from codepro_leads.datasets.atomic import AtomicDataset, temporary_path


def test_temporary_path_is_hidden_beside_the_file_with_its_suffix():
    first, second = temporary_path("data/x/leads.csv"), temporary_path("data/x/leads.csv")
    assert first.startswith("data/x/.leads.") and first.endswith(".csv")
    assert first != second


def test_saves_through_the_stock_dataset_and_leaves_only_the_file(tmp_path):
    path = tmp_path / "out" / "leads.csv"
    dataset = AtomicDataset(dataset="pandas.CSVDataset", filepath=str(path))
    assert not dataset.exists()
    dataset.save(pd.DataFrame({"a": [1, 2]}))
    assert path.read_text() == "a\n1\n2\n"
    assert dataset.exists() and dataset.load()["a"].tolist() == [1, 2]
    assert [p.name for p in path.parent.iterdir()] == ["leads.csv"]


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "report.json"
    dataset = AtomicDataset(dataset={"type": "json.JSONDataset"}, filepath=str(path))
    dataset.save({"rows": 1})
    with pytest.raises(DatasetError):
        dataset.save({"rows": object()})  # not JSON: fails half-way through the write
    assert dataset.load() == {"rows": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_object_storage_is_written_directly():
    dataset = AtomicDataset(dataset="pandas.CSVDataset", filepath="memory:///atomic/leads.csv")
    dataset.save(pd.DataFrame({"a": [3]}))
    assert fsspec.filesystem("memory").find("/atomic") == ["/atomic/leads.csv"]
    assert dataset.load()["a"].tolist() == [3]
