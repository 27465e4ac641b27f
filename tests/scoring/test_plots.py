"""Each report figure: right type, titles and labels, number of lines or bars, renders to PNG."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn import metrics

from codepro_leads.scoring import plots
from codepro_leads.scoring.evaluation import grade_table

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, size=300)
    y = (rng.uniform(size=300) < p).astype(int)
    return y, p


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(b"\x89PNG")
    return data


def _legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_roc_figure(scores):
    y, p = scores
    fig = plots.roc_figure(y, p)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title().startswith("ROC curve")
    assert "completions kept" in ax.get_ylabel()
    assert "non-completing leads kept" in ax.get_xlabel()
    assert len(ax.get_lines()) == 2  # model + diagonal
    assert _legend(ax)[0] == f"Model (AUC = {metrics.roc_auc_score(y, p):.3f})"
    assert ax.get_lines()[1].get_xydata().tolist() == [[0, 0], [1, 1]]
    _png(fig)


def test_precision_recall_figure(scores):
    y, p = scores
    fig = plots.precision_recall_figure(y, p)
    (ax,) = fig.axes
    assert ax.get_title().startswith("Precision-recall")
    assert ax.get_xlabel() == "Share of completions kept (recall)"
    assert ax.get_ylabel() == "Completion rate of kept leads (precision)"
    assert len(ax.get_lines()) == 2  # model + base rate
    assert _legend(ax) == [
        f"Model (AP = {metrics.average_precision_score(y, p):.3f})",
        f"All leads (L2AC = {y.mean():.1%})",
    ]
    assert list(ax.get_lines()[1].get_ydata()) == [y.mean(), y.mean()]
    _png(fig)


def test_calibration_figure(scores):
    y, p = scores
    squashed = 0.25 + 0.5 * p
    fig = plots.calibration_figure(y, {"before calibration": squashed, "after calibration": p})
    (ax,) = fig.axes
    assert ax.get_title().startswith("Calibration")
    assert ax.get_xlabel().startswith("Predicted completion probability")
    assert ax.get_ylabel() == "Actual completion rate"
    assert len(ax.get_lines()) == 3  # two curves + diagonal
    assert _legend(ax) == [
        f"before calibration (Brier = {metrics.brier_score_loss(y, squashed):.4f})",
        f"after calibration (Brier = {metrics.brier_score_loss(y, p):.4f})",
        "Perfectly calibrated",
    ]
    assert len(ax.get_lines()[0].get_xdata()) == 6  # 0.255-0.745 falls in bins 0.2 to 0.8
    _png(fig)
    with pytest.raises(ValueError, match="empty"):
        plots.calibration_figure(y, {})


def test_feature_importance_figure_sorted_most_important_on_top():
    importance = pd.Series({"city_tier": 12.0, "referred_lead": 3.0, "first_platform_c": 40.0})
    fig = plots.feature_importance_figure(importance)
    (ax,) = fig.axes
    assert ax.get_title() == "What drives the lead score"
    assert ax.get_ylabel() == "Lead attribute"
    assert len(ax.patches) == 3
    # barh draws bottom-up: the last (top) bar is the most important feature.
    assert [bar.get_width() for bar in ax.patches] == [3.0, 12.0, 40.0]
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert labels == ["referred_lead", "city_tier", "first_platform_c"]
    _png(fig)
    assert len(plots.feature_importance_figure(importance, top_n=2).axes[0].patches) == 2


def test_score_distribution_figure(scores):
    y, p = scores
    score = np.clip(np.rint(100 * p), 0, 100).astype(int)
    fig = plots.score_distribution_figure(y, score)
    (ax,) = fig.axes
    assert ax.get_title() == "Lead score of completed vs not completed leads"
    assert ax.get_xlabel() == "Lead score (0-100)"
    assert len(ax.patches) == 2 * 20  # two groups x 20 bins of width 5
    assert _legend(ax) == ["Not completed", "Completed"]
    # Each group's bars are shares summing to 1.
    heights = np.array([bar.get_height() for bar in ax.patches]).reshape(2, 20)
    np.testing.assert_allclose(heights.sum(axis=1), [1.0, 1.0])
    _png(fig)


def test_grade_completion_figure_with_an_empty_grade():
    bands = {"A": 75, "B": 50, "C": 25, "D": 0}
    table = grade_table([1, 1, 0, 0, 1, 0], ["A", "A", "C", "D", "C", "A"], bands)
    fig = plots.grade_completion_figure(table)
    (ax,) = fig.axes
    assert ax.get_title() == "Application completion rate (L2AC) by lead grade"
    assert ax.get_xlabel() == "Lead grade"
    assert len(ax.patches) == 4
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx([2 / 3, 0.0, 0.5, 0.0])  # the empty grade B drawn at 0
    assert [text.get_text() for text in ax.texts] == ["3 leads", "0 leads", "2 leads", "1 leads"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["A", "B", "C", "D"]
    assert _legend(ax) == ["All leads (50.0%)"]
    _png(fig)


def test_drift_history_figure():
    history = pd.DataFrame(
        {
            # Out of order on purpose: the lines must run in time order.
            "scored_at": pd.to_datetime(["2024-03-08", "2024-03-01", "2024-03-15"]),
            "max_psi": [0.15, 0.05, 0.30],
            "junk_share": [0.42, 0.40, 0.55],
            "status": ["warn", "ok", "alert"],
        }
    )
    # The limits are the inference parameters', drawn as given.
    fig = plots.drift_history_figure(history, psi_warn=0.2, psi_alert=0.4)
    psi_ax, junk_ax = fig.axes
    assert psi_ax.get_title().startswith("Drift of new leads")
    assert junk_ax.get_title() == "Share of new leads flagged junk"
    assert psi_ax.get_ylabel() == "Max PSI"
    assert junk_ax.get_ylabel() == "Junk share"
    assert len(psi_ax.get_lines()) == 3  # max PSI + warn and alert reference lines
    assert [line.get_ydata()[0] for line in psi_ax.get_lines()[1:]] == [0.2, 0.4]
    assert psi_ax.get_lines()[0].get_ydata().tolist() == [0.05, 0.15, 0.30]
    assert _legend(psi_ax) == [
        "Max PSI",
        "status: ok",
        "status: warn",
        "status: alert",
        "Warn (0.2)",
        "Alert (0.4)",
    ]
    assert len(junk_ax.get_lines()) == 1
    assert junk_ax.get_lines()[0].get_ydata().tolist() == [0.40, 0.42, 0.55]
    _png(fig)
    with pytest.raises(ValueError, match="status"):
        plots.drift_history_figure(history.drop(columns="status"), 0.1, 0.25)
