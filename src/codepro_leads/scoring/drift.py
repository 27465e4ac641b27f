"""Input drift of new leads against the training leads the model was fitted on.

The reference is fitted at training time and travels inside the model, so monitoring always
compares with the data of the model that scored the leads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from codepro_leads.scoring.encoder import LeadEncoder

MAX_NUMERIC_BINS = 10


def population_stability_index(
    expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4
) -> float:
    """PSI = sum((actual - expected) * ln(actual / expected)) over matching bins' shares.

    Empty bins are floored at ``eps`` so a level that appears or vanishes counts, finitely.
    """
    e = np.clip(np.asarray(expected, dtype=float), eps, None)
    a = np.clip(np.asarray(actual, dtype=float), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _bin_edges(values: np.ndarray) -> np.ndarray:
    """Inner bin edges: each distinct value for few-valued features, else training deciles."""
    distinct = np.unique(values)
    if len(distinct) <= MAX_NUMERIC_BINS:
        return distinct[1:]
    return np.unique(np.quantile(values, np.linspace(0, 1, MAX_NUMERIC_BINS + 1)[1:-1]))


def _bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


@dataclass(frozen=True)
class DriftReference:
    """Training-time distributions of the model's features, and its junk share."""

    level_shares: dict[str, dict[str, float]]  # categorical: grouped level -> share
    seen_levels: dict[str, frozenset[str]]  # categorical: every raw level seen in training
    numeric_edges: dict[str, tuple[float, ...]]
    numeric_shares: dict[str, tuple[float, ...]]
    junk_share: float

    @classmethod
    def fit(cls, encoder: LeadEncoder, leads: pd.DataFrame, junk_share: float) -> DriftReference:
        features = encoder.transform(leads)
        edges = {col: _bin_edges(features[col].to_numpy()) for col in encoder.numeric_features}
        return cls(
            level_shares={
                col: features[col].value_counts(normalize=True, sort=False).to_dict()
                for col in encoder.categorical_levels
            },
            seen_levels={
                col: frozenset(leads[col].dropna().astype(str))
                for col in encoder.categorical_levels
            },
            numeric_edges={col: tuple(e.tolist()) for col, e in edges.items()},
            numeric_shares={
                col: tuple(_bin_shares(features[col].to_numpy(), e).tolist())
                for col, e in edges.items()
            },
            junk_share=float(junk_share),
        )

    def psi(self, encoder: LeadEncoder, leads: pd.DataFrame) -> dict[str, float]:
        """PSI per feature: categorical levels after rare-level grouping, numbers in bins."""
        features = encoder.transform(leads)
        result = {}
        for col, edges in self.numeric_edges.items():
            actual = _bin_shares(features[col].to_numpy(), np.asarray(edges))
            result[col] = population_stability_index(self.numeric_shares[col], actual)
        for col, shares in self.level_shares.items():
            actual = features[col].value_counts(normalize=True, sort=False)
            levels = list(shares)
            result[col] = population_stability_index(
                [shares[level] for level in levels], actual.reindex(levels, fill_value=0.0)
            )
        return result

    def unseen_share(self, leads: pd.DataFrame) -> dict[str, float]:
        """Share of leads whose raw level was never seen in training, per categorical column."""
        return {
            col: float((~leads[col].astype(str).isin(seen) & leads[col].notna()).mean())
            for col, seen in self.seen_levels.items()
        }
