"""Evaluation of lead scores: threshold, metrics, 0-100 scores and grades. ``y_true`` is 1 when
the lead completed the application; a lead is kept when ``probability >= threshold`` (below it,
junk)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn import metrics


def _labels_and_probabilities(
    y_true: ArrayLike, probability: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Validated 1-D copies: labels as int 0/1, probabilities as finite floats in [0, 1]."""
    y = np.asarray(y_true).ravel()
    p = np.asarray(probability, dtype=float).ravel()
    if len(y) != len(p):
        raise ValueError(f"y_true has {len(y)} values but probability has {len(p)}")
    if len(y) == 0:
        raise ValueError("y_true and probability are empty: nothing to evaluate")
    if not np.isin(y, [0, 1]).all():
        raise ValueError("y_true must hold only 0 (not completed) and 1 (completed)")
    if not (np.isfinite(p).all() and p.min() >= 0.0 and p.max() <= 1.0):
        raise ValueError("probability must hold finite values in [0, 1]")
    return y.astype(int), p


def choose_threshold(
    y_true: ArrayLike, probability: ArrayLike, min_completion_recall: float
) -> float:
    """Highest threshold keeping at least ``min_completion_recall`` of the completions; among
    the distinct probabilities, so equal probabilities fall on the same side."""
    if not 0.0 <= min_completion_recall <= 1.0:
        raise ValueError(f"min_completion_recall must be in [0, 1], got {min_completion_recall}")
    y, p = _labels_and_probabilities(y_true, probability)
    positives = y.sum()
    if positives == 0:
        raise ValueError("y_true has no completions (no 1s): the completion recall is undefined")
    values, group = np.unique(p, return_inverse=True)
    per_value = np.bincount(group, weights=y, minlength=len(values))
    recall = np.cumsum(per_value[::-1])[::-1] / positives
    # Recall is 1 at the lowest value, so a candidate exists.
    return float(values[np.flatnonzero(recall >= min_completion_recall)[-1]])


def classification_metrics(
    y_true: ArrayLike, probability: ArrayLike, threshold: float
) -> dict[str, float]:
    """Ranking, probability and thresholded metrics, as plain Python numbers for MLflow."""
    y, p = _labels_and_probabilities(y_true, probability)
    if len(np.unique(y)) < 2:
        raise ValueError("y_true needs both completed and not completed leads for ROC/PR AUC")
    # Counted in one pass (2 * truth + predicted); sklearn's scorers, each validating the
    # inputs again, take longer than the AUCs. The ratios are sklearn's, exactly.
    tn, fp, fn, tp = np.bincount(2 * y + (p >= threshold), minlength=4).tolist()
    return {
        "roc_auc": float(metrics.roc_auc_score(y, p)),
        "pr_auc": float(metrics.average_precision_score(y, p)),
        "log_loss": float(metrics.log_loss(y, p, labels=[0, 1])),
        "brier": float(metrics.brier_score_loss(y, p)),
        "accuracy": (tp + tn) / len(y),
        # Nothing kept (a threshold above every probability): precision 0, not an error.
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn),  # completions exist (checked above)
        "f1": 2 * tp / (2 * tp + fp + fn),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
    }


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def business_metrics(
    y_true: ArrayLike, probability: ArrayLike, threshold: float
) -> dict[str, float]:
    """What dropping the junk leads does to L2AC (NaN where a rate has no leads behind it)."""
    y, p = _labels_and_probabilities(y_true, probability)
    kept = p >= threshold
    l2ac_all = float(y.mean())
    l2ac_kept = _ratio(y[kept].sum(), kept.sum())
    return {
        "junk_share": float((~kept).mean()),
        "completions_kept": _ratio(y[kept].sum(), y.sum()),
        "l2ac_all": l2ac_all,
        "l2ac_kept": l2ac_kept,
        "l2ac_lift": _ratio(l2ac_kept, l2ac_all),
    }


def score_from_probability(probability: ArrayLike) -> np.ndarray:
    """Integer score 0-100: the probability in percent, rounded (half to even) and clipped."""
    p = np.asarray(probability, dtype=float)
    if np.isnan(p).any():
        raise ValueError("probability contains NaN: cannot turn it into a score")
    # Clipping absorbs a calibrator's float noise (1.0000000002).
    return np.clip(np.rint(100.0 * p), 0, 100).astype(np.int64)


def _sorted_bands(bands: Mapping[str, int]) -> list[tuple[str, int]]:
    """Validated (grade, minimum score) pairs, best grade (highest minimum) first."""
    if not bands:
        raise ValueError("bands is empty: give at least one grade with minimum score 0")
    minimums = list(bands.values())
    if any(m < 0 or m > 100 for m in minimums):
        raise ValueError(f"band minimum scores must be within 0-100, got {dict(bands)}")
    if 0 not in minimums:
        raise ValueError(f"bands need a grade with minimum score 0 for the lowest scores: {bands}")
    if len(set(minimums)) != len(minimums):
        raise ValueError(f"band minimum scores must be distinct, got {dict(bands)}")
    return sorted(bands.items(), key=lambda item: item[1], reverse=True)


def grade_from_score(score: ArrayLike, bands: Mapping[str, int]) -> np.ndarray:
    """Best grade whose minimum score each score reaches, e.g. A >= 75 > B >= 50 > C >= 25 > D."""
    ascending = _sorted_bands(bands)[::-1]
    grades = np.array([grade for grade, _ in ascending])
    minimums = np.array([minimum for _, minimum in ascending])
    s = np.asarray(score, dtype=float)
    if not (np.isfinite(s).all() and (s >= 0).all()):
        raise ValueError("scores must be finite and at least 0 to get a grade")
    # Index of the largest minimum <= score; the 0 minimum guarantees one exists.
    return grades[np.searchsorted(minimums, s, side="right") - 1]


def grade_table(y_true: ArrayLike, grades: ArrayLike, bands: Mapping[str, int]) -> pd.DataFrame:
    """Leads and completion rate per grade, best grade first; grades without leads included."""
    ordered = _sorted_bands(bands)
    names = [grade for grade, _ in ordered]
    y = np.asarray(y_true).ravel().astype(int)
    g = np.asarray(grades, dtype=object).ravel()
    if len(y) != len(g):
        raise ValueError(f"y_true has {len(y)} values but grades has {len(g)}")
    codes = pd.Categorical(g, categories=names).codes
    if (codes < 0).any():
        raise ValueError(f"grades not in bands: {sorted(map(str, set(g[codes < 0])))}")
    leads = np.bincount(codes, minlength=len(names)).astype(np.int64)
    completions = np.bincount(codes, weights=y, minlength=len(names)).astype(np.int64)
    rate = np.divide(completions, leads, out=np.full(len(names), np.nan), where=leads > 0)
    return pd.DataFrame(
        {
            "grade": pd.Series(names, dtype=object),
            "min_score": np.array([minimum for _, minimum in ordered], dtype=np.int64),
            "leads": leads,
            "lead_share": leads / len(y) if len(y) else np.full(len(names), np.nan),
            "completions": completions,
            "completion_rate": rate,
        }
    )


def calibration_table(y_true: ArrayLike, probability: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability vs observed completion rate in equal-width bins, [lower,
    upper) but the last, which includes 1.0; empty bins are left out."""
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins}")
    bins = int(bins)
    y, p = _labels_and_probabilities(y_true, probability)
    # k / bins (not linspace): edges such as 0.3 are the exact literals.
    edges = np.arange(bins + 1) / bins
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    leads = np.bincount(index, minlength=bins)
    present = leads > 0
    return pd.DataFrame(
        {
            "bin_lower": edges[:-1][present],
            "bin_upper": edges[1:][present],
            "leads": leads[present].astype(np.int64),
            "mean_predicted": np.bincount(index, weights=p, minlength=bins)[present]
            / leads[present],
            "observed_rate": np.bincount(index, weights=y, minlength=bins)[present]
            / leads[present],
        }
    )
