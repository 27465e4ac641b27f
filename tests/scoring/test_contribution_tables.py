"""Lookup-table contributions and raw scores against LightGBM's own, on any row."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codepro_leads.scoring.contribution_tables import ContributionTables, _leaf_terms

N_CODES = 8  # category codes 0..7 in training


def _booster(zero_as_missing: bool) -> lgb.Booster:
    """Two numbers (the first with NaNs and zeros) and two categories, many-vs-many splits."""
    rng = np.random.default_rng(3)
    n = 2000
    x = np.column_stack(
        [
            np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n).round(1)),
            rng.integers(0, 20, n).astype(float),
            rng.integers(0, N_CODES, n).astype(float),
            rng.integers(0, N_CODES, n).astype(float),
        ]
    )
    x[rng.random(n) < 0.1, 0] = 0.0
    log_odds = (
        np.nan_to_num(x[:, 0], nan=1.0)
        + 0.2 * x[:, 1]
        - 2
        + np.isin(x[:, 2], [1, 4, 5])
        - (x[:, 3] % 3 == 0)
    )
    label = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": 12,
        "min_data_in_leaf": 5,
        "min_data_per_group": 5,
        "cat_smooth": 1,
        "max_cat_to_onehot": 2,  # sets of categories, not one against the rest
        "zero_as_missing": zero_as_missing,
        "verbose": -1,
    }
    data = lgb.Dataset(x, label, categorical_feature=[2, 3])
    return lgb.train(params, data, num_boost_round=25)


@pytest.fixture(scope="module", params=[False, True], ids=["nan-missing", "zero-missing"])
def model(request):
    booster = _booster(request.param)
    thresholds = [
        float(node["threshold"])
        for tree in booster.dump_model()["tree_info"]
        for node in _nodes(tree["tree_structure"])
        if node["decision_type"] == "<="
    ]
    return booster, ContributionTables(booster), sorted(set(thresholds))


def _nodes(node):
    if "split_feature" in node:
        yield node
        yield from _nodes(node["left_child"])
        yield from _nodes(node["right_child"])


def _numbers(thresholds: list[float]) -> st.SearchStrategy[float]:
    """Values on, just beside and between the thresholds, zeros, NaN and anything else."""
    on = st.sampled_from(thresholds)
    beside = on.flatmap(
        lambda t: st.sampled_from([np.nextafter(t, -np.inf), np.nextafter(t, np.inf)])
    )
    special = st.sampled_from([np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e-35, np.inf, -np.inf])
    return on | beside | special | st.floats(-30, 30)


# Known codes, unseen ones, negative ones, fractions (truncated), huge ones.
_CODES = st.sampled_from([-1.0, -0.5, -3.0, 0.5, 2.7, 11.0, 1e10, 3e9]) | st.integers(
    0, N_CODES + 2
).map(float)


def _check(booster: lgb.Booster, tables: ContributionTables, rows: np.ndarray) -> None:
    contributions, raw = tables.explain(rows)
    expected = booster.predict(rows, pred_contrib=True)
    assert np.abs(contributions - expected).max() <= 1e-12
    assert np.array_equal(raw, booster.predict(rows, raw_score=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_table_contributions_are_lightgbms_for_any_row(model, data):
    booster, tables, thresholds = model
    numbers = _numbers(thresholds)
    rows = data.draw(st.lists(st.tuples(numbers, numbers, _CODES, _CODES), min_size=1, max_size=30))
    _check(booster, tables, np.array(rows, dtype=float))


def test_a_nan_category_code_is_left_to_lightgbm(model):
    booster, tables, _ = model
    rows = np.array([[0.3, 4.0, np.nan, 1.0], [np.nan, 4.0, 1.0, np.nan], [0.3, 4.0, 1.0, 2.0]])
    _check(booster, tables, rows)


def test_trees_over_the_cell_cap_are_explained_by_lightgbm(model):
    booster, tables, _ = model
    sizes = np.diff([*tables.offset, len(tables.outputs)])
    capped = ContributionTables(booster, max_cells=int(np.median(sizes)))
    assert 0 < len(capped.fallback_trees) < booster.num_trees()
    rows = np.random.default_rng(5).normal(size=(50, 4)).round(1)
    rows[:, 2:] = np.abs(rows[:, 2:] * 4).round()
    _check(booster, capped, rows)
    assert np.array_equal(capped.explain(rows)[1], tables.explain(rows)[1])


def test_tables_are_built_from_every_cell_of_every_tree(model):
    booster, tables, _ = model
    sizes = np.diff([*tables.offset, len(tables.outputs)])
    assert tables.fallback_trees == []
    assert len(sizes) == booster.num_trees()
    # A tree has at least as many cells as leaves; a stump's one cell is its only leaf.
    leaves = [tree["num_leaves"] for tree in booster.dump_model()["tree_info"]]
    assert (sizes >= leaves).all()


@settings(max_examples=100, deadline=None)
@given(
    value=st.floats(-5, 5),
    zero=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=6),
)
def test_a_leafs_terms_add_up_to_what_following_it_changes(value, zero):
    """Shapley efficiency, leaf by leaf: for every set O of path features a row follows, the
    terms add up to v (prod of o_j - prod of z_j): the leaf's value if the row follows every
    feature, nothing otherwise, less what it gives on average."""
    zero = np.array(zero)
    terms = _leaf_terms(value, zero)
    d = len(zero)
    follows = (np.arange(2**d)[:, None] >> np.arange(d)) & 1  # [O, b]
    expected = value * (follows.all(axis=1) - zero.prod())
    assert np.abs(terms.sum(axis=1) - expected).max() <= 1e-12
    # Following a feature moves the row toward the leaf's value, not following it away.
    assert (terms[follows == 1] * value >= 0).all()
    assert (terms[follows == 0] * value <= 0).all()
