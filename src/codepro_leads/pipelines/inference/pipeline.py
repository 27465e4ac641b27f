"""Score new leads with the champion: the data_processing nodes (reused under the namespace
``new_leads``, not copied), the scorer, the score store and drift monitoring.

Every write waits for the one before it: the rows must add up before the score table is
written, and every other output takes the store's receipt (``stored_scores``), so a batch
that was not stored leaves no file, export or monitoring row.
"""

from kedro.pipeline import Node, Pipeline, pipeline

from codepro_leads.pipelines import data_processing
from codepro_leads.pipelines.inference import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:inference"
    processing = pipeline(
        data_processing.create_pipeline(),
        namespace="new_leads",
        inputs={"raw_leads": "unlabeled_new_leads"},
        # In memory: written below, once the scores are stored.
        outputs={
            "model_input_leads": "model_input_new_leads",
            "rejected_leads": "unstored_rejected_new_leads",
            "data_processing_report": "new_leads_processing_counts",
        },
        parameters={
            "params:data_processing": "params:data_processing",
            # New leads need their own key: row numbers would collide across batches.
            "params:data_processing.missing_key": "params:inference.missing_key",
        },
    )
    unlabeled = Node(
        func=nodes.drop_label,
        inputs=["new_leads", "params:data_processing"],
        outputs="unlabeled_new_leads",
        name="drop_label",
    )
    scoring = Pipeline(
        [
            Node(
                func=nodes.score_new_leads,
                inputs=["model_input_new_leads", "champion_model", params],
                outputs="unchecked_scored_leads",
                name="score_new_leads",
            ),
            Node(
                func=nodes.account_for_scored_rows,
                inputs=["new_leads_processing_counts", "unchecked_scored_leads"],
                outputs=["checked_scored_leads", "inference_counts"],
                name="account_for_scored_rows",
            ),
            Node(
                func=nodes.store_scores,
                inputs="checked_scored_leads",
                outputs=["scored_leads_table", "stored_scores"],
                name="store_scores",
            ),
            Node(
                func=nodes.keep_run_files,
                inputs=[
                    "stored_scores",
                    "checked_scored_leads",
                    "unstored_rejected_new_leads",
                    "inference_counts",
                ],
                outputs=["scored_leads", "rejected_new_leads", "inference_report"],
                name="keep_run_files",
            ),
            Node(
                func=nodes.export_for_crm,
                inputs=["checked_scored_leads", "stored_scores"],
                outputs="scored_leads_crm",
                name="export_for_crm",
            ),
            Node(
                func=nodes.monitor_scores,
                inputs=[
                    "model_input_new_leads",
                    "checked_scored_leads",
                    "champion_model",
                    params,
                    "stored_scores",
                ],
                # Saving adds this run's row; loading gives every run so far.
                outputs=["monitoring_runs", "monitoring_metrics"],
                name="monitor_scores",
            ),
            Node(
                func=nodes.plot_drift_history,
                inputs=["monitoring_runs", params],
                outputs="drift_history_plot",
                name="plot_drift_history",
            ),
        ]
    )
    return Pipeline([unlabeled]) + processing + scoring
