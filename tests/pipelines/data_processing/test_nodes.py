"""Each data_processing node alone, on hand-made rows with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codepro_leads.datasets import RawLeadsDataset
from codepro_leads.errors import ConfigError, LeadDataError
from codepro_leads.features import processing
from codepro_leads.features.raw_csv import read_raw_leads
from codepro_leads.features.validation import MISSING_VALUE_TEXTS, PARSE_ERROR_COLUMN
from codepro_leads.pipelines.data_processing import nodes
from tests.conftest import make_raw

GATE = {"label_column": "label", "min_rows": 1}  # account_for_rows's parameters


def _validate(params, rows, labeled=True):
    valid, rejected, intake, _ = processing.validate_raw_leads(
        make_raw(params, rows, labeled), params
    )
    return valid, rejected, intake


def test_validate_types_and_key_from_unnamed_index(processing_params):
    valid, rejected, intake = _validate(
        processing_params,
        [{"": 17, "total_leads_droppped": "3"}, {"": 42, "city_mapped": " Pune "}],
    )
    assert valid["lead_id"].tolist() == ["17", "42"]
    assert valid["lead_id"].dtype == "string[pyarrow]"
    assert valid["created_date"].tolist() == [pd.Timestamp("2021-08-01 10:00:00")] * 2
    assert valid["total_leads_droppped"].tolist() == [3.0, 1.0]
    assert valid["city_mapped"].tolist() == ["mumbai", "Pune"]
    assert valid["app_complete_flag"].dtype == "int8"
    assert rejected.empty
    assert intake == {
        "rows_read": 2,
        "rows_rejected": 0,
        "reject_reasons": {},
        "extra_columns_dropped": [],
        "key": "",
        "undecodable_values": {},
    }


def test_row_number_is_the_key_when_the_file_has_no_index_column(processing_params):
    raw = make_raw(processing_params, [{}, {}, {}]).drop(columns="")
    valid, _, _, _ = processing.validate_raw_leads(raw, processing_params)
    assert valid["lead_id"].tolist() == ["0", "1", "2"]


def test_bad_rows_are_rejected_with_reasons(processing_params):
    rows = [
        {},  # good
        {"total_leads_droppped": "abc"},
        {"total_leads_droppped": -2},
        {"total_leads_droppped": 1.5},
        {"created_date": "31/12/2021 xx"},
        {"created_date": None},
        {"app_complete_flag": 2},
        {"app_complete_flag": None},
        {"referred_lead": 3},
        {"syllabus_expand": "many", "emi_plans_clicked": -1},
        {"": 0},  # repeats the key of the first row
    ]
    valid, rejected, intake = _validate(processing_params, rows)
    assert valid["lead_id"].tolist() == ["0"]
    assert rejected["lead_id"].tolist() == [str(i) for i in range(1, 10)] + ["0"]
    assert rejected["reason"].tolist() == [
        "total_leads_droppped: not a number ('abc')",
        "total_leads_droppped: negative count (-2)",
        "total_leads_droppped: not a whole number (1.5)",
        "created_date: not an ISO 8601 date ('31/12/2021 xx')",
        "created_date: missing",
        "app_complete_flag: not 0 or 1 (2)",
        "app_complete_flag: missing",
        "referred_lead: not 0 or 1 (3)",
        "emi_plans_clicked: negative count (-1); syllabus_expand: not a number ('many')",
        "lead_id: repeats an earlier row ('0')",
    ]
    # The raw values travel with the rejected row, indexed by its row in the raw frame.
    assert rejected.index.tolist() == list(range(1, 11))
    assert rejected.loc[1, "total_leads_droppped"] == "abc"
    assert intake["rows_read"] == 11
    assert intake["rows_rejected"] == 10
    assert intake["reject_reasons"]["total_leads_droppped: not a number"] == 1
    assert intake["reject_reasons"]["lead_id: repeats an earlier row"] == 1


@pytest.mark.parametrize("marker", sorted(MISSING_VALUE_TEXTS - {""}))
def test_missing_value_texts_are_missing_however_the_column_is_read(
    processing_params, tmp_path, marker
):
    """The CSV reader takes "NA", "null", ... for a missing number or date. One value that is
    neither makes it read the whole column as text: the same texts are missing there too."""
    rows = [
        {"total_leads_droppped": marker},  # a missing count: 0 later, not a reject
        {"app_complete_flag": marker},
        {"created_date": marker},
        {},
    ]
    odd = {"total_leads_droppped": "abc", "app_complete_flag": "x", "created_date": "soon"}
    verdicts = {}
    for name, file_rows in (("typed", rows), ("text", [*rows, odd])):
        path = tmp_path / f"{name}.csv"
        make_raw(processing_params, file_rows).to_csv(path, index=False)
        raw = read_raw_leads(path)
        numeric = pd.api.types.is_float_dtype(raw["total_leads_droppped"])
        assert numeric is (name == "typed")  # each file exercises one way of reading
        valid, rejected, _, _ = processing.validate_raw_leads(raw, processing_params)
        verdicts[name] = (valid["lead_id"].tolist(), rejected["reason"].tolist())
    expected_reasons = ["app_complete_flag: missing", "created_date: missing"]
    assert verdicts["typed"] == (["0", "3"], expected_reasons)
    assert verdicts["text"] == (
        ["0", "3"],
        [
            *expected_reasons,
            "created_date: not an ISO 8601 date ('soon'); total_leads_droppped: not a number "
            "('abc'); app_complete_flag: not a number ('x')",
        ],
    )


def test_parse_errors_from_the_reader_are_rejected(processing_params):
    raw = make_raw(processing_params, [{}, {"": None, "created_date": None}])
    raw[PARSE_ERROR_COLUMN] = [None, "malformed line 3: 47 fields, header has 46"]
    valid, rejected, intake, _ = processing.validate_raw_leads(raw, processing_params)
    assert len(valid) == 1
    assert rejected["reason"].tolist() == ["malformed line 3: 47 fields, header has 46"]
    assert PARSE_ERROR_COLUMN not in rejected.columns
    assert intake["reject_reasons"]["malformed line"] == 1


def test_missing_columns_stop_with_file_and_every_column_named(processing_params):
    raw = make_raw(processing_params, [{}]).drop(columns=["city_mapped", "syllabus"])
    raw.attrs["source"] = "exports/leads.csv"
    with pytest.raises(LeadDataError) as error:
        processing.validate_raw_leads(raw, processing_params)
    assert (
        str(error.value) == "exports/leads.csv: missing required column(s): city_mapped, syllabus"
    )


def test_single_column_header_hints_at_the_delimiter(processing_params):
    raw = pd.DataFrame({"created_date;city_mapped;first_platform_c": ["x"]})
    raw.attrs["source"] = "leads.csv"
    with pytest.raises(LeadDataError, match=r"leads\.csv: missing .*is the delimiter ','\?"):
        processing.validate_raw_leads(raw, processing_params)


def test_extra_columns_are_dropped(processing_params):
    raw = make_raw(processing_params, [{}])
    raw["utm_campaign"] = "x"
    valid, _, intake, _ = processing.validate_raw_leads(raw, processing_params)
    assert "utm_campaign" not in valid.columns
    assert intake["extra_columns_dropped"] == ["utm_campaign"]


def test_label_is_optional(processing_params):
    valid, rejected, _ = _validate(processing_params, [{}, {}], labeled=False)
    assert "app_complete_flag" not in valid.columns
    assert len(valid) == 2 and rejected.empty


def test_duplicates_dropped_only_in_labeled_data(processing_params):
    rows = [{"": 1}, {"": 2}, {"": 3, "referred_lead": 1}, {"": 4}]
    labeled, _, _ = _validate(processing_params, rows)
    unique, counts = processing.drop_duplicate_leads(labeled, processing_params)
    assert unique["lead_id"].tolist() == ["1", "3"]
    assert counts == {"duplicates_dropped": 2}

    unlabeled, _, _ = _validate(processing_params, rows, labeled=False)
    kept, counts = processing.drop_duplicate_leads(unlabeled, processing_params)
    assert kept["lead_id"].tolist() == ["1", "2", "3", "4"]
    assert counts == {"duplicates_dropped": 0}


def test_interaction_sums_count_missing_as_zero(processing_params):
    rows = [
        {"careers": 2, "career_coach": 3, "emi_plans_clicked": 7, "syllabus": None},
        {"chat_clicked": 1, "whatsapp_chat_click": 4, "shorts_entry_click": 5, "syllabus": 9},
        {},
    ]
    valid, _, _ = _validate(processing_params, rows)
    summed = processing.sum_interactions(valid, processing_params)
    assert summed["career_interaction"].tolist() == [5, 0, 0]
    assert summed["payment_interaction"].tolist() == [7, 0, 0]
    assert summed["assistance_interaction"].tolist() == [0, 5, 0]
    assert summed["social_interaction"].tolist() == [0, 5, 0]
    assert summed["syllabus_interaction"].tolist() == [0, 9, 0]
    assert "careers" not in summed.columns
    assert summed["career_interaction"].dtype == "int64"


@pytest.mark.parametrize(
    ("city", "tier"),
    [
        ("mumbai", 1),
        ("NCR", 1),
        ("jaipur", 2),
        ("calcutta", 1),  # alias of kolkata
        ("visakhapatnam", 2),  # alias of vishakapatnam
        ("chandigarh", 3),  # listed tier 3
        ("town_never_seen", 3),
        (None, 3),
    ],
)
def test_city_tier(processing_params, city, tier):
    valid, _, _ = _validate(processing_params, [{"city_mapped": city}])
    tiered = processing.add_city_tier(valid, processing_params)
    assert tiered["city_tier"].tolist() == [tier]
    assert "city_mapped" not in tiered.columns


def test_fill_missing_counts_with_zero(processing_params):
    rows = [{"total_leads_droppped": None, "referred_lead": None}, {"total_leads_droppped": 4}]
    valid, _, _ = _validate(processing_params, rows)
    filled = processing.fill_missing_counts(valid, processing_params)
    assert filled["total_leads_droppped"].tolist() == [0, 4]
    assert filled["referred_lead"].tolist() == [0, 0]
    assert filled["total_leads_droppped"].dtype == "int64"


def test_model_input_columns_and_values(processing_params):
    rows = [{"": 5, "city_mapped": "pune", "first_utm_source_c": "Level99", "careers": 1}]
    valid, _, _ = _validate(processing_params, rows)
    frame = processing.select_model_input(
        processing.fill_missing_counts(
            processing.add_city_tier(
                processing.sum_interactions(valid, processing_params), processing_params
            ),
            processing_params,
        ),
        processing_params,
    )
    assert frame.to_dict("records") == [
        {
            "lead_id": "5",
            "created_date": pd.Timestamp("2021-08-01 10:00:00"),
            "city_tier": 1,
            "first_platform_c": "Level0",
            "first_utm_medium_c": "Level0",
            "first_utm_source_c": "Level99",
            "total_leads_droppped": 1,
            "referred_lead": 0,
            "assistance_interaction": 0,
            "career_interaction": 1,
            "payment_interaction": 0,
            "social_interaction": 0,
            "syllabus_interaction": 0,
            "app_complete_flag": 1,
        }
    ]


def test_row_accounting_passes_the_outputs_on_or_stops_before_any_write():
    intake = {"rows_read": 10, "rows_rejected": 3, "reject_reasons": {}}
    rejected, example = pd.DataFrame({"r": range(3)}), pd.DataFrame({"e": [1]})
    model_input = pd.DataFrame({"a": range(5), "label": 1})
    out, out_rejected, report, out_example = nodes.account_for_rows(
        intake, {"duplicates_dropped": 2}, model_input, rejected, example, GATE
    )
    assert out is model_input and out_example is example
    pd.testing.assert_frame_equal(out_rejected, rejected)  # spreadsheet-safe: no text here
    assert report == {
        "rows_read": 10,
        "rows_rejected": 3,
        "reject_reasons": {},
        "duplicates_dropped": 2,
        "rows_out": 5,
    }
    with pytest.raises(RuntimeError, match="read 10 rows but 4 out"):
        nodes.account_for_rows(
            intake,
            {"duplicates_dropped": 2},
            model_input.head(4),
            rejected,
            example,
            GATE,
        )
    with pytest.raises(RuntimeError, match="2 rejected rows, but validation counted 3"):
        nodes.account_for_rows(
            intake, {"duplicates_dropped": 2}, model_input, rejected.head(2), example, GATE
        )


def test_the_pipeline_writes_only_after_the_rows_add_up():
    from codepro_leads.pipelines.data_processing import create_pipeline

    persisted = {
        "model_input_leads",
        "rejected_leads",
        "data_processing_report",
        "raw_leads_example",
    }
    writers = {n.name for n in create_pipeline().nodes if persisted & set(n.outputs)}
    assert writers == {"account_for_rows"}


def test_numeric_columns_read_as_numbers_are_checked_too(processing_params):
    raw = make_raw(processing_params, [{}, {}, {}])
    raw["total_leads_droppped"] = np.array([1.0, np.inf, np.nan])
    valid, rejected, _, _ = processing.validate_raw_leads(raw, processing_params)
    assert valid["lead_id"].tolist() == ["0", "2"]
    assert rejected["reason"].tolist() == ["total_leads_droppped: not a number (inf)"]


def test_raw_example_is_the_first_valid_rows_as_read(processing_params):
    rows = [{"": 99, "total_leads_droppped": "x"}] + [
        {"": i, "city_mapped": f"c{i}"} for i in range(6)
    ]
    raw = make_raw(processing_params, rows)
    *_, example = processing.validate_raw_leads(raw, processing_params)
    assert example["lead_id"].tolist() == ["0", "1", "2", "3", "4"]
    assert example["city_mapped"].tolist() == ["c0", "c1", "c2", "c3", "c4"]
    assert example.columns[0] == "lead_id"
    assert example.columns[-1] == "app_complete_flag"
    assert len(example.columns) == 46


def test_dates_in_any_iso_8601_form(processing_params):
    rows = [
        {"created_date": "2022-02-15T10:00:00"},
        {"created_date": "2022-02-15"},
        {"created_date": "2022-02-15 10:00:00+05:30"},  # offsets are converted to UTC
    ]
    valid, rejected, _ = _validate(processing_params, rows)
    assert rejected.empty
    assert valid["created_date"].tolist() == [
        pd.Timestamp("2022-02-15 10:00:00"),
        pd.Timestamp("2022-02-15 00:00:00"),
        pd.Timestamp("2022-02-15 04:30:00"),
    ]


def test_a_lead_id_column_in_any_position_is_the_key(processing_params):
    raw = make_raw(processing_params, [{}, {}]).drop(columns="")
    raw.insert(5, "lead_id", ["crm-7", "crm-9"])
    valid, rejected, intake, _ = processing.validate_raw_leads(raw, processing_params)
    assert valid["lead_id"].tolist() == ["crm-7", "crm-9"]
    assert intake["key"] == "lead_id"
    assert intake["extra_columns_dropped"] == []
    assert rejected.empty


def test_without_a_key_new_leads_stop_and_training_exports_get_row_numbers(processing_params):
    raw = make_raw(processing_params, [{}, {}], labeled=False).drop(columns="")
    raw.attrs["source"] = "new.csv"
    valid, _, intake, _ = processing.validate_raw_leads(raw, processing_params, "row_number")
    assert valid["lead_id"].tolist() == ["0", "1"]
    assert intake["key"] == "row number"
    with pytest.raises(LeadDataError) as error:
        processing.validate_raw_leads(raw, processing_params, "stop")
    assert str(error.value) == (
        "new.csv: no lead key: add a 'lead_id' column (or a leading unnamed index column) "
        "so that scores can be joined back to the CRM"
    )


def test_an_unknown_missing_key_option_is_refused(processing_params):
    with pytest.raises(ConfigError, match="missing_key must be row_number or stop, not 'drop'"):
        processing.validate_raw_leads(make_raw(processing_params, [{}]), processing_params, "drop")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("99999999999999999999", "'99999999999999999999'"),
        ("1e30", "'1e30'"),
        (1e30, "1e+30"),
        (1_000_001, "1000001"),
    ],
)
def test_counts_beyond_the_bound_are_rejected_not_wrapped(processing_params, value, shown):
    rows = [{"total_leads_droppped": value}, {"syllabus": value}, {"total_leads_droppped": 10**6}]
    valid, rejected, _ = _validate(processing_params, rows)
    assert rejected["reason"].tolist() == [
        f"total_leads_droppped: above 1e+06 ({shown})",
        f"syllabus: above 1e+06 ({shown})",
    ]
    assert valid["total_leads_droppped"].tolist() == [1_000_000.0]


@pytest.mark.parametrize("typed", [False, True])
def test_dates_out_of_pandas_range_are_rejected_per_row(processing_params, typed):
    rows = [{"created_date": "2300-01-01 00:00:00"}, {"created_date": "2022-01-01 10:00:00"}]
    raw = make_raw(processing_params, rows)
    if typed:  # as pyarrow reads an all-date column: seconds, beyond nanosecond range
        raw["created_date"] = np.array(["2300-01-01", "2022-01-01T10:00"], dtype="datetime64[s]")
    valid, rejected, _, _ = processing.validate_raw_leads(raw, processing_params)
    assert valid["created_date"].tolist() == [pd.Timestamp("2022-01-01 10:00:00")]
    shown = "'2300-01-01 00:00:00'"
    assert rejected["reason"].tolist() == [
        f"created_date: out of range (years 1678 to 2261) ({shown})"
    ]


def test_quoted_city_names_of_a_cp1252_export_find_their_tier(processing_params):
    leads = pd.DataFrame({"city_mapped": ["\u201cpune\u201d", "'Jaipur HQ'", "nowhere"]})
    tiers = processing.add_city_tier(leads.astype("string"), processing_params)["city_tier"]
    assert tiers.tolist() == [1, 2, 3]


def test_keys_that_look_like_numbers_stay_distinct_text(processing_params, tmp_path):
    keys = ["00042", "01", "1", *(str(10**19 + i) for i in range(2_000))]
    path = tmp_path / "leads.csv"
    make_raw(processing_params, [{"": key} for key in keys]).to_csv(path, index=False)
    raw = RawLeadsDataset(str(path)).load()
    valid, rejected, _, _ = processing.validate_raw_leads(raw, processing_params)
    assert rejected.empty
    assert valid["lead_id"].tolist() == keys


def test_rejected_rows_are_written_spreadsheet_safe(processing_params):
    rows = [{}, {"city_mapped": '=HYPERLINK("http://x","y")', "total_leads_droppped": "-1"}]
    raw = make_raw(processing_params, rows)
    valid, rejected, intake, example = processing.validate_raw_leads(raw, processing_params)
    unique, duplicates = processing.drop_duplicate_leads(valid, processing_params)
    gate = {"label_column": "app_complete_flag", "min_rows": 1}
    _, written, _, _ = nodes.account_for_rows(intake, duplicates, unique, rejected, example, gate)
    assert written["city_mapped"].tolist() == ['\'=HYPERLINK("http://x","y")']
    assert written["total_leads_droppped"].tolist() == ["-1"]
    assert written["reason"].tolist() == ["total_leads_droppped: negative count ('-1')"]


@pytest.mark.parametrize(
    ("rows", "labeled", "message"),
    [
        (
            [{}] * 3,
            False,
            "raw_leads: no 'app_complete_flag' column (the label): data_processing prepares "
            "labeled training leads; new leads are scored by the inference pipeline",
        ),
        (
            [{"created_date": "x"}, {"created_date": "y"}, {"referred_lead": 5}],
            True,
            "raw_leads: 0 usable leads of 3 read, at least 2 needed; most rejected for: "
            "created_date: not an ISO 8601 date (2); referred_lead: not 0 or 1 (1)",
        ),
        (
            [{}, {"created_date": "x"}, {"referred_lead": 5}],
            True,
            "raw_leads: 1 usable leads of 3 read, at least 2 needed; most rejected for: "
            "created_date: not an ISO 8601 date (1); referred_lead: not 0 or 1 (1)",
        ),
    ],
)
def test_a_run_with_nothing_usable_stops_in_one_line_before_any_write(
    processing_params, rows, labeled, message
):
    raw = make_raw(processing_params, rows, labeled=labeled)
    valid, rejected, intake, example = processing.validate_raw_leads(raw, processing_params)
    unique, duplicates = processing.drop_duplicate_leads(valid, processing_params)
    params = {**processing_params, "min_rows": 2}
    with pytest.raises(LeadDataError) as error:
        nodes.account_for_rows(intake, duplicates, unique, rejected, example, params)
    assert str(error.value) == message


def test_true_false_labels_get_the_same_verdicts_whichever_path_reads_them(
    processing_params, tmp_path
):
    rows = [{"app_complete_flag": "TRUE"}, {"app_complete_flag": "FALSE"}, {"referred_lead": "x"}]
    verdicts = []
    for ragged in ("", "99,too,few\n"):
        path = tmp_path / "leads.csv"
        path.write_text(make_raw(processing_params, rows).to_csv(index=False) + ragged)
        raw = RawLeadsDataset(str(path)).load()
        assert (PARSE_ERROR_COLUMN in raw.columns) is bool(ragged)  # each path is exercised
        valid, rejected, _, _ = processing.validate_raw_leads(raw, processing_params)
        verdicts.append((valid["app_complete_flag"].tolist(), rejected["reason"].tolist()[:1]))
    assert verdicts[0] == verdicts[1] == ([1, 0], ["referred_lead: not a number ('x')"])
