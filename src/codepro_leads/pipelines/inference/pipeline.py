"""Score new leads with the champion (and the challenger, in the shadow): ``inference_outputs``
saves the lazy stream of batches as one unit, so memory holds about one batch; the report and
monitoring take it (loaded as the run's totals), so they run once everything is stored.
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
