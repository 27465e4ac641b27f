"""Platt scaling of LightGBM's raw scores: monotonic, so it changes probabilities, never AUC."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class PlattCalibrator:
    """probability = sigmoid(slope * raw_score + intercept); slope 1, intercept 0 is identity."""

    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, raw_score: np.ndarray, y_true: np.ndarray) -> PlattCalibrator:
        model = LogisticRegression(C=1e6).fit(np.asarray(raw_score).reshape(-1, 1), y_true)
        return cls(slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))

    def __call__(self, raw_score: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(raw_score) + self.intercept)))
