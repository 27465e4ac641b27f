"""Report figures for sales-ops readers (``Figure``, not pyplot: no global state to close)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubplotParams
from matplotlib.ticker import PercentFormatter
from numpy.typing import ArrayLike
from sklearn import metrics

from codepro_leads.scoring.evaluation import calibration_table

STATUS_COLORS = {"ok": "tab:green", "warn": "tab:orange", "alert": "tab:red"}

# Constrained layout measures every label before it draws (~65 ms a figure): a 7 x 5 figure
# whose tick labels are known in advance (0-1 axes, percentages) takes these margins instead.
_FIXED_MARGINS = SubplotParams(left=0.11, right=0.975, bottom=0.095, top=0.945)


def _axes(**settings: object) -> tuple[Figure, Axes]:
    """A 7 x 5 figure with fixed margins and its axes, ``settings`` (title, labels, limits) set."""
    fig = Figure(figsize=(7.0, 5.0), subplotpars=_FIXED_MARGINS)
    ax = fig.subplots()
    ax.set(**settings)
    return fig, ax


def roc_figure(y_true: ArrayLike, probability: ArrayLike) -> Figure:
    """ROC curve: completions kept vs non-completions kept as the threshold moves."""
    fpr, tpr, _ = metrics.roc_curve(y_true, probability)
    auc = metrics.auc(fpr, tpr)  # roc_auc_score's own area, without a second curve
    fig, ax = _axes(
        title="ROC curve: how well the score separates completions",
        xlabel="Share of non-completing leads kept (false positive rate)",
        ylabel="Share of completions kept (true positive rate)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.plot(fpr, tpr, label=f"Model (AUC = {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Random order (AUC = 0.5)")
    ax.legend(loc="lower right")
    return fig


def precision_recall_figure(y_true: ArrayLike, probability: ArrayLike) -> Figure:
    """Completion rate of the kept leads vs the share of completions kept."""
    precision, recall, _ = metrics.precision_recall_curve(y_true, probability)
    ap = metrics.average_precision_score(y_true, probability)
    base_rate = float(np.mean(y_true))
    fig, ax = _axes(
        title="Precision-recall: completion rate of kept leads",
        xlabel="Share of completions kept (recall)",
        ylabel="Completion rate of kept leads (precision)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.plot(recall, precision, drawstyle="steps-post", label=f"Model (AP = {ap:.3f})")
    ax.axhline(base_rate, linestyle="--", color="grey", label=f"All leads (L2AC = {base_rate:.1%})")
    ax.legend(loc="upper right")
    return fig


def calibration_figure(
    y_true: ArrayLike, probabilities: Mapping[str, ArrayLike], bins: int = 10
) -> Figure:
    """One reliability curve per set of probabilities, e.g. before and after calibration."""
    if not probabilities:
        raise ValueError("probabilities is empty: give at least one named set of probabilities")
    fig, ax = _axes(
        title="Calibration: predicted vs actual completion rate",
        xlabel="Predicted completion probability (bin average)",
        ylabel="Actual completion rate",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    for name, probability in probabilities.items():
        table = calibration_table(y_true, probability, bins=bins)
        label = f"{name} (Brier = {metrics.brier_score_loss(y_true, probability):.4f})"
        ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Perfectly calibrated")
    ax.legend(loc="upper left")
    return fig


def feature_importance_figure(importance: pd.Series, top_n: int | None = None) -> Figure:
    """Horizontal bars, most important feature on top; ``top_n`` keeps only the largest."""
    if importance.empty:
        raise ValueError("importance is empty: no features to plot")
    ordered = importance.sort_values(ascending=False)
    if top_n is not None:
        ordered = ordered.head(top_n)
    ordered = ordered[::-1]  # barh draws the first bar at the bottom
    fig = Figure(figsize=(7.0, max(3.0, 0.3 * len(ordered) + 1.5)), layout="constrained")
    ax = fig.subplots()
    ax.barh([str(name) for name in ordered.index], ordered.to_numpy(dtype=float))
    ax.set(
        title="What drives the lead score",
        xlabel="Importance (higher = more influence on the score)",
        ylabel="Lead attribute",
    )
    return fig


def score_distribution_figure(y_true: ArrayLike, score: ArrayLike) -> Figure:
    """Score histograms of completed and not completed leads, as shares of their group."""
    y = np.asarray(y_true).ravel()
    s = np.asarray(score, dtype=float).ravel()
    fig, ax = _axes(
        title="Lead score of completed vs not completed leads",
        xlabel="Lead score (0-100)",
        ylabel="Share of the group's leads",
        xlim=(0, 100),
    )
    for label, name, color in ((0, "Not completed", "tab:grey"), (1, "Completed", "tab:blue")):
        group = s[y == label]
        weights = np.full(len(group), 1.0 / max(len(group), 1))
        ax.hist(
            group, bins=np.arange(0, 105, 5), weights=weights, alpha=0.55, color=color, label=name
        )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(loc="upper right")
    return fig


def grade_completion_figure(grade_table: pd.DataFrame) -> Figure:
    """Completion rate per grade (rows of ``evaluation.grade_table``), bars labelled with leads."""
    rate = grade_table["completion_rate"].fillna(0.0).to_numpy(dtype=float)
    fig, ax = _axes(
        title="Application completion rate (L2AC) by lead grade",
        xlabel="Lead grade",
        ylabel="Completion rate",
    )
    bars = ax.bar(grade_table["grade"].astype(str), rate, color="tab:blue")
    ax.bar_label(bars, labels=[f"{int(n):,} leads" for n in grade_table["leads"]], padding=2)
    leads = grade_table["leads"].sum()
    if leads:
        overall = grade_table["completions"].sum() / leads
        ax.axhline(overall, linestyle="--", color="grey", label=f"All leads ({overall:.1%})")
        ax.legend(loc="upper right")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, max(rate.max(initial=0.0) * 1.2, 0.05))  # headroom for the labels
    return fig


def drift_history_figure(history: pd.DataFrame, psi_warn: float, psi_alert: float) -> Figure:
    """Max PSI (with its warn and alert limits) and junk share of each scoring run, over time."""
    missing = {"scored_at", "max_psi", "junk_share", "status"} - set(history.columns)
    if missing:
        raise ValueError(f"history is missing columns: {sorted(missing)}")
    runs = history.sort_values("scored_at")
    when = pd.to_datetime(runs["scored_at"]).to_numpy()
    psi = runs["max_psi"].to_numpy(dtype=float)
    status = runs["status"].astype(str).to_numpy()
    fig = Figure(figsize=(7.0, 6.0), layout="constrained")
    psi_ax, junk_ax = fig.subplots(2, 1, sharex=True)
    psi_ax.plot(when, psi, color="black", linewidth=1, label="Max PSI")
    for name in dict.fromkeys([*STATUS_COLORS, *status]):  # known statuses first, then others
        run = status == name
        if run.any():  # one scatter per status so the legend explains the dot colours
            color = STATUS_COLORS.get(name, "tab:purple")
            psi_ax.scatter(when[run], psi[run], color=color, zorder=3, label=f"status: {name}")
    psi_ax.axhline(psi_warn, linestyle="--", color="tab:orange", label=f"Warn ({psi_warn})")
    psi_ax.axhline(psi_alert, linestyle="--", color="tab:red", label=f"Alert ({psi_alert})")
    psi_ax.set(
        title="Drift of new leads vs training: largest PSI of any feature",
        ylabel="Max PSI",
        ylim=(0, max(np.nanmax(psi, initial=0.0), psi_alert) * 1.15),
    )
    psi_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")  # off the data
    junk_ax.plot(when, runs["junk_share"].to_numpy(dtype=float), marker="o", color="tab:blue")
    junk_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    junk_ax.tick_params(axis="x", labelrotation=30)
    junk_ax.set(title="Share of new leads flagged junk", xlabel="Scoring run", ylabel="Junk share")
    return fig
