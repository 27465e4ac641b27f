"""Score new leads with the champion, a batch of rows at a time: the data_processing steps
(the same functions as the data_processing pipeline, not copies), the scorer (and the
challenger's, in the shadow), the score store and drift monitoring.

Streaming, the Kedro way: ``new_leads_batches`` loads a handle on the file; ``score_batches``
returns the run's outputs as a lazy stream of batches, and ``inference_outputs`` saves the
stream as one unit: every batch into one store transaction and into temporary files, then
the store commits and the files are renamed into place. Memory therefore holds about one
batch, whatever the size of the file (``inference.batch_size``).

The report and the monitoring row take ``inference_outputs`` (which loads as the run's
totals), so Kedro runs them only once the batches are stored: a run that was not stored
leaves no file, report or monitoring row.
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
