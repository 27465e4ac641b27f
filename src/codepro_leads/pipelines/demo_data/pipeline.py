"""Demo data in CodePro's raw export layout, the true propensities beside the raw files."""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.demo_data import nodes


def create_pipeline(**kwargs) -> Pipeline:
    inputs = ["params:demo_data", "demo_data_facts", "params:data_processing"]
    return Pipeline(
        [
            Node(
                func=nodes.generate_labeled_leads,
                inputs=inputs,
                outputs=["raw_leads", "true_propensity"],
                name="generate_labeled_leads",
            ),
            Node(
                func=nodes.generate_new_leads,
                inputs=inputs,
                outputs=["new_leads", "new_leads_true_propensity"],
                name="generate_new_leads",
            ),
            Node(
                func=nodes.generate_lead_outcomes,
                inputs=inputs,
                outputs="lead_outcomes",
                name="generate_lead_outcomes",
            ),
        ]
    )
