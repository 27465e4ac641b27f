"""Profiling nodes: exact summaries of known small frames, report settings, a tiny report."""

from __future__ import annotations

import copy
import warnings

import pandas as pd
import pytest

from codepro_leads.pipelines.profiling.nodes import profile_html, profile_settings, summarize_leads
from tests.conftest import make_raw

N_RAW_INTERACTIONS = 37


@pytest.fixture
def raw(processing_params):
    """Four raw rows: a missing city, a missing count, two leads with interactions, one
    unusable label (2)."""
    return make_raw(
        processing_params,
        [
            {},
            {"city_mapped": None, "first_platform_c": "Level3", "app_complete_flag": 0,
             "syllabus_expand": 3},
            {"city_mapped": "pune", "total_leads_droppped": None, "app_complete_flag": 0,
             "syllabus_expand": 0, "emi_plans_clicked": 2},
            {"app_complete_flag": 2},
        ],
    )  # fmt: skip


def test_raw_summary_has_exact_counts_shares_levels_and_sparsity(raw, processing_params):
    summary = summarize_leads(raw, processing_params)

    assert summary["rows"] == 4
    assert summary["columns"] == 46  # key + 44 export columns + label
    missing = summary["missing_share"]
    assert "" not in missing and missing["lead_id"] == 0.0  # the unnamed key gets its name
    assert missing["city_mapped"] == 0.25
    assert missing["total_leads_droppped"] == 0.25
    assert missing["syllabus_expand"] == 0.5
    assert missing["emi_plans_clicked"] == 0.75
    assert missing["career_coach"] == 1.0
    assert summary["distinct_levels"] == {
        "city_mapped": 2,
        "first_platform_c": 2,
        "first_utm_medium_c": 1,
        "first_utm_source_c": 1,
    }
    assert summary["labeled_rows"] == 3  # the label 2 is not a label
    assert summary["label_rate"] == 1 / 3
    sparsity = summary["interaction_sparsity"]
    assert len(sparsity["columns"]) == N_RAW_INTERACTIONS
    assert sparsity["rows_with_any"] == 0.5  # rows 1 and 2; a 0 count is no interaction
    assert sparsity["empty_cell_share"] == pytest.approx(
        1 - 2 / (4 * N_RAW_INTERACTIONS), abs=1e-15
    )
    active = {col: share for col, share in sparsity["active_share"].items() if share}
    assert active == {"syllabus_expand": 0.25, "emi_plans_clicked": 0.25}


def test_model_input_summary_uses_group_sums_and_city_tier(processing_params):
    leads = pd.DataFrame(
        {
            "lead_id": [1, 2, 3, 4, 5],
            "created_date": pd.to_datetime(["2021-08-01"] * 5),
            "city_tier": pd.Series([1, 3, 3, 2, 3], dtype="int8"),
            "first_platform_c": pd.Series(["Level0", "Level3", None, "Level0", "Level0"],
                                          dtype="string"),
            "first_utm_medium_c": pd.Series(["Level0"] * 5, dtype="string"),
            "first_utm_source_c": pd.Series(["Level2", "Level2", "Level6", "Level7", "Level2"],
                                            dtype="string"),
            "total_leads_droppped": [1, 2, 1, 1, 5],
            "referred_lead": [0, 0, 1, 0, 0],
            "assistance_interaction": [0, 0, 0, 0, 0],
            "career_interaction": [0, 2, 0, 0, 0],
            "payment_interaction": [0, 1, 0, 0, 4],
            "social_interaction": [0, 0, 0, 0, 0],
            "syllabus_interaction": [0, 0, 0, 0, 0],
            "app_complete_flag": pd.Series([1, 1, 0, 1, 0], dtype="int8"),
        }
    )  # fmt: skip

    summary = summarize_leads(leads, processing_params)

    assert summary["rows"] == 5 and summary["columns"] == 14
    assert summary["missing_share"]["first_platform_c"] == 0.2
    assert summary["distinct_levels"] == {
        "city_tier": 3,
        "first_platform_c": 2,
        "first_utm_medium_c": 1,
        "first_utm_source_c": 3,
    }
    assert summary["label_rate"] == 0.6
    sparsity = summary["interaction_sparsity"]
    assert sparsity["columns"] == [
        "assistance_interaction",
        "career_interaction",
        "payment_interaction",
        "social_interaction",
        "syllabus_interaction",
    ]
    assert sparsity["rows_with_any"] == 0.4
    assert sparsity["empty_cell_share"] == pytest.approx(1 - 3 / 25, abs=1e-15)
    assert sparsity["active_share"]["payment_interaction"] == 0.4
    assert sparsity["active_share"]["career_interaction"] == 0.2


def test_unlabeled_leads_have_no_label_rate(raw, processing_params):
    summary = summarize_leads(raw.drop(columns="app_complete_flag"), processing_params)
    assert summary["labeled_rows"] == 0 and summary["label_rate"] is None


def test_settings_map_correlation_switches_and_copy_extra_arguments():
    params = {
        "title": "t",
        "minimal": True,
        "correlations": {"auto": False, "pearson": True},
        "profile_args": {"vars": {"num": {"low_categorical_threshold": 0}}},
    }
    before = copy.deepcopy(params)
    settings = profile_settings(params)
    assert settings["correlations"] == {
        "auto": {"calculate": False},
        "pearson": {"calculate": True},
    }
    assert settings["minimal"] is True and settings["progress_bar"] is False
    settings["vars"]["num"]["low_categorical_threshold"] = 99
    assert params == before


def test_report_is_html_with_correlations_and_no_import_notice(raw, processing_params, capsys):
    report_params = {
        "title": "Tiny raw export",
        "minimal": True,
        "correlations": {"auto": False, "pearson": True},
    }
    # Few columns: a report's time is mostly one plot per column.
    columns = ["", "city_mapped", "total_leads_droppped", "syllabus_expand", "app_complete_flag"]
    leads = pd.concat([raw[columns]] * 5, ignore_index=True)
    showwarning = warnings.showwarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        html = profile_html(leads, report_params, processing_params)

    assert html.startswith("<!doctype html>") or html.lstrip().lower().startswith("<!doctype")
    assert "Tiny raw export" in html
    assert "Correlations" in html
    assert not [w for w in caught if "ydata_profiling" in str(w.message)]
    assert warnings.showwarning is showwarning
    # progress_bar=False reaches ydata-profiling: none of its named bars shows (its unnamed
    # per-variable bar ignores the setting).
    err = capsys.readouterr().err
    assert [bar for bar in ("Summarize dataset", "Render HTML") if bar in err] == []
