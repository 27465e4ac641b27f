"""Project hooks (kedro-mlflow's own MlflowHook comes from its plugin entry point)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline

from codepro_leads.errors import ConfigError

if TYPE_CHECKING:
    from codepro_leads.datasets.model_registry import ModelAliasDataset

# Set in conf/ (reviewed, versioned) only: at run time Airflow's dag_run.conf or a --params
# typo could lower them.
PROMOTION_RULES = ("training.quality_floor", "training.registry")


def _dotted(params: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted leaf names of nested runtime parameters (``--params a.b=1`` nests them)."""
    names = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        names += _dotted(value, f"{name}.") if isinstance(value, dict) and value else [name]
    return names


class PromotionRulesHook:
    """Refuses runtime parameters that would change ``PROMOTION_RULES``, before anything starts."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        names = _dotted(run_params.get("runtime_params") or {})
        refused = [
            n for n in names if any(n == r or n.startswith(f"{r}.") for r in PROMOTION_RULES)
        ]
        if refused:
            raise ConfigError(
                f"runtime parameter(s) {', '.join(refused)} refused: the quality floor and the "
                "promotion gate come from conf/ only (parameters_training.yml)"
            )


class PromotionHook:
    """Registry aliases move only once every output of the run is saved; a failed run's version
    gets no alias and is tagged as failed. The pending decision and its MLflow run id live in
    the run's ``ModelAliasDataset``: kedro-mlflow may already have ended the active run.
    """

    @staticmethod
    def _gates(pipeline: Pipeline, catalog: CatalogProtocol) -> list[ModelAliasDataset]:
        # By type name: materialises no other dataset.
        return [
            catalog.get(name)
            for name in sorted(pipeline.datasets())
            if catalog.get_type(name) == "codepro_leads.datasets.model_registry.ModelAliasDataset"
        ]

    # trylast: after kedro-mlflow's before_pipeline_run, which starts the MLflow run.
    @hook_impl(trylast=True)
    def before_pipeline_run(self, pipeline: Pipeline, catalog: CatalogProtocol) -> None:
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
