"""Raw export -> validated, de-duplicated, feature-ready ``model_input_leads``; nothing is
written until the rows add up (``account_for_rows``).
"""

from kedro.pipeline import Node, Pipeline

from codepro_leads.features import processing
from codepro_leads.pipelines.data_processing import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:data_processing"
    return Pipeline(
        [
            Node(
                func=processing.validate_raw_leads,
                inputs=["raw_leads", params, "params:data_processing.missing_key"],
                outputs=["validated_leads", "rejected_rows", "intake_counts", "raw_example_rows"],
                name="validate_raw_leads",
            ),
            Node(
                func=processing.drop_duplicate_leads,
                inputs=["validated_leads", params],
                outputs=["unique_leads", "duplicate_counts"],
                name="drop_duplicate_leads",
            ),
            Node(
                func=processing.sum_interactions,
                inputs=["unique_leads", params],
                outputs="summed_leads",
                name="sum_interactions",
            ),
            Node(
                func=processing.add_city_tier,
                inputs=["summed_leads", params],
                outputs="tiered_leads",
                name="add_city_tier",
            ),
            Node(
                func=processing.fill_missing_counts,
                inputs=["tiered_leads", params],
                outputs="filled_leads",
                name="fill_missing_counts",
            ),
            Node(
                func=processing.select_model_input,
                inputs=["filled_leads", params],
                outputs="selected_leads",
                name="select_model_input",
            ),
            Node(
                func=nodes.account_for_rows,
                inputs=[
                    "intake_counts",
                    "duplicate_counts",
                    "selected_leads",
                    "rejected_rows",
                    "raw_example_rows",
                    params,
                ],
                outputs=[
                    "model_input_leads",
                    "rejected_leads",
                    "data_processing_report",
                    "raw_leads_example",
                ],
                name="account_for_rows",
            ),
        ]
    )
