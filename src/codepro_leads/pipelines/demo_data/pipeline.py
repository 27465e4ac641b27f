"""Demo data in CodePro's raw export layout, the true propensities beside the raw files."""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.demo_data import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = ["params:demo_data", "params:data_processing"]
    return Pipeline(
        [
            Node(
                func=nodes.generate_labeled_leads,
                inputs=params,
                outputs=["raw_leads", "true_propensity"],
                name="generate_labeled_leads",
            ),
            Node(
                func=nodes.generate_new_leads,
                inputs=params,
                outputs=["new_leads", "new_leads_true_propensity"],
                name="generate_new_leads",
            ),
            Node(
                func=nodes.generate_lead_outcomes,
                inputs=params,
                outputs="lead_outcomes",
                name="generate_lead_outcomes",
            ),
        ]
    )
