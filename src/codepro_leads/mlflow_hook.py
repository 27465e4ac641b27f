"""kedro-mlflow's hook, set up only when a pipeline it tracks runs."""

from __future__ import annotations

from typing import Any

import mlflow
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro_mlflow.config.kedro_mlflow_config import KedroMlflowConfig
from kedro_mlflow.framework.hooks import MlflowHook


class TrackedPipelinesMlflowHook(MlflowHook):
    """kedro-mlflow's ``MlflowHook``, set up only once a tracked pipeline starts: the stock hook
    opens the tracking store and builds every catalog entry when any session starts. Sessions
    that run no pipeline (notebooks, ``kedro mlflow ui``) get the parsed ``context.mlflow``."""

    def __init__(self) -> None:
        super().__init__()
        self.context: KedroContext | None = None
        self.catalog_created: dict[str, Any] = {}
        self.tracked = False

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self.context = context
        # What `kedro mlflow ui` and the registry datasets read (setting the URIs opens nothing).
        config = KedroMlflowConfig.model_validate(context.config_loader["mlflow"])
        context.__setattr__("mlflow", config)
        mlflow.set_tracking_uri(config.server.mlflow_tracking_uri)
        mlflow.set_registry_uri(config.server.mlflow_registry_uri)

    @hook_impl
    def after_catalog_created(  # noqa: PLR0913
        self,
        catalog: CatalogProtocol,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        parameters: dict[str, Any],
        save_version: str,
        load_versions: dict[str, str],
    ) -> None:
        self.catalog_created = {
            "catalog": catalog,
            "conf_catalog": conf_catalog,
            "conf_creds": conf_creds,
            "parameters": parameters,
            "save_version": save_version,
            "load_versions": load_versions,
        }

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        names = run_params.get("pipeline_names") or ["__default__"]
        disabled = self.context.mlflow.tracking.disable_tracking.pipelines
        self.tracked = not all(name in disabled for name in names)
        if self.tracked:
            super().after_context_created(self.context)
            super().after_catalog_created(**self.catalog_created)
            super().before_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    def before_node_run(
        self, node: Node, catalog: CatalogProtocol, inputs: dict[str, Any], is_async: bool
    ) -> None:
        if self.tracked:
            super().before_node_run(node, catalog, inputs, is_async)

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        if self.tracked:
            super().after_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    def on_pipeline_error(
        self,
        error: Exception,
        run_params: dict[str, Any],
        pipeline: Pipeline,
        catalog: CatalogProtocol,
    ) -> None:
        if self.tracked:
            super().on_pipeline_error(error, run_params, pipeline, catalog)
