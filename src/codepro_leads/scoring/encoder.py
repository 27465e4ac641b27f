"""Feature encoding fitted on training leads, so training and scoring agree on every column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

OTHER_LEVEL = "others"
_ARROW_TEXT = pd.StringDtype("pyarrow")


def covering_levels(values: pd.Series, coverage: float) -> list[str]:
    """The most frequent levels covering ``coverage`` of the rows (missing: a row, not a level)."""
    shares = values.value_counts(normalize=False, dropna=True) / len(values)
    cumulative = shares.cumsum().to_numpy()
    n_kept = int(np.searchsorted(cumulative, coverage - 1e-12) + 1)
    return shares.index[: min(n_kept, len(shares))].astype(str).tolist()


@dataclass(frozen=True)
class LeadEncoder:
    """``model_input_leads`` rows -> the model's features. Rare, unseen and missing levels are
    ``others``; categories are fixed, so LightGBM sees the same codes at training and scoring."""

    numeric_features: tuple[str, ...]
    categorical_levels: dict[str, tuple[str, ...]]

    @classmethod
    def fit(
        cls,
        leads: pd.DataFrame,
        numeric_features: list[str],
        categorical_features: list[str],
        coverage: float,
        fixed_levels: dict[str, list[str]] | None = None,
    ) -> LeadEncoder:
        """Keep the levels covering ``coverage`` of ``leads``, or the given ``fixed_levels``."""
        fixed = fixed_levels or {}
        levels = {
            col: tuple(fixed.get(col) or covering_levels(leads[col], coverage))
            for col in categorical_features
        }
        return cls(numeric_features=tuple(numeric_features), categorical_levels=levels)

    @property
    def feature_names(self) -> list[str]:
        return [*self.numeric_features, *self.categorical_levels]

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """A ``transform`` frame as LightGBM's booster reads it: levels as category codes."""
        return np.column_stack(
            [
                features[col].cat.codes.to_numpy(dtype=float)
                if col in self.categorical_levels
                else features[col].to_numpy(dtype=float)
                for col in self.feature_names
            ]
        ).reshape(len(features), len(self.feature_names))

    def transform(self, leads: pd.DataFrame) -> pd.DataFrame:
        """Feature frame in a fixed column order: numbers as float, levels as categories."""
        features = {col: leads[col].to_numpy(dtype=float) for col in self.numeric_features}
        for col, levels in self.categorical_levels.items():
            codes = pc.index_in(arrow_text(leads[col]), value_set=pa.array(levels, pa.string()))
            features[col] = pd.Categorical.from_codes(
                pc.fill_null(codes, len(levels)).to_numpy(),
                dtype=pd.CategoricalDtype([*levels, OTHER_LEVEL]),
            )
        return pd.DataFrame(features, index=leads.index)


def arrow_text(values: pd.Series) -> pa.Array:
    """A text column in Arrow, matched there without a Python string per value."""
    return pa.array(values if values.dtype == _ARROW_TEXT else values.astype(_ARROW_TEXT))
