"""Lead preparation for pipelines, datasets and the logged model: no Kedro, no MLflow."""
