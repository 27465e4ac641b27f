"""Feature encoding fitted on training leads, so training and scoring agree on every column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

OTHER_LEVEL = "others"


def covering_levels(values: pd.Series, coverage: float) -> list[str]:
    """The most frequent levels that together cover ``coverage`` of the rows (CodePro's rule).

    Missing values count as rows but never as a level.
    """
    shares = values.value_counts(normalize=False, dropna=True) / len(values)
    cumulative = shares.cumsum().to_numpy()
    n_kept = int(np.searchsorted(cumulative, coverage - 1e-12) + 1)
    return shares.index[: min(n_kept, len(shares))].astype(str).tolist()


@dataclass(frozen=True)
class LeadEncoder:
    """Turns ``model_input_leads`` rows into the model's feature frame.

    Categorical columns keep their fitted levels; rare, unseen and missing levels become
    ``others``. Categories are fixed, so LightGBM sees the same codes at training and scoring.
    """

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
        fixed_levels = fixed_levels or {}
        levels = {
            col: tuple(fixed_levels.get(col) or covering_levels(leads[col], coverage))
            for col in categorical_features
        }
        return cls(numeric_features=tuple(numeric_features), categorical_levels=levels)

    @property
    def feature_names(self) -> list[str]:
        return [*self.numeric_features, *self.categorical_levels]

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The float matrix LightGBM's booster reads from a ``transform`` frame: numbers as they
        are, levels as their category codes (what LightGBM itself makes of the frame)."""
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
            dtype = pd.CategoricalDtype([*levels, OTHER_LEVEL])
            text = arrow_text(leads[col])
            if text is not None:  # matched in Arrow, without a Python string per value
                codes = pc.fill_null(
                    pc.index_in(text, value_set=pa.array(levels, pa.string())), len(levels)
                )
                features[col] = pd.Categorical.from_codes(codes.to_numpy(), dtype=dtype)
                continue
            raw = leads[col].astype(object)
            features[col] = pd.Categorical(raw.where(raw.isin(levels), OTHER_LEVEL), dtype=dtype)
        return pd.DataFrame(features, index=leads.index)


def arrow_text(values: pd.Series) -> pa.Array | None:
    """The Arrow array behind a ``string[pyarrow]`` column (how lead files are read); None for
    any other dtype."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pa.array(values)
    return None
