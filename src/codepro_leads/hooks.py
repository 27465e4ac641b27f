"""Project hooks (kedro-mlflow's, for tracked runs only, are in mlflow_tracking_hook.py)."""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline

if TYPE_CHECKING:
    from codepro_leads.datasets.model_registry import ModelAliasDataset

logger = logging.getLogger(__name__)


class PipelineTimer:
    """Logs how long the runner took (node work plus dataset I/O, without session set-up)."""

    def __init__(self) -> None:
        self._started = 0.0
        self.last_seconds: float | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self._started = time.perf_counter()

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self.last_seconds = time.perf_counter() - self._started
        names = ", ".join(run_params.get("pipeline_names") or ["__default__"])
        logger.info("Pipeline %s ran in %.2f s", names, self.last_seconds)


class ArrowMemoryRelease:
    """Hands the memory Arrow's pool kept from freed buffers back to the OS before each node.

    A node's inputs are freed when it ends, but Arrow's allocator (mimalloc) keeps their pages:
    the raw file read by data_processing's first node (~130 MB on 240k rows) would stay in the
    process while the next nodes allocate their own.
    """

    @hook_impl
    def before_node_run(self) -> None:
        if "pyarrow" in sys.modules:
            sys.modules["pyarrow"].default_memory_pool().release_unused()


class PromotionHook:
    """Registry aliases move only after the whole run has succeeded, i.e. every output of the
    training run is saved: the same reason kedro-mlflow logs ``pipeline_ml`` models in
    ``after_pipeline_run``. A failed run's version gets no alias and is tagged as failed.

    Stateless: the pending decision lives in the run's own ``ModelAliasDataset`` (one catalog
    per session), which also records the MLflow run id, so committing never depends on which
    MLflow run is active (kedro-mlflow's own ``after_pipeline_run`` may already have ended it).
    """

    @staticmethod
    def _gates(pipeline: Pipeline, catalog: CatalogProtocol) -> list[ModelAliasDataset]:
        # By type name: settings import this module for every run, MLflow is for tracked ones.
        return [
            catalog.get(name)
            for name in sorted(pipeline.datasets())
            if catalog.get_type(name) == "codepro_leads.datasets.model_registry.ModelAliasDataset"
        ]

    # trylast: after kedro-mlflow's before_pipeline_run, which starts the MLflow run.
    @hook_impl(trylast=True)
    def before_pipeline_run(self, pipeline: Pipeline, catalog: CatalogProtocol) -> None:
        if "mlflow" not in sys.modules:  # nothing imported MLflow: no run is active
            return
        import mlflow

        run = mlflow.active_run()
        if run is None:  # not tracked: a promotion decision would fail to save
            return
        for gate in self._gates(pipeline, catalog):
            gate.begin(run.info.run_id, mlflow.get_tracking_uri(), mlflow.get_registry_uri())

    @hook_impl
    def after_pipeline_run(self, pipeline: Pipeline, catalog: CatalogProtocol) -> None:
        for gate in self._gates(pipeline, catalog):
            try:
                gate.commit()
            except Exception as error:  # Kedro calls no on_pipeline_error after this hook
                gate.fail(error)
                raise

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        for gate in self._gates(pipeline, catalog):
            gate.fail(error)
