"""data_processing end to end through KedroSession, in a throw-away copy of the project."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from codepro_leads.errors import LeadDataError
from tests.conftest import make_raw, run_pipeline

pytestmark = pytest.mark.slow


def _run(project, raw_path, min_rows=1):
    params = {"raw_leads_path": str(raw_path), "data_processing": {"min_rows": min_rows}}
    run_pipeline(project, "data_processing", params)


def test_data_processing_run(project, processing_params, caplog):
    rows = [
        {"": 10, "city_mapped": "Bengaluru", "careers": 2, "syllabus": 1},
        {"": 11, "total_leads_droppped": "lots"},
        {"": 12, "city_mapped": None, "referred_lead": 1, "app_complete_flag": 0},
        {"": 13, "city_mapped": "Bengaluru", "careers": 2, "syllabus": 1},  # duplicate of 10
    ]
    raw_path = project / "export.csv"
    make_raw(processing_params, rows).to_csv(raw_path, index=False)

    with caplog.at_level(logging.INFO):
        _run(project, raw_path)
    # The run ends with its summary, in plain words.
    assert caplog.records[-1].name == "codepro_leads.run_summary"
    assert caplog.records[-1].getMessage() == (
        "Summary: data_processing prepared the leads for training.\n"
        "  4 rows read: 2 ready for training, 1 rejected, 1 duplicates dropped.\n"
        "Results:\n"
        "  Leads for training: data/05_model_input/model_input_leads.parquet\n"
        "  Rejected rows, each with its reason: data/02_intermediate/rejected_leads.csv\n"
        "  Report: data/08_reporting/data_processing_report.json\n"
        "Next: kedro run --pipelines training"
    )

    model_input = pd.read_parquet(project / "data/05_model_input/model_input_leads.parquet")
    assert model_input[["lead_id", "city_tier", "referred_lead", "app_complete_flag"]].to_dict(
        "list"
    ) == {
        "lead_id": ["10", "12"],
        "city_tier": [1, 3],
        "referred_lead": [0, 1],
        "app_complete_flag": [1, 0],
    }
    assert model_input["career_interaction"].tolist() == [2, 0]
    assert model_input["syllabus_interaction"].tolist() == [1, 0]

    rejected = pd.read_csv(project / "data/02_intermediate/rejected_leads.csv")
    assert rejected["lead_id"].tolist() == [11]
    assert rejected["reason"].tolist() == ["total_leads_droppped: not a number ('lots')"]

    report = json.loads((project / "data/08_reporting/data_processing_report.json").read_text())
    assert {
        k: report[k] for k in ("rows_read", "rows_out", "rows_rejected", "duplicates_dropped")
    } == {
        "rows_read": 4,
        "rows_out": 2,
        "rows_rejected": 1,
        "duplicates_dropped": 1,
    }


def test_missing_raw_file_names_the_file(project):
    with pytest.raises(Exception) as error:
        _run(project, project / "absent.csv")
    cause = error.value
    while cause is not None and not isinstance(cause, LeadDataError):
        cause = cause.__cause__
    assert str(cause) == f"{project / 'absent.csv'}: file not found"


def test_only_the_gated_outputs_are_written_and_nothing_else(project, processing_params):
    raw_path = project / "export.csv"
    make_raw(processing_params, [{"": i} for i in range(3)]).to_csv(raw_path, index=False)

    _run(project, raw_path)

    written = sorted(str(p.relative_to(project / "data")) for p in project.rglob("data/**/*.*"))
    assert written == [
        "02_intermediate/rejected_leads.csv",
        "05_model_input/model_input_leads.parquet",
        "05_model_input/raw_leads_example.csv",
        "08_reporting/data_processing_report.json",
    ]


def test_a_latin1_export_decodes_with_its_declared_encoding(project, processing_params):
    rows = [{"": 1, "city_mapped": "\u201cpune\u201d"}, {"": 2, "city_mapped": "Bhopal HQ"}]
    raw_path = project / "export.csv"
    make_raw(processing_params, rows).to_csv(raw_path, index=False, encoding="cp1252")

    run_pipeline(
        project,
        "data_processing",
        {
            "raw_leads_path": str(raw_path),
            "raw_leads_encoding": "cp1252",
            "data_processing": {"min_rows": 1},
        },
    )

    model_input = pd.read_parquet(project / "data/05_model_input/model_input_leads.parquet")
    assert model_input["city_tier"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("labeled", "bad", "message"),
    [
        (False, {}, "raw_leads: no 'app_complete_flag' column (the label)"),
        (True, {"created_date": "soon"}, "raw_leads: 0 usable leads of 3 read, at least 2 needed"),
    ],
)
def test_a_run_with_nothing_usable_fails_and_keeps_the_previous_outputs(
    project, processing_params, labeled, bad, message
):
    good = project / "good.csv"
    rows = [{"": i, "careers": i} for i in range(3)]  # distinct: no duplicates dropped
    make_raw(processing_params, rows).to_csv(good, index=False)
    _run(project, good, min_rows=2)
    outputs = sorted((project / "data").rglob("*.*"))
    before = {path: path.read_bytes() for path in outputs}

    wrong = project / "wrong.csv"
    rows = [{"": i, **bad} for i in range(3)]
    make_raw(processing_params, rows, labeled=labeled).to_csv(wrong, index=False)
    with pytest.raises(Exception) as error:
        _run(project, wrong, min_rows=2)
    cause = error.value
    while cause is not None and not isinstance(cause, LeadDataError):
        cause = cause.__cause__
    assert str(cause).startswith(message)
    assert sorted((project / "data").rglob("*.*")) == outputs
    assert {path: path.read_bytes() for path in outputs} == before
