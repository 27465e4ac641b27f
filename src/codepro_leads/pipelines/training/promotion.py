"""The promotion gate: the candidate against the quality floor, CodePro's recipe (the baseline)
and the champion on test leads neither was fitted on. ``ModelAliasDataset`` applies it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from codepro_leads.mlflow_metrics import metric_value
from codepro_leads.pipelines.catalog_types import RegisteredModel
from codepro_leads.scoring.calibration import PlattCalibrator

logger = logging.getLogger(__name__)


def below_quality_floor(test_metrics: dict[str, Any], floor: dict[str, float]) -> list[str]:
    """Each way ``test_metrics`` (``test_<name>``: value) fail the floor, as text."""
    failed = []
    for name, minimum in floor.items():
        value = test_metrics.get(f"test_{name}")
        if value is None or pd.isna(value):
            failed.append(f"no test {name}")
        elif value < minimum:
            failed.append(f"{name} {value:.4f} < {minimum}")
    return failed


def compare_with_champion(
    champion: RegisteredModel | None,
    calibrator: PlattCalibrator,
    test_raw: np.ndarray,
    test: pd.DataFrame,
    params: dict[str, Any],
) -> dict[str, Any]:
    """AUC of candidate (``calibrator(test_raw)``) and champion on the test leads after the
    champion's fitting window; ``not_compared`` says why not with too few (or one class)."""
    date, label = params["columns"]["date"], params["columns"]["label"]
    keys = ["champion_version", "champion_data_sha256", "not_compared", "comparison_rows"]
    keys += ["comparison_first_created", "comparison_last_created", "candidate_auc", "champion_auc"]
    comparison: dict[str, Any] = {**dict.fromkeys(keys), "comparison_rows": 0}
    if champion is None:
        return comparison
    # Older models have no training_data.
    training_data = getattr(champion.model, "training_data", None) or {}
    comparison.update(
        champion_version=champion.version, champion_data_sha256=training_data.get("sha256")
    )
    fit_until = training_data.get("fit_until")
    if fit_until is None:
        comparison["not_compared"] = (
            f"champion v{champion.version} does not record which leads it was fitted on"
        )
        return comparison
    after = (test[date] > pd.Timestamp(fit_until)).to_numpy()
    unseen = test[after]
    minimum = params["registry"]["min_comparison_leads"]
    leads = f"test leads created after champion v{champion.version} was fitted (after {fit_until})"
    if len(unseen) < minimum:
        comparison["not_compared"] = f"only {len(unseen)} {leads}, fewer than {minimum}"
    elif unseen[label].nunique() < 2:
        comparison["not_compared"] = (
            f"the {len(unseen)} {leads} all have {label}={unseen[label].iloc[0]}"
        )
    if comparison["not_compared"]:
        logger.info("No comparison with the champion: %s", comparison["not_compared"])
        return comparison
    from sklearn.metrics import roc_auc_score

    probabilities = (calibrator(test_raw[after]), champion.model.scorer.predict_proba(unseen))
    aucs = [float(roc_auc_score(unseen[label], p)) for p in probabilities]
    comparison.update(
        comparison_rows=len(unseen),
        comparison_first_created=str(unseen[date].min()),
        comparison_last_created=str(unseen[date].max()),
        candidate_auc=aucs[0],
        champion_auc=aucs[1],
    )
    logger.info("On %d %s: AUC %.4f (candidate) vs %.4f (champion)", len(unseen), leads, *aucs)
    return comparison


def find_identical_version(key: str, versions: pd.DataFrame) -> dict[str, Any]:
    """The latest version of a finished run with training key ``key``, with its aliases; empty
    if none. Overlapping identical runs both register: a duplicate, harmless to the aliases."""
    if versions.empty:
        return {}
    same = versions[
        versions["tags"].map(lambda tags: tags.get("training_key") == key)
        & (versions["run_status"] == "FINISHED")
    ]
    if same.empty:
        return {}
    latest = same.loc[same["version"].astype(int).idxmax()]
    aliases = [alias for alias in latest["aliases"].split(",") if alias]
    return {"version": str(latest["version"]), "aliases": aliases}


def decide_promotion(
    test_metrics: dict[str, Any],
    comparison: dict[str, Any],
    model_card: dict[str, Any],
    params: dict[str, Any],
    identical: dict[str, Any],
) -> dict[str, Any]:
    """Champion if the candidate passes the quality floor and is within tolerance of the baseline
    and the champion (strictly better on the same data); else challenger, or no alias below
    the floor or when ``identical`` (nothing registered). The reason ends with the lift."""
    if identical:
        aliases = ", ".join(f"@{alias}" for alias in identical["aliases"]) or "no alias"
        return {
            "alias": None,
            "reason": f"data and parameters identical to v{identical['version']} ({aliases}): "
            "nothing registered, no alias moved",
            "identical_to": identical["version"],
            "identical_aliases": identical["aliases"],
            "training_key": model_card["training_key"],
        }
    failed = below_quality_floor(
        {name: metric_value(metric) for name, metric in test_metrics.items()},
        params["quality_floor"],
    )
    version = comparison["champion_version"]
    same_data = comparison["champion_data_sha256"] == model_card["training_data"]["sha256"]
    tolerance = 0.0 if same_data else params["registry"]["tolerance"]
    new_auc, old_auc = comparison["candidate_auc"], comparison["champion_auc"]
    candidate_auc = metric_value(test_metrics["test_roc_auc"])
    test_auc = f"test AUC {candidate_auc:.4f}"
    baseline = (model_card.get("baseline") or {}).get("test_auc")
    baseline_tolerance = params["baseline"]["tolerance"]
    if failed:  # never an alias, not even challenger (it would be shadow-scored)
        alias, reason = None, "below the quality floor: " + ", ".join(failed)
    elif baseline is None:
        alias, reason = "challenger", "no baseline measured on the test leads to judge it against"
    elif candidate_auc < baseline - baseline_tolerance:
        alias = "challenger"
        reason = f"below the baseline: {test_auc}, worse by more than {baseline_tolerance}"
    elif version is None:
        alias = "champion"
        reason = f"first model to pass the quality floor and the baseline ({test_auc})"
    elif comparison["not_compared"] and same_data:
        alias = "challenger"
        reason = (
            f"not compared with champion v{version} ({comparison['not_compared']}): "
            "same training data, no reason to replace it"
        )
    elif comparison["not_compared"]:
        alias = "champion"
        reason = (
            f"not compared with champion v{version} ({comparison['not_compared']}): "
            f"promoted on the quality floor and the baseline alone ({test_auc})"
        )
    else:
        versus = (
            f"test AUC {new_auc:.4f} vs champion v{version} {old_auc:.4f} on "
            f"{comparison['comparison_rows']} test leads created "
            f"{comparison['comparison_first_created']} to {comparison['comparison_last_created']}"
        )
        if (new_auc > old_auc) if same_data else (new_auc >= old_auc - tolerance):
            alias, reason = "champion", f"{versus}, tolerance {tolerance}"
        else:
            note = (
                "same training data, not better" if same_data else f"worse by more than {tolerance}"
            )
            alias, reason = "challenger", f"{versus}: {note}"
    if baseline is not None:
        reason += (
            f"; lift over the baseline (CodePro's recipe, test AUC {baseline:.4f}): "
            f"{candidate_auc - baseline:+.4f}"
        )
    # No log line: said once, by ModelAliasDataset.commit, as applied at the end of the run.
    return {
        "alias": alias,
        "reason": reason,
        **comparison,
        "training_key": model_card["training_key"],
    }
