"""Input drift of new leads against the training leads (the reference travels in the model)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codepro_leads.scoring.encoder import LeadEncoder, arrow_text

MAX_NUMERIC_BINS = 10


def population_stability_index(
    expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4
) -> float:
    """PSI = sum((actual - expected) * ln(actual / expected)) over bin shares; empty bins are
    floored at ``eps``, so a level that appears or vanishes counts, finitely."""
    e = np.clip(np.asarray(expected, dtype=float), eps, None)
    a = np.clip(np.asarray(actual, dtype=float), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _bin_edges(values: np.ndarray) -> np.ndarray:
    """Inner bin edges: each distinct value for few-valued features, else training deciles."""
    distinct = np.unique(values)
    if len(distinct) <= MAX_NUMERIC_BINS:
        return distinct[1:]
    return np.unique(np.quantile(values, np.linspace(0, 1, MAX_NUMERIC_BINS + 1)[1:-1]))


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)


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
                col: tuple((_bin_counts(features[col].to_numpy(), e) / max(len(leads), 1)).tolist())
                for col, e in edges.items()
            },
            junk_share=float(junk_share),
        )

    def counts(self, encoder: LeadEncoder, leads: pd.DataFrame) -> DriftCounts:
        """Bin and level counts of ``leads``: those of batches add up to the whole file's."""
        features = encoder.transform(leads)
        return DriftCounts(
            leads=len(leads),
            numeric={
                col: _bin_counts(features[col].to_numpy(), np.asarray(edges))
                for col, edges in self.numeric_edges.items()
            },
            levels={
                col: features[col].value_counts(sort=False).to_dict() for col in self.level_shares
            },
            unseen=self._unseen_counts(leads),
        )

    def psi_of(self, counts: DriftCounts) -> dict[str, float]:
        """PSI per feature of counted leads."""
        result = {}
        for col, expected in self.numeric_shares.items():
            actual = counts.numeric[col] / max(counts.leads, 1)
            result[col] = population_stability_index(expected, actual)
        for col, shares in self.level_shares.items():
            actual = [_share(counts.levels[col].get(level, 0), counts.leads) for level in shares]
            result[col] = population_stability_index(list(shares.values()), actual)
        return result

    def _unseen_counts(self, leads: pd.DataFrame) -> dict[str, int]:
        counts = {}
        for col, seen in self.seen_levels.items():
            text = arrow_text(leads[col])
            known = pc.is_in(text, value_set=pa.array(sorted(seen), pa.string()))
            counts[col] = int(pc.sum(pc.invert(known)).as_py() or 0) - text.null_count
        return counts

    def unseen_share_of(self, counts: DriftCounts) -> dict[str, float]:
        """Share of counted leads with a raw level never seen in training, per column."""
        return {col: _share(counts.unseen[col], counts.leads) for col in self.seen_levels}


@dataclass(frozen=True)
class DriftCounts:
    """How many leads fell in each bin, level and unseen level: counts add (``a + b``)."""

    leads: int = 0
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    levels: dict[str, dict[str, int]] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)

    def __add__(self, other: DriftCounts) -> DriftCounts:
        return DriftCounts(
            leads=self.leads + other.leads,
            numeric=_added(self.numeric, other.numeric),
            levels={
                col: _added(self.levels.get(col, {}), other.levels.get(col, {}))
                for col in {**self.levels, **other.levels}
            },
            unseen=_added(self.unseen, other.unseen),
        )


def _added(first: dict, second: dict) -> dict:
    return {key: first.get(key, 0) + second.get(key, 0) for key in {**first, **second}}


def _share(count: int, total: int) -> float:
    """NaN for no leads at all."""
    return count / total if total else float("nan")
