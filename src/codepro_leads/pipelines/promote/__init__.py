from codepro_leads.pipelines.promote.pipeline import create_pipeline, create_rollback_pipeline

__all__ = ["create_pipeline", "create_rollback_pipeline"]
