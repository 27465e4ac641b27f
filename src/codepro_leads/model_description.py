"""The texts the MLflow UI shows: each run's rounded metrics, the lead scorer's description and
each version's model-card summary with its promotion decision."""

from __future__ import annotations

from typing import Any


def rounded(values: dict[str, Any], name: str) -> str:
    """``values[name]`` to 4 decimals, "n/a" when missing."""
    value = values.get(name)
    return "n/a" if value is None else f"{value:.4f}"


def run_description(pipeline: str, metrics: dict[str, float]) -> str:
    """A run's metrics as a table: counts with thousands separators, others to 4 decimals."""
    rows = [
        f"| {name} | {value:,.0f} |" if float(value).is_integer() else f"| {name} | {value:.4f} |"
        for name, value in sorted(metrics.items())
    ]
    head = [f"**{pipeline}** run", ""]
    return "\n".join(
        head + (["| metric | value |", "|---|---:|", *rows] if rows else ["No metrics."])
    )


def registered_model_description(
    model_name: str, features: list[str], training_params: dict[str, Any]
) -> str:
    """What the model scores, the features it uses and how a version becomes champion."""
    floor = training_params["quality_floor"]
    registry = training_params["registry"]
    floor_text = ", ".join(f"{name} >= {minimum}" for name, minimum in floor.items())
    return "\n".join(
        [
            f"# {model_name}",
            "",
            "Scores each lead CodePro buys by its probability of completing the application "
            "(`app_complete_flag`, L2AC). Input: raw rows of a CodePro export (the model runs "
            "the data_processing steps itself); output per lead: probability, score 0-100, "
            "grade, is_junk and the factors that raised and lowered the score.",
            "",
            f"**Features**: {', '.join(f'`{f}`' for f in features)}. Rare, new and missing "
            "levels are grouped into `others` by the encoder fitted on the training leads.",
            "",
            "**Training**: LightGBM on recency-weighted leads (each counts 0.5^(age in days / "
            "half-life)): leads drift from month to month. Every run also fits the model "
            "unweighted and CodePro's recipe (its significant levels one-hot, its tuned "
            "LightGBM) on the same split, the baseline.",
            "",
            "**Promotion**: every training run registers a version. It gets the alias "
            f"`champion` only when its test metrics pass the quality floor ({floor_text}), "
            "its test AUC is not worse than the baseline's on the same test leads by more than "
            f"{training_params['baseline']['tolerance']}, and it is not worse than the current "
            f"champion's by more than {registry['tolerance']} on test leads neither model was "
            "trained on (retrained on the same data it must be strictly better); otherwise "
            "`challenger`. The alias moves only after the whole run succeeded. Each version's "
            "description gives its model card and the reason of its decision.",
        ]
    )


def version_description(
    card: dict[str, Any], metrics: dict[str, float], alias: str | None, reason: str | None
) -> str:
    """A version's model-card summary and its promotion decision."""
    data = card.get("training_data", {})
    bands = ", ".join(f"{grade} >= {low}" for grade, low in card.get("grade_bands", {}).items())
    calibration = card.get("calibration") or {}
    slope, intercept = calibration.get("slope", 1.0), calibration.get("intercept", 0.0)
    calibrated = (
        f"Platt, slope {slope:.4f}, intercept {intercept:.4f}"
        if (slope, intercept) != (1.0, 0.0)
        else "none: LightGBM's own probabilities"
    )
    decision = f"@{alias}: {reason}" if alias else (reason or "no decision recorded")
    lines = [
        f"**Promotion**: {decision}",
        "",
        f"**Test leads** (latest, out of time): AUC {rounded(metrics, 'test_roc_auc')}, "
        f"precision {rounded(metrics, 'test_precision')}, recall "
        f"{rounded(metrics, 'test_recall')} at the 0.5 cut; Brier "
        f"{rounded(metrics, 'test_brier')}; junk share {rounded(metrics, 'test_junk_share')}, "
        f"completions kept {rounded(metrics, 'test_completions_kept')}, L2AC lift "
        f"{rounded(metrics, 'test_l2ac_lift')}.",
        "",
        f"**Junk threshold** {card.get('threshold', float('nan')):.4f} (chosen on validation "
        f"leads); **grades** {bands}; **calibration** {calibrated}.",
        "",
        f"**Features**: {', '.join(card.get('features', []))}.",
    ]
    recency, baseline = card.get("recency"), card.get("baseline")
    if recency:
        half_life = recency["half_life_days"]
        weighting = "unweighted" if half_life is None else f"half-life {half_life:g} days"
        lines += [
            "",
            f"**Recency weighting** {weighting} (from {recency['from']}): test AUC "
            f"{recency['test_auc']:.4f}, unweighted {recency['test_auc_unweighted']:.4f}.",
        ]
    if baseline:
        lines += [
            "",
            f"**Baseline** (CodePro's recipe, same split): test AUC {baseline['test_auc']:.4f}, "
            f"precision {baseline['test_precision']:.4f}, recall {baseline['test_recall']:.4f}; "
            f"lift {baseline['lift']:+.4f}.",
        ]
    if data:
        digest = str(data.get("sha256", ""))[:12]
        details = ", ".join(
            f"{key} {value}" for key, value in data.items() if key != "sha256" and value is not None
        )
        lines += ["", f"**Training data** {digest}: {details}."]
    return "\n".join(lines)
