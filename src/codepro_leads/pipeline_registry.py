"""Named pipelines: ``kedro run --pipelines <name>``."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Each pipeline reads what the previous one persisted, so each also runs alone.
    ``find_pipelines`` imports only the pipelines ``--pipelines`` asks for (all without it)."""
    pipelines = find_pipelines()
    if "__default__" in pipelines:  # all were loaded
        pipelines["__default__"] = pipelines["data_processing"] + pipelines["training"]
    return dict(sorted(pipelines.items()))  # the same order on every machine (kedro-viz)
