"""inference: new raw leads -> scores from the champion model, with drift monitoring."""

from codepro_leads.pipelines.inference.pipeline import create_pipeline

__all__ = ["create_pipeline"]
