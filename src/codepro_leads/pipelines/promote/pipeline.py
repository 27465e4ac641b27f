"""Champion changes by hand (``kedro run --pipelines promote --params model_version=3,reason=...``
or ``--pipelines rollback``); the alias moves when the last node's output is saved."""

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
