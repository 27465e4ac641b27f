"""Each page of the sales app in Streamlit's AppTest, on a small trained project: the numbers
shown are the champion's own ``predict`` on the same input."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from codepro_leads.app import MAX_UPLOAD_MB, scoring, store, wording
from codepro_leads.app.__main__ import streamlit_command
from tests.app.conftest import open_page
from tests.conftest import run_pipeline

PAGES_NEEDING_A_CHAMPION = ["score_lead", "score_file", "model_health"]
HEADLINE_LABELS = ("ROC AUC", "Precision", "Recall", "Junk share", "Completions kept")


def _raw_record(model, values: dict) -> pd.DataFrame:
    """A raw CodePro row: ``values``, every other column missing."""
    params = model.processing_params
    groups = params["interaction_groups"].values()
    columns = [
        "lead_id",
        "created_date",
        "city_mapped",
        *params["categorical_columns"],
        "total_leads_droppped",
        "referred_lead",
        *[c for cols in groups for c in cols],
    ]
    return pd.DataFrame([{col: values.get(col) for col in columns}])


def test_score_a_lead_shows_the_models_answer(trained_project, champion):
    model = champion.model
    app = open_page()
    app.text_input(key="lead_id").set_value("L-17")
    app.selectbox(key="city_mapped").set_value("kochi")
    platform = model.scorer.encoder.categorical_levels["first_platform_c"][1]
    app.selectbox(key="first_platform_c").set_value(platform)
    app.number_input(key="total_leads_droppped").set_value(4)
    app.checkbox(key="referred_lead").check()
    app.number_input(key="syllabus").set_value(2)
    app.button[0].click().run()
    assert not app.exception and not app.error

    levels = model.scorer.encoder.categorical_levels
    expected = model.answer(
        _raw_record(
            model,
            {
                "lead_id": "L-17",
                "created_date": date.today().isoformat(),
                "city_mapped": "kochi",
                "first_platform_c": platform,
                "first_utm_medium_c": levels["first_utm_medium_c"][0],
                "first_utm_source_c": levels["first_utm_source_c"][0],
                "total_leads_droppped": 4,
                "referred_lead": 1,
                **{
                    c: 0
                    for cols in model.processing_params["interaction_groups"].values()
                    for c in cols
                },
                "syllabus": 2,
            },
        ),
    ).iloc[0]
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown == {
        "Score": str(expected["score"]),
        "Grade": expected["grade"],
        "Chance to complete the application": f"{expected['probability']:.1%}",
        "Junk": "yes" if expected["is_junk"] else "no",
    }
    factor_lines = [m.value for m in app.markdown if m.value.startswith("**")]
    for text, direction in zip(factor_lines, ("up", "down"), strict=True):
        lines = [
            f"- {wording.factor_in_words(label)} ({wording.strength(effect)})"
            for label, effect in wording.factors_of_row(expected, direction)
        ]
        assert text.splitlines()[1:] == (lines or ["- nothing stands out"])


def test_score_a_lead_rejects_what_the_rules_reject(trained_project):
    app = open_page()
    app.text_input(key="lead_id").set_value("   ")
    app.button[0].click().run()
    assert [e.value for e in app.error] == ["This lead cannot be scored: lead_id: missing"]
    assert not app.exception


def _upload(app, name: str, content: bytes):
    app.file_uploader(key="upload").set_value((name, content, "text/csv")).run()
    assert not app.exception
    return app


def test_score_a_file_scores_and_rejects_by_the_models_rules(trained_project, champion):
    raw = pd.read_csv(trained_project / "data" / "01_raw" / "new_leads.csv", nrows=40)
    raw.loc[3, "created_date"] = "yesterday"
    raw.loc[7, "total_leads_droppped"] = -2
    content = raw.to_csv(index=False).encode()
    expected = champion.model.answer(pd.read_csv(io.BytesIO(content)))
    scored = expected[expected["rejected_reason"].isna()]

    app = _upload(open_page("score_file"), "leads.csv", content)
    assert app.success[0].value.startswith("leads.csv: 40 rows, 38 scored, 2 rejected, in ")
    rejected = app.dataframe[1].value
    assert rejected["row"].tolist() == [4, 8]
    assert rejected["rejected_reason"].tolist() == expected["rejected_reason"].dropna().tolist()
    counts = app.dataframe[0].value
    assert counts["leads"].tolist() == [
        int((scored["grade"] == g).sum()) for g in champion.model.scorer.grade_bands
    ]
    assert app.dataframe[2].value["score"].tolist() == scored["score"].tolist()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "bad.csv: file is empty (expected a CSV header and lead rows)"),
        (b"lead_id,created_date\n1,2022-02-20\n", "bad.csv: missing required column(s): "),
    ],
)
def test_score_a_file_says_in_one_line_why_a_file_is_unusable(trained_project, content, message):
    app = _upload(open_page("score_file"), "bad.csv", content)
    assert len(app.error) == 1 and app.error[0].value.startswith(message)
    assert not app.success


def test_every_page_says_how_to_get_a_champion(project):
    for page in PAGES_NEEDING_A_CHAMPION:
        app = open_page(page)
        assert [w.value for w in app.warning] == [
            f"No champion model in sqlite:///{project / 'mlflow.db'} yet. "
            "Train one with `make run` (or `kedro run --pipelines training`)."
        ]


def test_an_empty_store_says_how_to_get_scores(trained_project):
    app = open_page("leads_to_call")
    assert [i.value for i in app.info] == [
        "No scored leads in the score store yet. "
        "Score the new leads with `make run` (or `kedro run --pipelines inference`)."
    ]
    app = open_page("model_health")
    assert [i.value.split(".")[0] for i in app.info] == [
        "No scores of this champion in the store yet",
        "No monitoring runs yet",
    ]
    assert [h.value for h in app.subheader][-1] == "Challenger"  # no realized performance


def _record_performance(project, weeks: list[str], auc: list[float]) -> None:
    performance = pd.DataFrame(
        {
            "model_version": "1",
            "role": "champion",
            "week": pd.to_datetime(weeks),
            "leads": [800, 700][: len(weeks)],
            "export_sha256": "0" * 64,
            "realized_auc": auc,
        }
    )
    engine = sa.create_engine(f"sqlite:///{project / 'data' / 'lead_scores.db'}")
    performance.to_sql(store.PERFORMANCE, engine, index=False)


def test_realized_performance_is_shown_once_recorded(trained_project):
    _record_performance(trained_project, ["2022-02-21", "2022-02-14"], [0.79, 0.81])
    app = open_page("model_health")
    assert app.subheader[-1].value == "Realized performance (leads whose outcome is known)"
    shown = app.dataframe[-1].value
    assert list(shown.columns) == ["model", "week", "leads", "realized_auc"]  # no fingerprint
    assert shown["week"].tolist() == list(pd.to_datetime(["2022-02-14", "2022-02-21"]))
    assert shown["realized_auc"].tolist() == [0.81, 0.79]
    assert len(app.get("vega_lite_chart")) == 2  # the grades and the two weeks (no scores)
    assert [m.label for m in app.metric] == list(HEADLINE_LABELS)


def test_one_week_of_realized_performance_is_a_number_not_a_chart(trained_project):
    _record_performance(trained_project, ["2022-02-14"], [0.81417])
    app = open_page("model_health")
    assert len(app.get("vega_lite_chart")) == 1  # the grades only (no stored scores)
    assert [(m.label, m.value) for m in app.metric][-1] == ("v1 champion", "0.814")
    assert "**Realized ROC AUC**, week of Feb 14" in [m.value for m in app.markdown]


def _stored(project) -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{project / 'data' / 'lead_scores.db'}")
    with engine.connect() as connection:
        return pd.read_sql("SELECT * FROM scored_leads", connection)


def test_leads_to_call_and_monitoring_after_a_scoring_run(trained_project, champion):
    run_pipeline(trained_project, "inference")
    stored = _stored(trained_project)
    if "role" in stored:
        stored = stored[stored["role"] == "champion"]

    app = open_page("leads_to_call")
    kept = stored[~stored["is_junk"].astype(bool)].sort_values("score", ascending=False)
    assert app.markdown[0].value.startswith(f"**{len(kept):,} leads** of {len(stored):,}, ")
    listed = app.dataframe[0].value
    assert listed["score"].tolist() == kept["score"].head(100).tolist()
    assert not listed["is_junk"].any()

    app.radio(key="junk").set_value("Only junk")
    app.multiselect(key="grades").set_value(["D"]).run()
    junk_d = stored[stored["is_junk"].astype(bool) & (stored["grade"] == "D")]
    assert app.markdown[0].value.startswith(f"**{len(junk_d):,} leads** of {len(stored):,}, ")
    assert set(app.dataframe[0].value["grade"]) == {"D"}

    app = open_page("model_health")
    assert not app.error and not app.info
    assert app.metric[0].label == "ROC AUC"
    engine = sa.create_engine(f"sqlite:///{trained_project / 'data' / 'lead_scores.db'}")
    with engine.connect() as connection:
        status = connection.scalar(sa.text("SELECT status FROM monitoring_runs"))
    latest = [m.value for m in app.markdown if m.value.startswith("Latest run ")]
    assert len(latest) == 1 and f": **{status.replace('_', ' ')}** (largest PSI " in latest[0]
    assert len(app.get("vega_lite_chart")) == 2  # grades and scores; one run is the line above

    run_pipeline(trained_project, "inference")
    app = open_page("model_health")
    assert len(app.get("vega_lite_chart")) == 3  # and the drift history of the two runs
    assert len(app.dataframe[0].value) == 2


def test_score_a_file_keeps_keys_as_written_and_downloads_spreadsheet_safe(
    trained_project, champion
):
    raw = pd.read_csv(trained_project / "data" / "01_raw" / "new_leads.csv", nrows=5, dtype=str)
    keys = ["00042", "01", "1", "=1+1", "12345678901234567890"]
    raw.iloc[:, 0] = keys
    result = scoring.score_upload(champion.model, raw.to_csv(index=False).encode(), "leads.csv")
    assert result.answer["lead_id"].tolist() == keys  # what the score store would keep
    download = pd.read_csv(io.BytesIO(scoring.as_csv(result.answer)), dtype=str)
    assert download["lead_id"].tolist() == ["00042", "01", "1", "'=1+1", "12345678901234567890"]


def test_a_corrupt_score_store_is_one_short_message(trained_project):
    (trained_project / "data" / "lead_scores.db").write_bytes(b"not a database" * 100)
    app = open_page("leads_to_call")
    assert not app.exception
    assert [e.value.split(": ", 1)[1] for e in app.error] == [
        "(sqlite3.DatabaseError) file is not a database"
    ]


def test_the_server_itself_caps_uploads_at_the_pages_limit():
    assert f"--server.maxUploadSize={MAX_UPLOAD_MB}" in streamlit_command(8501)


def test_a_utf16_upload_is_read_like_batch_reads_it(trained_project, champion):
    raw = pd.read_csv(trained_project / "data" / "01_raw" / "new_leads.csv", nrows=5, dtype=str)
    content = raw.to_csv(index=False).encode("utf-16")  # with its byte order mark
    result = scoring.score_upload(champion.model, content, "leads.csv")
    assert result.answer["lead_id"].tolist() == raw.iloc[:, 0].tolist()
