"""Named pipelines: ``kedro run --pipelines <name>``."""

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
    """Each pipeline reads what the previous one persisted, so each also runs on its own."""
    processing = data_processing.create_pipeline()
    training_pipeline = training.create_pipeline()
    return {
        "demo_data": demo_data.create_pipeline(),
        "data_processing": processing,
        "training": training_pipeline,
        "inference": inference.create_pipeline(),
        "__default__": processing + training_pipeline,
        # Realized performance of stored scores, from a later labeled export.
        "outcomes": outcomes.create_pipeline(),
        # Champion changes by hand, audited.
        "promote": promote.create_pipeline(),
        "rollback": promote.create_rollback_pipeline(),
        # Experimentation, run by name: not part of __default__.
        "profiling": profiling.create_pipeline(),
        "model_selection": model_selection.create_pipeline(),
    }
