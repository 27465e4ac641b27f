"""Rare-level grouping fitted on training leads; unseen and missing levels at scoring time."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from codepro_leads.scoring.drift import DriftReference
from codepro_leads.scoring.encoder import OTHER_LEVEL, LeadEncoder, covering_levels


def test_covering_levels_keeps_the_most_frequent_until_the_coverage():
    values = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 15 + ["d"] * 5)
    assert covering_levels(values, 0.80) == ["a", "b"]
    assert covering_levels(values, 0.90) == ["a", "b", "c"]
    assert covering_levels(values, 1.0) == ["a", "b", "c", "d"]


def test_missing_values_count_as_rows_but_are_never_a_level():
    values = pd.Series(["a"] * 6 + [None] * 4)
    assert covering_levels(values, 0.9) == ["a"]


def _leads(platform):
    return pd.DataFrame(
        {"first_platform_c": platform, "city_tier": [1] * len(platform), "referred_lead": 0}
    )


def test_transform_groups_rare_unseen_and_missing_levels():
    train = _leads(["L0"] * 8 + ["L1"] * 2 + ["L9"])
    encoder = LeadEncoder.fit(train, ["city_tier", "referred_lead"], ["first_platform_c"], 0.9)
    assert encoder.categorical_levels == {"first_platform_c": ("L0", "L1")}

    features = encoder.transform(_leads(["L1", "L9", "never_seen", None]))
    assert features.columns.tolist() == ["city_tier", "referred_lead", "first_platform_c"]
    assert features["first_platform_c"].tolist() == ["L1", OTHER_LEVEL, OTHER_LEVEL, OTHER_LEVEL]
    # Fixed categories: the same codes at training and scoring, whatever the batch holds.
    assert list(features["first_platform_c"].cat.categories) == ["L0", "L1", OTHER_LEVEL]
    assert features["first_platform_c"].cat.codes.tolist() == [1, 2, 2, 2]
    assert features["city_tier"].dtype == float


def test_fixed_levels_override_the_fitted_ones():
    encoder = LeadEncoder.fit(
        _leads(["L0"] * 9 + ["L1"]), [], ["first_platform_c"], 0.9, {"first_platform_c": ["L1"]}
    )
    assert encoder.categorical_levels == {"first_platform_c": ("L1",)}
    assert encoder.feature_names == ["first_platform_c"]


def test_matrix_holds_numbers_and_level_codes_in_feature_order():
    train = _leads(["L0"] * 8 + ["L1"] * 2)
    encoder = LeadEncoder.fit(train, ["city_tier", "referred_lead"], ["first_platform_c"], 0.9)
    features = encoder.transform(_leads(["L1", "never_seen", "L0"]).assign(city_tier=[1, 3, 2]))

    assert encoder.matrix(features).tolist() == [[1.0, 0.0, 1.0], [3.0, 0.0, 2.0], [2.0, 0.0, 0.0]]


_TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "é", "a "]), st.text(max_size=3))


@given(train=st.lists(_TEXT, min_size=1, max_size=30), new=st.lists(_TEXT, max_size=30))
@settings(max_examples=60, deadline=None)
def test_arrow_text_is_encoded_and_counted_as_object_text_is(train, new):
    """Lead files are read as string[pyarrow], matched in Arrow: the same features and unseen
    counts as the same values held as Python objects."""
    frame = pd.DataFrame({"level": pd.array(train, dtype="string[pyarrow]"), "n": 1.0})
    encoder = LeadEncoder.fit(frame, ["n"], ["level"], coverage=0.8)
    reference = DriftReference.fit(encoder, frame, junk_share=0.5)
    arrow = pd.DataFrame({"level": pd.array(new, dtype="string[pyarrow]"), "n": 1.0})
    objects = arrow.astype({"level": object}).replace({pd.NA: None})
    pd.testing.assert_frame_equal(encoder.transform(arrow), encoder.transform(objects))
    counted, expected = reference.counts(encoder, arrow), reference.counts(encoder, objects)
    assert (counted.unseen, counted.levels) == (expected.unseen, expected.levels)
