"""The raw reader: file-level problems are one clear line, ragged lines become reject rows."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError

from codepro_leads.datasets import PARSE_ERROR_COLUMN, RawLeadsDataset
from codepro_leads.errors import LeadDataError


def _load_error(dataset: RawLeadsDataset) -> str:
    """The message of the LeadDataError behind Kedro's DatasetError."""
    with pytest.raises(DatasetError) as error:
        dataset.load()
    assert isinstance(error.value.__cause__, LeadDataError)
    return str(error.value.__cause__)


def _load(tmp_path, text: str | bytes) -> pd.DataFrame:
    path = tmp_path / "leads.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return RawLeadsDataset(filepath=str(path)).load()


def test_reads_unnamed_index_and_values(tmp_path):
    frame = _load(tmp_path, ",created_date,total_leads_droppped\n7,2021-07-01 01:38:17,2\n9,,\n")
    assert frame.columns.tolist() == ["", "created_date", "total_leads_droppped"]
    assert frame[""].tolist() == [7, 9]
    assert frame["total_leads_droppped"].tolist()[0] == 2
    assert frame.attrs["source"] == str(tmp_path / "leads.csv")
    assert PARSE_ERROR_COLUMN not in frame.columns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        (",created_date,city_mapped\n", "has a header but no lead rows"),
    ],
)
def test_empty_inputs_stop_with_a_reason(tmp_path, text, message):
    path = tmp_path / "leads.csv"
    path.write_text(text)
    assert _load_error(RawLeadsDataset(filepath=str(path))).startswith(f"{path}: {message}")


def test_missing_file_names_the_path(tmp_path):
    message = _load_error(RawLeadsDataset(filepath=str(tmp_path / "nope.csv")))
    assert message == f"{tmp_path / 'nope.csv'}: file not found"


def test_ragged_lines_are_kept_as_parse_errors(tmp_path):
    frame = _load(tmp_path, "a,b\n1,2\n3,4,5\n6,7\n8\n")
    assert frame["a"].tolist() == ["1", None, "6", None]
    assert frame[PARSE_ERROR_COLUMN].tolist() == [
        None,
        "malformed line 3: 3 fields, header has 2",
        None,
        "malformed line 5: 1 fields, header has 2",
    ]


def test_bad_bytes_do_not_stop_the_load(tmp_path):
    frame = _load(tmp_path, b"a,b\n1,caf\xe9\n2,ok\n")
    assert frame["a"].tolist() == [1, 2]
    assert frame["b"].tolist() == ["caf\ufffd", "ok"]


def test_a_garbage_value_reads_its_column_as_text(tmp_path):
    frame = _load(tmp_path, "a,b\n1,x\n" + "2,y\n" * 100_000 + "abc,z\n")
    assert frame["a"].iloc[[0, 1, -1]].tolist() == ["1", "2", "abc"]
    assert len(frame) == 100_002


def test_is_read_only(tmp_path):
    with pytest.raises(DatasetError, match="read-only"):
        RawLeadsDataset(filepath=str(tmp_path / "x.csv")).save(pd.DataFrame({"a": [1]}))
