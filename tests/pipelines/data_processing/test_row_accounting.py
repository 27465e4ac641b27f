"""Property: whatever the rows hold, every row read is output, rejected or a counted duplicate."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codepro_leads.features import processing
from codepro_leads.features.validation import to_number
from codepro_leads.pipelines.data_processing import nodes
from tests.conftest import make_raw

counts = st.one_of(
    st.none(), st.integers(-3, 60), st.sampled_from(["", "abc", "1.5", " 2 ", "inf", "1e3"])
)
row = st.fixed_dictionaries(
    {
        "": st.integers(0, 30),
        "created_date": st.sampled_from(
            ["2021-07-01 01:38:17", "2022-02-14", "", None, "14/02/2022", "not a date"]
        ),
        "city_mapped": st.sampled_from(["mumbai", "Jaipur ", "", None, "nowhere"]),
        "first_platform_c": st.sampled_from(["Level0", "Level3", None, ""]),
        "total_leads_droppped": counts,
        "referred_lead": st.sampled_from([0, 1, 2, None, "x"]),
        "syllabus_expand": counts,
        "app_complete_flag": st.sampled_from([0, 1, 1, "1", None, 3]),
    }
)


def _run_nodes(raw, params):
    valid, rejected, intake, _ = processing.validate_raw_leads(raw, params)
    unique, duplicates = processing.drop_duplicate_leads(valid, params)
    model_input = processing.select_model_input(
        processing.fill_missing_counts(
            processing.add_city_tier(processing.sum_interactions(unique, params), params), params
        ),
        params,
    )
    gate = {**params, "min_rows": 0}  # the rows' accounting, whatever is left
    if params["label_column"] not in model_input:
        model_input = model_input.assign(**{params["label_column"]: 1})
    _, _, report, _ = nodes.account_for_rows(
        intake, duplicates, model_input, rejected, raw.head(0), gate
    )
    return model_input, rejected, report


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row, min_size=1, max_size=40), labeled=st.booleans())
def test_every_row_is_accounted_for(processing_params, rows, labeled):
    raw = make_raw(processing_params, rows, labeled=labeled)
    model_input, rejected, report = _run_nodes(raw, processing_params)

    assert report["rows_read"] == len(rows)
    assert len(model_input) + len(rejected) + report["duplicates_dropped"] == len(rows)
    assert report["rows_rejected"] == len(rejected)
    assert rejected["reason"].str.len().gt(0).all()
    assert model_input["lead_id"].is_unique
    if not labeled:
        assert report["duplicates_dropped"] == 0
    # Output rows are clean: no missing model inputs apart from raw categorical levels.
    assert (
        model_input.drop(columns=["first_platform_c", "first_utm_medium_c", "first_utm_source_c"])
        .notna()
        .all()
        .all()
    )


@given(
    value=st.one_of(st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False))
)
def test_numbers_written_as_text_parse_back_exactly(value):
    numbers, bad = to_number(pd.Series([str(value), "x"], dtype=object))
    assert numbers[0] == float(value)
    assert bad.tolist() == [False, True]


# Rows plus copies of some of them under new keys: exact repeats to drop.
rows_with_repeats = st.lists(row, min_size=1, max_size=20).flatmap(
    lambda rows: st.lists(st.sampled_from(rows), max_size=10).map(
        lambda copies: rows + [{**copy, "": 100 + i} for i, copy in enumerate(copies)]
    )
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_with_repeats)
def test_duplicates_dropped_as_pandas_drops_them(processing_params, rows):
    """The hash-then-compare dedup with its column-wise copy gives exactly pandas' result:
    same rows, values, dtypes, index and attrs."""
    valid, _, _, _ = processing.validate_raw_leads(
        make_raw(processing_params, rows), processing_params
    )
    valid.attrs["source"] = "export.csv"
    columns = [col for col in valid.columns if col != processing_params["key_column"]]
    expected = valid.drop_duplicates(subset=columns).reset_index(drop=True)

    unique, duplicates = processing.drop_duplicate_leads(valid, processing_params)

    pd.testing.assert_frame_equal(unique, expected, check_exact=True)
    assert unique.attrs == {"source": "export.csv"}
    assert duplicates == {"duplicates_dropped": len(valid) - len(expected)}
