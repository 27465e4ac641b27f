"""A raw export read in batches gives the rows a whole-file read gives, in order; a number
column holding text is read on as text (never the whole file); a file the incremental reader
cannot take as it goes for another reason is read whole from there, with the same errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codepro_leads.datasets import LeadBatchesDataset, lead_batches_dataset
from codepro_leads.errors import LeadDataError
from codepro_leads.features.raw_csv import read_raw_leads
from codepro_leads.features.validation import to_number

HEADER = ",created_date,city_mapped,total_leads_droppped,referred_lead\n"


def _lines(n, start=0):
    return "".join(
        f"{i},2021-08-01 10:00:{i % 60:02d},mumbai,{i % 4},{i % 2}\n" for i in range(start, n)
    )


def _batches(path, rows, **kinds):
    return list(LeadBatchesDataset(str(path)).load().batches(rows, **kinds))


def _joined(batches):
    return pd.concat(batches, ignore_index=True)


def test_batches_are_the_whole_file_in_order(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + _lines(20))
    batches = _batches(path, 7)
    assert [len(batch) for batch in batches] == [7, 7, 6]
    assert all(batch.index.tolist() == list(range(len(batch))) for batch in batches)
    pd.testing.assert_frame_equal(_joined(batches), read_raw_leads(path))
    assert batches[0].attrs == {"source": str(path), "undecodable_values": {}}


def test_declared_columns_are_read_as_text_and_numbers(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + "0,2021-08-01,,,1\n1,2021-08-01,pune,3,0\n")
    (batch,) = _batches(path, 10, text_columns=["city_mapped"], number_columns=["referred_lead"])
    assert batch["city_mapped"].tolist() == read_raw_leads(path)["city_mapped"].tolist()
    assert batch["city_mapped"].tolist() == ["", "pune"]  # as validation reads a blank
    assert batch["referred_lead"].dtype == "float64"
    assert batch["referred_lead"].tolist() == [1.0, 0.0]


@pytest.fixture
def never_whole(monkeypatch):
    """Fails the test if the file is read whole (memory in proportion to the file)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the file was read whole")

    monkeypatch.setattr(lead_batches_dataset, "read_raw_leads", refuse)


def test_a_number_column_holding_text_further_down_is_read_on_as_text(tmp_path, never_whole):
    path = tmp_path / "leads.csv"
    # Far enough down to be past the reader's first block, after a batch was given.
    bad = "200000,2021-08-01 10:00:00,pune,many,0\n"
    path.write_text(HEADER + _lines(200_000) + bad + _lines(200_010, start=200_001))
    batches = _batches(path, 150_000, number_columns=["total_leads_droppped"])
    assert [len(batch) for batch in batches] == [150_000, 50_010]
    counts = [batch["total_leads_droppped"] for batch in batches]
    assert [column.dtype for column in counts] == ["float64", "string"]
    assert counts[1].iloc[50_000] == "many"  # text: validation rejects it
    whole = read_raw_leads(path)  # this module's import: only the dataset's is refused
    joined = _joined(batches)
    others = [col for col in whole.columns if col != "total_leads_droppped"]
    pd.testing.assert_frame_equal(joined[others], whole[others])
    # Each row is judged alike: the same numbers, the same one value that is not a number.
    numbers = np.concatenate([to_number(column)[0] for column in counts])
    not_numbers = np.concatenate([to_number(column)[1] for column in counts])
    expected_numbers, expected_not_numbers = to_number(whole["total_leads_droppped"])
    np.testing.assert_array_equal(numbers, expected_numbers)
    np.testing.assert_array_equal(not_numbers, expected_not_numbers)
    assert not_numbers.sum() == 1


def test_text_in_a_number_column_of_the_first_block_is_text_in_every_batch(tmp_path, never_whole):
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + _lines(2) + "2,2021-08-01 10:00:00,pune,NA,1\n3,2021-08-01,goa,x,0\n")
    batches = _batches(path, 3, number_columns=["total_leads_droppped", "referred_lead"])
    counts = [batch["total_leads_droppped"].tolist() for batch in batches]
    assert counts == [["0", "1", "NA"], ["x"]]
    assert [batch["referred_lead"].dtype for batch in batches] == ["float64", "float64"]


def test_a_key_of_another_type_further_down_is_read_with_the_rest_of_the_file(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + _lines(200_000) + "A-7,2021-08-01,pune,1,0\n")
    batches = _batches(path, 150_000, number_columns=["total_leads_droppped"])
    assert [len(batch) for batch in batches] == [150_000, 50_001]
    assert batches[-1].iloc[-1, 0] == "A-7"  # the whole read's text key: validation judges it
    whole = read_raw_leads(path)
    pd.testing.assert_frame_equal(batches[-1], whole.iloc[150_000:].reset_index(drop=True))


def test_ragged_lines_become_parse_error_rows_as_in_a_whole_read(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + _lines(5) + "5,2021-08-01,pune\n" + _lines(8, start=6))
    pd.testing.assert_frame_equal(_joined(_batches(path, 3)), read_raw_leads(path))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (None, "file not found"),
        ("", "file is empty"),
        (HEADER, "has a header but no lead rows"),
        (",a,a\n1,2,3\n", "repeated column name"),
    ],
)
def test_a_file_that_cannot_be_used_stops_with_the_whole_reads_line(tmp_path, text, error):
    path = tmp_path / "leads.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(LeadDataError, match=error):
        _batches(path, 5)


def test_a_key_declared_text_streams_as_written_whatever_follows(tmp_path, never_whole):
    path = tmp_path / "leads.csv"
    later = "A-7,2021-08-01,pune,1,0\n00042,2021-08-01,pune,1,0\n"
    path.write_text(HEADER + _lines(200_000) + later)
    batches = _batches(path, 150_000, text_columns=[""])
    assert [len(batch) for batch in batches] == [150_000, 50_002]
    assert batches[0].iloc[:2, 0].tolist() == ["0", "1"]
    assert batches[-1].iloc[-2:, 0].tolist() == ["A-7", "00042"]
