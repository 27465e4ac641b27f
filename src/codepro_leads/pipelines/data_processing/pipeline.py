"""Raw export -> validated, de-duplicated, feature-ready ``model_input_leads``.

``raw_leads``, ``rejected_leads`` and ``model_input_leads`` are the interface other tools load by
name. The inference pipeline reuses these nodes on new leads by remapping those names.
"""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.data_processing import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:data_processing"
    return Pipeline(
        [
            Node(
                nodes.validate_raw_leads,
                inputs=["raw_leads", params],
                outputs=["validated_leads", "rejected_leads", "intake_counts", "raw_leads_example"],
                name="validate_raw_leads",
            ),
            Node(
                nodes.drop_duplicate_leads,
                inputs=["validated_leads", params],
                outputs=["unique_leads", "duplicate_counts"],
                name="drop_duplicate_leads",
            ),
            Node(
                nodes.sum_interactions,
                inputs=["unique_leads", params],
                outputs="summed_leads",
                name="sum_interactions",
            ),
            Node(
                nodes.add_city_tier,
                inputs=["summed_leads", params],
                outputs="tiered_leads",
                name="add_city_tier",
            ),
            Node(
                nodes.fill_missing_counts,
                inputs=["tiered_leads", params],
                outputs="filled_leads",
                name="fill_missing_counts",
            ),
            Node(
                nodes.select_model_input,
                inputs=["filled_leads", params],
                outputs="model_input_leads",
                name="select_model_input",
            ),
            Node(
                nodes.account_for_rows,
                inputs=["intake_counts", "duplicate_counts", "model_input_leads"],
                outputs="data_processing_report",
                name="account_for_rows",
            ),
        ]
    )
