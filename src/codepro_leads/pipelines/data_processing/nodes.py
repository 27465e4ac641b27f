"""The row accounting that gates every output of data_processing (``rows_add_up``, also
outcomes'). The steps themselves are ``codepro_leads.features.processing``'s, shared with the
logged model.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)


def rows_add_up(rows_read: int, parts: dict[str, int], what: str = "rows") -> str:
    """``"<n> <what> read = <n> <part> + ..."`` for the log, or stop the run: every row read must
    be in exactly one of ``parts`` (part name: rows)."""
    equation = " + ".join(f"{n} {name}" for name, n in parts.items())
    if (total := sum(parts.values())) != rows_read:
        raise RuntimeError(
            f"Row accounting failed: read {rows_read} {what} but {equation} = {total}"
        )
    return f"{rows_read} {what} read = {equation}"


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
    if len(rejected) != report["rows_rejected"]:
        raise RuntimeError(
            f"Row accounting failed: {len(rejected)} rejected rows, but validation counted "
            f"{report['rows_rejected']}"
        )
    parts = {
        "out": report["rows_out"],
        "rejected": report["rows_rejected"],
        "duplicates dropped": report["duplicates_dropped"],
    }
    logger.info("Rows: %s", rows_add_up(report["rows_read"], parts))
    return model_input, rejected, report, example
