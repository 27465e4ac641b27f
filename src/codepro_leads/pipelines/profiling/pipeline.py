"""Profile the raw export and the model input: an HTML report and a summary of each."""

from kedro.pipeline import Node, Pipeline

from codepro_leads.pipelines.profiling import nodes


def create_pipeline(**kwargs) -> Pipeline:
    processing = "params:data_processing"
    return Pipeline(
        [
            Node(
                func=nodes.summarize_leads,
                inputs=["raw_leads", processing],
                outputs="raw_leads_summary",
                name="summarize_raw_leads",
            ),
            Node(
                func=nodes.profile_html,
                inputs=["raw_leads", "params:profiling.raw_leads", processing],
                outputs="raw_leads_profile",
                name="profile_raw_leads",
            ),
            Node(
                func=nodes.summarize_leads,
                inputs=["model_input_leads", processing],
                outputs="model_input_leads_summary",
                name="summarize_model_input_leads",
            ),
            Node(
                func=nodes.profile_html,
                inputs=["model_input_leads", "params:profiling.model_input_leads", processing],
                outputs="model_input_leads_profile",
                name="profile_model_input_leads",
            ),
        ]
    )
