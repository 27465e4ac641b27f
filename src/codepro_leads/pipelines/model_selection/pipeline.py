"""Compare models with pycaret and tune training's LightGBM on its own split and encoding, compare
recency half-lives on the validation leads, and write what training picks up
(``tuned_lightgbm_params``)."""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.model_selection import nodes


def create_pipeline(**kwargs) -> Pipeline:
    training, selection = "params:training", "params:model_selection"
    return Pipeline(
        [
            Node(
                func=nodes.prepare_selection_data,
                inputs=["model_input_leads", training, selection],
                outputs=["selection_train_leads", "selection_holdout_leads"],
                name="prepare_selection_data",
            ),
            Node(
                func=nodes.select_models,
                inputs=["selection_train_leads", "selection_holdout_leads", training, selection],
                outputs=[
                    "pycaret_leaderboard",
                    "model_selection_metrics",
                    "pycaret_tuned_params",
                    "model_selection_result",
                ],
                name="select_models",
            ),
            Node(
                func=nodes.compare_recency,
                inputs=[
                    "model_input_leads",
                    "pycaret_leaderboard",
                    "pycaret_tuned_params",
                    training,
                    selection,
                ],
                outputs=["model_leaderboard", "tuned_lightgbm_params", "recency_selection_metrics"],
                name="compare_recency",
            ),
            Node(
                func=nodes.leaderboard_html,
                inputs="model_leaderboard",
                outputs="model_leaderboard_html",
                name="render_leaderboard",
            ),
        ]
    )
