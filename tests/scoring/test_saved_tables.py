"""Contribution tables saved with the model: a load restores them instead of rebuilding them,
and they explain exactly as freshly built tables and as LightGBM itself."""

from __future__ import annotations

import logging
import pickle
import threading
from types import SimpleNamespace

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest

from codepro_leads.features.processing import prepare_leads
from codepro_leads.scoring import contribution_tables
from codepro_leads.scoring.contribution_tables import ContributionTables, TablesMismatchError
from codepro_leads.scoring.pyfunc import STATE_ARTIFACT, LeadScoringModel
from tests.conftest import load_params
from tests.scoring.test_pyfunc import log_model, new_leads, tracking_store, train_model


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """The number of trees of every ContributionTables built from now on."""
    built: list[int] = []
    build = ContributionTables.__init__

    def counted(self, booster, *args, **kwargs):
        built.append(booster.num_trees())
        build(self, booster, *args, **kwargs)

    monkeypatch.setattr(contribution_tables.ContributionTables, "__init__", counted)
    return built


@pytest.fixture(scope="module")
def model() -> LeadScoringModel:
    """A model with its tables built (module-scoped fixtures come before ``builds``)."""
    trained = train_model()
    trained.state()
    return trained


def _matrix(model: LeadScoringModel) -> np.ndarray:
    encoder = model.scorer.encoder
    leads = pd.concat([model.input_example, new_leads(model.processing_params)])
    prepared, _ = prepare_leads(leads.reset_index(drop=True), load_params("data_processing"))
    return encoder.matrix(encoder.transform(prepared))


def _restore(model: LeadScoringModel, state: dict, tmp_path) -> LeadScoringModel:
    """A model as ``load_context`` restores it from ``state``."""
    path = tmp_path / "state.pkl"
    path.write_bytes(pickle.dumps(state))
    loaded = LeadScoringModel.to_load()
    loaded.load_context(SimpleNamespace(artifacts={STATE_ARTIFACT: str(path)}))
    return loaded


def test_saved_tables_explain_as_fresh_ones_and_as_lightgbm(model, tmp_path, builds):
    state = model.state()
    restored = _restore(model, state, tmp_path)
    assert builds == []  # neither state() (built already) nor the load built any
    fresh = ContributionTables(model.scorer.model.booster_)
    tables = restored.scorer.contribution_tables
    assert tables.booster is restored.scorer.model.booster_  # the loaded model's own booster
    matrix = _matrix(model)
    assert len(matrix) == 11
    contributions, raw = tables.explain(matrix)
    fresh_contributions, fresh_raw = fresh.explain(matrix)
    assert np.array_equal(contributions, fresh_contributions)
    assert np.array_equal(raw, fresh_raw)
    booster = restored.scorer.model.booster_
    assert np.abs(contributions - booster.predict(matrix, pred_contrib=True)).max() <= 1e-12
    assert np.array_equal(raw, booster.predict(matrix, raw_score=True))


def test_a_model_saved_without_tables_builds_them_at_load(model, tmp_path, builds):
    older = dict(vars(model))  # a state as saved before the tables were
    restored = _restore(model, older, tmp_path)
    assert builds == [20]
    matrix = _matrix(model)
    assert np.array_equal(
        restored.scorer.contribution_tables.explain(matrix)[0],
        model.scorer.contribution_tables.explain(matrix)[0],
    )


def test_tables_of_another_model_are_rebuilt_with_a_warning(model, tmp_path, builds, caplog):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 6))
    other = lgb.train(
        {"objective": "binary", "verbose": -1},
        lgb.Dataset(features, (features[:, 0] > 0).astype(int)),
        num_boost_round=5,
    )
    state = {**model.state(), "contribution_tables": ContributionTables(other).state()}
    assert builds == [5]
    builds.clear()
    with caplog.at_level(logging.WARNING, logger="codepro_leads.scoring.scorer"):
        restored = _restore(model, state, tmp_path)
    assert builds == [20]
    assert caplog.messages == [
        "Rebuilding the contribution tables: contribution tables built from another booster"
    ]
    assert restored.scorer.contribution_tables.n_trees == 20


def test_tables_of_another_format_are_refused(model):
    state = {**model.scorer.contribution_tables_state(), "format": 0}
    with pytest.raises(TablesMismatchError, match="contribution tables of format 0"):
        ContributionTables.from_state(model.scorer.model.booster_, state)


def test_logging_builds_the_tables_once_and_loading_never(tmp_path, builds):
    fresh = train_model()  # no tables yet
    with tracking_store(tmp_path):
        uri = log_model(fresh)  # state, signature and MLflow's check of the input example
        assert builds == [20]
        served = mlflow.pyfunc.load_model(uri)
    assert builds == [20]
    leads = new_leads(fresh.processing_params)
    assert served.predict(leads) == fresh.predict(None, leads)


def test_tables_built_ahead_are_the_ones_built_on_first_use(builds, monkeypatch):
    threads: list[str] = []
    build = ContributionTables.__init__

    def on_thread(self, booster, *args, **kwargs):
        threads.append(threading.current_thread().name)
        build(self, booster, *args, **kwargs)

    monkeypatch.setattr(contribution_tables.ContributionTables, "__init__", on_thread)
    ahead, on_use = train_model(), train_model()  # the same fit, twice
    ahead.scorer.build_contribution_tables_ahead()
    ahead.scorer.build_contribution_tables_ahead()  # already under way: not started again
    pickle.dumps(ahead.scorer)  # a scorer whose tables are building still pickles
    tables = ahead.scorer.contribution_tables
    assert builds == [20]
    assert threads[0].startswith("contribution-tables")  # built on the worker thread
    assert tables.booster is ahead.scorer.model.booster_  # not the worker's copy
    ahead_state, on_use_state = tables.state(), on_use.scorer.contribution_tables_state()
    assert ahead_state.keys() == on_use_state.keys()
    assert ahead_state["fingerprint"] == on_use_state["fingerprint"]
    for name in ("contributions", "outputs", "offset"):
        assert np.array_equal(ahead_state[name], on_use_state[name])
    matrix = _matrix(ahead)
    on_use_contributions = on_use.scorer.contribution_tables.explain(matrix)[0]
    assert np.array_equal(tables.explain(matrix)[0], on_use_contributions)
    ahead.scorer.build_contribution_tables_ahead()  # built: nothing to start
    assert builds == [20, 20]
    assert threads[1] == threading.current_thread().name  # on_use: built where first used


def test_a_failed_build_ahead_fails_the_first_use(monkeypatch):
    model = train_model()

    def broken(self, booster, *args, **kwargs):
        raise ValueError("contribution tables need one tree per iteration")

    monkeypatch.setattr(contribution_tables.ContributionTables, "__init__", broken)
    model.scorer.build_contribution_tables_ahead()
    with pytest.raises(ValueError, match="one tree per iteration"):
        model.state()
