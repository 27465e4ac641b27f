"""Cells a spreadsheet would run get a leading quote; everything else is left as it is."""

import pandas as pd

from codepro_leads.spreadsheet import safe_cells


def test_cells_that_start_a_formula_are_made_inert_in_every_kind_of_text_column():
    # A number up to a final newline, or in other digits, is not a plain number to a spreadsheet.
    cells = ["=1+1", "+A1", "-A1", "@SUM(A1)", "\tx", "\rx", "a=b", "-3", "+1.5e3", "-3\n", "-٣"]
    cells += ["", None]
    expected = ["'=1+1", "'+A1", "'-A1", "'@SUM(A1)", "'\tx", "'\rx", "a=b", "-3", "+1.5e3"]
    expected += ["'-3\n", "'-٣", ""]
    frame = pd.DataFrame(
        {
            "arrow": pd.Series(cells, dtype="string[pyarrow]"),
            "python": pd.Series(cells, dtype=object),
            "mixed": pd.Series([*cells[:-1], 5], dtype=object),
            "number": range(len(cells)),
        }
    )
    safe = safe_cells(frame)
    assert safe["arrow"].tolist()[:-1] == expected and safe["arrow"].isna().tolist()[-1]
    assert safe["python"].tolist() == [*expected, None]
    assert safe["mixed"].tolist() == [*expected, 5]
    assert safe["number"].tolist() == list(range(len(cells)))
    assert frame["arrow"].tolist()[0] == "=1+1"  # the caller's frame is left as it was
