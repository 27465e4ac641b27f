"""Nodes that turn a raw CodePro export into ``model_input_leads``.

The steps themselves live in ``codepro_leads.features.processing`` (shared with the logged
model); this module adds the row accounting that gates every output of the pipeline.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from codepro_leads.features.processing import (
    add_city_tier,
    drop_duplicate_leads,
    fill_missing_counts,
    select_model_input,
    sum_interactions,
    validate_raw_leads,
)

__all__ = [
    "account_for_rows",
    "add_city_tier",
    "drop_duplicate_leads",
    "fill_missing_counts",
    "select_model_input",
    "sum_interactions",
    "validate_raw_leads",
]

logger = logging.getLogger(__name__)


def account_for_rows(
    intake: dict[str, Any],
    duplicates: dict[str, int],
    model_input: pd.DataFrame,
    rejected: pd.DataFrame,
    example: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Check rows read = rows out + rejected + duplicates dropped before anything is written;
    fail the run if not, else pass the outputs on with the report."""
    report = {**intake, **duplicates, "rows_out": len(model_input)}
    accounted = report["rows_out"] + report["rows_rejected"] + report["duplicates_dropped"]
    if len(rejected) != report["rows_rejected"]:
        raise RuntimeError(
            f"Row accounting failed: {len(rejected)} rejected rows, but validation counted "
            f"{report['rows_rejected']}"
        )
    if accounted != report["rows_read"]:
        raise RuntimeError(
            f"Row accounting failed: read {report['rows_read']} rows but "
            f"{report['rows_out']} out + {report['rows_rejected']} rejected + "
            f"{report['duplicates_dropped']} duplicates = {accounted}"
        )
    logger.info(
        "Rows: %d read = %d out + %d rejected + %d duplicates dropped",
        report["rows_read"],
        report["rows_out"],
        report["rows_rejected"],
        report["duplicates_dropped"],
    )
    return model_input, rejected, report, example
