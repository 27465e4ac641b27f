"""data_processing: raw CodePro export -> model_input_leads."""

from codepro_leads.pipelines.data_processing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
