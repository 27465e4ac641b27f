"""Training nodes alone: the split and its checks, the fingerprint, calibration, the scorer's
threshold, the ceiling AUC.

The promotion gate has its own tests (test_promotion.py)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codepro_leads.errors import ConfigError, TrainingDataError
from codepro_leads.pipelines.training import nodes
from codepro_leads.pipelines.training.recency import recency_weights
from codepro_leads.scoring.evaluation import choose_threshold
from tests.conftest import load_params


@pytest.fixture(scope="module")
def params():
    return load_params("training")


def _leads(n=200):
    return pd.DataFrame(
        {
            "lead_id": np.arange(n),
            "created_date": pd.date_range("2021-07-01", periods=n, freq="D")[::-1],
            "app_complete_flag": np.arange(n) % 2,
        }
    )


def test_out_of_time_split_puts_the_latest_leads_in_test(params):
    train, validation, test = nodes.split_leads(_leads(), params)
    # created_date falls as lead_id rises: the latest leads have the smallest ids.
    assert test["lead_id"].tolist() == list(range(39, -1, -1))
    assert validation["lead_id"].tolist() == list(range(63, 39, -1))
    assert len(train) == 136 and train["created_date"].max() < validation["created_date"].min()


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(st.integers(0, 3), min_size=1, max_size=40),
    keys=st.sampled_from(["int", "text"]),
    data=st.data(),
)
def test_time_order_is_pandas_stable_sort_by_date_then_key(params, days, keys, data):
    n = len(days)
    ids = data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))  # repeated keys too
    leads = pd.DataFrame(
        {
            "lead_id": ids if keys == "int" else pd.array([f"L{i}" for i in ids], dtype="string"),
            "created_date": pd.Timestamp("2021-07-01") + pd.to_timedelta(days, unit="D"),
            "row": np.arange(n),  # tells equal (date, key) rows apart
        }
    )
    expected = leads.sort_values(["created_date", "lead_id"], kind="stable")
    assert nodes._in_time_order(leads, params["columns"]).equals(expected)


def test_stratified_split_keeps_the_label_rate(params):
    stratified = {**params, "split": {**params["split"], "method": "stratified"}}
    train, validation, test = nodes.split_leads(_leads(), stratified)
    assert (len(train), len(validation), len(test)) == (136, 24, 40)
    assert test["app_complete_flag"].mean() == 0.5
    assert set(train["lead_id"]) | set(validation["lead_id"]) | set(test["lead_id"]) == set(
        range(200)
    )


def test_unknown_split_method_is_refused(params):
    with pytest.raises(ConfigError, match="out_of_time or stratified, not 'latest'"):
        nodes.split_leads(_leads(), {**params, "split": {**params["split"], "method": "latest"}})


def test_unlabeled_leads_stop_with_one_line(params):
    with pytest.raises(TrainingDataError) as error:
        nodes.split_leads(_leads().drop(columns="app_complete_flag"), params)
    assert str(error.value) == (
        "model_input_leads: training needs the label column 'app_complete_flag' "
        "(was an unlabeled export processed?)"
    )


def test_too_few_leads_of_a_class_stop_with_one_line(params):
    leads = _leads(10).assign(app_complete_flag=[1] * 6 + [0] * 4)
    with pytest.raises(TrainingDataError) as error:
        nodes.split_leads(leads, params)
    assert str(error.value) == (
        "model_input_leads: training needs at least 100 leads of each class, "
        "found 6 with app_complete_flag=1 and 4 with app_complete_flag=0"
    )


def test_fingerprint_ignores_row_order_and_records_the_fitted_window(params):
    train, validation, test = nodes.split_leads(_leads(), params)
    fingerprint, metrics = nodes.fingerprint_data(train, validation, test, params)
    shuffled, _ = nodes.fingerprint_data(
        train.sample(frac=1, random_state=1), validation, test, params
    )
    assert shuffled == fingerprint
    assert fingerprint["rows"] == 200
    assert fingerprint["label_rate"] == 0.5
    assert fingerprint["first_created"] == "2021-07-01 00:00:00"
    assert fingerprint["last_created"] == "2022-01-16 00:00:00"
    # Train and validation are the 160 earliest leads: fitted up to the 160th day.
    assert fingerprint["fit_until"] == "2021-12-07 00:00:00"
    assert metrics == {
        "data_rows": {"value": 200.0, "step": 0},
        "data_label_rate": {"value": 0.5, "step": 0},
    }
    changed, _ = nodes.fingerprint_data(train.assign(app_complete_flag=1), validation, test, params)
    assert changed["sha256"] != fingerprint["sha256"]


def test_the_training_key_changes_with_the_data_and_each_kind_of_parameter(params):
    processing = load_params("data_processing")
    fingerprint = {"sha256": "a", "rows": 200}
    key = nodes.training_key(fingerprint, params, processing, None)
    assert len(key) == 64
    # Only the data's content hash counts of the fingerprint; key order does not count.
    same = dict(reversed(list(params.items())))
    assert nodes.training_key({"sha256": "a", "rows": 1}, same, processing, None) == key
    others = [
        nodes.training_key({"sha256": "b"}, params, processing, None),
        nodes.training_key(fingerprint, {**params, "min_class_leads": 99}, processing, None),
        nodes.training_key(fingerprint, params, {**processing, "key_column": "x"}, None),
        nodes.training_key(fingerprint, params, processing, {"recency_half_life_days": 30}),
    ]
    assert len({key, *others}) == 5


def test_an_unknown_calibration_method_is_refused(params):
    with pytest.raises(ConfigError, match="must be platt or none, not 'isotonic'"):
        nodes.fit_calibration(None, _leads(), {**params, "calibration": {"method": "isotonic"}})


def test_best_achievable_auc_only_for_matching_leads(params):
    # Keys are text in the model input; the demo's propensity file stores them as numbers.
    propensity = _leads(4)[["lead_id", "created_date"]].assign(propensity=[0.1, 0.9, 0.6, 0.4])
    test = _leads(4).assign(app_complete_flag=[0, 1, 0, 1], lead_id=["0", "1", "2", "3"])
    assert nodes.best_achievable_auc(test, propensity, params) == {
        "test_best_achievable_auc": {"value": 0.75, "step": 0}
    }
    other_file = propensity.assign(created_date=pd.Timestamp("2020-01-01"))
    assert nodes.best_achievable_auc(test, other_file, params) == {}
    assert nodes.best_achievable_auc(test, None, params) == {}


def test_calibration_switched_off_is_the_identity(params):
    off = {**params, "calibration": {"method": "none"}}
    calibrator = nodes.fit_calibration(None, _leads(), off)
    assert (calibrator.slope, calibrator.intercept) == (1.0, 0.0)
    # sigmoid(log 3) is 0.75; NumPy's exp on AVX-512 machines may land one ULP away.
    np.testing.assert_allclose(calibrator(np.array([0.0, np.log(3.0)])), [0.5, 0.75], rtol=2e-16)


def _learnable_leads() -> tuple[pd.DataFrame, pd.DataFrame]:
    """400 train and 200 validation leads whose platform drives completion."""
    rng = np.random.default_rng(0)
    leads = _leads(600).assign(
        total_leads_droppped=rng.integers(1, 6, 600),
        city_tier=rng.integers(1, 4, 600),
        referred_lead=rng.integers(0, 2, 600),
        first_platform_c=rng.choice(["L0", "L1"], 600),
        first_utm_medium_c=rng.choice(["L0", "L2"], 600),
        first_utm_source_c=rng.choice(["L0", "L7"], 600),
    )
    leads["app_complete_flag"] = (
        rng.random(600) < np.where(leads["first_platform_c"] == "L0", 0.8, 0.2)
    ).astype(int)
    return leads.iloc[:400], leads.iloc[400:].reset_index(drop=True)


def test_validation_leads_stop_the_fit_only_with_early_stopping(params):
    train, validation = _learnable_leads()
    many = {
        **params,
        "lightgbm": {**params["lightgbm"], "n_estimators": 300},
        "recency": {"half_life_days": None},  # unweighted: the plain fit below
    }
    encoder = nodes.fit_encoder(train, many)
    full = nodes.train_classifier(train, validation, encoder, many)
    assert full.evals_result_ == {}  # validation leads never scored
    plain = lgb.LGBMClassifier(**many["lightgbm"])
    plain.fit(encoder.transform(train), train["app_complete_flag"])
    assert full.booster_.model_to_string() == plain.booster_.model_to_string()
    stopping = {**many, "early_stopping_rounds": 5}
    stopped = nodes.train_classifier(train, validation, encoder, stopping)
    # Validation log loss scored after every tree, 5 more trees after the best one, kept.
    assert stopped.best_iteration_ == stopped.booster_.num_trees() == 159
    assert len(stopped.evals_result_["valid_0"]["binary_logloss"]) == 159 + 5


def test_recency_weights_halve_every_half_life(params):
    """Each training lead counts 0.5^(age / half-life), age in days before the latest one."""
    created = pd.Series(pd.to_datetime(["2022-01-31", "2022-01-16", "2022-01-01", "2022-01-31"]))
    weights = recency_weights(created, 15.0)
    np.testing.assert_allclose(weights, [1.0, 0.5, 0.5**2, 1.0], rtol=1e-15)
    assert recency_weights(created, None) is None
    with pytest.raises(ValueError, match="positive days or null, not 0"):
        recency_weights(created, 0)


def test_the_classifier_is_fitted_with_recency_weights(params):
    train, validation = _learnable_leads()
    encoder = nodes.fit_encoder(train, params)
    weighted = nodes.train_classifier(train, validation, encoder, params)
    # _leads: lead 0 is the latest, one day per lead; half-life 15 days (parameters).
    assert params["recency"] == {"half_life_days": 15}
    plain = lgb.LGBMClassifier(**params["lightgbm"]).fit(
        encoder.transform(train),
        train["app_complete_flag"],
        sample_weight=0.5 ** (np.arange(400) / 15),
    )
    assert weighted.booster_.model_to_string() == plain.booster_.model_to_string()
    # model_selection's choice, when there is one, replaces the configured half-life.
    tuned = {"lightgbm": {}, "recency_half_life_days": None}
    unweighted = nodes.train_classifier(train, validation, encoder, params, tuned)
    unweighted_plain = lgb.LGBMClassifier(**params["lightgbm"])
    unweighted_plain.fit(encoder.transform(train), train["app_complete_flag"])
    assert unweighted.booster_.model_to_string() == unweighted_plain.booster_.model_to_string()
    ignored = nodes.train_classifier(
        train, validation, encoder, {**params, "use_tuned_params": False}, tuned
    )
    assert ignored.booster_.model_to_string() == plain.booster_.model_to_string()


def test_the_scorer_is_built_and_judged_on_scores_computed_once(params):
    train, validation = _learnable_leads()
    small = {**params, "lightgbm": {**params["lightgbm"], "n_estimators": 10}}
    encoder = nodes.fit_encoder(train, small)
    model = nodes.train_classifier(train, validation, encoder, small)
    raw = nodes.score_leads(model, encoder, validation)
    assert np.array_equal(raw, model.predict(encoder.transform(validation), raw_score=True))
    calibrator = nodes.fit_calibration(raw, validation, small)
    scorer = nodes.build_scorer(encoder, model, calibrator, raw, train, validation, small)
    # The threshold the scorer's own predictions of the validation leads give.
    expected = choose_threshold(
        validation["app_complete_flag"],
        scorer.predict_proba(validation),
        small["min_completion_recall"],
    )
    assert scorer.threshold == float(expected)
    assert scorer.threshold > 0.0
    # Judged on those scores, the test predictions are the scorer's own.
    _, predictions, _ = nodes.evaluate_scorer(scorer, raw, validation, small)
    assert np.array_equal(predictions["probability"], scorer.predict_proba(validation))
