"""Named pipelines: ``kedro run --pipelines <name>``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module

from kedro.pipeline import Pipeline


def _create(module: str, function: str = "create_pipeline") -> Callable[[Mapping], Pipeline]:
    return lambda _: getattr(import_module(f"codepro_leads.pipelines.{module}"), function)()


# Each pipeline reads what the previous one persisted, so each also runs on its own.
_FACTORIES: dict[str, Callable[[Mapping], Pipeline]] = {
    "demo_data": _create("demo_data"),
    "data_processing": _create("data_processing"),
    "training": _create("training"),
    "inference": _create("inference"),
    "__default__": lambda made: made["data_processing"] + made["training"],
    # Realized performance of stored scores, from a later labeled export.
    "outcomes": _create("outcomes"),
    # Champion changes by hand, audited.
    "promote": _create("promote"),
    "rollback": _create("promote", "create_rollback_pipeline"),
    # Experimentation, run by name: not part of __default__.
    "profiling": _create("profiling"),
    "model_selection": _create("model_selection"),
}


class _LazyPipelines(Mapping):
    """Creates a pipeline, importing its modules, when Kedro first asks for it by name:
    ``kedro run --pipelines data_processing`` never imports the inference pipeline's MLflow
    model code. Listing them all (``kedro registry list``, kedro-viz) creates every one."""

    def __init__(self) -> None:
        self._made: dict[str, Pipeline] = {}

    def __getitem__(self, name: str) -> Pipeline:
        if name not in self._made:
            self._made[name] = _FACTORIES[name](self)  # KeyError: Kedro suggests close names
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_FACTORIES)

    def __len__(self) -> int:
        return len(_FACTORIES)


def register_pipelines() -> Mapping[str, Pipeline]:
    """The project's pipelines by name, each created on first use."""
    return _LazyPipelines()
