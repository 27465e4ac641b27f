"""Compare models with pycaret and tune the LightGBM that training fits, on training's own
split and encoding of ``model_input_leads``; log the leaderboard and CV metrics to MLflow and
write the tuned LightGBM parameters that training picks up (``tuned_lightgbm_params``)."""

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
                    "model_leaderboard",
                    "model_selection_metrics",
                    "tuned_lightgbm_params",
                    "model_selection_result",
                ],
                name="select_models",
            ),
            Node(
                func=nodes.leaderboard_html,
                inputs="model_leaderboard",
                outputs="model_leaderboard_html",
                name="render_leaderboard",
            ),
        ]
    )
