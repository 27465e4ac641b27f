"""kedro-mlflow's hook, set up only when a pipeline it tracks runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro_mlflow.config.kedro_mlflow_config import KedroMlflowConfig

if TYPE_CHECKING:
    from kedro_mlflow.framework.hooks import MlflowHook


class TrackedPipelinesMlflowHook:
    """kedro-mlflow's ``MlflowHook``, created and set up only once a tracked pipeline starts: the
    stock hook opens the tracking store and builds every catalog entry when any session starts.
    Sessions that run no pipeline (notebooks, ``kedro mlflow ui``) get the parsed
    ``context.mlflow``. To drop once kedro-mlflow sets up in ``before_pipeline_run`` for tracked
    pipelines only: a proposal still to file upstream (kedro-mlflow#92 brought
    ``disable_tracking``, not this)."""

    def __init__(self) -> None:
        self.context: KedroContext | None = None
        self.catalog_created: dict[str, Any] = {}
        self.hook: MlflowHook | None = None  # kedro-mlflow's, while a tracked pipeline runs
        self.logged_params: set[str] = set()

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
        self.hook, self.logged_params = None, set()
        if not all(name in disabled for name in names):
            # Imported here: it imports mlflow.pyfunc, which untracked runs never use.
            from kedro_mlflow.framework.hooks import MlflowHook

            self.hook = MlflowHook()
            self.hook.after_context_created(self.context)
            self.hook.after_catalog_created(**self.catalog_created)
            self.hook.before_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    def before_node_run(
        self, node: Node, catalog: CatalogProtocol, inputs: dict[str, Any], is_async: bool
    ) -> None:
        if self.hook:
            # kedro-mlflow logs a node's parameters one store transaction each, again for every
            # node taking them: each parameters input goes to it once per run (logging the same
            # value again changes nothing). Upstream, kedro-mlflow could log them in one batch.
            fresh = {k: v for k, v in inputs.items() if k not in self.logged_params}
            self.logged_params |= {k for k in fresh if k.startswith("params:")}
            self.hook.before_node_run(node, catalog, fresh, is_async)

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        if self.hook:
            self.hook.after_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    def on_pipeline_error(
        self,
        error: Exception,
        run_params: dict[str, Any],
        pipeline: Pipeline,
        catalog: CatalogProtocol,
    ) -> None:
        if self.hook:
            self.hook.on_pipeline_error(error, run_params, pipeline, catalog)
