"""The fitted lead scorer: encoder, LightGBM model, calibration, threshold and grade bands.

One object travels from training to batch scoring and HTTP serving, so they cannot disagree.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from codepro_leads.scoring.calibration import PlattCalibrator
from codepro_leads.scoring.contribution_tables import ContributionTables, TablesMismatchError
from codepro_leads.scoring.drift import DriftReference
from codepro_leads.scoring.encoder import OTHER_LEVEL, LeadEncoder
from codepro_leads.scoring.evaluation import grade_from_score, score_from_probability

logger = logging.getLogger(__name__)

# Where a scorer keeps its contribution tables, and the build started ahead of their first use.
_AHEAD = "_contribution_tables_ahead"
_TABLE_SLOTS = ("contribution_tables", _AHEAD)


@dataclass(frozen=True)
class LeadScorer:
    encoder: LeadEncoder
    model: lgb.LGBMClassifier
    calibrator: PlattCalibrator
    threshold: float  # calibrated probability below which a lead is junk
    grade_bands: dict[str, int]  # grade -> minimum score
    reference: DriftReference | None = None  # training distributions, for drift monitoring
    # Factors raising and lowering each score: a setting of the model, so batch scoring and the
    # served model explain alike. (Scorers pickled before it existed read the class default.)
    top_factors: int = 3

    def __getstate__(self) -> dict[str, Any]:
        # The lookup tables never travel inside the scorer's own pickle (nor its copies): the
        # logged model saves them beside it (``contribution_tables_state``).
        return {k: v for k, v in vars(self).items() if k not in _TABLE_SLOTS}

    @cached_property
    def contribution_tables(self) -> ContributionTables:
        """The model's exact contributions and raw scores as per-tree lookup tables, built on
        first use unless restored or started ahead (demo champion: 90 trees, ~0.4M cells,
        ~28 MB, under a second to build)."""
        ahead: Future[ContributionTables] | None = vars(self).pop(_AHEAD, None)
        if ahead is None:
            return ContributionTables(self.model.booster_)
        tables = ahead.result()
        tables.booster = self.model.booster_  # LightGBM's fallbacks use the scorer's own
        return tables

    def build_contribution_tables_ahead(self) -> None:
        """Start building the contribution tables on a worker thread; ``contribution_tables``
        waits for them. NumPy and LightGBM do most of the work without the GIL, so the
        caller's Python work (evaluation, plots) goes on meanwhile. The worker reads a copy of
        the booster: LightGBM keeps per-call prediction settings in the booster itself."""
        if "contribution_tables" in vars(self) or _AHEAD in vars(self):
            return
        booster = lgb.Booster(model_str=self.model.booster_.model_to_string())
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="contribution-tables")
        vars(self)[_AHEAD] = worker.submit(ContributionTables, booster)
        worker.shutdown(wait=False)  # the thread ends with its one task

    def contribution_tables_state(self) -> dict[str, Any]:
        """The built tables (built now if they are not yet), for ``restore_contribution_tables``."""
        return self.contribution_tables.state()

    def restore_contribution_tables(self, state: dict[str, Any] | None) -> None:
        """Use the tables of ``contribution_tables_state`` when they were built from this very
        model; build them otherwise (``state`` None: a model saved without them)."""
        if state is not None:
            try:
                tables = ContributionTables.from_state(self.model.booster_, state)
            except TablesMismatchError as error:
                logger.warning("Rebuilding the contribution tables: %s", error)
            else:
                vars(self)["contribution_tables"] = tables  # the cached_property's slot
                return
        _ = self.contribution_tables

    def contributions(self, leads: pd.DataFrame) -> np.ndarray:
        """Per-lead, per-feature contributions to the raw score (log-odds); last column: bias.

        Rows add up exactly to the model's raw score (LightGBM's pred_contrib).
        """
        return self.model.predict(self.encoder.transform(leads), pred_contrib=True)

    def raw_score(self, leads: pd.DataFrame) -> np.ndarray:
        """The model's log-odds, before calibration."""
        return self.model.predict(self.encoder.transform(leads), raw_score=True)

    def predict_proba(self, leads: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of completing the application."""
        return self.calibrator(self.raw_score(leads))

    def score(self, leads: pd.DataFrame, chunk_size: int = 100_000) -> pd.DataFrame:
        """One row per lead: probability, 0-100 score, grade, junk flag and the
        ``top_factors`` factors raising and lowering the score, with their contributions
        (log-odds).

        Each distinct feature row is scored once, in chunks of ``chunk_size`` (bounded
        memory), and the results are spread back to every lead.
        """
        features = self.encoder.transform(leads)
        row_group = (
            features.groupby(list(features.columns), sort=False, observed=True, dropna=False)
            .ngroup()
            .to_numpy()
        )
        first_of_group = np.unique(row_group, return_index=True)[1]
        distinct = self.encoder.matrix(features.iloc[first_of_group])
        per_distinct_row = pd.DataFrame(self.score_matrix(distinct, chunk_size))
        scored = per_distinct_row.iloc[row_group].reset_index(drop=True)
        scored.insert(0, "lead_id", leads["lead_id"].to_numpy())
        scored.insert(1, "created_date", leads["created_date"].to_numpy())
        return scored

    def score_matrix(self, matrix: np.ndarray, chunk_size: int = 100_000) -> dict[str, np.ndarray]:
        """``score``'s columns after the key and the date, for rows of ``encoder.matrix``: the
        one scoring step of batch scoring and of the served model's record-by-record path."""
        contributions = np.zeros((len(matrix), matrix.shape[1] + 1))
        raw = np.zeros(len(matrix))
        for start in range(0, len(matrix), chunk_size):
            chunk = slice(start, start + chunk_size)
            contributions[chunk], raw[chunk] = self.contribution_tables.explain(matrix[chunk])
        probability = self.calibrator(raw)
        score = score_from_probability(probability)
        return {
            "probability": probability,
            "score": score,
            "grade": grade_from_score(score, self.grade_bands),
            "is_junk": probability < self.threshold,
            **_top_factors(contributions[:, :-1], self._factor_labels(matrix), self.top_factors),
        }

    def _factor_labels(self, matrix: np.ndarray) -> np.ndarray:
        """``feature=value`` for every row and feature, values as the model saw them (whole
        numbers without '.0', levels by name)."""
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


def _top_factors(contributions: np.ndarray, labels: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The ``k`` largest positive and negative contributions per row, with their labels."""
    rows = np.arange(len(contributions))[:, None]
    columns = {}
    for direction, order in (
        ("up", np.argsort(-contributions, axis=1, kind="stable")[:, :k]),
        ("down", np.argsort(contributions, axis=1, kind="stable")[:, :k]),
    ):
        effect = contributions[rows, order]
        present = effect > 0 if direction == "up" else effect < 0
        for i in range(order.shape[1]):
            columns[f"{direction}_factor_{i + 1}"] = np.where(
                present[:, i], labels[rows[:, 0], order[:, i]], None
            )
            columns[f"{direction}_factor_{i + 1}_effect"] = np.where(
                present[:, i], effect[:, i], np.nan
            )
    return columns
