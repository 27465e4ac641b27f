"""kedro-mlflow's hook, for the runs it tracks only.

kedro-mlflow registers ``MlflowHook`` through a plugin entry point, and importing it imports
MLflow (seconds), validates its config and creates the experiment in the store at every
session start, even for the pipelines ``mlflow.yml`` excludes from tracking (demo_data,
data_processing), for which it then does nothing. This hook takes the plugin's place (same
plugin name, so pluggy never loads the entry point; settings also disable the plugin's hooks)
and hands every call to a fresh ``MlflowHook`` per session, except in a run whose pipelines are
all excluded in ``mlflow.yml``: there MLflow is not imported at all.

A session that does not run a pipeline (``kedro mlflow ui``, notebooks, ``load_context()``)
gets kedro-mlflow's full set-up, as before.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from kedro.config import MissingConfigException
from kedro.framework import project
from kedro.framework.hooks import hook_impl
from omegaconf import OmegaConf

if TYPE_CHECKING:
    from kedro.framework.context import KedroContext
    from kedro.io import CatalogProtocol, DataCatalog
    from kedro.pipeline import Node, Pipeline
    from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

# kedro-mlflow's entry point name in the ``kedro.hooks`` group.
PLUGIN_NAME = "mlflow_hook"
# MLflow's warning about a PythonModel whose predict has no type hints.
_UNTYPED_PREDICT = "Add type hints to the `predict` method"


def _random_name() -> str:
    from kedro_mlflow.config.resolvers import resolve_random_name

    return resolve_random_name()


def _untracked_pipelines(context: KedroContext) -> list[str]:
    """``tracking.disable_tracking.pipelines`` of mlflow.yml, read as kedro-mlflow reads it."""
    # kedro-mlflow's resolver, imported only when mlflow.yml uses it; it keeps this one.
    if not OmegaConf.has_resolver("km.random_name"):
        OmegaConf.register_new_resolver("km.random_name", _random_name, use_cache=True)
    loader = context.config_loader
    loader.config_patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
    try:
        conf = loader["mlflow"]
    except MissingConfigException:
        return []
    return list(conf.get("tracking", {}).get("disable_tracking", {}).get("pipelines", []))


def _mlflow_hook_class() -> type[MlflowHook]:
    """kedro-mlflow's hook class, imported without MLflow's warning about its
    ``KedroPipelineModel`` (unused here), whose ``predict`` has no type hints.

    MLflow checks the hints of every ``PythonModel`` class as it is defined, under a "once"
    filter of its own placed in front of any the project sets: only catching the warnings of
    this import drops it. Every other warning of the import is shown as usual."""
    with warnings.catch_warnings(record=True) as caught:
        from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
    for warning in caught:
        if _UNTYPED_PREDICT not in str(warning.message):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return MlflowHook


def _batched_hook() -> MlflowHook:
    """kedro-mlflow's hook, logging a node's parameters in one call instead of one per value."""
    import mlflow
    from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

    class BatchedMlflowHook(_mlflow_hook_class()):
        def before_node_run(self, *args: Any, **kwargs: Any) -> None:
            self._batch: dict[str, Any] = {}
            super().before_node_run(*args, **kwargs)
            if self._batch:
                mlflow.log_params(self._batch)

        def _log_param(self, name: str, value: Any) -> None:
            if len(str(value)) <= MAX_PARAM_VAL_LENGTH:
                self._batch[name] = value
            else:  # kedro-mlflow's long_params_strategy (fail, tag or truncate)
                super()._log_param(name, value)

    return BatchedMlflowHook()


class _MetricDatasets:
    """The catalog as kedro-mlflow's ``after_catalog_created`` uses it: it only renames its
    metric datasets, but walks ``items()``, which materialises every entry (~1,200, each
    parameter is one) and imports every dataset class (MLflow models, LightGBM, matplotlib):
    seconds. This view reads the configured type names and materialises the metric datasets
    alone."""

    def __init__(self, catalog: DataCatalog) -> None:
        self._catalog = catalog

    def _type(self, name: str) -> str:
        configured = self._catalog.config_resolver.config.get(name)
        if configured is not None:  # as written in the catalog: short or full module path
            return str(configured.get("type", ""))
        return self._catalog.get_type(name) or ""  # materialised already: no import

    def items(self) -> list[tuple[str, Any]]:
        return [
            (name, self._catalog[name])
            for name in self._catalog
            if self._type(name).startswith("kedro_mlflow.io.metrics.")
        ]

    def __setitem__(self, name: str, dataset: Any) -> None:
        self._catalog[name] = dataset


def _is_open_here(run_id: str) -> bool:
    import mlflow

    run = mlflow.active_run()
    return run is not None and run.info.run_id == run_id


class TrackedRunsMlflowHook:
    """Delegates to kedro-mlflow's ``MlflowHook`` unless the run needs no MLflow at all."""

    def __init__(self) -> None:
        self.__name__ = PLUGIN_NAME  # pluggy's plugin name: the entry point is then skipped
        self._hook: MlflowHook | None = None
        self._context: KedroContext | None = None
        self._logged: set[str] = set()  # node inputs whose parameters this run has logged

    def _start(self, context: KedroContext) -> MlflowHook:
        # One per session: kedro-mlflow's module-level hook remembers the previous run's id.
        self._hook = _batched_hook()
        self._hook.after_context_created(context=context)
        return self._hook

    def _catalog_created(self, catalog: CatalogProtocol) -> None:
        # kedro-mlflow reads only the catalog (its metric datasets get their names).
        self._hook.after_catalog_created(
            catalog=_MetricDatasets(catalog),
            conf_catalog=None,
            conf_creds=None,
            parameters=None,
            save_version=None,
            load_versions=None,
        )

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._hook, self._context, self._logged = None, context, set()
        # Kedro sets the requested pipelines just before a run creates its context (None for
        # __default__ and for sessions that run nothing); private, so a missing one means
        # "set up MLflow", as kedro-mlflow always does.
        requested = getattr(project.pipelines, "_requested_pipelines", None)
        if requested and set(requested) <= set(_untracked_pipelines(context)):
            return
        self._start(context)

    @hook_impl
    def after_catalog_created(self, catalog: CatalogProtocol) -> None:
        if self._hook is not None:
            self._catalog_created(catalog)

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        if self._hook is None and self._context is not None:
            # An untracked pipeline that still holds kedro-mlflow datasets needs kedro-mlflow
            # to switch their logging off, as it would have.
            if not any(
                (catalog.get_type(name) or "").startswith("kedro_mlflow.")
                for name in pipeline.datasets()
            ):
                return
            self._start(self._context)
            self._catalog_created(catalog)
        if self._hook is not None:
            self._hook.before_pipeline_run(
                run_params=run_params, pipeline=pipeline, catalog=catalog
            )

    @hook_impl
    def before_node_run(
        self, node: Node, catalog: CatalogProtocol, inputs: dict[str, Any], is_async: bool
    ) -> None:
        hook = self._hook
        if hook is None:
            return
        # kedro-mlflow logs the parameters every node takes, one SQL transaction per value, at
        # every node: the training nodes share params:training, ~470 calls for ~40 values.
        # A run's parameters do not change: each input is logged once.
        fresh = {name: value for name, value in inputs.items() if name not in self._logged}
        self._logged.update(inputs)
        # It also re-opens its run at every node for runners that run nodes in other threads;
        # in the thread where the run is open that only stacks the same run again.
        run_id = hook.run_id
        if run_id is not None and _is_open_here(run_id):
            hook.run_id = None
        try:
            hook.before_node_run(node=node, catalog=catalog, inputs=fresh, is_async=is_async)
        finally:
            hook.run_id = run_id

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        if self._hook is not None:
            self._hook.after_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)

    @hook_impl
    def on_pipeline_error(
        self,
        error: Exception,
        run_params: dict[str, Any],
        pipeline: Pipeline,
        catalog: CatalogProtocol,
    ) -> None:
        if self._hook is not None:
            self._hook.on_pipeline_error(
                error=error, run_params=run_params, pipeline=pipeline, catalog=catalog
            )
