"""Drift reference and PSI on hand-made leads with known shares."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codepro_leads.scoring.drift import DriftCounts, DriftReference, population_stability_index
from codepro_leads.scoring.encoder import LeadEncoder


def test_psi_of_identical_shares_is_zero_and_of_known_shifts_exact():
    assert population_stability_index([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.7 - 0.5) * math.log(0.7 / 0.5) + (0.3 - 0.5) * math.log(0.3 / 0.5)
    assert population_stability_index([0.5, 0.5], [0.7, 0.3]) == pytest.approx(expected, abs=1e-15)


def test_an_empty_bin_counts_finitely():
    psi = population_stability_index([1.0, 0.0], [0.0, 1.0], eps=1e-4)
    assert psi == pytest.approx(2 * (1 - 1e-4) * math.log(1 / 1e-4), rel=1e-12)


def _leads(levels, numbers):
    return pd.DataFrame({"level": pd.array(levels, dtype="string"), "n": numbers})


@pytest.fixture
def reference():
    train = _leads(["a"] * 6 + ["b"] * 3 + ["c"], [0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
    encoder = LeadEncoder.fit(train, ["n"], ["level"], coverage=0.9)
    return encoder, DriftReference.fit(encoder, train, junk_share=0.25)


def test_reference_holds_grouped_level_shares_bins_and_seen_levels(reference):
    encoder, ref = reference
    assert encoder.categorical_levels == {"level": ("a", "b")}
    assert ref.level_shares == {"level": {"a": 0.6, "b": 0.3, "others": 0.1}}
    assert ref.seen_levels == {"level": frozenset({"a", "b", "c"})}
    assert ref.numeric_edges == {"n": (1.0, 2.0, 3.0)}  # few values: one bin each
    assert ref.numeric_shares == {"n": (0.2, 0.3, 0.3, 0.2)}
    assert ref.junk_share == 0.25


def test_psi_is_zero_on_the_training_mix_and_grows_with_a_shift(reference):
    encoder, ref = reference
    same = _leads(["a"] * 6 + ["b"] * 3 + ["c"], [0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
    assert ref.psi_of(ref.counts(encoder, same)) == {"n": 0.0, "level": 0.0}
    shifted = _leads(["b"] * 10, [3] * 10)
    psi = ref.psi_of(ref.counts(encoder, shifted))
    expected_level = sum(
        (a - e) * math.log(a / e) for e, a in ((0.6, 1e-4), (0.3, 1.0), (0.1, 1e-4))
    )
    assert psi["level"] == pytest.approx(expected_level, rel=1e-12)
    assert psi["n"] > 2.0


def test_unseen_share_counts_raw_levels_never_seen_in_training(reference):
    encoder, ref = reference
    new = _leads(["a", "zzz", None, "c"], [0, 0, 0, 0])
    assert ref.unseen_share_of(ref.counts(encoder, new)) == {"level": 0.25}


def test_deciles_for_many_valued_numbers():
    values = pd.DataFrame({"x": np.arange(100.0), "level": pd.array(["a"] * 100, dtype="string")})
    encoder = LeadEncoder.fit(values, ["x"], ["level"], coverage=1.0)
    ref = DriftReference.fit(encoder, values, junk_share=0.0)
    assert ref.numeric_edges["x"] == pytest.approx(
        tuple(np.quantile(np.arange(100.0), np.arange(1, 10) / 10))
    )
    assert ref.numeric_shares["x"] == pytest.approx((0.1,) * 10)


@settings(max_examples=60, deadline=None)
@given(
    levels=st.lists(st.sampled_from(["a", "b", "c", "zzz", None]), min_size=0, max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=30), max_size=5),
)
def test_psi_summed_over_batches_is_the_psi_of_the_whole(levels, cuts):
    """Counts of any split of the leads add up to the counts of all of them, so PSI and the
    unseen-level shares of a stream of batches equal the whole-file figures, to the bit."""
    train = _leads(["a"] * 6 + ["b"] * 3 + ["c"], [0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
    encoder = LeadEncoder.fit(train, ["n"], ["level"], coverage=0.9)
    ref = DriftReference.fit(encoder, train, junk_share=0.25)
    leads = _leads(levels, [len(level or "") * 1.5 for level in levels])
    edges = [0, *sorted(c for c in cuts if c <= len(leads)), len(leads)]
    total = DriftCounts()
    for start, end in zip(edges, edges[1:], strict=False):
        total = total + ref.counts(encoder, leads.iloc[start:end])
    whole = ref.counts(encoder, leads)
    whole_psi, summed_psi = ref.psi_of(whole), ref.psi_of(total)
    assert list(summed_psi) == list(whole_psi)
    for col, value in whole_psi.items():
        assert summed_psi[col] == value or (math.isnan(value) and math.isnan(summed_psi[col]))
    whole_unseen, summed_unseen = ref.unseen_share_of(whole), ref.unseen_share_of(total)
    assert list(summed_unseen) == list(whole_unseen)
    for col, value in whole_unseen.items():
        assert summed_unseen[col] == value or (math.isnan(value) and math.isnan(summed_unseen[col]))


def test_the_counts_of_a_batch_are_what_psi_is_made_of(reference):
    encoder, ref = reference
    counts = ref.counts(encoder, _leads(["a", "zzz", None, "c", "b"], [0, 3, 3, 1, 9]))
    assert counts.leads == 5
    assert counts.numeric["n"].tolist() == [1, 1, 0, 3]
    assert counts.levels == {"level": {"a": 1, "b": 1, "others": 3}}
    assert counts.unseen == {"level": 1}
