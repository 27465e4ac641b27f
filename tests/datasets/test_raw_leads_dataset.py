"""The raw reader: file-level problems are one clear line, ragged lines become reject rows."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError

from codepro_leads.datasets import LeadBatchesDataset
from codepro_leads.datasets.raw_leads_dataset import RawLeadsDataset
from codepro_leads.errors import LeadDataError
from codepro_leads.features.validation import PARSE_ERROR_COLUMN


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
    assert frame[""].tolist() == ["7", "9"]  # the key: text as written
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


def test_saves_the_export_layout_atomically(tmp_path):
    path = tmp_path / "raw" / "x.csv"
    RawLeadsDataset(filepath=str(path)).save(pd.DataFrame({"a": [1, 2]}, index=[7, 9]))
    assert path.read_text() == ",a\n7,1\n9,2\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.csv"]  # no temporary file left


def test_repeated_column_names_stop_with_one_line(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(",created_date,city_mapped,created_date\n1,2022-01-01,pune,2022-01-02\n")
    message = _load_error(RawLeadsDataset(filepath=str(path)))
    assert message == f"{path}: repeated column name(s) in the header: created_date"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        # 5 MB in one field: pyarrow gives up on it, the line-by-line reader stops on it.
        ("a,b\n1,ok\n2," + "x" * 5_000_000 + "\n", "line 3"),
        # Short enough for pyarrow, still far longer than any lead value.
        ("a,b\n1,ok\n2," + "x" * 200_000 + "\n", "column 'b', data row 2"),
        # An unclosed quote swallows the rest of the file.
        ('a,b\n1,2,3\n4,"' + "y\n" * 100_000, "line 3"),
    ],
)
def test_an_over_long_field_stops_with_one_line(tmp_path, text, where):
    path = tmp_path / "leads.csv"
    path.write_text(text)
    message = _load_error(RawLeadsDataset(filepath=str(path)))
    assert message == f"{path}: {where}: a field over 100,000 characters (an unclosed quote?)"


def test_a_declared_encoding_decodes_cp1252_bytes(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes("a,city\n1,\u201cpune\u201d\n2,Bengal\u00fbru\n".encode("cp1252"))
    frame = RawLeadsDataset(filepath=str(path), encoding="cp1252").load()
    assert frame["city"].tolist() == ["\u201cpune\u201d", "Bengal\u00fbru"]
    assert frame.attrs["undecodable_values"] == {}


def test_undecodable_bytes_are_replaced_counted_and_logged(tmp_path, caplog):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"a,city\n1,\x93pune\x94\n2,ok\n3,caf\xe9\n")
    frame = RawLeadsDataset(filepath=str(path)).load()
    assert frame["city"].tolist() == ["\ufffdpune\ufffd", "ok", "caf\ufffd"]
    assert frame.attrs["undecodable_values"] == {"city": 2}
    assert "not valid utf-8, replaced with U+FFFD: city 2" in caplog.text


def test_an_unknown_encoding_stops_with_one_line(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("a\n1\n")
    message = _load_error(RawLeadsDataset(filepath=str(path), encoding="utf-9"))
    assert message == f"{path}: unknown encoding 'utf-9'"


def test_reads_and_writes_through_fsspec():
    dataset = RawLeadsDataset(filepath="memory:///raw/leads.csv")
    assert not dataset.exists()
    dataset.save(pd.DataFrame({"a": [1, 2]}, index=[7, 9]))
    frame = dataset.load()
    assert frame.columns.tolist() == ["", "a"] and frame["a"].tolist() == [1, 2]
    assert frame.attrs["source"] == "memory:///raw/leads.csv"


def test_keys_that_look_like_numbers_are_read_as_written(tmp_path):
    text = ",created_date\n00042,2021-07-01\n01,\n1,\n12345678901234567890,\n"
    assert _load(tmp_path, text)[""].tolist() == ["00042", "01", "1", "12345678901234567890"]
    named = "created_date,lead_id\n2021-07-01,007\n,8\n"
    assert _load(tmp_path, named)["lead_id"].tolist() == ["007", "8"]


@pytest.mark.parametrize("ragged", ["", "9,2021-07-01,extra\n"])
def test_a_byte_order_mark_is_not_part_of_the_header_on_either_path(tmp_path, ragged):
    text = "lead_id,created_date\n007,2021-07-01\n" + ragged
    frame = _load(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert frame.columns[0] == "lead_id"
    assert frame["lead_id"].tolist()[0] == "007"
    assert (PARSE_ERROR_COLUMN in frame.columns) is bool(ragged)  # each path is exercised


def test_a_utf8_file_declared_utf16_stops_in_one_line(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("lead_id,created_date\n1,2021-07-01\n")
    message = _load_error(RawLeadsDataset(filepath=str(path), encoding="utf-16"))
    assert message == (
        f"{path}: cannot be read as utf-16 (UTF-16 stream does not start with BOM): "
        "declare the file's encoding"
    )
    batches = LeadBatchesDataset(str(path), encoding="utf-16").load()
    with pytest.raises(LeadDataError, match="cannot be read as utf-16"):
        next(batches.batches(10))
