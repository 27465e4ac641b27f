"""frame_files write and read exactly as kedro-datasets' pandas CSV and parquet datasets."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from codepro_leads.datasets.frame_files import CSVFrameDataset, ParquetFrameDataset

FRAME = pd.DataFrame(
    {
        "lead_id": [3, 1, 2],
        "created_date": pd.to_datetime(
            ["2021-07-01 01:38:17", "2022-02-14 00:00:00", "2021-12-31 23:59:59"]
        ),
        "city": pd.array(["ncr", None, "pune"], dtype="string[pyarrow]"),
        "count": [0.5, float("nan"), 2.0],
        "flag": pd.array([1, 0, 1], dtype="int8"),
    }
)


@pytest.mark.parametrize(
    ("ours", "theirs", "name"),
    [(CSVFrameDataset, CSVDataset, "leads.csv"), (ParquetFrameDataset, ParquetDataset, "l.pq")],
)
def test_same_file_same_frame_same_preview(tmp_path, ours, theirs, name):
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    mine, reference = (
        ours(str(tmp_path / "ours" / name)),
        theirs(filepath=str(tmp_path / "theirs" / name)),
    )
    assert not mine.exists()
    mine.save(FRAME)
    reference.save(FRAME)

    assert mine.exists()
    assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "theirs" / name).read_bytes()
    pd.testing.assert_frame_equal(mine.load(), reference.load(), check_exact=True)
    preview, expected = mine.preview(nrows=2), reference.preview(nrows=2)
    assert preview["index"] == [0, 1]
    pd.testing.assert_frame_equal(pd.DataFrame(**preview), pd.DataFrame(**expected))
