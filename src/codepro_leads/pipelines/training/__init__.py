"""training: model_input_leads -> a calibrated, evaluated, registered lead scorer."""

from codepro_leads.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
