"""Nodes that score new leads with the champion model, store the scores and watch the inputs
for drift.

Order of the writes: nothing is written until the rows add up; the score table is written
first, in one transaction; every other output of the run (scores file, rejected rows, CRM
export, report, monitoring row) takes the store's receipt as an input, so it is written only
once the batch is stored.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from codepro_leads.datasets.model_registry import RegisteredModel
from codepro_leads.features.processing import without_label
from codepro_leads.mlflow_metrics import as_mlflow_metrics
from codepro_leads.scoring import plots

logger = logging.getLogger(__name__)

INSUFFICIENT_DATA = "insufficient_data"


def score_new_leads(
    leads: pd.DataFrame, champion: RegisteredModel, params: dict[str, Any]
) -> pd.DataFrame:
    """Score every lead (explained in chunks: bounded memory on big inputs), stamped with the
    model version and the scoring time. How many factors explain a score is the model's."""
    scored = champion.model.scorer.score(leads, chunk_size=params["chunk_size"])
    scored["model_version"] = champion.version
    scored["scored_at"] = _now()  # one time for the whole batch
    logger.info("Scored %d leads with %s v%s", len(scored), champion.name, champion.version)
    return scored


def _now() -> pd.Timestamp:
    """The current UTC time to the second, without a time zone (as stored in the tables)."""
    return pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)


def drop_label(new_leads: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """New leads without a label column, as the served model sees them."""
    return without_label(new_leads, params)


def account_for_scored_rows(
    processing_report: dict[str, Any], scored: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Check rows read = rows scored + rows rejected before anything is written; fail the run
    if not, else pass the scores on with the counts."""
    report = {**processing_report, "rows_scored": len(scored)}
    accounted = report["rows_scored"] + report["rows_rejected"] + report["duplicates_dropped"]
    if report["rows_read"] != accounted:
        raise RuntimeError(
            f"Row accounting failed: read {report['rows_read']} new leads but scored "
            f"{report['rows_scored']}, rejected {report['rows_rejected']} and dropped "
            f"{report['duplicates_dropped']} as duplicates"
        )
    logger.info(
        "New leads: %d read = %d scored + %d rejected",
        report["rows_read"],
        report["rows_scored"],
        report["rows_rejected"],
    )
    return scored, report


def store_scores(scored: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """This run's scores in the score table's shape, and the receipt the later writers wait
    for (Kedro runs them only after this node's outputs are saved, the table included).

    The table's columns do not depend on the number of factors: each direction is one JSON
    list of ``{"factor": "feature=value", "effect": log-odds}``, largest effect first.
    """
    rows = pd.DataFrame(
        {
            "lead_id": scored["lead_id"],
            "model_version": scored["model_version"],
            "created_date": scored["created_date"],
            "probability": scored["probability"],
            "score": scored["score"],
            "grade": scored["grade"],
            "is_junk": scored["is_junk"],
            "up_factors": _factors_json(scored, "up"),
            "down_factors": _factors_json(scored, "down"),
            "scored_at": scored["scored_at"],
        }
    )
    return rows, {"rows_stored": len(rows)}


def _factor_columns(scored: pd.DataFrame, direction: str) -> list[str]:
    """``<direction>_factor_1``, ``_2``, ... in rank order (labels, not the effects)."""
    pattern = re.compile(rf"{direction}_factor_(\d+)")
    ranked = [(int(m[1]), m[0]) for col in scored.columns if (m := pattern.fullmatch(col))]
    return [col for _, col in sorted(ranked)]


def _factors_json(scored: pd.DataFrame, direction: str) -> pd.Series:
    """Each row's factors as a JSON list."""
    labels = _factor_columns(scored, direction)
    factors = scored[[col for label in labels for col in (label, f"{label}_effect")]]
    return _per_distinct_row(
        factors,
        lambda row: json.dumps(
            [
                {"factor": label, "effect": float(effect)}
                for label, effect in zip(row[::2], row[1::2], strict=True)
                if isinstance(label, str)
            ]
        ),
    )


def _per_distinct_row(frame: pd.DataFrame, text_of: Callable[[tuple], str]) -> pd.Series:
    """``text_of(row values)`` for every row, computed once per distinct row (1M leads share
    about 100k), rows told apart by a 64-bit hash of their values."""
    if frame.empty:
        return pd.Series(text_of(()), index=frame.index, dtype=object)
    codes, _ = pd.factorize(pd.util.hash_pandas_object(frame, index=False))
    first_rows = np.unique(codes, return_index=True)[1]  # in code order
    rows = frame.iloc[first_rows].itertuples(index=False, name=None)
    text = np.array([text_of(row) for row in rows], dtype=object)
    return pd.Series(text[codes], index=frame.index, dtype=object)


def keep_run_files(
    stored: dict[str, int],
    scored: pd.DataFrame,
    rejected: pd.DataFrame,
    counts: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """This run's scores, rejected rows and report, released only once the scores are stored
    (a batch that was not stored leaves no files)."""
    return scored, rejected, {**counts, **stored}


def export_for_crm(scored: pd.DataFrame, stored: dict[str, int]) -> pd.DataFrame:
    """The columns a CRM import needs, with the reasons as one readable text field; made only
    once the scores are stored."""
    ups = _factor_columns(scored, "up")
    downs = _factor_columns(scored, "down")
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
    """Non-empty factor labels of each row joined with '; '."""
    return _per_distinct_row(
        factors, lambda row: "; ".join(label for label in row if isinstance(label, str))
    )


def monitor_scores(
    leads: pd.DataFrame,
    scored: pd.DataFrame,
    champion: RegisteredModel,
    params: dict[str, Any],
    stored: dict[str, int],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """This run's monitoring row (grade and junk shares, mean probability, PSI per feature
    against the model's training leads, unseen levels, status) and the same as MLflow metrics;
    made only once the scores are stored."""
    scorer = champion.model.scorer
    reference = scorer.reference
    psi = reference.psi(scorer.encoder, leads)
    unseen = reference.unseen_share(leads)
    junk_share = float(scored["is_junk"].mean())
    junk_shift = junk_share - reference.junk_share
    if len(scored) < params["monitoring"]["min_leads"]:
        status = INSUFFICIENT_DATA  # PSI of a handful of leads is noise, not drift
    else:
        status = drift_status(max(psi.values()), abs(junk_shift), params)
    grades = scored["grade"].value_counts(normalize=True)
    row = {
        "run_id": uuid.uuid4().hex,
        # A batch whose leads were all rejected still gets its monitoring row.
        "scored_at": scored["scored_at"].iloc[0] if len(scored) else _now(),
        "model_version": champion.version,
        "leads": len(scored),
        "mean_probability": float(scored["probability"].mean()),
        "junk_share": junk_share,
        "junk_share_training": reference.junk_share,
        "grade_shares": json.dumps({g: float(grades.get(g, 0.0)) for g in scorer.grade_bands}),
        "max_psi": max(psi.values()),
        "max_psi_feature": max(psi, key=psi.get),
        "psi": json.dumps({k: round(v, 5) for k, v in psi.items()}),
        "unseen_level_share": json.dumps({k: round(v, 5) for k, v in unseen.items()}),
        "status": status,
    }
    log = logger.info if status == "ok" else logger.warning
    log(
        "Drift status %s on %d leads: max PSI %.3f (%s), junk share %.3f vs %.3f in training",
        status,
        len(scored),
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


def plot_drift_history(history: pd.DataFrame, params: dict[str, Any]) -> Figure:
    """Max PSI (with this project's warn and alert limits) and junk share of every monitored
    run so far."""
    limits = params["monitoring"]
    return plots.drift_history_figure(history, limits["psi_warn"], limits["psi_alert"])
