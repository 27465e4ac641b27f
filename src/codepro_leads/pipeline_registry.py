"""Named pipelines: ``kedro run --pipelines <name>``."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from codepro_leads.pipelines import (
    data_processing,
    demo_data,
    inference,
    model_selection,
    outcomes,
    profiling,
    promote,
    training,
)


def register_pipelines() -> dict[str, Pipeline]:
    """Each pipeline reads what the previous one persisted, so each also runs alone."""
    pipelines = {
        "demo_data": demo_data.create_pipeline(),
        "data_processing": data_processing.create_pipeline(),
        "training": training.create_pipeline(),
        "inference": inference.create_pipeline(),
        "outcomes": outcomes.create_pipeline(),
        "promote": promote.create_pipeline(),
        "rollback": promote.create_rollback_pipeline(),
        "profiling": profiling.create_pipeline(),
        "model_selection": model_selection.create_pipeline(),
    }
    pipelines["__default__"] = pipelines["data_processing"] + pipelines["training"]
    return pipelines
