"""Named pipelines: ``kedro run --pipelines <name>``."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Each pipeline reads what the previous one persisted, so each also runs on its own.

    ``find_pipelines`` imports only the pipelines the run asked for (Kedro tells it which), so
    ``kedro run --pipelines data_processing`` never imports the inference pipeline's MLflow
    model code. ``profiling`` and ``model_selection`` are experimentation, run by name.
    """
    pipelines = find_pipelines(raise_errors=True)
    if "__default__" in pipelines:  # every pipeline was loaded
        pipelines["__default__"] = pipelines["data_processing"] + pipelines["training"]
    return pipelines
