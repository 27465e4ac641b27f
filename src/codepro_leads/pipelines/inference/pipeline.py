"""Score new leads with the champion: the data_processing nodes (reused under the namespace
``new_leads``, not copied), the scorer, the score store and drift monitoring."""

from kedro.pipeline import Node, Pipeline, pipeline

from codepro_leads.pipelines import data_processing
from codepro_leads.pipelines.inference import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:inference"
    processing = pipeline(
        data_processing.create_pipeline(),
        namespace="new_leads",
        inputs={"raw_leads": "new_leads"},
        outputs={
            "model_input_leads": "model_input_new_leads",
            "rejected_leads": "rejected_new_leads",
            "data_processing_report": "new_leads_processing_report",
        },
        parameters={"params:data_processing": "params:data_processing"},
    )
    scoring = Pipeline(
        [
            Node(
                nodes.score_new_leads,
                inputs=["model_input_new_leads", "champion_model", params],
                outputs="scored_leads",
                name="score_new_leads",
            ),
            Node(
                nodes.account_for_scored_rows,
                inputs=["new_leads_processing_report", "scored_leads"],
                outputs="inference_report",
                name="account_for_scored_rows",
            ),
            Node(
                nodes.store_scores,
                inputs="scored_leads",
                outputs="scored_leads_table",
                name="store_scores",
            ),
            Node(
                nodes.export_for_crm,
                inputs="scored_leads",
                outputs="scored_leads_crm",
                name="export_for_crm",
            ),
            Node(
                nodes.monitor_scores,
                inputs=["model_input_new_leads", "scored_leads", "champion_model", params],
                # Saving appends this run's row; loading gives every run so far.
                outputs=["monitoring_runs", "monitoring_metrics"],
                name="monitor_scores",
            ),
            Node(
                nodes.plot_drift_history,
                inputs="monitoring_runs",
                outputs="drift_history_plot",
                name="plot_drift_history",
            ),
        ]
    )
    return processing + scoring
