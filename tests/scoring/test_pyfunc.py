"""The logged lead scoring model, as MLflow's scoring server runs it: one answer row per
record in input order, valid JSON, per-record rejects, short 4xx messages, batch's scores.

A tiny scorer is trained directly with the scoring classes and logged through the project's
dataset into a temporary SQLite MLflow store; requests go through the scoring server's own
request handling (``scoring_server.invocations``), without starting a server.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server
from mlflow.types import DataType

from codepro_leads.datasets.scorer_model_dataset import MODEL_REQUIREMENTS, LeadScorerModelDataset
from codepro_leads.features.processing import interaction_columns, prepare_leads, raw_columns
from codepro_leads.scoring.calibration import PlattCalibrator
from codepro_leads.scoring.drift import DriftReference
from codepro_leads.scoring.encoder import LeadEncoder
from codepro_leads.scoring.factor_texts import factor_texts
from codepro_leads.scoring.pyfunc import LeadScoringModel, answer_records
from codepro_leads.scoring.scorer import LeadScorer
from tests.conftest import PROJECT_ROOT, load_params, make_raw

TRAINING_DATA = {
    "sha256": "0" * 64,
    "rows": 800,
    "label_rate": 0.5,
    "first_created": "2021-08-01 00:00:00",
    "last_created": "2021-09-08 00:00:00",
    "fit_until": "2021-09-01 00:00:00",
}


def raw_leads(params: dict[str, Any], n: int, seed: int, first_key: int = 0) -> pd.DataFrame:
    """``n`` raw labeled CodePro rows with varied values, keyed ``lead_id``."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "": first_key + i,
            "created_date": f"2021-08-{1 + i % 28:02d} 10:00:00",
            "city_mapped": rng.choice(["mumbai", "pune", "nagpur", None]),
            "first_platform_c": rng.choice(["Level0", "Level1", "Level3"]),
            "first_utm_medium_c": rng.choice(["Level0", "Level2", "Level11"]),
            "first_utm_source_c": rng.choice(["Level2", "Level0", "Level7"]),
            "total_leads_droppped": int(rng.integers(0, 8)),
            "referred_lead": int(rng.integers(0, 2)),
            "syllabus": rng.choice([None, 1, 2]),
            "app_complete_flag": int(rng.integers(0, 2)),
        }
        for i in range(n)
    ]
    return make_raw(params, rows).rename(columns={"": params["key_column"]})


def train_model(top_factors: int = 3) -> LeadScoringModel:
    """A LeadScoringModel around a small LightGBM scorer, as the training pipeline builds it."""
    processing, training = load_params("data_processing"), load_params("training")
    raw = raw_leads(processing, 800, seed=0)
    leads, _ = prepare_leads(raw, processing)
    features = training["features"]
    encoder = LeadEncoder.fit(leads, features["numeric"], features["categorical"], 0.9)
    label = leads[processing["label_column"]]
    model = lgb.LGBMClassifier(n_estimators=20, min_child_samples=10, verbose=-1)
    model.fit(encoder.transform(leads), label)
    scorer = LeadScorer(
        encoder,
        model,
        PlattCalibrator(0.9, 0.1),
        threshold=0.45,
        grade_bands=dict(training["grade_bands"]),
        reference=DriftReference.fit(encoder, leads, 0.3),
        top_factors=top_factors,
    )
    example = raw.drop(columns=processing["label_column"]).head(5)
    return LeadScoringModel(scorer, processing, example, TRAINING_DATA)


def log_model(model: LeadScoringModel) -> str:
    """Log and register ``model`` with the catalog's dataset; its URI."""
    dataset = LeadScorerModelDataset(
        save_args={"name": "lead_scorer", "registered_model_name": "codepro-lead-scorer"}
    )
    with mlflow.start_run():
        dataset.save(model)
    return dataset.model_info.model_uri


def new_leads(params: dict[str, Any]) -> pd.DataFrame:
    """Unlabeled rows as a client sends them: ``lead_id`` first, NaN where a value is absent."""
    return raw_leads(params, 6, seed=1, first_key=9000).drop(columns=params["label_column"])


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON records, null where a value is missing."""
    return json.loads(frame.to_json(orient="records"))


def refuse_nan(constant: str) -> None:
    raise ValueError(f"not JSON: {constant}")


@contextmanager
def tracking_store(root: Path) -> Iterator[None]:
    """MLflow tracks to a SQLite store under ``root`` inside the block, whatever an earlier
    in-process run set; the environment's store is back after it."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # restored on exit
        monkeypatch.chdir(root)  # the Default experiment keeps artifacts in ./mlruns
        mlflow.set_tracking_uri(uri)
        # An earlier in-process Kedro run leaves its experiment active: not in this store.
        mlflow.set_experiment("Default")
        try:
            yield
        finally:
            mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def logged(tmp_path_factory) -> dict[str, Any]:
    """The model logged once for the module: the in-memory model, the model as MLflow loads
    it, its downloaded files, and the warnings logging it raised and printed."""
    store = tmp_path_factory.mktemp("mlflow")
    model = train_model()
    with tracking_store(store):
        with mlflow.start_run():  # the store is created here, before the warnings are watched
            pass
        printed = _Printed()
        logging.getLogger("mlflow").addHandler(printed)
        try:
            with warnings.catch_warnings(record=True) as raised:
                warnings.simplefilter("always")
                uri = log_model(model)
        finally:
            logging.getLogger("mlflow").removeHandler(printed)
        served = mlflow.pyfunc.load_model(uri)
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(store / "model")))
    return {
        "model": model,
        "served": served,
        "dir": local,
        "warnings": [str(w.message) for w in raised],
        "log_warnings": printed.messages,
    }


class _Printed(logging.Handler):
    """Keeps the messages of WARNING and above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def post(served, payload: Any) -> tuple[int, Any]:
    """What ``POST /invocations`` answers: status and parsed body (NaN refused)."""
    try:
        response = scoring_server.invocations(
            json.dumps(payload), "application/json", served, served.metadata.get_input_schema()
        )
    except MlflowException as error:  # the server turns these into their HTTP status
        return error.get_http_status_code(), json.loads(error.serialize_as_json())
    return response.status, json.loads(response.response, parse_constant=refuse_nan)


def as_json(answer: Any) -> str:
    """The body the scoring server writes for a ``predict`` answer."""
    body = io.StringIO()
    scoring_server.predictions_to_json(answer, body)
    return body.getvalue()


def expected_scores(model: LeadScoringModel, raw: pd.DataFrame) -> pd.DataFrame:
    """Batch scoring of ``raw``: the shared lead preparation, then the scorer."""
    leads, _ = prepare_leads(raw, model.processing_params)
    return model.scorer.score(leads)


def test_logging_prints_no_mlflow_warning(logged):
    assert logged["warnings"] == []
    assert logged["log_warnings"] == []


def test_logged_model_carries_the_package_and_pinned_requirements(logged):
    local = logged["dir"]
    requirements = (local / "requirements.txt").read_text().split()
    locked = (PROJECT_ROOT / "requirements.lock").read_text().split()
    assert [name.split("==")[0] for name in requirements] == ["mlflow", *MODEL_REQUIREMENTS]
    assert set(requirements) <= set(locked)  # the lock's versions
    assert (local / "code/codepro_leads/features/processing.py").is_file()
    assert (local / "code/codepro_leads/scoring/scorer.py").is_file()
    # Logged from code: MLflow pickled no Python object.
    assert not (local / "python_model.pkl").exists()
    assert logged["served"].unwrap_python_model().training_data == TRAINING_DATA


def test_the_signature_shows_the_raw_columns_a_request_carries(logged):
    params = logged["model"].processing_params
    inputs = logged["served"].metadata.get_input_schema()
    assert inputs.input_names() == [params["key_column"], *raw_columns(params)]
    assert inputs.optional_input_names() == inputs.input_names()
    assert {str(spec.type) for spec in inputs.inputs} == {"Any"}
    outputs = logged["served"].metadata.get_output_schema()
    assert outputs.input_names()[:3] == ["lead_id", "created_date", "probability"]
    assert outputs.input_names()[-3:] == ["raises_score", "lowers_score", "rejected_reason"]
    assert [spec.type for spec in outputs.inputs[-3:]] == [DataType.string] * 3


def test_every_record_is_answered_in_input_order_with_rejects_in_place(logged):
    model = logged["model"]
    raw = new_leads(model.processing_params).astype({"total_leads_droppped": float})
    raw.loc[1, "total_leads_droppped"] = 1e20  # too large: rejected, never wrapped around
    raw.loc[3, "lead_id"] = 9000  # repeats the first key
    status, body = post(logged["served"], {"dataframe_records": records(raw)})

    assert status == 200
    answer = pd.DataFrame(body["predictions"])
    assert answer["lead_id"].tolist() == ["9000", "9001", "9002", "9000", "9004", "9005"]
    assert answer["rejected_reason"].tolist() == [
        None,
        "total_leads_droppped: above 1e+06 (1e+20)",
        None,
        "lead_id: repeats an earlier row ('9000')",
        None,
        None,
    ]
    rejected = answer["rejected_reason"].notna()
    assert answer.loc[rejected].drop(columns=["lead_id", "rejected_reason"]).isna().all().all()
    expected = expected_scores(model, raw.loc[~rejected.to_numpy()])
    scored = answer.loc[~rejected].reset_index(drop=True)
    assert scored["lead_id"].tolist() == expected["lead_id"].tolist()
    assert scored["probability"].tolist() == expected["probability"].round(4).tolist()
    assert scored["score"].tolist() == expected["score"].tolist()
    assert scored["grade"].tolist() == expected["grade"].tolist()
    for col in ("up_factor_1", "down_factor_1", "up_factor_2", "down_factor_3"):
        assert scored[col].tolist() == expected[col].where(expected[col].notna(), None).tolist()
    # The factors in words, as the CRM export says them (null on rejected rows, above).
    crm = factor_texts(expected)
    assert scored["raises_score"].tolist() == crm["raises_score"].tolist()
    assert scored["lowers_score"].tolist() == crm["lowers_score"].tolist()


def test_rejects_stay_in_place_when_a_repeated_key_follows_a_rejected_row(logged):
    model = logged["model"]
    raw = new_leads(model.processing_params).astype({"lead_id": object})
    raw["lead_id"] = [7, 7, None, 8, 7, 8]
    raw.loc[0, "created_date"] = "not a date"  # the first 7 is bad: the next 7s repeat it
    answer = model.answer(raw)

    assert answer["lead_id"].tolist() == ["7", "7", None, "8", "7", "8"]
    assert answer["rejected_reason"].tolist() == [
        "created_date: not an ISO 8601 date ('not a date')",
        "lead_id: repeats an earlier row ('7')",
        "lead_id: missing",
        None,
        "lead_id: repeats an earlier row ('7')",
        "lead_id: repeats an earlier row ('8')",
    ]
    expected = expected_scores(model, raw.loc[[3]])
    assert answer.loc[3, "probability"] == expected.loc[0, "probability"]


def test_answer_is_json_with_null_for_missing_values(logged):
    raw = new_leads(logged["model"].processing_params)
    raw.loc[2, "created_date"] = "yesterday"
    status, body = post(logged["served"], {"dataframe_records": records(raw)})  # NaN refused

    assert status == 200
    rejected = body["predictions"][2]
    assert rejected["rejected_reason"] == "created_date: not an ISO 8601 date ('yesterday')"
    assert rejected["probability"] is None
    assert rejected["created_date"] is None
    # A factor slot no contribution fills is null, not NaN.
    scored = pd.DataFrame(body["predictions"]).drop(index=2)
    assert scored["rejected_reason"].isna().all()
    assert body["predictions"][0]["created_date"] == "2021-08-01T10:00:00"


def test_string_keys_are_accepted_as_in_batch(logged):
    raw = new_leads(logged["model"].processing_params)
    raw["lead_id"] = ["A-1", "42", "A-3", "A-4", "A-5", "A-6"]
    status, body = post(logged["served"], {"dataframe_records": records(raw)})

    assert status == 200
    answer = pd.DataFrame(body["predictions"])
    expected = expected_scores(logged["model"], raw)
    assert answer["lead_id"].tolist() == ["A-1", "42", "A-3", "A-4", "A-5", "A-6"]
    assert answer["lead_id"].tolist() == expected["lead_id"].tolist()
    assert answer["probability"].tolist() == expected["probability"].round(4).tolist()


def test_a_badly_typed_record_gets_its_reason_and_the_others_are_scored(logged):
    raw = new_leads(logged["model"].processing_params).astype({"total_leads_droppped": object})
    raw.loc[0, "total_leads_droppped"] = "abc"
    raw.loc[4, "total_leads_droppped"] = "1e20"
    status, body = post(logged["served"], {"dataframe_records": records(raw)})

    assert status == 200
    answer = pd.DataFrame(body["predictions"])
    assert answer["rejected_reason"].tolist() == [
        "total_leads_droppped: not a number ('abc')",
        None,
        None,
        None,
        "total_leads_droppped: above 1e+06 ('1e20')",
        None,
    ]
    assert answer["probability"].notna().tolist() == [False, True, True, True, False, True]


def test_the_split_format_is_answered_like_records(logged):
    raw = new_leads(logged["model"].processing_params)
    split = json.loads(raw.to_json(orient="split", index=False))
    status, body = post(logged["served"], {"dataframe_split": split})
    _, from_records = post(logged["served"], {"dataframe_records": records(raw)})

    assert status == 200
    assert body == from_records


def test_an_empty_list_is_a_short_400(logged):
    status, body = post(logged["served"], {"dataframe_records": []})

    assert status == 400
    assert body["error_code"] == "BAD_REQUEST"
    assert body["message"].endswith("Error: no leads: send at least one record")
    assert len(body["message"]) < 150


def test_missing_columns_are_a_short_400_naming_them(logged):
    raw = new_leads(logged["model"].processing_params).head(1)
    raw = raw.drop(columns=["city_mapped", "referred_lead"])
    status, body = post(logged["served"], {"dataframe_records": records(raw)})

    assert status == 400
    assert body["error_code"] == "BAD_REQUEST"
    assert body["message"].endswith(
        "Error: request: missing required column(s): city_mapped, referred_lead"
    )
    assert "Model is missing inputs" not in body["message"]


def test_records_may_leave_out_the_interaction_counts_a_lead_has_none_of(logged):
    params = logged["model"].processing_params
    raw = new_leads(params)
    full = records(raw)  # every interaction column, null where absent
    interactions = set(interaction_columns(params))
    short = [
        {col: v for col, v in record.items() if col not in interactions or v is not None}
        for record in full
    ]
    status, body = post(logged["served"], {"dataframe_records": short})
    _, from_full = post(logged["served"], {"dataframe_records": full})

    assert [len(record) for record in short] == [9, 8, 9, 8, 9, 8]  # 8 fields, syllabus if any
    assert status == 200
    assert body == from_full
    assert [row["rejected_reason"] for row in body["predictions"]] == [None] * 6


def test_the_answer_is_rounded_for_clients_and_the_frame_is_not(logged):
    model = logged["model"]
    raw = new_leads(model.processing_params)
    answer = model.answer(raw)
    served = model.predict(None, raw)

    effects = [col for col in answer.columns if col.endswith("_effect")]
    full = answer[["probability", *effects]].astype(float)
    rounded = pd.DataFrame(served)[["probability", *effects]].astype(float)
    pd.testing.assert_frame_equal(rounded, full.round(4))
    assert not full.equals(full.round(4))  # the frame keeps every digit
    assert [row["score"] for row in served] == answer["score"].tolist()


@pytest.mark.parametrize("top_factors", [1, 2])
def test_served_scores_follow_the_scorers_settings_like_batch(top_factors):
    model = train_model(top_factors)
    raw = new_leads(model.processing_params)
    answer = model.answer(raw)
    expected = expected_scores(model, raw)

    factors = [c for c in answer.columns if "factor" in c]
    assert len(factors) == 4 * top_factors
    assert factors == [c for c in expected.columns if "factor" in c]
    pd.testing.assert_frame_equal(
        answer.drop(columns="rejected_reason"),
        expected.astype(object).where(expected.notna(), None),
    )


def test_the_model_code_imports_neither_kedro_nor_the_datasets_and_warns_nothing():
    code = """
import sys, warnings
import mlflow.pyfunc  # MLflow's own import-time warnings are not the model's
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import codepro_leads.scoring.pyfunc  # MLflow checks predict's type hints here
print([str(w.message) for w in caught])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("kedro", "kedro_mlflow")
             or m.startswith(("codepro_leads.pipelines", "codepro_leads.datasets"))))
"""
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.splitlines() == ["[]", "[]"]


# Values a client may send for each kind of column: valid ones, and invalid ones rejected with
# a reason.
_NUMBERS = st.sampled_from(
    [0, 1, 2, 7, 1.0, 3.0, -0.0, 2.5, -1, 1e20, None, True]
    + ["3", " 4 ", "1e3", "2.5", "abc", "", "inf", "NA", " null ", "NaN"]
)
_VALUES = {
    "lead_id": st.sampled_from([1, 2, 3, 2.0, 1e17, "A-1", " A-1 ", "42", "", None, True]),
    "created_date": st.sampled_from(
        [
            "2021-08-01 10:00:00",
            "2021-08-02",
            "2021-08-03T09:30:00",
            " 2021-08-04 ",
            "2021-02-30",
            "2021-08-01T10:00:00+05:30",
            "1500-01-01",
            "yesterday",
            "",
            "NA",
            None,
            5,
        ]
    ),
    "city_mapped": st.sampled_from(["mumbai", " Pune ", "'delhi'", "MUMBAI", "nagpur", "", None]),
    "first_platform_c": st.sampled_from(["Level0", "Level1", "Level3", "Level9", 3, "Lével", None]),
    "first_utm_medium_c": st.sampled_from(["Level0", "Level2", "Level11", " Level0", None]),
    "first_utm_source_c": st.sampled_from(["Level2", "Level0", "Level7", "", None]),
    "total_leads_droppped": _NUMBERS,
    "referred_lead": st.sampled_from([0, 1, 0.0, 1.0, 2, "1", "yes", None]),
    "syllabus": _NUMBERS,
    "chat_clicked": _NUMBERS,
}


def _records(params: dict[str, Any], rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A request's rows as the scoring server parses them (``pd.DataFrame(records)``)."""
    base = records(new_leads(params).head(1))[0]
    return pd.DataFrame([{**base, **row} for row in rows])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.fixed_dictionaries({}, optional=_VALUES), min_size=1, max_size=6))
def test_every_kind_of_value_gets_a_score_or_a_reason_through_the_schema(logged, rows):
    model = logged["model"]
    frame = _records(model.processing_params, rows)
    answer = logged["served"].predict(frame)  # MLflow enforces the input schema first

    assert len(answer) == len(frame)
    for row in answer:
        assert (row["rejected_reason"] is None) == (row["probability"] is not None)
    assert as_json(answer) == as_json(answer_records(model.answer(frame)))


def test_a_bad_record_is_rejected_alone(logged):
    model = logged["model"]
    params = model.processing_params
    raw = new_leads(params).astype({"total_leads_droppped": object})
    raw.loc[1, "total_leads_droppped"] = "abc"
    raw.loc[0, "city_mapped"] = "Zürich"  # an unknown city: tier 3, scored
    answer = model.answer(pd.DataFrame(records(raw)))

    assert answer["lead_id"].tolist() == ["9000", "9001", "9002", "9003", "9004", "9005"]
    assert answer["rejected_reason"].tolist() == [
        None,
        "total_leads_droppped: not a number ('abc')",
        None,
        None,
        None,
        None,
    ]
    assert answer["probability"].notna().tolist() == [True, False, True, True, True, True]


def test_number_columns_the_server_parses_as_numbers_are_judged(logged):
    model = logged["model"]
    frame = pd.DataFrame(records(new_leads(model.processing_params)))
    frame["total_leads_droppped"] = [-1.0, 2.5, 1e20, np.inf, np.nan, 3.0]
    frame["referred_lead"] = [1.0, 2.0, 0.0, -np.inf, 1.0, np.nan]

    assert model.answer(frame)["rejected_reason"].tolist() == [
        "total_leads_droppped: negative count (-1)",
        "total_leads_droppped: not a whole number (2.5); referred_lead: not 0 or 1 (2)",
        "total_leads_droppped: above 1e+06 (1e+20)",
        "total_leads_droppped: not a number (inf); referred_lead: not a number (-inf)",
        None,
        None,
    ]


def test_a_large_request_gets_every_reason_and_the_same_json_as_its_frame(logged):
    model = logged["model"]
    params = model.processing_params
    raw = raw_leads(params, 400, seed=3).drop(columns=params["label_column"])
    raw.loc[::7, "total_leads_droppped"] = -2
    raw.loc[::11, "city_mapped"] = None
    raw.loc[5, "lead_id"] = raw.loc[4, "lead_id"]
    raw.loc[[8, 9], "created_date"] = "2021-08-30"
    frame = pd.DataFrame(records(raw))

    answer = model.predict(None, frame)
    assert sum(row["rejected_reason"] is not None for row in answer) == 58 + 1  # 1 repeat
    assert as_json(answer) == as_json(answer_records(model.answer(frame)))


def test_predict_answers_records_with_iso_dates(logged):
    model = logged["model"]
    raw = new_leads(model.processing_params)
    raw.loc[2, "referred_lead"] = 5
    frame = pd.DataFrame(records(raw))
    answer = model.predict(None, frame)

    assert answer[2]["rejected_reason"] == "referred_lead: not 0 or 1 (5)"
    assert answer[0]["created_date"] == "2021-08-01T10:00:00"
    assert as_json(answer_records(model.answer(frame))) == as_json(answer)


def test_one_lead_gets_its_known_scores(logged):
    lead = {
        "lead_id": 77,
        "created_date": "2021-09-03 08:15:00",
        "city_mapped": "pune",
        "first_platform_c": "Level1",
        "first_utm_medium_c": "Level2",
        "first_utm_source_c": "Level7",
        "total_leads_droppped": 3,
        "referred_lead": 1,
    }
    request = records(_records(logged["model"].processing_params, [lead]))
    status, body = post(logged["served"], {"dataframe_records": request})

    assert status == 200
    (answer,) = body["predictions"]
    assert answer == KNOWN_LEAD_ANSWER


# The served answer for test_one_lead_gets_its_known_scores's lead (the tiny model's TreeSHAP
# values, as LightGBM's pred_contrib gives them, to 4 decimals).
KNOWN_LEAD_ANSWER = {
    "lead_id": "77",
    "created_date": "2021-09-03T08:15:00",
    "probability": 0.3815,
    "score": 38,
    "grade": "C",
    "is_junk": True,
    "up_factor_1": "city_tier=1",
    "up_factor_1_effect": 0.0605,
    "up_factor_2": "first_utm_medium_c=Level2",
    "up_factor_2_effect": 0.0038,
    "up_factor_3": None,
    "up_factor_3_effect": None,
    "down_factor_1": "referred_lead=1",
    "down_factor_1_effect": -0.2762,
    "down_factor_2": "first_platform_c=Level1",
    "down_factor_2_effect": -0.1489,
    "down_factor_3": "total_leads_droppped=3",
    "down_factor_3_effect": -0.1333,
    # The factors in the CRM export's words, in the same order.
    "raises_score": "City tier: 1; Marketing medium: Level2",
    "lowers_score": "Referred by someone; Platform: Level1; Leads dropped: 3",
    "rejected_reason": None,
}


def test_in_process_predict_answers_as_http(logged):
    raw = new_leads(logged["model"].processing_params)
    raw.loc[4, "referred_lead"] = 3
    in_process = logged["served"].predict(pd.DataFrame(records(raw)))
    _, body = post(logged["served"], {"dataframe_records": records(raw)})

    assert in_process == body["predictions"]
    assert body["predictions"][4]["rejected_reason"] == "referred_lead: not 0 or 1 (3)"


def test_keys_that_look_like_numbers_are_answered_as_the_text_sent(logged):
    raw = new_leads(logged["model"].processing_params).astype({"lead_id": object})
    raw["lead_id"] = ["00000", "01", "1", "12345678901234567890", " 7 ", "A-1"]
    status, body = post(logged["served"], {"dataframe_records": records(raw)})

    assert status == 200
    answer = pd.DataFrame(body["predictions"])
    # One type in one response; 01 and 1 are two leads; spaces around a key are not part of it.
    assert answer["lead_id"].tolist() == ["00000", "01", "1", "12345678901234567890", "7", "A-1"]
    assert answer["rejected_reason"].tolist() == [None] * 6


def test_a_key_or_city_that_is_not_text_rejects_that_record_alone(logged):
    raw = new_leads(logged["model"].processing_params).astype(
        {"lead_id": object, "city_mapped": object}
    )
    payload = records(raw)
    payload[0]["lead_id"] = True
    payload[1]["lead_id"] = {"id": 1}
    payload[2]["lead_id"] = [1, 2]
    payload[3]["city_mapped"] = {"name": "pune"}
    payload[4]["city_mapped"] = False
    status, body = post(logged["served"], {"dataframe_records": payload})

    assert status == 200
    answer = pd.DataFrame(body["predictions"])
    assert answer["rejected_reason"].tolist() == [
        "lead_id: not text (True)",
        "lead_id: not text ({'id': 1})",
        "lead_id: not text ([1, 2])",
        "city_mapped: not text ({'name': 'pune'})",
        "city_mapped: not text (False)",
        None,
    ]
    assert answer["lead_id"].tolist() == [None, None, None, "9003", "9004", "9005"]
    assert answer["probability"].notna().tolist() == [False] * 5 + [True]


def _limited(logged, max_bytes=1_000_000, max_records=6):
    from mlflow.pyfunc import scoring_server
    from starlette.testclient import TestClient

    from codepro_leads.serving import RequestLimits

    app = RequestLimits(scoring_server.init(logged["served"]), max_bytes, max_records)
    return TestClient(app)


def test_the_server_answers_413_above_its_limits_and_scores_below(logged):
    payload = {"dataframe_records": records(new_leads(logged["model"].processing_params))}
    client = _limited(logged)
    answer = client.post("/invocations", json=payload)
    assert answer.status_code == 200
    assert len(answer.json()["predictions"]) == 6

    too_many = {"dataframe_records": payload["dataframe_records"] * 2}
    answer = client.post("/invocations", json=too_many)
    assert (answer.status_code, answer.json()["message"]) == (413, "12 records, over 6 a request")

    answer = _limited(logged, max_bytes=1000).post("/invocations", json=payload)
    assert (answer.status_code, answer.json()["message"]) == (413, "request body over 1,000 bytes")


def test_json_nested_too_deep_is_a_400(logged):
    body = '{"dataframe_records": ' + "[" * 200_000 + "]" * 200_000 + "}"
    answer = _limited(logged).post(
        "/invocations", content=body, headers={"content-type": "application/json"}
    )
    assert (answer.status_code, answer.json()["message"]) == (400, "JSON nested too deep")
