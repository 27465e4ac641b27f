"""The row accounting and the check that a run produced something usable, which gate every
output of data_processing (and of inference and outcomes): a run that fails them writes nothing.
The steps themselves are ``codepro_leads.features.processing``'s, shared with the logged model.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from codepro_leads.errors import LeadDataError
from codepro_leads.spreadsheet import safe_cells

logger = logging.getLogger(__name__)


def rows_add_up(rows_read: int, parts: dict[str, int], what: str = "rows") -> str:
    """``"<n> <what> read = <n> <part> + ..."``, or stop the run unless ``parts`` add up."""
    equation = " + ".join(f"{n} {name}" for name, n in parts.items())
    if (total := sum(parts.values())) != rows_read:
        raise RuntimeError(
            f"Row accounting failed: read {rows_read} {what} but {equation} = {total}"
        )
    return f"{rows_read} {what} read = {equation}"


def rows_accounted(
    counts: dict[str, Any], rejected_rows: int, out: dict[str, int], what: str = "rows"
) -> str:
    """``rows_add_up`` of the rows ``out``, rejected (every one counted) and duplicates dropped."""
    if rejected_rows != counts["rows_rejected"]:
        raise RuntimeError(
            f"Row accounting failed: {rejected_rows} rejected rows, but validation counted "
            f"{counts['rows_rejected']}"
        )
    parts = {**out, "rejected": counts["rows_rejected"]}
    parts["duplicates dropped"] = counts["duplicates_dropped"]
    return rows_add_up(counts["rows_read"], parts, what)


def enough_rows(
    source: str, counts: dict[str, Any], rows_out: int, min_rows: int, what: str
) -> None:
    """Stop the run in one line if fewer than ``min_rows`` rows are usable: outputs built from
    them would replace good ones with nothing."""
    if rows_out >= min_rows:
        return
    common = sorted(counts["reject_reasons"].items(), key=lambda item: -item[1])[:3]
    why = "; ".join(f"{reason} ({n})" for reason, n in common)
    raise LeadDataError(
        f"{source}: {rows_out} usable {what} of {counts['rows_read']} read, at least {min_rows} "
        "needed" + (f"; most rejected for: {why}" if why else "")
    )


def account_for_rows(
    intake: dict[str, Any],
    duplicates: dict[str, int],
    model_input: pd.DataFrame,
    rejected: pd.DataFrame,
    example: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Fail the run before anything is written unless the rows add up and the leads can train a
    model (a label, ``min_rows`` leads); else the outputs, the rejected rows spreadsheet-safe."""
    label = params["label_column"]
    if label not in model_input.columns:
        raise LeadDataError(
            f"raw_leads: no {label!r} column (the label): data_processing prepares labeled "
            "training leads; new leads are scored by the inference pipeline"
        )
    report = {**intake, **duplicates, "rows_out": len(model_input)}
    logger.info("Rows: %s", rows_accounted(report, len(rejected), {"out": len(model_input)}))
    enough_rows("raw_leads", report, len(model_input), params["min_rows"], "leads")
    return model_input, safe_cells(rejected), report, example
