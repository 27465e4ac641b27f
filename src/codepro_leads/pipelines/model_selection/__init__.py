"""model_selection: pycaret model comparison and LightGBM tuning on training's features."""

from codepro_leads.pipelines.model_selection.pipeline import create_pipeline

__all__ = ["create_pipeline"]
