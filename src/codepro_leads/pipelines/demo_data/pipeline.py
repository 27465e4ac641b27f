"""Demo data in CodePro's raw export layout, for running the project without the real data.

The true propensities are saved beside the raw files (never inside them) so the model's
quality can be compared with the best achievable.
"""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.demo_data import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = ["params:demo_data", "params:data_processing"]
    return Pipeline(
        [
            Node(
                func=nodes.generate_labeled_leads,
                inputs=params,
                outputs=["demo_leads", "demo_true_propensity"],
                name="generate_labeled_leads_node",
            ),
            Node(
                func=nodes.generate_new_leads,
                inputs=params,
                outputs=["demo_new_leads", "demo_new_leads_propensity"],
                name="generate_new_leads_node",
            ),
        ]
    )
