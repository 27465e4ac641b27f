"""Recency weights: leads drift from month to month, so recent training leads say more about
the next leads than old ones. Each training lead counts 0.5^(age in days / half-life), its age
counted from the latest training lead; a half-life of None is the unweighted fit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from codepro_leads.scoring.encoder import LeadEncoder


def recency_weights(created: pd.Series, half_life_days: float | None) -> np.ndarray | None:
    """0.5^(age / half-life) per lead, age in days before the latest ``created``."""
    if half_life_days is None:
        return None
    if half_life_days <= 0:
        raise ValueError(
            f"the recency half-life must be positive days or null, not {half_life_days}"
        )
    age_days = (created.max() - created).dt.total_seconds().to_numpy() / 86_400
    return 0.5 ** (age_days / half_life_days)


def fit_lightgbm(
    train: pd.DataFrame,
    encoder: LeadEncoder,
    lightgbm_params: dict[str, Any],
    columns: dict[str, str],
    half_life_days: float | None,
    **fit_args: Any,
) -> Any:
    """LightGBM on the encoded training leads, recency-weighted with ``half_life_days``."""
    import lightgbm as lgb

    weights = recency_weights(train[columns["date"]], half_life_days)
    return lgb.LGBMClassifier(**lightgbm_params).fit(
        encoder.transform(train), train[columns["label"]], sample_weight=weights, **fit_args
    )


def compare_half_lives(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    encoder: LeadEncoder,
    lightgbm_params: dict[str, Any],
    columns: dict[str, str],
    candidates: list[float | None],
) -> pd.DataFrame:
    """A row per candidate half-life (None: unweighted): the fit's validation AUC, metrics at
    the 0.5 cut and fit seconds (validation leads come after the training ones)."""
    import time

    from sklearn.metrics import cohen_kappa_score, matthews_corrcoef

    from codepro_leads.scoring.evaluation import classification_metrics

    features, y_true = encoder.transform(validation), validation[columns["label"]].to_numpy()
    rows = []
    for half_life in candidates:
        start = time.perf_counter()
        model = fit_lightgbm(train, encoder, lightgbm_params, columns, half_life)
        seconds = time.perf_counter() - start
        probability = model.predict_proba(features)[:, 1]
        metrics = classification_metrics(y_true, probability, 0.5)
        predicted = (probability >= 0.5).astype(int)
        rows.append(
            {
                "half_life_days": half_life,
                "validation_auc": metrics["roc_auc"],
                **{name: metrics[name] for name in ("accuracy", "recall", "precision", "f1")},
                "kappa": float(cohen_kappa_score(y_true, predicted)),
                "mcc": float(matthews_corrcoef(y_true, predicted)),
                "fit_seconds": seconds,
            }
        )
    return pd.DataFrame(rows)


def choose_half_life(comparison: pd.DataFrame, min_gain: float) -> float | None:
    """The half-life with the best validation AUC if it beats the unweighted fit by more than
    ``min_gain``; else None (unweighted)."""
    unweighted = comparison[comparison["half_life_days"].isna()]["validation_auc"]
    weighted = comparison[comparison["half_life_days"].notna()]
    if weighted.empty:
        return None
    best = weighted.loc[weighted["validation_auc"].idxmax()]
    baseline = float(unweighted.iloc[0]) if len(unweighted) else -np.inf
    return float(best["half_life_days"]) if best["validation_auc"] > baseline + min_gain else None
