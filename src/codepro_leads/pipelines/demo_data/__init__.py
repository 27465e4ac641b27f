"""demo_data: synthetic CodePro leads (labeled and new) with their true propensity."""

from codepro_leads.pipelines.demo_data.pipeline import create_pipeline

__all__ = ["create_pipeline"]
