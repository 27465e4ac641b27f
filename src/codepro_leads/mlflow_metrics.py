"""The metric format of kedro-mlflow's MlflowMetricsHistoryDataset, both ways."""

from __future__ import annotations

from typing import Any


def as_mlflow_metrics(values: dict[str, float], prefix: str) -> dict[str, Any]:
    """{name: value} -> {prefix + name: {"value": v, "step": 0}}."""
    return {f"{prefix}{k}": {"value": float(v), "step": 0} for k, v in values.items()}


def metric_value(metric: dict[str, Any] | list[dict[str, Any]]) -> float:
    """A metric as saved ({"value", "step"}) or as loaded back from MLflow (its history)."""
    return float(metric["value"] if isinstance(metric, dict) else metric[-1]["value"])
