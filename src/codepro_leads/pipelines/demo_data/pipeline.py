"""Demo data in CodePro's raw export layout, for running the project without the real data.

It writes ``raw_leads``, ``new_leads`` and ``lead_outcomes`` (the new leads' later labeled
export), the very datasets data_processing, inference and outcomes read, so the lineage shows
the hand-off. The true propensities are saved beside the raw files (never inside them) so the
model's quality can be compared with the best achievable.
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
