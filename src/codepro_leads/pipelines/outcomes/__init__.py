"""outcomes: realized performance of stored scores, from a later labeled export."""

from codepro_leads.pipelines.outcomes.pipeline import create_pipeline

__all__ = ["create_pipeline"]
