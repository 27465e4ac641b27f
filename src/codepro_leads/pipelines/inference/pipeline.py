"""Score new leads with the champion, a batch of rows at a time: the data_processing steps
(the same functions as the data_processing pipeline, not copies), the scorer (and the
challenger's, in the shadow), the score store and drift monitoring.

Streaming, the Kedro way: ``new_leads_batches`` loads a handle on the file; each node maps a
pure per-batch function over the batches lazily (in-memory hand-offs of iterators, so
nothing is read before the outputs are saved); ``inference_outputs`` saves the stream of
output batches as one unit: every batch into one store transaction and into hidden temporary
files, then the store commits and the files are renamed into place. Memory therefore holds a
few batches, whatever the size of the file (``inference.batch_size``).

Every write waits for the one before it: the rows must add up before the store commits, and
the report and monitoring row take ``inference_totals``, which Kedro saves only after
``inference_outputs``, so a run that was not stored leaves no file, report or monitoring row.
"""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.inference import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:inference"
    return Pipeline(
        [
            Node(
                func=nodes.read_in_batches,
                inputs=["new_leads_batches", "params:data_processing", params],
                outputs="raw_new_lead_batches",
                name="read_in_batches",
            ),
            Node(
                func=nodes.process_batches,
                inputs=[
                    "raw_new_lead_batches",
                    "params:data_processing",
                    # New leads need their own key: row numbers would collide across files.
                    "params:inference.missing_key",
                ],
                outputs="processed_new_lead_batches",
                name="process_batches",
            ),
            Node(
                func=nodes.score_batches,
                inputs=["processed_new_lead_batches", "champion_model", "challenger_model", params],
                # Saved in this order: the totals only once every batch is stored.
                outputs=["inference_outputs", "inference_totals"],
                name="score_batches",
            ),
            Node(
                func=nodes.report_run,
                inputs="inference_totals",
                outputs="inference_report",
                name="report_run",
            ),
            Node(
                func=nodes.monitor_scores,
                inputs=["inference_totals", "champion_model", params],
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
