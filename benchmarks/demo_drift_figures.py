"""Drift figures of the demo data (issue 22): AUC on random folds vs out of time, recency-weighted
vs unweighted training, CodePro's recipe (the baseline), and the half-life model_selection
chooses on the validation leads. Nothing is written; the figures are printed with checks.

Same steps as the pipelines: demo_data's labeled leads, data_processing's steps
(``prepare_leads``), training's split, encoder and LightGBM. AUCs are the raw model's
(calibration does not change the ranking).

    .venv/bin/python benchmarks/demo_drift_figures.py --rows 240000
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd
from harness import demo_facts, load_params, print_command
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold


def model_input(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demo leads through data_processing's steps, and their true propensity."""
    from codepro_leads.features.processing import prepare_leads
    from codepro_leads.pipelines.demo_data.nodes import generate_labeled_leads

    processing = load_params("data_processing")
    demo = {**load_params("demo_data"), "rows": rows}
    raw, propensity = generate_labeled_leads(demo, demo_facts(), processing)
    leads, _ = prepare_leads(raw.reset_index(names=processing["key_column"]), processing)
    return leads, propensity


def drift_figures(leads: pd.DataFrame, propensity: pd.DataFrame, folds: int = 5) -> dict[str, Any]:
    """The figures of issue 22 on ``leads`` (model_input_leads)."""
    from codepro_leads.pipelines.training import nodes
    from codepro_leads.pipelines.training.baseline import fit_baseline
    from codepro_leads.pipelines.training.recency import (
        choose_half_life,
        compare_half_lives,
        fit_lightgbm,
    )

    params, selection = load_params("training"), load_params("model_selection")["recency"]
    columns, lightgbm = params["columns"], params["lightgbm"]
    label = columns["label"]

    def test_auc(model: Any, encoder: Any, test: pd.DataFrame) -> float:
        return float(roc_auc_score(test[label], model.predict_proba(encoder.transform(test))[:, 1]))

    train, validation, test = nodes.split_leads(leads, params)
    encoder = nodes.fit_encoder(train, params)
    board = compare_half_lives(
        train, validation, encoder, lightgbm, columns, selection["half_life_candidates"]
    )
    chosen = choose_half_life(board, selection["min_gain"])
    configured = params["recency"]["half_life_days"]
    out_of_time = {
        half_life: test_auc(
            fit_lightgbm(train, encoder, lightgbm, columns, half_life), encoder, test
        )
        for half_life in dict.fromkeys([None, configured, chosen])
    }
    baseline = fit_baseline(train, params)
    baseline_auc = float(roc_auc_score(test[label], baseline.predict_proba(test)))
    ceiling = nodes.best_achievable_auc(test, propensity, params)["test_best_achievable_auc"]

    # Random folds: the same recipe, unweighted, on all leads shuffled (what CV reports).
    random_fold = []
    split = StratifiedKFold(folds, shuffle=True, random_state=params["split"]["seed"])
    for fit_rows, test_rows in split.split(leads, leads[label]):
        fold_train, fold_test = leads.iloc[fit_rows], leads.iloc[test_rows]
        fold_encoder = nodes.fit_encoder(fold_train, params)
        model = fit_lightgbm(fold_train, fold_encoder, lightgbm, columns, None)
        random_fold.append(test_auc(model, fold_encoder, fold_test))
    return {
        "leads": len(leads),
        "random_fold_auc": float(np.mean(random_fold)),
        "out_of_time_auc_unweighted": out_of_time[None],
        "out_of_time_auc_configured": out_of_time[configured],
        "configured_half_life_days": configured,
        "chosen_half_life_days": chosen,
        "out_of_time_auc_chosen": out_of_time[chosen],
        "validation_auc_by_half_life": dict(
            zip(
                board["half_life_days"].astype(object).where(board["half_life_days"].notna(), None),
                board["validation_auc"].round(4),
                strict=True,
            )
        ),
        "baseline_out_of_time_auc": baseline_auc,
        "best_achievable_out_of_time_auc": ceiling["value"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240_000)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    figures = drift_figures(*model_input(args.rows), folds=args.folds)
    print_command()
    for name, value in figures.items():
        print(f"  {name}: {round(value, 4) if isinstance(value, float) else value}")
    gap = figures["random_fold_auc"] - figures["out_of_time_auc_unweighted"]
    gain = figures["out_of_time_auc_configured"] - figures["out_of_time_auc_unweighted"]
    lift = figures["out_of_time_auc_configured"] - figures["baseline_out_of_time_auc"]
    for text, value, minimum in [
        ("random-fold AUC - out-of-time AUC (unweighted)", gap, 0.02),
        ("recency gain out of time (configured half-life)", gain, 0.01),
        ("lift over the baseline out of time (configured half-life)", lift, 0.0),
    ]:
        print(f"  {text}: {value:+.4f} ({'OK' if value > minimum else 'NOT'} > {minimum})")


if __name__ == "__main__":
    main()
