"""``kedro run --pipelines rollback``: defined beside promote, which shares its nodes."""

from codepro_leads.pipelines.promote.pipeline import create_rollback_pipeline as create_pipeline

__all__ = ["create_pipeline"]
