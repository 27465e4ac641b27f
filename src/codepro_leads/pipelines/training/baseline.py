"""CodePro's own recipe, fitted on the same split in every run to judge each candidate against:
its significant levels one-hot, numeric features as they are, its LightGBM, unweighted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from codepro_leads.scoring.encoder import OTHER_LEVEL

if TYPE_CHECKING:
    import lightgbm as lgb


@dataclass(frozen=True)
class OneHotLevels:
    """Numeric features as floats, then a 0/1 column per listed level and one for all others."""

    numeric_features: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]

    @property
    def feature_names(self) -> list[str]:
        return [
            *self.numeric_features,
            *(
                f"{col}={level}"
                for col, kept in self.levels.items()
                for level in (*kept, OTHER_LEVEL)
            ),
        ]

    def transform(self, leads: pd.DataFrame) -> np.ndarray:
        columns = [leads[col].to_numpy(dtype=float) for col in self.numeric_features]
        for col, kept in self.levels.items():
            # code i: the i-th listed level; -1 (any other level, or missing): the last column
            codes = pd.Categorical(leads[col].astype(object), categories=list(kept)).codes
            columns.append(np.eye(len(kept) + 1)[codes])
        return np.column_stack(columns).reshape(len(leads), -1)


@dataclass(frozen=True)
class BaselineModel:
    encoding: OneHotLevels
    model: lgb.LGBMClassifier

    def predict_proba(self, leads: pd.DataFrame) -> np.ndarray:
        """Probability of completing, per lead."""
        return self.model.predict_proba(self.encoding.transform(leads))[:, 1]


def fit_baseline(train: pd.DataFrame, params: dict[str, Any]) -> BaselineModel:
    """CodePro's recipe: ``baseline.levels`` one-hot, the configured (never tuned) LightGBM."""
    import lightgbm as lgb

    encoding = OneHotLevels(
        numeric_features=tuple(params["features"]["numeric"]),
        levels={col: tuple(levels) for col, levels in params["baseline"]["levels"].items()},
    )
    model = lgb.LGBMClassifier(**params["lightgbm"]).fit(
        encoding.transform(train), train[params["columns"]["label"]].to_numpy()
    )
    return BaselineModel(encoding, model)
