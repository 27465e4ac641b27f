"""Champion changes by hand, as pipelines (so Airflow and kedro-viz see them):

    kedro run --pipelines promote --params model_version=3,reason="better on May outcomes"
    kedro run --pipelines rollback --params reason="v3 misses the new campaigns"

The checks run first; the alias moves only when the last node's output is saved.
"""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.promote import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.plan_promotion,
                inputs=["registered_versions", "params:promote", "params:training.quality_floor"],
                outputs="champion_change",
                name="plan_promotion",
            )
        ]
    )


def create_rollback_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=nodes.plan_rollback,
                inputs=["registered_versions", "alias_history", "params:promote"],
                outputs="champion_change",
                name="plan_rollback",
            )
        ]
    )
