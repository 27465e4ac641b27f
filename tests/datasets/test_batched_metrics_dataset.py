"""Metrics logged in one batch read back as kedro-mlflow's own dataset logs and loads them."""

from __future__ import annotations

import mlflow
import pytest
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from mlflow.tracking import MlflowClient

from codepro_leads.datasets import BatchedMetricsDataset
from tests.scoring.test_pyfunc import tracking_store

METRICS = {
    "test_roc_auc": {"value": 0.8183, "step": 0},
    "test_leads": {"value": 47855, "step": 0},
    "psi_history": [{"value": 0.01, "step": 0}, {"value": 0.2, "step": 1}],
}


@pytest.fixture
def no_single_logging(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("one request per metric")

    monkeypatch.setattr(MlflowClient, "log_metric", refused)


def test_metrics_are_logged_in_one_batch_and_load_back(tmp_path, monkeypatch, no_single_logging):
    batches = []
    log_batch = MlflowClient.log_batch

    def counted(self, run_id, metrics=(), **kwargs):
        batches.append(len(metrics))
        return log_batch(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", counted)
    with tracking_store(tmp_path), mlflow.start_run() as run:
        dataset = BatchedMetricsDataset()
        dataset.save(METRICS)
        assert batches == [4]
        assert dataset.load() == MlflowMetricsHistoryDataset().load() == METRICS
        history = MlflowClient().get_metric_history(run.info.run_id, "psi_history")
    assert [(m.step, m.value) for m in history] == [(0, 0.01), (1, 0.2)]


def test_switched_off_logging_logs_nothing(tmp_path, no_single_logging):
    with tracking_store(tmp_path), mlflow.start_run() as run:
        dataset = BatchedMetricsDataset()
        dataset._logging_activated = False  # kedro-mlflow's switch for untracked pipelines
        dataset.save(METRICS)
        assert MlflowClient().get_run(run.info.run_id).data.metrics == {}
