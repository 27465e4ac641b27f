"""Nodes that score new leads with the champion model and watch the inputs for drift."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from codepro_leads.datasets.model_registry import RegisteredModel
from codepro_leads.mlflow_metrics import as_mlflow_metrics
from codepro_leads.scoring import plots

logger = logging.getLogger(__name__)


def score_new_leads(
    leads: pd.DataFrame, champion: RegisteredModel, params: dict[str, Any]
) -> pd.DataFrame:
    """Score every lead (explained in chunks: bounded memory on big inputs), stamped with the
    model version and the scoring time."""
    scored = champion.model.scorer.score(leads, params["top_factors"], params["chunk_size"])
    scored["model_version"] = champion.version
    scored["scored_at"] = _now()  # one time for the whole batch
    logger.info("Scored %d leads with %s v%s", len(scored), champion.name, champion.version)
    return scored


def _now() -> pd.Timestamp:
    """The current UTC time to the second, without a time zone (as stored in the tables)."""
    return pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)


def account_for_scored_rows(
    processing_report: dict[str, Any], scored: pd.DataFrame
) -> dict[str, Any]:
    """Check rows read = rows scored + rows rejected; fail the run if not."""
    report = {**processing_report, "rows_scored": len(scored)}
    if report["rows_read"] != report["rows_scored"] + report["rows_rejected"]:
        raise RuntimeError(
            f"Row accounting failed: read {report['rows_read']} new leads but scored "
            f"{report['rows_scored']} and rejected {report['rows_rejected']}"
        )
    logger.info(
        "New leads: %d read = %d scored + %d rejected",
        report["rows_read"],
        report["rows_scored"],
        report["rows_rejected"],
    )
    return report


def store_scores(scored: pd.DataFrame) -> pd.DataFrame:
    """This run's scores for the score database (its dataset replaces rows of the same lead
    and model version, so a rerun never duplicates them)."""
    return scored


def export_for_crm(scored: pd.DataFrame) -> pd.DataFrame:
    """The columns a CRM import needs, with the reasons as one readable text field."""
    ups = [c for c in scored.columns if c.startswith("up_factor_") and not c.endswith("_effect")]
    downs = [
        c for c in scored.columns if c.startswith("down_factor_") and not c.endswith("_effect")
    ]
    return pd.DataFrame(
        {
            "lead_id": scored["lead_id"],
            "lead_score": scored["score"],
            "lead_grade": scored["grade"],
            "junk": scored["is_junk"].map({True: "yes", False: "no"}),
            "completion_probability": scored["probability"].round(4),
            "raises_score": _joined(scored[ups]),
            "lowers_score": _joined(scored[downs]),
            "model_version": scored["model_version"],
            "scored_at": scored["scored_at"],
        }
    )


def _joined(factors: pd.DataFrame) -> pd.Series:
    """Non-empty factor labels of each row joined with '; ', built once per distinct
    combination (1M leads share about 100k)."""
    if factors.empty:
        return pd.Series([], index=factors.index, dtype=object)
    codes, combos = pd.MultiIndex.from_frame(factors.fillna("")).factorize()
    text = np.array(["; ".join(label for label in combo if label) for combo in combos] or [""])
    return pd.Series(text[codes], index=factors.index, dtype=object)


def monitor_scores(
    leads: pd.DataFrame,
    scored: pd.DataFrame,
    champion: RegisteredModel,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """This run's monitoring row (grade and junk shares, mean probability, PSI per feature
    against the model's training leads, unseen levels, status) and the same as MLflow metrics."""
    scorer = champion.model.scorer
    reference = scorer.reference
    psi = reference.psi(scorer.encoder, leads)
    unseen = reference.unseen_share(leads)
    junk_share = float(scored["is_junk"].mean())
    junk_shift = junk_share - reference.junk_share
    status = drift_status(max(psi.values()), abs(junk_shift), params)
    grades = scored["grade"].value_counts(normalize=True)
    row = {
        # A batch whose leads were all rejected still gets its monitoring row.
        "scored_at": scored["scored_at"].iloc[0] if len(scored) else _now(),
        "model_version": champion.version,
        "leads": len(scored),
        "mean_probability": float(scored["probability"].mean()),
        "junk_share": junk_share,
        "junk_share_training": reference.junk_share,
        **{f"grade_{g}_share": float(grades.get(g, 0.0)) for g in scorer.grade_bands},
        "max_psi": max(psi.values()),
        "max_psi_feature": max(psi, key=psi.get),
        "psi": json.dumps({k: round(v, 5) for k, v in psi.items()}),
        "unseen_level_share": json.dumps({k: round(v, 5) for k, v in unseen.items()}),
        "status": status,
    }
    log = logger.warning if status != "ok" else logger.info
    log(
        "Drift status %s: max PSI %.3f (%s), junk share %.3f vs %.3f in training",
        status,
        row["max_psi"],
        row["max_psi_feature"],
        junk_share,
        reference.junk_share,
    )
    metrics = {
        "leads": len(scored),
        "mean_probability": row["mean_probability"],
        "junk_share": junk_share,
        "max_psi": row["max_psi"],
        **{f"psi_{k}": v for k, v in psi.items()},
    }
    return pd.DataFrame([row]), as_mlflow_metrics(metrics, prefix="monitoring_")


def drift_status(max_psi: float, junk_shift: float, params: dict[str, Any]) -> str:
    """ok / warn / alert from the largest PSI and the absolute junk-share shift."""
    limits = params["monitoring"]
    if max_psi > limits["psi_alert"] or junk_shift > limits["junk_shift_alert"]:
        return "alert"
    if max_psi > limits["psi_warn"] or junk_shift > limits["junk_shift_warn"]:
        return "warn"
    return "ok"


def plot_drift_history(history: pd.DataFrame) -> Figure:
    """Max PSI and junk share of every monitored run so far."""
    return plots.drift_history_figure(history)
