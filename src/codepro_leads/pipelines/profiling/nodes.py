"""Nodes that profile a frame of leads: an exact summary and an HTML report (ydata-profiling)."""

from __future__ import annotations

import copy
import logging
import time
import warnings
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)


def _with_named_key(leads: pd.DataFrame, processing_params: dict[str, Any]) -> pd.DataFrame:
    """Raw exports carry the lead key as an unnamed first column: give it its name."""
    if "" in leads.columns:
        return leads.rename(columns={"": processing_params["key_column"]})
    return leads


def summarize_leads(leads: pd.DataFrame, processing_params: dict[str, Any]) -> dict[str, Any]:
    """Rows, columns, missing share per column, levels per categorical column, the 0/1 label
    rate and interaction sparsity, exact on every row (text in a number column is missing)."""
    frame = _with_named_key(leads, processing_params)
    city, categories = processing_params["city_column"], processing_params["categorical_columns"]
    named = [city, "city_tier", *categories]
    categorical = [col for col in named if col in frame.columns]
    groups = processing_params["interaction_groups"]
    raw_interactions = sorted(col for cols in groups.values() for col in cols)
    interactions = [col for col in [*raw_interactions, *sorted(groups)] if col in frame.columns]
    label_column = processing_params["label_column"]
    label = pd.to_numeric(frame.get(label_column, pd.Series()), errors="coerce")
    labels = label[label.isin([0, 1])]
    sparsity = {"columns": interactions, "rows_with_any": None, "empty_cell_share": None}
    sparsity["active_share"] = {}
    if interactions:  # active: a count above 0
        active = frame[interactions].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy() > 0
        sparsity.update(
            rows_with_any=float(active.any(axis=1).mean()),
            empty_cell_share=float(1 - active.mean()),
            active_share=dict(zip(interactions, active.mean(axis=0).tolist(), strict=True)),
        )
    return {
        "rows": len(frame),
        "columns": frame.shape[1],
        "missing_share": {str(col): float(frame[col].isna().mean()) for col in frame.columns},
        "distinct_levels": {col: int(frame[col].nunique(dropna=True)) for col in categorical},
        "labeled_rows": len(labels),
        "label_rate": float(labels.mean()) if len(labels) else None,
        "interaction_sparsity": sparsity,
    }


def profile_settings(report_params: dict[str, Any]) -> dict[str, Any]:
    """ProfileReport keyword arguments (a deep copy: ydata-profiling writes into them)."""
    settings = {
        "title": report_params["title"],
        "minimal": bool(report_params.get("minimal", True)),
        "progress_bar": bool(report_params.get("progress_bar", False)),
        "correlations": {
            name: {"calculate": bool(on)}
            for name, on in (report_params.get("correlations") or {}).items()
        },
    }
    settings.update(copy.deepcopy(report_params.get("profile_args") or {}))
    return settings


def profile_html(
    leads: pd.DataFrame, report_params: dict[str, Any], processing_params: dict[str, Any]
) -> str:
    """The HTML profile of ``leads`` (or of a sample of ``sample_rows`` of them)."""
    frame = _with_named_key(leads, processing_params)
    sample_rows = report_params.get("sample_rows")
    if sample_rows and len(frame) > sample_rows:
        frame = frame.sample(n=sample_rows, random_state=report_params.get("seed", 42))
        frame = frame.sort_index()
    settings = profile_settings(report_params)
    started = time.perf_counter()
    # Without ydata-profiling's deprecation notice on import (this also undoes its filters).
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"(?s).*import ydata_profiling.*deprecated", category=Warning
        )
        from ydata_profiling import ProfileReport

        report = ProfileReport(frame, **settings)
        report.get_description()
        html = report.to_html()
    correlations = list(report.get_description().correlations)
    logger.info(
        "Profiled %s: %d rows x %d columns in %.1f s (correlations: %s)",
        settings["title"],
        len(frame),
        frame.shape[1],
        time.perf_counter() - started,
        ", ".join(correlations) or "none",
    )
    if any(on for on in (report_params.get("correlations") or {}).values()) and not correlations:
        logger.warning("%s: the correlation section could not be computed", settings["title"])
    return html
