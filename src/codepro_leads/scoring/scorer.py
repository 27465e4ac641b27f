"""The fitted lead scorer: one object from training to batch scoring and serving."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from codepro_leads.scoring.calibration import PlattCalibrator
from codepro_leads.scoring.drift import DriftReference
from codepro_leads.scoring.encoder import OTHER_LEVEL, LeadEncoder
from codepro_leads.scoring.evaluation import grade_from_score, score_from_probability
from codepro_leads.scoring.factor_texts import factor_texts

# Below this many rows LightGBM's threads cost more to wake than they save.
_ONE_THREAD_BELOW = 100


@dataclass(frozen=True)
class LeadScorer:
    encoder: LeadEncoder
    model: lgb.LGBMClassifier
    calibrator: PlattCalibrator
    threshold: float  # calibrated probability below which a lead is junk
    grade_bands: dict[str, int]  # grade -> minimum score
    reference: DriftReference | None = None  # training distributions, for drift monitoring
    top_factors: int = 3  # factors raising and lowering each score

    def raw_score(self, leads: pd.DataFrame) -> np.ndarray:
        """The model's log-odds, before calibration."""
        return self.model.predict(self.encoder.transform(leads), raw_score=True)

    def predict_proba(self, leads: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of completing the application."""
        return self.calibrator(self.raw_score(leads))

    def score(
        self,
        leads: pd.DataFrame,
        chunk_size: int = 100_000,
        explained: ExplainedRows | None = None,
        texts: bool = False,
    ) -> pd.DataFrame:
        """One row per lead: probability, 0-100 score, grade, junk flag, the ``top_factors``
        factors raising and lowering it with their log-odds (``texts``: and ``FACTOR_TEXTS``).
        Each distinct feature row is scored once, in chunks, unless ``explained`` holds it."""
        matrix = self.encoder.matrix(self.encoder.transform(leads))
        first, row_of = distinct_rows(matrix)
        per_distinct_row = self.score_matrix(matrix[first], chunk_size, explained)
        if texts:
            made = factor_texts(pd.DataFrame(per_distinct_row))
            per_distinct_row |= {col: text.array for col, text in made.items()}
        return pd.DataFrame(
            {
                "lead_id": leads["lead_id"].to_numpy(),
                "created_date": leads["created_date"].to_numpy(),
                **{col: values[row_of] for col, values in per_distinct_row.items()},
            }
        )

    def score_matrix(
        self,
        matrix: np.ndarray,
        chunk_size: int = 100_000,
        explained: ExplainedRows | None = None,
    ) -> dict[str, np.ndarray]:
        """``score``'s columns after the key and the date, for rows of ``encoder.matrix``:
        LightGBM's TreeSHAP (``pred_contrib``) gives contributions adding up to the raw score."""

        def explain(rows: np.ndarray) -> np.ndarray:
            contributions = np.zeros((len(rows), rows.shape[1] + 1))
            for start in range(0, len(rows), chunk_size):
                chunk = rows[start : start + chunk_size]
                threads = 1 if len(chunk) < _ONE_THREAD_BELOW else 0  # 0: LightGBM's default
                contributions[start : start + len(chunk)] = self.model.booster_.predict(
                    chunk, pred_contrib=True, num_threads=threads
                )
            return contributions

        contributions = explain(matrix) if explained is None else explained.of(matrix, explain)
        probability = self.calibrator(contributions.sum(axis=1))
        score = score_from_probability(probability)
        return {
            "probability": probability,
            "score": score,
            "grade": grade_from_score(score, self.grade_bands),
            "is_junk": probability < self.threshold,
            **_top_factors(contributions[:, :-1], self._factor_labels(matrix), self.top_factors),
        }

    def _factor_labels(self, matrix: np.ndarray) -> np.ndarray:
        """``feature=value`` for every cell, as the model saw it (levels by name, no '.0')."""
        labels = np.empty(matrix.shape, dtype=object)
        for j, col in enumerate(self.encoder.feature_names):
            values, row_value = np.unique(matrix[:, j], return_inverse=True)
            if col in self.encoder.categorical_levels:
                names = [*self.encoder.categorical_levels[col], OTHER_LEVEL]
                shown = [names[int(code)] for code in values]
            else:
                shown = [str(value) for value in values]
            text = [f"{col}={value.removesuffix('.0')}" for value in shown]
            labels[:, j] = np.array(text, dtype=object)[row_value.reshape(-1)]
        return labels


class ExplainedRows:
    """The contributions of up to ``max_rows`` distinct feature rows one run has explained: later
    batches of a file meet the same rows again, and TreeSHAP is most of a row's cost."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._known: dict[bytes, np.ndarray] = {}

    def of(self, rows: np.ndarray, explain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The contributions of distinct ``rows``: known ones looked up, the others explained."""
        keys = [row.tobytes() for row in rows]
        unknown = [i for i, key in enumerate(keys) if key not in self._known]
        contributions = np.empty((len(rows), rows.shape[1] + 1))
        contributions[unknown] = explain(rows[unknown])
        room = max(self.max_rows - len(self._known), 0)
        for i, key in enumerate(keys):
            if key in self._known:
                contributions[i] = self._known[key]
            elif room > 0:
                self._known[key] = contributions[i]
                room -= 1
        return contributions


def _top_factors(contributions: np.ndarray, labels: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The ``k`` largest positive and negative contributions per row, with their labels."""
    rows = np.arange(len(contributions))[:, None]
    columns = {}
    for direction, sign in (("up", 1.0), ("down", -1.0)):
        order = np.argsort(-sign * contributions, axis=1, kind="stable")[:, :k]
        effect, names = contributions[rows, order], labels[rows, order]
        present = sign * effect > 0
        for i in range(order.shape[1]):
            factor = f"{direction}_factor_{i + 1}"
            columns[factor] = np.where(present[:, i], names[:, i], None)
            columns[f"{factor}_effect"] = np.where(present[:, i], effect[:, i], np.nan)
    return columns


def distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``first`` and ``row_of`` such that ``matrix[first][row_of]`` is ``matrix``: rows compared
    as bytes (np.unique(axis=0) compares them field by field, much slower)."""
    rows = np.ascontiguousarray(matrix)
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, row_of = np.unique(as_bytes, return_index=True, return_inverse=True)
    return first, row_of.reshape(-1)
