"""Drift reference and PSI on hand-made leads with known shares."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from codepro_leads.scoring.drift import DriftReference, population_stability_index
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
    assert ref.psi(encoder, same) == {"n": 0.0, "level": 0.0}
    shifted = _leads(["b"] * 10, [3] * 10)
    psi = ref.psi(encoder, shifted)
    expected_level = sum(
        (a - e) * math.log(a / e) for e, a in ((0.6, 1e-4), (0.3, 1.0), (0.1, 1e-4))
    )
    assert psi["level"] == pytest.approx(expected_level, rel=1e-12)
    assert psi["n"] > 2.0


def test_unseen_share_counts_raw_levels_never_seen_in_training(reference):
    _, ref = reference
    new = _leads(["a", "zzz", None, "c"], [0, 0, 0, 0])
    assert ref.unseen_share(new) == {"level": 0.25}


def test_deciles_for_many_valued_numbers():
    values = pd.DataFrame({"x": np.arange(100.0), "level": pd.array(["a"] * 100, dtype="string")})
    encoder = LeadEncoder.fit(values, ["x"], ["level"], coverage=1.0)
    ref = DriftReference.fit(encoder, values, junk_share=0.0)
    assert ref.numeric_edges["x"] == pytest.approx(
        tuple(np.quantile(np.arange(100.0), np.arange(1, 10) / 10))
    )
    assert ref.numeric_shares["x"] == pytest.approx((0.1,) * 10)
