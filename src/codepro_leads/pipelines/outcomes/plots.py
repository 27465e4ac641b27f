"""The realized-performance figure: how right past scores were, week by week."""

from __future__ import annotations

import json

import pandas as pd
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter


def realized_performance_figure(performance: pd.DataFrame) -> Figure:
    """Realized (solid) vs test AUC (dashed), and completion rate by grade, per version and role."""
    fig = Figure(figsize=(8.0, 6.5), layout="constrained")
    auc_ax, grade_ax = fig.subplots(2, 1, sharex=True)
    rows = performance.assign(week=pd.to_datetime(performance["week"])).sort_values("week")
    for (version, role), group in rows.groupby(["model_version", "role"], sort=True):
        name = f"v{version} {role}"
        line = auc_ax.plot(group["week"], group["realized_auc"], marker="o", label=name)[0]
        auc_ax.plot(
            group["week"],
            group["test_auc"],
            linestyle="--",
            marker="x",
            color=line.get_color(),
            label=f"{name}: test AUC",
        )
        rates = pd.DataFrame(
            [json.loads(text) for text in group["grade_completion_rate"]], index=group["week"]
        )
        style = "-" if role == "champion" else ":"
        for grade in sorted(rates.columns):
            grade_ax.plot(
                rates.index, rates[grade], marker="o", linestyle=style, label=f"{name} {grade}"
            )
    auc_ax.set(title="Realized AUC on later outcomes vs test AUC", ylabel="ROC AUC")
    grade_ax.set(
        title="Completion rate by grade", xlabel="Scoring week (starting Monday)", ylabel="Rate"
    )
    grade_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    grade_ax.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    grade_ax.tick_params(axis="x", labelrotation=30)
    if not rows.empty:  # a few days around the weeks, not years around a single one
        pad = pd.Timedelta(days=4)
        grade_ax.set_xlim(rows["week"].min() - pad, rows["week"].max() + pad)
    for ax in (auc_ax, grade_ax):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="best")
    if rows.empty:
        auc_ax.text(0.5, 0.5, "No outcomes matched to stored scores yet", ha="center")
    return fig
