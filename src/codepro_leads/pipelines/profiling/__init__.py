"""profiling: ydata-profiling reports and exact summaries of raw_leads and model_input_leads."""

from codepro_leads.pipelines.profiling.pipeline import create_pipeline

__all__ = ["create_pipeline"]
