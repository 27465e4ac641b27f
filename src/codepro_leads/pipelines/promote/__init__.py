from codepro_leads.pipelines.promote.pipeline import create_pipeline as create_pipeline
