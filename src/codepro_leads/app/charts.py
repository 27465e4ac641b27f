"""The app's charts: upright labels, formatted values."""

from __future__ import annotations

import altair as alt
import pandas as pd

UPRIGHT = alt.Axis(labelAngle=0)
STATUS_COLOURS = {
    "ok": "#2e7d32",
    "warn": "#f9a825",
    "alert": "#c62828",
    "insufficient data": "#9e9e9e",
}


def grade_bars(frame: pd.DataFrame, value: str, title: str, value_format: str) -> alt.LayerChart:
    """One bar per grade, in the frame's order, with its value written above it."""
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("grade:N", sort=list(frame["grade"]), title="Grade", axis=UPRIGHT),
            y=alt.Y(f"{value}:Q", title=title, axis=alt.Axis(format=value_format)),
            tooltip=[
                alt.Tooltip("grade:N", title="Grade"),
                alt.Tooltip(f"{value}:Q", title=title, format=value_format),
            ],
        )
    )
    labels = bars.mark_text(dy=-8).encode(text=alt.Text(f"{value}:Q", format=value_format))
    return bars + labels


def score_histogram(distribution: pd.DataFrame) -> alt.Chart:
    """Leads per band of 5 score points, from leads per score."""
    return (
        alt.Chart(distribution)
        .mark_bar()
        .encode(
            x=alt.X("score:Q", bin=alt.Bin(extent=[0, 100], step=5), title="Score", axis=UPRIGHT),
            y=alt.Y("sum(leads):Q", title="Leads", axis=alt.Axis(format=",d")),
            tooltip=[alt.Tooltip("sum(leads):Q", title="Leads", format=",d")],
        )
    )


def drift_history(runs: pd.DataFrame) -> alt.LayerChart:
    """The largest PSI of each monitoring run, its status as the dot's colour."""
    x = alt.X("scored_at:T", title="Scoring run", axis=alt.Axis(format="%b %d %H:%M", labelAngle=0))
    # Headroom: the highest dot sits below the top gridline.
    highest = runs["max_psi"].max()
    top = float(highest) * 1.25 if highest > 0 else 0.01
    y = alt.Y("max_psi:Q", title="Largest PSI", scale=alt.Scale(domain=[0, top], nice=True))
    base = alt.Chart(runs).encode(x=x, y=y)
    colours = alt.Scale(domain=list(STATUS_COLOURS), range=list(STATUS_COLOURS.values()))
    dots = base.mark_circle(size=90, opacity=1).encode(
        color=alt.Color("status:N", scale=colours, title="Status"),
        tooltip=[
            alt.Tooltip("scored_at:T", title="Scored at", format="%Y-%m-%d %H:%M"),
            alt.Tooltip("status:N", title="Status"),
            alt.Tooltip("max_psi:Q", title="Largest PSI", format=".3f"),
            alt.Tooltip("leads:Q", title="Leads", format=",d"),
        ],
    )
    return base.mark_line(color="#607d8b") + dots


def realized_history(performance: pd.DataFrame) -> alt.Chart:
    """Realized ROC AUC per scoring week, a line per model."""
    return (
        alt.Chart(performance)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="Scoring week", axis=alt.Axis(format="%b %d", labelAngle=0)),
            y=alt.Y("realized_auc:Q", title="Realized ROC AUC", scale=alt.Scale(zero=False)),
            color=alt.Color("model:N", title="Model"),
            tooltip=[
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("week:T", title="Week of", format="%Y-%m-%d"),
                alt.Tooltip("realized_auc:Q", title="Realized ROC AUC", format=".3f"),
                alt.Tooltip("leads:Q", title="Leads", format=",d"),
            ],
        )
    )
