"""The row accounting that gates every output of data_processing (``rows_add_up``, also
outcomes'), and the check that a run produced something usable (``enough_rows``, also
inference's): a run that fails either writes nothing. The steps themselves are
``codepro_leads.features.processing``'s, shared with the logged model.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from codepro_leads.errors import LeadDataError
from codepro_leads.spreadsheet import safe_cells

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


def enough_rows(
    source: str, rows_read: int, rows_out: int, reasons: dict[str, int], min_rows: int, what: str
) -> None:
    """Stop the run in one line if fewer than ``min_rows`` of the rows read are usable (every
    row rejected, say): outputs built from them would replace good ones with nothing."""
    if rows_out >= min_rows:
        return
    common = sorted(reasons.items(), key=lambda item: -item[1])[:3]
    why = "; ".join(f"{reason} ({n})" for reason, n in common)
    raise LeadDataError(
        f"{source}: {rows_out} usable {what} of {rows_read} read, at least {min_rows} needed"
        + (f"; most rejected for: {why}" if why else "")
    )


def account_for_rows(
    intake: dict[str, Any],
    duplicates: dict[str, int],
    model_input: pd.DataFrame,
    rejected: pd.DataFrame,
    example: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Check rows read = rows out + rejected + duplicates dropped before anything is written,
    and that the leads can train a model (a label, at least ``min_rows`` leads); fail the run
    if not, else pass the outputs on with the report (the rejected rows as people open them:
    spreadsheet-safe cells)."""
    label = params["label_column"]
    if label not in model_input.columns:
        raise LeadDataError(
            f"raw_leads: no {label!r} column (the label): data_processing prepares labeled "
            "training leads; new leads are scored by the inference pipeline"
        )
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
    enough_rows(
        "raw_leads",
        report["rows_read"],
        report["rows_out"],
        report["reject_reasons"],
        params["min_rows"],
        "leads",
    )
    return model_input, safe_cells(rejected), report, example
