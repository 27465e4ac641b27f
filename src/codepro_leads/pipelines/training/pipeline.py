"""Fit the lead scorer on the earliest leads, judge it on the latest, register it in MLflow and
make it champion only if good enough and not worse than the current one (the alias moves once
the run has succeeded). Same data and parameters as a registered version: nothing registered.
"""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.training import nodes, promotion


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:training"
    return Pipeline(
        [
            Node(
                func=nodes.split_leads,
                inputs=["model_input_leads", params],
                outputs=["train_leads", "validation_leads", "test_leads"],
                name="split_leads",
            ),
            Node(
                func=nodes.fingerprint_data,
                inputs=["train_leads", "validation_leads", "test_leads", params],
                outputs=["training_data_fingerprint", "training_data_metrics"],
                name="fingerprint_data",
            ),
            Node(
                func=nodes.training_key,
                inputs=[
                    "training_data_fingerprint",
                    params,
                    "params:data_processing",
                    "tuned_lightgbm_params",
                ],
                outputs="training_key",
                name="training_key",
            ),
            Node(
                func=promotion.find_identical_version,
                inputs=["training_key", "registered_versions"],
                outputs="identical_version",
                name="find_identical_version",
            ),
            Node(
                func=nodes.fit_encoder,
                inputs=["train_leads", params],
                outputs="lead_encoder",
                name="fit_encoder",
            ),
            Node(
                func=nodes.train_classifier,
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
                func=nodes.fit_comparisons,
                inputs=[
                    "train_leads",
                    "lead_encoder",
                    "lead_classifier",
                    params,
                    "tuned_lightgbm_params",
                ],
                outputs=["unweighted_classifier", "baseline_classifier"],
                name="fit_comparisons",
            ),
            Node(
                func=nodes.score_leads,
                inputs=["lead_classifier", "lead_encoder", "validation_leads"],
                outputs="validation_raw_scores",
                name="score_validation",
            ),
            Node(
                func=nodes.score_leads,
                inputs=["lead_classifier", "lead_encoder", "test_leads"],
                outputs="test_raw_scores",
                name="score_test",
            ),
            Node(
                func=nodes.fit_calibration,
                inputs=["validation_raw_scores", "validation_leads", params],
                outputs="lead_calibrator",
                name="fit_calibration",
            ),
            Node(
                func=nodes.build_scorer,
                inputs=[
                    "lead_encoder",
                    "lead_classifier",
                    "lead_calibrator",
                    "validation_raw_scores",
                    "train_leads",
                    "validation_leads",
                    params,
                ],
                outputs="lead_scorer",
                name="build_scorer",
            ),
            Node(
                func=nodes.evaluate_scorer,
                inputs=["lead_scorer", "test_raw_scores", "test_leads", params],
                outputs=["test_metrics", "test_predictions", "grade_table"],
                name="evaluate_scorer",
            ),
            Node(
                func=nodes.evaluate_comparisons,
                inputs=[
                    "test_raw_scores",
                    "unweighted_classifier",
                    "baseline_classifier",
                    "lead_encoder",
                    "test_leads",
                    params,
                    "tuned_lightgbm_params",
                ],
                outputs=["comparison_metrics", "baseline_comparison"],
                name="evaluate_comparisons",
            ),
            Node(
                func=nodes.best_achievable_auc,
                inputs=["test_leads", "true_propensity", params],
                outputs="best_achievable_metrics",
                name="best_achievable_auc",
            ),
            Node(
                func=nodes.plot_evaluation,
                inputs=["test_predictions", "grade_table", "lead_scorer", params],
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
                func=nodes.package_model,
                # After the champion comparison: its card records it.
                inputs=[
                    "lead_scorer",
                    "raw_leads_example",
                    "training_data_fingerprint",
                    "champion_comparison",
                    "baseline_comparison",
                    "params:data_processing",
                    "training_key",
                    "identical_version",
                ],
                outputs=["lead_scorer_model", "model_card"],
                name="package_model",
            ),
            Node(
                func=promotion.compare_with_champion,
                inputs=[
                    "champion_model_if_any",
                    "lead_calibrator",
                    "test_raw_scores",
                    "test_leads",
                    params,
                ],
                outputs="champion_comparison",
                name="compare_with_champion",
            ),
            Node(
                func=promotion.decide_promotion,
                # model_card comes out with the logged model: the decision follows registration.
                inputs=[
                    "test_metrics",
                    "champion_comparison",
                    "model_card",
                    params,
                    "identical_version",
                ],
                outputs="promotion_decision",
                name="decide_promotion",
            ),
        ]
    )
