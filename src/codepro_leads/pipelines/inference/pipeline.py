"""Score new leads with the champion (and the challenger, in the shadow), a batch of rows at
a time: ``score_batches`` returns a lazy stream of batches that ``inference_outputs`` saves as
one unit (one store transaction, files renamed into place once it committed), so memory holds
about one batch. The report and monitoring take ``inference_outputs`` (loaded as the run's
totals): they run only once everything is stored.
"""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.inference import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:inference"
    return Pipeline(
        [
            Node(
                func=nodes.score_batches,
                inputs=[
                    "new_leads_batches",
                    "champion_model",
                    "challenger_model",
                    "params:data_processing",
                    params,
                ],
                outputs="inference_outputs",
                name="score_batches",
            ),
            Node(
                func=nodes.report_run,
                inputs="inference_outputs",
                outputs="inference_report",
                name="report_run",
            ),
            Node(
                func=nodes.monitor_scores,
                inputs=["inference_outputs", "champion_model", params],
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
