"""A later labeled export -> how right the stored scores were: the ``model_performance`` table,
MLflow metrics and a plot; the report waits for the table's receipt (``stored_performance``)."""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.outcomes import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:outcomes"
    return Pipeline(
        [
            Node(
                func=nodes.validate_outcomes,
                inputs=["lead_outcomes", "params:data_processing", params],
                outputs=["known_outcomes", "rejected_outcomes", "outcome_counts"],
                name="validate_outcomes",
            ),
            Node(
                func=nodes.join_stored_scores,
                inputs=["known_outcomes", "scored_leads_lookup", "outcome_counts"],
                outputs=["scored_outcomes", "outcome_join_counts"],
                name="join_stored_scores",
            ),
            Node(
                func=nodes.measure_realized_performance,
                inputs=["scored_outcomes", "registered_versions", "outcome_join_counts", params],
                outputs="realized_performance",
                name="measure_realized_performance",
            ),
            Node(
                func=nodes.store_realized_performance,
                inputs="realized_performance",
                outputs=["model_performance", "stored_performance"],
                name="store_realized_performance",
            ),
            Node(
                func=nodes.plot_realized_performance,
                # Loaded after this run's save: every evaluation so far.
                inputs="model_performance",
                outputs="realized_performance_plot",
                name="plot_realized_performance",
            ),
            Node(
                func=nodes.report_realized_performance,
                inputs=["realized_performance", "outcome_join_counts", "stored_performance"],
                outputs=["outcomes_report", "outcomes_metrics"],
                name="report_realized_performance",
            ),
        ]
    )
