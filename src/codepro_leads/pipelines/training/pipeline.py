"""Fit the lead scorer on the earliest leads, judge it on the latest, register it in MLflow and
promote it to champion only when it is good enough and not worse than the current one."""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.training import nodes


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:training"
    return Pipeline(
        [
            Node(
                nodes.split_leads,
                inputs=["model_input_leads", params],
                outputs=["train_leads", "validation_leads", "test_leads"],
                name="split_leads",
            ),
            Node(
                nodes.fingerprint_data,
                inputs="model_input_leads",
                outputs=["training_data_fingerprint", "training_data_metrics"],
                name="fingerprint_data",
            ),
            Node(
                nodes.fit_encoder,
                inputs=["train_leads", params],
                outputs="lead_encoder",
                name="fit_encoder",
            ),
            Node(
                nodes.train_classifier,
                inputs=[
                    "train_leads",
                    "validation_leads",
                    "lead_encoder",
                    params,
                    "tuned_lightgbm_params",  # model_selection's; None when absent
                ],
                outputs="lead_classifier",
                name="train_classifier",
            ),
            Node(
                nodes.fit_calibration,
                inputs=["lead_classifier", "lead_encoder", "validation_leads", params],
                outputs="lead_calibrator",
                name="fit_calibration",
            ),
            Node(
                nodes.build_scorer,
                inputs=[
                    "lead_encoder",
                    "lead_classifier",
                    "lead_calibrator",
                    "train_leads",
                    "validation_leads",
                    params,
                ],
                outputs="lead_scorer",
                name="build_scorer",
            ),
            Node(
                nodes.evaluate_scorer,
                inputs=["lead_scorer", "test_leads", params],
                outputs=["test_metrics", "test_predictions", "grade_table"],
                name="evaluate_scorer",
            ),
            Node(
                nodes.best_achievable_auc,
                inputs=["test_leads", "demo_true_propensity"],
                outputs="best_achievable_metrics",
                name="best_achievable_auc",
            ),
            Node(
                nodes.plot_evaluation,
                inputs=["test_predictions", "grade_table", "lead_scorer"],
                outputs=[
                    "roc_plot",
                    "precision_recall_plot",
                    "calibration_plot",
                    "feature_importance_plot",
                    "score_distribution_plot",
                    "grade_completion_plot",
                ],
                name="plot_evaluation",
            ),
            Node(
                nodes.package_model,
                inputs=[
                    "lead_scorer",
                    "raw_leads_example",
                    "training_data_fingerprint",
                    "params:data_processing",
                ],
                outputs=["lead_scorer_model", "model_card"],
                name="package_model",
            ),
            Node(
                nodes.compare_with_champion,
                inputs=["champion_model_if_any", "lead_scorer", "test_leads"],
                outputs="champion_comparison",
                name="compare_with_champion",
            ),
            Node(
                nodes.decide_promotion,
                # model_card comes out with the logged model: the decision follows registration.
                inputs=["test_metrics", "champion_comparison", "model_card", params],
                outputs="promotion_decision",
                name="decide_promotion",
            ),
        ]
    )
