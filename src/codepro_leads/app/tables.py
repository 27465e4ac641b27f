"""The app's tables as people read them: headings in words, formatted values; the data keeps
its column names."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

COUNT = {"format": "localized"}  # 47,855
SHARE = {"format": "percent"}  # 31.37%
MINUTE = "YYYY-MM-DD HH:mm"
# Streamlit wraps a cell's text only in rows taller than 4rem (64 px): room for 3 lines.
WRAPPED_ROW = 78

# A scored lead, in this order; widths that fit a laptop's screen (the factor texts wrap).
LEADS = {
    "lead_id": st.column_config.TextColumn("Lead", width=80),
    "score": st.column_config.NumberColumn("Score", width=60),
    "grade": st.column_config.TextColumn("Grade", width=60),
    "probability": st.column_config.ProgressColumn(
        "Chance to complete", format="percent", min_value=0.0, max_value=1.0, width=130
    ),
    "is_junk": st.column_config.CheckboxColumn("Junk", width=50),
    "raises_score": st.column_config.TextColumn("Raises the score", width=240),
    "lowers_score": st.column_config.TextColumn("Lowers the score", width=190),
    "created_date": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD", width=100),
    "model_version": st.column_config.TextColumn("Model"),
    "scored_at": st.column_config.DatetimeColumn("Scored at", format=MINUTE),
}
# Model and scoring time, the same for most leads, are said once above the table.
LEAD_VIEW = list(LEADS)[:-2]


def show_leads(frame: pd.DataFrame) -> None:
    """Scored leads as a full-height table in words, factor texts wrapped."""
    show(frame, LEADS, height="content", row_height=WRAPPED_ROW, column_order=LEAD_VIEW)


GRADE_COUNTS = {
    "grade": st.column_config.TextColumn("Grade"),
    "leads": st.column_config.NumberColumn("Leads", **COUNT),
}

REJECTED = {
    "row": st.column_config.NumberColumn("Row", format="%d", width="small"),
    "lead_id": st.column_config.TextColumn("Lead", width="small"),
    "rejected_reason": st.column_config.TextColumn("Why it was not scored", width="large"),
}

MONITORING = {
    "scored_at": st.column_config.DatetimeColumn("Scored at", format=MINUTE),
    "model_version": st.column_config.TextColumn("Model"),
    "leads": st.column_config.NumberColumn("Leads", **COUNT),
    "status": st.column_config.TextColumn("Status"),
    "max_psi": st.column_config.NumberColumn("Largest PSI", format="%.3f"),
    "max_psi_feature": st.column_config.TextColumn("Largest PSI on"),
    "junk_share": st.column_config.NumberColumn("Junk share", **SHARE),
    "junk_share_training": st.column_config.NumberColumn("Junk share in training", **SHARE),
    "mean_probability": st.column_config.NumberColumn("Mean chance to complete", **SHARE),
}

PERFORMANCE = {
    "model": st.column_config.TextColumn("Model"),
    "week": st.column_config.DatetimeColumn("Week of", format="YYYY-MM-DD"),
    "leads": st.column_config.NumberColumn("Leads", **COUNT),
    "completions": st.column_config.NumberColumn("Completions", **COUNT),
    "completion_rate": st.column_config.NumberColumn("Completion rate", **SHARE),
    "realized_auc": st.column_config.NumberColumn("Realized AUC", format="%.3f"),
    "test_auc": st.column_config.NumberColumn("Test AUC", format="%.3f"),
    "junk_share": st.column_config.NumberColumn("Junk share", **SHARE),
    "completions_kept": st.column_config.NumberColumn("Completions kept", **SHARE),
    "status": st.column_config.TextColumn("Status"),
}


def shown(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """The columns of ``columns`` that ``frame`` has, in that order."""
    return frame[[col for col in columns if col in frame.columns]]


def show(frame: pd.DataFrame, columns: dict[str, Any], **options: Any) -> None:
    """The columns of ``columns`` that ``frame`` has, as a table in words."""
    st.dataframe(
        shown(frame, columns), hide_index=True, width="stretch", column_config=columns, **options
    )


def compared_metrics(
    champion: dict[str, float], challenger: dict[str, float], labels: dict[str, str]
) -> pd.DataFrame:
    """The metrics of ``labels`` on which the challenger differs at the 3 decimals shown."""
    rows = [
        {
            "metric": label,
            "challenger": round(challenger[name], 3),
            "difference": round(round(challenger[name], 3) - round(champion[name], 3), 3),
        }
        for name, label in labels.items()
        if name in champion and name in challenger
    ]
    compared = pd.DataFrame(rows, columns=["metric", "challenger", "difference"])
    return compared[compared["difference"] != 0].reset_index(drop=True)


# A whole number of 4 digits or more standing alone (not part of a date, time or decimal).
_BARE_COUNT = re.compile(r"(?<![\d.,:-])\d{4,}(?![\d.,:-])")


def counts_formatted(text: str) -> str:
    """Free text (a promotion note) with its bare counts written 47,855."""
    return _BARE_COUNT.sub(lambda found: f"{int(found.group()):,}", text)
