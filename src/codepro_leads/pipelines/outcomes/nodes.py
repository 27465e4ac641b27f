"""Nodes that join a later labeled export to the stored scores and measure how right they were,
per model version, role and scoring week; every row is rejected, matched or counted unmatched.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from codepro_leads.errors import ConfigError, LeadDataError
from codepro_leads.features.processing import validate_raw_leads
from codepro_leads.mlflow_metrics import as_mlflow_metrics
from codepro_leads.pipelines.catalog_types import Figure, StoredScores
from codepro_leads.pipelines.data_processing.nodes import rows_add_up
from codepro_leads.spreadsheet import safe_cells

logger = logging.getLogger(__name__)

OK, DEGRADED, INSUFFICIENT_DATA = "ok", "degraded", "insufficient_data"

# The columns of the model_performance table (conf/base/catalog_outcomes.yml), in that order.
PERFORMANCE_COLUMNS = [
    *("model_version", "role", "week", "export_sha256", "evaluated_at"),
    *("leads", "completions", "completion_rate", "realized_auc", "test_auc", "auc_drop"),
    *("mean_probability", "calibration_gap"),
    *("junk_share", "completions_kept", "l2ac_kept", "l2ac_lift"),
    *("grade_leads", "grade_completion_rate", "status"),
]


def validate_outcomes(
    raw_outcomes: pd.DataFrame, processing_params: dict[str, Any], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The export's valid leads (key, creation date, outcome) by data_processing's rules, the
    rejected rows and the counts, with a content digest."""
    label = processing_params["label_column"]
    if label not in raw_outcomes.columns:
        source = raw_outcomes.attrs.get("source", "lead outcomes")
        raise LeadDataError(f"{source}: missing required column(s): {label} (the outcome)")
    valid, rejected, intake, _ = validate_raw_leads(
        raw_outcomes, processing_params, params["missing_key"]
    )
    key, date = processing_params["key_column"], processing_params["date_column"]
    outcomes = pd.DataFrame(
        {
            "lead_id": valid[key].astype(str),
            "created_date": valid[date],
            "completed": valid[label].astype("int8"),
        }
    )
    # Content, not file bytes: a re-export of the same outcomes has the same digest.
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(outcomes, index=False).to_numpy().tobytes()
    ).hexdigest()
    counts = {name: intake[name] for name in ("rows_read", "rows_rejected", "reject_reasons")}
    return outcomes, safe_cells(rejected), {**counts, "export_sha256": digest}


def join_stored_scores(
    outcomes: pd.DataFrame, stored_scores: StoredScores, counts: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every stored score of the export's leads with its outcome; matched and unmatched counts
    (every row read accounted for)."""
    scores = stored_scores.for_leads(outcomes["lead_id"])
    joined = scores.merge(
        outcomes[["lead_id", "completed"]], on="lead_id", how="inner", validate="many_to_one"
    )
    matched = int(outcomes["lead_id"].isin(scores["lead_id"]).sum())
    report = {
        **counts,
        "leads": len(outcomes),
        "leads_matched": matched,
        "leads_unmatched": len(outcomes) - matched,
        "scores_joined": len(joined),
    }
    parts = {"matched to stored scores": matched, "without any": len(outcomes) - matched}
    equation = rows_add_up(
        counts["rows_read"], {**parts, "rejected": counts["rows_rejected"]}, what="outcomes"
    )
    (logger.warning if report["leads_unmatched"] else logger.info)("Outcomes: %s", equation)
    return joined, report


def measure_realized_performance(
    joined: pd.DataFrame, versions: pd.DataFrame, counts: dict[str, Any], params: dict[str, Any]
) -> pd.DataFrame:
    """Per model version, role and scoring week (of ``params.week_of``): realized metrics, by
    grade too, the version's test AUC and a status."""
    if params["week_of"] not in ("scored_at", "created_date"):
        raise ConfigError(
            f"outcomes.week_of must be scored_at or created_date, not {params['week_of']!r}"
        )
    test_auc = (
        dict(zip(versions["version"].astype(str), versions["test_roc_auc"], strict=True))
        if "test_roc_auc" in versions.columns
        else {}
    )
    week = joined[params["week_of"]].dt.to_period("W-SUN").dt.start_time
    evaluated_at = pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)
    rows = []
    for (version, role, start), group in joined.groupby(
        ["model_version", "role", week.rename("week")], sort=True
    ):
        metrics = realized_metrics(group["completed"], group["probability"], group["is_junk"])
        metrics.update(_grade_metrics(group))
        auc = test_auc.get(str(version), float("nan"))
        rows.append(
            {
                "model_version": str(version),
                "role": role,
                "week": start,
                "export_sha256": counts["export_sha256"],
                "evaluated_at": evaluated_at,
                **metrics,
                "test_auc": auc,
                "auc_drop": auc - metrics["realized_auc"],
                "status": performance_status(
                    metrics["leads"], metrics["realized_auc"], auc, params
                ),
            }
        )
    return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)


def realized_metrics(
    completed: pd.Series, probability: pd.Series, is_junk: pd.Series
) -> dict[str, Any]:
    """Realized metrics of scored leads with known outcomes (NaN where undefined)."""
    from sklearn.metrics import roc_auc_score

    from codepro_leads.scoring.evaluation import business_metrics

    y = completed.to_numpy(dtype=int)
    p = probability.to_numpy(dtype=float)
    # Not-junk as 1.0 against a threshold of 1: business_metrics keeps the leads scored not junk.
    business = business_metrics(y, (~is_junk.to_numpy(dtype=bool)).astype(float), threshold=1.0)
    rate = business.pop("l2ac_all")
    return {
        "leads": len(y),
        "completions": int(y.sum()),
        "completion_rate": rate,
        "realized_auc": float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan"),
        "mean_probability": float(p.mean()),
        "calibration_gap": float(p.mean()) - rate,
        **business,
    }


GRADE_COLUMNS = ("grade_leads", "grade_completion_rate")


def _grade_metrics(group: pd.DataFrame) -> dict[str, str]:
    """Leads and completion rate per grade (A first), as JSON text for the store."""
    by_grade = group.groupby("grade", sort=True)["completed"].agg(["size", "mean"])
    return {
        "grade_leads": json.dumps({g: int(n) for g, n in by_grade["size"].items()}),
        "grade_completion_rate": json.dumps(
            {g: round(float(r), 6) for g, r in by_grade["mean"].items()}
        ),
    }


def performance_status(
    leads: int, realized_auc: float, test_auc: float, params: dict[str, Any]
) -> str:
    """degraded if the realized AUC is more than ``max_auc_drop`` below the test AUC;
    insufficient_data on too few leads, one class or no test AUC."""
    if leads < params["min_matched_leads"] or np.isnan(realized_auc) or np.isnan(test_auc):
        return INSUFFICIENT_DATA
    return DEGRADED if realized_auc < test_auc - params["max_auc_drop"] else OK


def store_realized_performance(performance: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The model_performance rows, and the receipt the report waits for."""
    return performance, {"performance_rows_stored": len(performance)}


def report_realized_performance(
    performance: pd.DataFrame, counts: dict[str, Any], stored: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report and MLflow metrics (a series per version and role, step YYYYWW); logs rows."""
    for row in performance.to_dict("records"):
        (logger.warning if row["status"] == DEGRADED else logger.info)(
            "Realized performance v{model_version} {role}, week of {week:%Y-%m-%d}: {leads} "
            "leads, AUC {realized_auc:.4f} (test {test_auc:.4f}), completion "
            "{completion_rate:.3f}, mean probability {mean_probability:.3f}, junk "
            "{junk_share:.3f} keeps {completions_kept:.3f} of completions, L2AC lift "
            "{l2ac_lift:.2f}, completion by grade {grades}: {status}".format(
                **row, grades=grades_in_words(json.loads(row["grade_completion_rate"]))
            )
        )
    if performance.empty:
        logger.warning("No realized performance: none of the export's leads has a stored score")
    rows = json.loads(performance.to_json(orient="records", date_format="iso"))
    rows = [{**row, **{col: json.loads(row[col]) for col in GRADE_COLUMNS}} for row in rows]
    return {**counts, **stored, "performance": rows}, _metrics(performance, counts)


def grades_in_words(by_grade: dict[str, float]) -> str:
    """``{"A": 0.750617, "B": 0.6}`` as ``A 0.751, B 0.600``."""
    return ", ".join(f"{grade} {value:.3f}" for grade, value in by_grade.items())


def _metrics(performance: pd.DataFrame, counts: dict[str, Any]) -> dict[str, Any]:
    names = ["leads", "realized_auc", "test_auc", "completion_rate", "junk_share", "l2ac_lift"]
    metrics = as_mlflow_metrics(
        {name: counts[name] for name in ("leads_matched", "leads_unmatched", "rows_rejected")},
        prefix="outcomes_",
    )
    for (version, role), rows in performance.groupby(["model_version", "role"], sort=True):
        iso = rows["week"].dt.isocalendar()
        steps = iso.year * 100 + iso.week
        for name in names:
            history = [
                {"value": float(value), "step": int(step)}
                for value, step in zip(rows[name], steps, strict=True)
                if not pd.isna(value)
            ]
            if history:
                metrics[f"outcomes_v{version}_{role}_{name}"] = history
    return metrics


def plot_realized_performance(history: pd.DataFrame) -> Figure:
    """Realized vs test AUC and completion by grade over scoring weeks (latest evaluations)."""
    from codepro_leads.pipelines.outcomes.plots import realized_performance_figure

    latest = history.sort_values("evaluated_at").drop_duplicates(
        ["model_version", "role", "week"], keep="last"
    )
    return realized_performance_figure(latest)
